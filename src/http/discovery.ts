/**
 * GET /health, GET /agent-info and the agent cards under /.well-known/: what a caller reads to
 * find out who is hosted here and how to reach them. Read-only.
 */
import express, { type Request, type Router } from 'express';
import type { AgentDefinition } from '../agents/contract';
import type { AgentRegistry } from '../agents/registry';

export interface DiscoveryOptions {
  agents: AgentRegistry;
  serverName: string;
  version: string;
  supportedMethods: () => string[];
  /** How callers authenticate: `none`, or bearer tokens with the ARC scopes. */
  authentication: { schemes: string[]; scopes: string[] };
  health: () => Record<string, unknown>;
  /** `--public-url` (no trailing slash): the base of card URLs, when set (else the host's). */
  publicUrl: string;
  /** The address the server listens at: the base when a request's Host is not a host name. */
  listeningUrl: () => string;
}

/**
 * A Host header that is a host name (underscores too, as container names have them) or IP
 * literal, with an optional port, and nothing else.
 */
const PLAIN_HOST = /^(?:[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/** The methods an agent answers: chat.* only for an agent that chats. */
function methodsOf(agent: AgentDefinition, options: DiscoveryOptions): string[] {
  const all = options.supportedMethods();
  return typeof agent.chat === 'function' ? all : all.filter((m) => !m.startsWith('chat.'));
}

/**
 * The server's base URL for cards: `--public-url`, else as the request reached it. A Host
 * that is not a plain host name or address with a port (one carrying a path, a user part or
 * spaces would be pasted into every URL of the card) gives the listening address instead.
 */
function baseUrl(req: Request, options: DiscoveryOptions): string {
  if (options.publicUrl) return options.publicUrl;
  const host = req.get('host');
  return host && PLAIN_HOST.test(host) ? `${req.protocol}://${host}` : options.listeningUrl();
}

export function agentCard(agent: AgentDefinition, base: string, options: DiscoveryOptions) {
  return {
    agentId: agent.id,
    name: agent.name ?? agent.id,
    description: agent.description,
    version: agent.version ?? options.version,
    url: `${base}/arc`,
    provider: { organization: options.serverName, url: base },
    capabilities: {
      streaming: typeof agent.chat === 'function',
      pushNotifications: true,
      stateTransitionHistory: true,
    },
    authentication: options.authentication,
    supportedMethods: methodsOf(agent, options),
    skills: agent.skills ?? [],
  };
}

export function discoveryRouter(options: DiscoveryOptions): Router {
  const router = express.Router();
  const cardPath = (id: string) => `/.well-known/agents/${encodeURIComponent(id)}.json`;

  router.get('/health', (_req, res) => {
    res.json({ status: 'ok', ...options.health() });
  });

  router.get('/agent-info', (req, res) => {
    res.json({
      name: options.serverName,
      version: options.version,
      protocol: 'ARC',
      protocolVersion: '1.0',
      endpoints: { arc: '/arc', health: '/health' },
      agents: options.agents.list().map((agent) => ({
        agentId: agent.id,
        name: agent.name ?? agent.id,
        description: agent.description,
        status: 'active',
        supportedMethods: methodsOf(agent, options),
        card: `${baseUrl(req, options)}${cardPath(agent.id)}`,
      })),
    });
  });

  router.get('/.well-known/agent.json', (req, res) => {
    const base = baseUrl(req, options);
    res.json({ agents: options.agents.list().map((a) => agentCard(a, base, options)) });
  });

  router.get('/.well-known/agents/:file', (req, res) => {
    const id = req.params.file.replace(/\.json$/, '');
    const agent = options.agents.get(id);
    if (!agent) {
      res.status(404).json({ error: `no agent ${id}`, availableAgents: options.agents.ids() });
      return;
    }
    res.json(agentCard(agent, baseUrl(req, options), options));
  });
  return router;
}

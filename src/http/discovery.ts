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
}

/** The methods an agent answers: chat.* only for an agent that chats. */
function methodsOf(agent: AgentDefinition, options: DiscoveryOptions): string[] {
  const all = options.supportedMethods();
  return typeof agent.chat === 'function' ? all : all.filter((m) => !m.startsWith('chat.'));
}

/** The server's base URL for cards: `--public-url`, else as the request reached it. */
function baseUrl(req: Request, options: DiscoveryOptions): string {
  return options.publicUrl || `${req.protocol}://${req.get('host') ?? 'localhost'}`;
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

/**
 * The hosted agents, keyed by id (the `targetAgent` callers name). Filled from the agents
 * folder at start and open to registration in code; it never runs a handler itself.
 */
import type { AgentDefinition } from './contract';

const AGENT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Whether `id` may name an agent: letters, digits, `.`, `_`, `-` (at most 128). */
export function isAgentId(id: unknown): id is string {
  return typeof id === 'string' && AGENT_ID.test(id);
}

/** Each limit an agent may declare, with its largest value (timers take at most 2^31 − 1 ms). */
const LIMITS: Record<string, number> = {
  concurrency: Number.MAX_SAFE_INTEGER,
  maxQueued: Number.MAX_SAFE_INTEGER,
  timeoutMs: 2 ** 31 - 1,
};

/**
 * Why an agent's `limits` cannot work, if they cannot: every limit a whole number from 1 up,
 * and no other key (a misspelled one would be ignored). Refused at start, naming the agent,
 * rather than failing every claim (a fractional concurrency), every turn (a timeout a timer
 * cannot hold) or every create (no queue room) later.
 */
function limitsProblem(limits: unknown): string | undefined {
  if (limits === undefined) return undefined;
  if (!limits || typeof limits !== 'object' || Array.isArray(limits)) {
    return 'limits must be an object';
  }
  for (const [key, value] of Object.entries(limits)) {
    const most = LIMITS[key];
    if (most === undefined) {
      return `limits.${key} is not a limit (${Object.keys(LIMITS).join(', ')})`;
    }
    if (value === undefined) continue;
    if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > most) {
      return `limits.${key} must be a whole number from 1 to ${most}, not ${JSON.stringify(value)}`;
    }
  }
  return undefined;
}

export class AgentRegistry {
  private readonly agents = new Map<string, AgentDefinition>();

  register(agent: AgentDefinition): void {
    if (!agent || typeof agent !== 'object') throw new TypeError('an agent must be an object');
    if (!isAgentId(agent.id)) {
      throw new TypeError(
        `invalid agent id ${JSON.stringify(agent.id)}: use letters, digits, . _ -`,
      );
    }
    if (typeof agent.handle !== 'function') {
      throw new TypeError(`agent ${agent.id} has no handle(ctx) function`);
    }
    if (typeof agent.description !== 'string') {
      throw new TypeError(`agent ${agent.id} has no description`);
    }
    const problem = limitsProblem(agent.limits);
    if (problem) throw new TypeError(`agent ${agent.id}: ${problem}`);
    if (this.agents.has(agent.id)) throw new Error(`agent ${agent.id} is registered twice`);
    this.agents.set(agent.id, agent);
  }

  get(id: string): AgentDefinition | undefined {
    return this.agents.get(id);
  }

  /**
   * Refuses per-agent turn limits (`--agent-concurrency`) naming an agent not hosted here: a
   * misspelled name would leave the agent meant unlimited.
   */
  checkConcurrencyOverrides(overrides: Record<string, number>): void {
    const unknown = Object.keys(overrides).filter((id) => !this.agents.has(id));
    if (unknown.length > 0) {
      throw new Error(
        `ARCD_AGENT_CONCURRENCY/--agent-concurrency: no agent ${unknown.join(', ')} here (agents: ${this.ids().join(', ')})`,
      );
    }
  }

  has(id: string): boolean {
    return this.agents.has(id);
  }

  ids(): string[] {
    return [...this.agents.keys()].sort();
  }

  list(): AgentDefinition[] {
    return this.ids().map((id) => this.agents.get(id) as AgentDefinition);
  }
}

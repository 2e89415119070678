/**
 * The hosted agents, keyed by id (the `targetAgent` callers name). Filled from the agents
 * folder at start and open to registration in code; it never runs a handler itself.
 */
import type { AgentDefinition } from './contract';

const AGENT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export class AgentRegistry {
  private readonly agents = new Map<string, AgentDefinition>();

  register(agent: AgentDefinition): void {
    if (!agent || typeof agent !== 'object') throw new TypeError('an agent must be an object');
    if (typeof agent.id !== 'string' || !AGENT_ID.test(agent.id)) {
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
    if (this.agents.has(agent.id)) throw new Error(`agent ${agent.id} is registered twice`);
    this.agents.set(agent.id, agent);
  }

  get(id: string): AgentDefinition | undefined {
    return this.agents.get(id);
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

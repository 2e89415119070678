/**
 * arcd/agents: what an agents module imports to define agents for arcd (the agent contract,
 * and remote agents made in code, e.g. with a token `ARCD_REMOTE_AGENTS` cannot carry).
 */
export * from './contract';
export { createRemoteAgent, type RemoteAgentOptions } from './remoteAgent';

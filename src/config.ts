/**
 * Every setting of arcd: its default, its environment variable and its flag, in one table that
 * the CLI's --help and the README are written from. Reading the environment happens here only.
 */
import path from 'node:path';
import { bundledAgentsDir } from './paths';

export interface Config {
  port: number;
  host: string;
  db: string;
  agentsDir: string;
  serverName: string;
  maxBodyBytes: number;
  maxBatch: number;
  concurrency: number;
  leaseMs: number;
  pollMs: number;
  shutdownGraceMs: number;
  logLevel: string;
}

type Kind = 'int' | 'string';

export interface Setting {
  key: keyof Config;
  env: string;
  flag: string;
  kind: Kind;
  describe: string;
}

export const SETTINGS: readonly Setting[] = [
  {
    key: 'port',
    env: 'ARCD_PORT',
    flag: '--port',
    kind: 'int',
    describe: 'TCP port (0 picks a free one)',
  },
  {
    key: 'host',
    env: 'ARCD_HOST',
    flag: '--host',
    kind: 'string',
    describe: 'address to listen on',
  },
  {
    key: 'db',
    env: 'ARCD_DB',
    flag: '--db',
    kind: 'string',
    describe: 'SQLite file (":memory:" for a throwaway one)',
  },
  {
    key: 'agentsDir',
    env: 'ARCD_AGENTS_DIR',
    flag: '--agents-dir',
    kind: 'string',
    describe: 'folder of agent modules to host (replaces the bundled ones)',
  },
  {
    key: 'serverName',
    env: 'ARCD_SERVER_NAME',
    flag: '--server-name',
    kind: 'string',
    describe: 'responseAgent on routing errors, name in /agent-info',
  },
  {
    key: 'maxBodyBytes',
    env: 'ARCD_MAX_BODY_BYTES',
    flag: '--max-body-bytes',
    kind: 'int',
    describe: 'largest request body accepted (larger → -45004)',
  },
  {
    key: 'maxBatch',
    env: 'ARCD_MAX_BATCH',
    flag: '--max-batch',
    kind: 'int',
    describe: 'most requests in one JSON-RPC batch',
  },
  {
    key: 'concurrency',
    env: 'ARCD_CONCURRENCY',
    flag: '--concurrency',
    kind: 'int',
    describe: 'turns run at once, all agents together',
  },
  {
    key: 'leaseMs',
    env: 'ARCD_LEASE_MS',
    flag: '--lease-ms',
    kind: 'int',
    describe: 'how long a crashed process holds a task before another reclaims it',
  },
  {
    key: 'pollMs',
    env: 'ARCD_POLL_MS',
    flag: '--poll-ms',
    kind: 'int',
    describe: 'how often the engine looks for work written by other processes',
  },
  {
    key: 'shutdownGraceMs',
    env: 'ARCD_SHUTDOWN_GRACE_MS',
    flag: '--shutdown-grace-ms',
    kind: 'int',
    describe: 'how long shutdown waits for aborted handlers',
  },
  {
    key: 'logLevel',
    env: 'ARCD_LOG_LEVEL',
    flag: '--log-level',
    kind: 'string',
    describe: 'pino level: trace, debug, info, warn, error, silent',
  },
];

export const DEFAULTS: Config = {
  port: 8080,
  host: '127.0.0.1',
  db: path.join('.', 'data', 'arcd.db'),
  agentsDir: bundledAgentsDir,
  serverName: 'arcd',
  maxBodyBytes: 1024 * 1024,
  maxBatch: 100,
  concurrency: 16,
  leaseMs: 30_000,
  pollMs: 1_000,
  shutdownGraceMs: 5_000,
  logLevel: 'info',
};

function parseValue(setting: Setting, raw: string): string | number {
  if (setting.kind === 'string') return raw;
  const value = Number(raw);
  const min = setting.key === 'port' ? 0 : 1;
  if (!Number.isInteger(value) || value < min) {
    throw new Error(
      `${setting.env}/${setting.flag}: expected a whole number ≥ ${min}, got "${raw}"`,
    );
  }
  return value;
}

/** Defaults, overlaid by the environment, overlaid by explicit values (flags or code). */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  explicit: Partial<Record<keyof Config, string | number>> = {},
): Config {
  const config: Record<string, unknown> = { ...DEFAULTS };
  for (const setting of SETTINGS) {
    const fromEnv = env[setting.env];
    if (fromEnv !== undefined && fromEnv !== '') config[setting.key] = parseValue(setting, fromEnv);
    const given = explicit[setting.key];
    if (given !== undefined) config[setting.key] = parseValue(setting, String(given));
  }
  return config as unknown as Config;
}

/**
 * Every setting of arcd: its default, its environment variable and its flag, in one table that
 * the CLI's --help and the README are written from. Reading the environment happens here only.
 */
import path from 'node:path';
import { MAX_TIMER_MS } from './clock';
import { bundledAgentsDir } from './paths';
import { DEFAULT_SCHEDULE_MS } from './webhooks/backoff';

export interface Config {
  port: number;
  host: string;
  db: string;
  writerThread: string;
  agentsDir: string;
  serverName: string;
  maxBodyBytes: number;
  maxPartBytes: number;
  maxMessageBytes: number;
  maxHistoryBytes: number;
  maxBatch: number;
  concurrency: number;
  leaseMs: number;
  lostTurnLimit: number;
  pollMs: number;
  shutdownGraceMs: number;
  logLevel: string;
  agentConcurrency: Record<string, number>;
  auth: string;
  apiKeysFile: string;
  jwtJwksUrl: string;
  jwtSecret: string;
  jwtPublicKeyFile: string;
  jwtIssuer: string;
  jwtAudience: string;
  jwtIdentityClaim: string;
  jwtRequireExp: string;
  rateLimitPerMinute: number;
  trustProxy: string;
  sseHeartbeatMs: number;
  maxStreamsPerCaller: number;
  remoteAgents: string;
  webhookAllowlist: string;
  webhookScheduleMs: number[];
  webhookTimeoutMs: number;
  webhookConcurrency: number;
  webhookPerHostConcurrency: number;
  webhookLeaseMs: number;
  webhookPollMs: number;
  webhookDisableAfterMs: number;
  webhookMaxResponseBytes: number;
  retentionDays: number;
  publicUrl: string;
}

type Kind = 'int' | 'string' | 'intList' | 'intMap';

export interface Setting {
  key: keyof Config;
  env: string;
  flag: string;
  kind: Kind;
  describe: string;
}

/** A setting's environment variable and flag follow from its key: dbPath → ARCD_DB_PATH, --db-path. */
function setting(key: keyof Config, kind: Kind, describe: string): Setting {
  const words = key
    .replace(/([A-Z])/g, ' $1')
    .toLowerCase()
    .split(' ');
  return {
    key,
    kind,
    describe,
    env: `ARCD_${words.join('_').toUpperCase()}`,
    flag: `--${words.join('-')}`,
  };
}

export const SETTINGS: readonly Setting[] = [
  setting('port', 'int', 'TCP port (0 picks a free one)'),
  setting('host', 'string', 'address to listen on'),
  setting('db', 'string', 'SQLite file (":memory:" for a throwaway one)'),
  setting(
    'writerThread',
    'string',
    '"on": tasks\' writes commit on a second SQLite connection on a worker thread; "off": on the event loop',
  ),
  setting('agentsDir', 'string', 'folder of agent modules to host (replaces the bundled ones)'),
  setting('serverName', 'string', 'responseAgent on routing errors, name in /agent-info'),
  setting('maxBodyBytes', 'int', 'largest request body accepted (larger → -45004)'),
  setting('maxPartBytes', 'int', 'largest message part (files counted decoded; larger → -45004)'),
  setting('maxMessageBytes', 'int', 'largest message, all parts together (larger → -45004)'),
  setting(
    'maxHistoryBytes',
    'int',
    "largest history task.info answers: a task's messages and artifacts as JSON text, files included (larger → -45004)",
  ),
  setting('maxBatch', 'int', 'most requests in one JSON-RPC batch'),
  setting('concurrency', 'int', 'turns run at once, all agents together'),
  setting('leaseMs', 'int', 'how long a crashed process holds a task before another reclaims it'),
  setting(
    'lostTurnLimit',
    'int',
    'a turn lost with its process (crash, kill) this many times in a row fails its task; 0: never',
  ),
  setting(
    'pollMs',
    'int',
    'how often the engine, blocking waits and event streams look for what other processes wrote',
  ),
  setting(
    'shutdownGraceMs',
    'int',
    'how long a stopped handler has to return before its lease goes; shutdown waits for stopped hooks as long',
  ),
  setting('logLevel', 'string', 'pino level: trace, debug, info, warn, error, silent'),
  setting(
    'auth',
    'string',
    '"required" (Bearer tokens) or "off" (open: anyone may call, as any agent)',
  ),
  setting(
    'apiKeysFile',
    'string',
    'JSON file of API keys (sha256, identity, scopes): see `arcd token create`',
  ),
  setting(
    'jwtJwksUrl',
    'string',
    'verify JWT bearer tokens against this JWKS URL (needs --jwt-issuer and --jwt-audience)',
  ),
  setting(
    'jwtSecret',
    'string',
    'verify JWT bearer tokens with this HS256 secret (32 bytes at least)',
  ),
  setting(
    'jwtPublicKeyFile',
    'string',
    'verify JWT bearer tokens with this PEM public key (RSA: RS*/PS*, EC: ES*, Ed25519: EdDSA; read at start)',
  ),
  setting('jwtIssuer', 'string', 'required JWT issuer (iss), if set'),
  setting('jwtAudience', 'string', 'required JWT audience (aud), if set'),
  setting('jwtIdentityClaim', 'string', 'JWT claim holding the caller identity'),
  setting(
    'jwtRequireExp',
    'string',
    '"on": a JWT without an expiry (exp) is refused; "off": accepted, good until its key is withdrawn',
  ),
  setting(
    'rateLimitPerMinute',
    'int',
    'calls per identity (per IP when open) per minute; 0 for no limit',
  ),
  setting(
    'trustProxy',
    'string',
    'reverse proxies whose X-Forwarded-For names the client (for rate limits and stream caps): IPs, CIDRs, loopback, linklocal, uniquelocal, comma-separated; none if unset',
  ),
  setting(
    'remoteAgents',
    'string',
    'agents hosted by other arcd servers: id=http://host:port[/remoteId], comma-separated',
  ),
  setting('sseHeartbeatMs', 'int', 'heartbeat comment interval on idle event streams'),
  setting(
    'maxStreamsPerCaller',
    'int',
    'task event streams one caller may hold open at once (more → HTTP 429, -44007; 0: no limit)',
  ),
  setting(
    'agentConcurrency',
    'intMap',
    'per-agent turn limits over what agents declare, e.g. "slow=2,echo=8"',
  ),
  setting(
    'webhookAllowlist',
    'string',
    'hosts, IPs or CIDRs webhooks may reach although private (comma-separated)',
  ),
  setting(
    'webhookScheduleMs',
    'intList',
    'wait before each delivery attempt in ms, comma-separated (its length is the attempt budget)',
  ),
  setting('webhookTimeoutMs', 'int', 'timeout of one delivery attempt'),
  setting('webhookConcurrency', 'int', 'deliveries in flight at once'),
  setting('webhookPerHostConcurrency', 'int', 'deliveries in flight to one receiver host'),
  setting(
    'webhookLeaseMs',
    'int',
    'how long a claimed delivery is held before another sender may send it',
  ),
  setting('webhookPollMs', 'int', 'how often due deliveries are looked for'),
  setting(
    'webhookDisableAfterMs',
    'int',
    'a subscription whose deliveries fail this long is disabled',
  ),
  setting('webhookMaxResponseBytes', 'int', "how much of a receiver's answer is read and kept"),
  setting(
    'retentionDays',
    'int',
    'finished tasks older than this many days are deleted with their history, closed chats with their messages (0: keep all)',
  ),
  setting(
    'publicUrl',
    'string',
    'base URL callers reach this server at, for trigger URLs (default: the listening address)',
  ),
];

export const DEFAULTS: Config = {
  port: 8080,
  host: '127.0.0.1',
  db: path.join('.', 'data', 'arcd.db'),
  writerThread: 'on',
  agentsDir: bundledAgentsDir,
  serverName: 'arcd',
  maxBodyBytes: 16 * 1024 * 1024,
  maxPartBytes: 10 * 1024 * 1024,
  maxMessageBytes: 12 * 1024 * 1024,
  maxHistoryBytes: 256 * 1024 * 1024,
  maxBatch: 100,
  concurrency: 16,
  leaseMs: 30_000,
  lostTurnLimit: 5,
  pollMs: 1_000,
  shutdownGraceMs: 5_000,
  logLevel: 'info',
  agentConcurrency: {},
  auth: 'required',
  apiKeysFile: path.join('.', 'data', 'api-keys.json'),
  jwtJwksUrl: '',
  jwtSecret: '',
  jwtPublicKeyFile: '',
  jwtIssuer: '',
  jwtAudience: '',
  jwtIdentityClaim: 'sub',
  jwtRequireExp: 'off',
  rateLimitPerMinute: 6_000,
  trustProxy: '',
  sseHeartbeatMs: 15_000,
  maxStreamsPerCaller: 256,
  remoteAgents: '',
  webhookAllowlist: '',
  webhookScheduleMs: [...DEFAULT_SCHEDULE_MS],
  webhookTimeoutMs: 10_000,
  webhookConcurrency: 32,
  webhookPerHostConcurrency: 4,
  webhookLeaseMs: 60_000,
  webhookPollMs: 1_000,
  webhookDisableAfterMs: 5 * 24 * 3_600_000,
  webhookMaxResponseBytes: 4_096,
  retentionDays: 30,
  publicUrl: '',
};

/** Integer settings for which 0 means something (any port; no limit; keep forever). */
const ZERO_ALLOWED = new Set<keyof Config>([
  'port',
  'rateLimitPerMinute',
  'retentionDays',
  'lostTurnLimit',
  'maxStreamsPerCaller',
]);

/** The longest wait of a webhook schedule: a century (retries are timed as dates). */
const MAX_RETRY_WAIT_MS = 100 * 365 * 86_400_000;

/** The settings that time a timer: past MAX_TIMER_MS, Node fires it every millisecond. */
const TIMED = new Set<keyof Config>([
  'leaseMs',
  'pollMs',
  'shutdownGraceMs',
  'sseHeartbeatMs',
  'webhookTimeoutMs',
  'webhookPollMs',
]);

/**
 * The largest value a setting takes: a timer's delay must fit one, a port its range, days a
 * date; anything else (times only compared or stored) what JavaScript counts exactly.
 */
function maxOf(key: keyof Config): number {
  if (TIMED.has(key)) return MAX_TIMER_MS;
  if (key === 'port') return 65_535;
  if (key === 'retentionDays') return 1_000_000;
  // A retry's time must stay a date (Date's range ends 8.64e15 ms after 1970).
  if (key === 'webhookScheduleMs') return MAX_RETRY_WAIT_MS;
  return Number.MAX_SAFE_INTEGER;
}

/** A whole number's text as a number; blank text is NaN, not the 0 `Number` makes of it. */
function numberOf(text: string | undefined): number {
  const trimmed = text?.trim() ?? '';
  return trimmed === '' ? NaN : Number(trimmed);
}

function parseValue(
  setting: Setting,
  raw: string,
): string | number | number[] | Record<string, number> {
  if (setting.kind === 'string') return raw;
  const name = `${setting.env}/${setting.flag}`;
  if (setting.kind === 'intMap') {
    const map: Record<string, number> = {};
    for (const pair of raw
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean)) {
      const [key, value, ...more] = pair.split('=').map((part) => part.trim());
      const n = numberOf(value);
      if (!key || more.length > 0 || !Number.isInteger(n) || n < 1) {
        throw new Error(`${name}: expected name=number pairs (number ≥ 1), got "${raw}"`);
      }
      map[key] = n;
    }
    return map;
  }
  if (setting.kind === 'intList') {
    const values = raw.split(',').map(numberOf);
    const max = maxOf(setting.key);
    if (raw.trim() === '' || values.some((v) => !Number.isInteger(v) || v < 0 || v > max)) {
      throw new Error(
        `${name}: expected whole numbers from 0 to ${max}, comma-separated, got "${raw}"`,
      );
    }
    return values;
  }
  const value = numberOf(raw);
  const min = ZERO_ALLOWED.has(setting.key) ? 0 : 1;
  const max = maxOf(setting.key);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name}: expected a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

function flatten(given: string | number | number[] | Record<string, number>): string {
  if (Array.isArray(given)) return given.join(',');
  if (typeof given === 'object') {
    return Object.entries(given)
      .map(([key, value]) => `${key}=${value}`)
      .join(',');
  }
  return String(given);
}

/** Defaults, overlaid by the environment, overlaid by explicit values (flags or code). */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  explicit: Partial<Record<keyof Config, string | number | number[] | Record<string, number>>> = {},
): Config {
  const config: Record<string, unknown> = { ...DEFAULTS };
  for (const setting of SETTINGS) {
    // A flag wins over the environment, whose value is then not read at all (a bad one in the
    // environment does not stop a start that overrides it).
    const given = explicit[setting.key];
    const fromEnv = env[setting.env];
    // An empty flag is unset, as an empty variable is: `--host "$HOST"` with HOST unset must
    // not listen on every interface, nor `--db ""` open a throwaway database.
    if (given !== undefined && given !== '') {
      config[setting.key] = parseValue(setting, flatten(given));
    } else if (fromEnv !== undefined && fromEnv !== '') {
      config[setting.key] = parseValue(setting, fromEnv);
    }
  }
  checkWebhookLease(config as unknown as Config);
  checkPublicUrl(config as unknown as Config);
  return config as unknown as Config;
}

/** A public URL is what trigger URLs and agent cards are written from: it must be one. */
function checkPublicUrl({ publicUrl }: Config): void {
  if (publicUrl === '') return;
  let url: URL | undefined;
  try {
    url = new URL(publicUrl);
  } catch {
    url = undefined;
  }
  if (url?.protocol !== 'http:' && url?.protocol !== 'https:') {
    throw new Error(
      `ARCD_PUBLIC_URL/--public-url: expected an http(s) URL such as https://arcd.example.com, got "${publicUrl}"`,
    );
  }
}

/**
 * A sender holds a claimed delivery for the lease, and never renews it: a lease no longer than
 * an attempt's timeout would let a sender claim again, and send twice, a delivery it is still
 * sending.
 */
function checkWebhookLease({ webhookLeaseMs, webhookTimeoutMs }: Config): void {
  if (webhookLeaseMs <= webhookTimeoutMs) {
    throw new Error(
      `webhookLeaseMs (${webhookLeaseMs}) must be longer than webhookTimeoutMs (${webhookTimeoutMs}): ` +
        'a delivery still being sent would be claimed and sent again',
    );
  }
}

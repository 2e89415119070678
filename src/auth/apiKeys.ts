/**
 * API keys: a JSON file of entries `{sha256, identity, scopes}` (the token itself is never
 * stored), looked up by the SHA-256 of the presented token. `arcd token create` makes a
 * token, prints it once and appends its entry (ApiKeyFile re-reads the file when it changes).
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Principal } from './principal';
import { toPrincipal } from './principal';
import { sleepSync } from '../sleepSync';

export interface ApiKeyEntry {
  sha256: string;
  identity: string;
  scopes: string[];
  createdAt?: string;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function generateToken(): string {
  return `arcd_${randomBytes(32).toString('base64url')}`;
}

export function readApiKeys(file: string): ApiKeyEntry[] {
  if (!fs.existsSync(file)) return [];
  return parseApiKeys(file, fs.readFileSync(file, 'utf8'));
}

/** The entries of a key file's text (`file` names it in errors). */
export function parseApiKeys(file: string, text: string): ApiKeyEntry[] {
  const entries = JSON.parse(text) as unknown;
  if (!Array.isArray(entries)) throw new Error(`${file}: expected a JSON array of API key entries`);
  for (const entry of entries as ApiKeyEntry[]) {
    if (!/^[0-9a-f]{64}$/.test(entry.sha256 ?? '') || typeof entry.identity !== 'string') {
      throw new Error(`${file}: every entry needs a hex sha256 and an identity`);
    }
    if (!Array.isArray(entry.scopes))
      throw new Error(`${file}: entry ${entry.identity} has no scopes`);
  }
  return entries as ApiKeyEntry[];
}

/** Creates a token for `identity`, appends its hash to `file`, and returns the token. */
/** How long `token create` waits for another's lock on the key file before it gives up. */
const LOCK_WAIT_MS = 10_000;
/** A lock this old was left by a create that died holding it: taken over. */
const LOCK_STALE_MS = 30_000;

/**
 * Runs `work` holding `<file>.lock` (created exclusively): two `token create` at once would
 * each read the file, add their key and rename theirs over it, and one key would be lost.
 */
function withFileLock<T>(file: string, work: () => T): T {
  const lock = `${file}.lock`;
  const giveUpAt = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      fs.closeSync(fs.openSync(lock, 'wx', 0o600));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const held = fs.statSync(lock, { throwIfNoEntry: false });
      if (held && Date.now() - held.mtimeMs > LOCK_STALE_MS) {
        fs.rmSync(lock, { force: true });
        continue;
      }
      if (Date.now() > giveUpAt) {
        throw new Error(`${lock} is held by another token create (remove it if none runs)`);
      }
      sleepSync(20); // a synchronous command: it may block while it waits
    }
  }
  try {
    return work();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

export function addApiKey(file: string, identity: string, scopes: string[]): string {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const target = fs.existsSync(file) ? fs.realpathSync(file) : file;
  return withFileLock(target, () => appendKey(file, target, identity, scopes));
}

function appendKey(file: string, target: string, identity: string, scopes: string[]): string {
  const token = generateToken();
  const entries = readApiKeys(file);
  entries.push({ sha256: hashToken(token), identity, scopes, createdAt: new Date().toISOString() });
  // Written aside and renamed over the file, so that a server re-reading it never sees half of
  // it: over the file a symlink names (`target`), with the file's own mode and owner (a new
  // one is 0600).
  const before = fs.statSync(target, { throwIfNoEntry: false });
  const aside = `${target}.${process.pid}.tmp`;
  fs.writeFileSync(aside, `${JSON.stringify(entries, null, 2)}\n`, { mode: 0o600 });
  if (before) {
    fs.chmodSync(aside, before.mode & 0o7777);
    try {
      fs.chownSync(aside, before.uid, before.gid);
    } catch {
      // Not ours to give away (only root may): the file is then its writer's.
    }
  }
  fs.renameSync(aside, target);
  return token;
}

export class ApiKeyTable {
  private readonly byHash = new Map<string, Principal>();

  constructor(entries: ApiKeyEntry[]) {
    for (const entry of entries)
      this.byHash.set(entry.sha256, toPrincipal(entry.identity, entry.scopes));
  }

  get size(): number {
    return this.byHash.size;
  }

  find(token: string): Principal | undefined {
    return this.byHash.get(hashToken(token));
  }
}

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
export function addApiKey(file: string, identity: string, scopes: string[]): string {
  const token = generateToken();
  const entries = readApiKeys(file);
  entries.push({ sha256: hashToken(token), identity, scopes, createdAt: new Date().toISOString() });
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  // Written aside and renamed over the file, so that a server re-reading it never sees half of
  // it: over the file a symlink names, with the file's own mode and owner (a new one is 0600).
  const target = fs.existsSync(file) ? fs.realpathSync(file) : file;
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

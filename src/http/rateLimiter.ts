/**
 * The per-caller call limit: a fixed window counted by express-rate-limit's MemoryStore. On
 * POST /arc per identity (per IP when open); one instance serves both ways into that route
 * (the plain node:http path and the express fallback), so a caller has one budget. Trigger
 * URLs (which carry no identity) are counted per client address, in a budget of their own.
 */
import type { IncomingMessage } from 'node:http';
import { MemoryStore, ipKeyGenerator } from 'express-rate-limit';
import proxyAddr from 'proxy-addr';
import type { AuthOutcome } from '../auth/authenticator';
import { RateLimitError } from '../rpc/errors';
import { RecentMap } from '../recentMap';

const WINDOW_MS = 60_000;

export interface RateVerdict {
  /** `RateLimit-Policy` and `RateLimit` (IETF draft 7), or none when the limit is off. */
  headers: Array<[string, string]>;
  error?: RateLimitError;
}

/** Client addresses whose keys are remembered, at least (RecentMap). */
const KNOWN_ADDRESSES = 4096;

export class RateLimiter {
  private readonly store = new MemoryStore();
  /**
   * Each client address's key, as counted (IPv6 by its /56, as express-rate-limit does), for
   * calls without a token and trigger URLs. Working out an IPv6 address's /56 costs ~6–9 µs,
   * paid on every such call otherwise: a twentieth of a task.create (bench/rateLimitKey.ts).
   */
  private readonly keys = new RecentMap<string, string>(KNOWN_ADDRESSES);

  /** The proxies whose X-Forwarded-For is believed (--trust-proxy), if any. */
  private readonly trusted: ((address: string, hop: number) => boolean) | undefined;

  /**
   * `perMinute` calls per caller per minute; 0 turns the limit off. `trustProxy`: the reverse
   * proxies (addresses, CIDRs, proxy-addr's names) whose X-Forwarded-For names the client;
   * without it the connection's address is the client's, whatever the header says.
   */
  constructor(
    private readonly perMinute: number,
    trustProxy = '',
  ) {
    const proxies = trustProxy
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean);
    try {
      this.trusted = proxies.length > 0 ? proxyAddr.compile(proxies) : undefined;
    } catch (error) {
      throw new Error(`ARCD_TRUST_PROXY/--trust-proxy: ${(error as Error).message}`);
    }
    if (perMinute > 0) this.store.init({ windowMs: WINDOW_MS } as never);
  }

  /** `calls`: how many calls the request makes (a JSON-RPC batch: one per element). */
  check(auth: AuthOutcome, req: IncomingMessage, calls = 1): Promise<RateVerdict> {
    return this.count(this.callerKey(auth, req), calls);
  }

  /** Who a request is counted as: its token's identity, else its client's address (IPv6 by /56). */
  callerKey(auth: AuthOutcome, req: IncomingMessage): string {
    return auth.mode === 'authenticated'
      ? `id:${auth.principal.identity}`
      : this.addressKey(this.clientAddress(req));
  }

  /** A call to a trigger URL, by its client's address (a guess at a token counts too). */
  checkTrigger(req: IncomingMessage): Promise<RateVerdict> {
    return this.count(`trigger-${this.addressKey(this.clientAddress(req))}`);
  }

  /** A firing of a known trigger: from many addresses, it still makes no more than one may. */
  checkFiring(triggerId: string): Promise<RateVerdict> {
    return this.count(`trigger-id:${triggerId}`);
  }

  /** The client's address: the connection's, or past the trusted proxies the one they name. */
  private clientAddress(req: IncomingMessage): string | undefined {
    if (!this.trusted || !req.socket.remoteAddress) return req.socket.remoteAddress;
    return proxyAddr(req, this.trusted);
  }

  private addressKey(remoteAddress: string | undefined): string {
    const address = remoteAddress ?? 'unknown';
    let key = this.keys.get(address);
    if (key === undefined) {
      key = `ip:${ipKeyGenerator(address)}`;
      this.keys.set(address, key);
    }
    return key;
  }

  private async count(key: string, calls = 1): Promise<RateVerdict> {
    if (this.perMinute === 0) return { headers: [] };
    let { totalHits, resetTime } = await this.store.increment(key);
    for (let more = 1; more < calls; more += 1) {
      ({ totalHits, resetTime } = await this.store.increment(key));
    }
    const refused = totalHits > this.perMinute;
    if (refused) {
      // Refused whole, a batch costs what one refused call does: the rest is given back (else
      // a caller with a little budget left loses all of it to one batch that ran nothing).
      for (let back = 1; back < calls; back += 1) await this.store.decrement(key);
      totalHits -= calls - 1;
    }
    const reset = Math.max(0, Math.ceil(((resetTime?.getTime() ?? 0) - Date.now()) / 1000));
    const headers: Array<[string, string]> = [
      ['RateLimit-Policy', `${this.perMinute};w=${WINDOW_MS / 1000}`],
      [
        'RateLimit',
        `limit=${this.perMinute}, remaining=${Math.max(0, this.perMinute - totalHits)}, reset=${reset}`,
      ],
    ];
    if (!refused) return { headers };
    // The window's end: the budget is whole again then (at least a second away).
    return { headers, error: new RateLimitError(this.perMinute, WINDOW_MS, Math.max(1, reset)) };
  }

  close(): void {
    this.store.shutdown();
  }
}

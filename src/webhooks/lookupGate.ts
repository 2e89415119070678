/**
 * Webhook host name lookups, a few at a time. `dns.lookup` (getaddrinfo) holds one of libuv's
 * four threadpool threads for as long as the resolver takes: seconds when a receiver's DNS is
 * dead. The same threads inflate compressed ARC requests (zlib) and do file work, so a burst
 * of deliveries to hosts whose DNS hangs could stall every compressed call. Lookups past the
 * bound wait here instead, on no thread; a delivery's timeout counts that wait too. One that
 * waited past MAX_WAIT_MS is answered ETIMEOUT without being looked up: its caller has most
 * likely given up, and a backlog of hopeless lookups must not hold up the ones behind it.
 */
import dns from 'node:dns';

/** At most this many webhook lookups wait on the threadpool at once (of its four threads). */
export const LOOKUPS_AT_ONCE = 2;
/** A lookup queued longer than this is answered ETIMEOUT (3× the default delivery timeout). */
export const MAX_WAIT_MS = 30_000;

type LookupCallback = (error: NodeJS.ErrnoException | null, ...results: unknown[]) => void;
type Lookup = (hostname: string, options: dns.LookupOptions, callback: LookupCallback) => void;

export class LookupGate {
  private running = 0;
  private readonly waiting: Array<{ run: () => void; since: number; expire: () => void }> = [];

  constructor(
    private readonly resolve: Lookup = dns.lookup as unknown as Lookup,
    private readonly max = LOOKUPS_AT_ONCE,
    private readonly maxWaitMs = MAX_WAIT_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** `dns.lookup` as got (`dnsLookup`) and `net.connect` (`lookup`) call it, gated. */
  readonly lookup = (hostname: string, options: dns.LookupOptions, callback: LookupCallback) => {
    const run = () => {
      this.running += 1;
      let done = false;
      const finish: LookupCallback = (error, ...results) => {
        if (done) return;
        done = true;
        this.running -= 1;
        this.next();
        callback(error, ...results);
      };
      try {
        this.resolve(hostname, options, finish);
      } catch (error) {
        finish(error as NodeJS.ErrnoException); // refused at once (a malformed name)
      }
    };
    if (this.running < this.max) return run();
    const expire = () => {
      const error: NodeJS.ErrnoException = new Error(`queryA ETIMEOUT ${hostname}`);
      error.code = 'ETIMEOUT';
      callback(error);
    };
    this.waiting.push({ run, since: this.now(), expire });
  };

  /** Starts the oldest queued lookup still worth running; answers the expired ones. */
  private next(): void {
    for (let queued = this.waiting.shift(); queued; queued = this.waiting.shift()) {
      if (this.now() - queued.since <= this.maxWaitMs) return queued.run();
      queued.expire();
    }
  }

  /** Every address `hostname` resolves to, in the resolver's order. */
  lookupAll(hostname: string): Promise<dns.LookupAddress[]> {
    return new Promise((resolve, reject) => {
      this.lookup(hostname, { all: true, verbatim: true }, (error, addresses) => {
        if (error) reject(error);
        else resolve(addresses as dns.LookupAddress[]);
      });
    });
  }
}

/** This process's gate for webhook lookups (the threadpool is the process's). */
export const webhookLookups = new LookupGate();

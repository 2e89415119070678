/**
 * Webhook host name lookups, a few at a time. `dns.lookup` (getaddrinfo) holds one of libuv's
 * four threadpool threads for as long as the resolver takes: seconds when a receiver's DNS is
 * dead. The same threads inflate compressed ARC requests (zlib) and do file work, so a burst
 * of deliveries to hosts whose DNS hangs could stall every compressed call. Lookups past the
 * bound wait here instead, on no thread; a delivery's timeout counts that wait too. One that
 * waited past MAX_WAIT_MS is answered ETIMEOUT without being looked up: its caller has most
 * likely given up, and a backlog of hopeless lookups must not hold up the ones behind it.
 * Lookups of a name already being looked up (or queued) share that one's answer, so a host
 * whose DNS hangs takes one place at most, however many deliveries to it start meanwhile.
 */
import dns from 'node:dns';

/** At most this many webhook lookups wait on the threadpool at once (of its four threads). */
export const LOOKUPS_AT_ONCE = 2;
/** A lookup queued longer than this is answered ETIMEOUT (3× the default delivery timeout). */
export const MAX_WAIT_MS = 30_000;

type LookupCallback = (error: NodeJS.ErrnoException | null, ...results: unknown[]) => void;
type Lookup = (hostname: string, options: dns.LookupOptions, callback: LookupCallback) => void;

/** Lookups asked the same question (name and options) get the same answer. */
function questionOf(hostname: string, options: dns.LookupOptions): string {
  const { family, hints, all, verbatim, order } = options as dns.LookupOptions & {
    order?: string;
  };
  return [hostname, family, hints, all, verbatim, order].join('\0');
}

export class LookupGate {
  private running = 0;
  private readonly waiting: Array<{ run: () => void; since: number; expire: () => void }> = [];
  /** The callers of each question being looked up or queued, the first one's included. */
  private readonly asking = new Map<string, LookupCallback[]>();

  constructor(
    private readonly resolve: Lookup = dns.lookup as unknown as Lookup,
    private readonly max = LOOKUPS_AT_ONCE,
    private readonly maxWaitMs = MAX_WAIT_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** `dns.lookup` as got (`dnsLookup`) and `net.connect` (`lookup`) call it, gated. */
  readonly lookup = (hostname: string, options: dns.LookupOptions, callback: LookupCallback) => {
    const question = questionOf(hostname, options);
    const askers = this.asking.get(question);
    if (askers) {
      askers.push(callback);
      return;
    }
    const callbacks = [callback];
    this.asking.set(question, callbacks);
    const answer: LookupCallback = (error, ...results) => {
      this.asking.delete(question);
      // Each caller its own copy of an address list (a caller may reorder it).
      for (const told of callbacks) {
        told(error, ...results.map((result) => (Array.isArray(result) ? [...result] : result)));
      }
    };
    const run = () => {
      this.running += 1;
      let done = false;
      const finish: LookupCallback = (error, ...results) => {
        if (done) return;
        done = true;
        this.running -= 1;
        this.next();
        answer(error, ...results);
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
      answer(error);
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

/**
 * Webhook host name lookups, a few at a time. `dns.lookup` (getaddrinfo) holds one of libuv's
 * four threadpool threads for as long as the resolver takes: seconds when a receiver's DNS is
 * dead. The same threads inflate compressed ARC requests (zlib) and do file work, so a burst
 * of deliveries to hosts whose DNS hangs could stall every compressed call. Lookups past the
 * bound wait here instead, on no thread; a delivery's timeout counts that wait too. One that
 * waited past MAX_WAIT_MS is answered ETIMEOUT without being looked up: its caller has most
 * likely given up, and a backlog of hopeless lookups must not hold up the ones behind it.
 * Lookups of a name already being looked up (or queued) share that one's answer, whatever
 * their options (one question, every address; each caller gets what its options ask of that
 * list), so a host whose DNS hangs takes one place at most, however many deliveries and
 * subscribes to it start meanwhile. A queued lookup is answered ETIMEOUT once it has waited
 * MAX_WAIT_MS, by a timer: a subscribe waiting behind hung names is not held past it.
 */
import dns from 'node:dns';

/** At most this many webhook lookups wait on the threadpool at once (of its four threads). */
export const LOOKUPS_AT_ONCE = 2;
/** A lookup queued longer than this is answered ETIMEOUT (3× the default delivery timeout). */
export const MAX_WAIT_MS = 30_000;

type LookupCallback = (error: NodeJS.ErrnoException | null, ...results: unknown[]) => void;
type Lookup = (hostname: string, options: dns.LookupOptions, callback: LookupCallback) => void;

/** The question every lookup of a name shares: all its addresses, in the resolver's order. */
const EVERY_ADDRESS: dns.LookupOptions = { all: true, verbatim: true };

/** What `dns.lookup` with `options` answers, taken from the name's whole list. */
function answerFor(
  hostname: string,
  options: dns.LookupOptions,
  addresses: dns.LookupAddress[],
  callback: LookupCallback,
): void {
  const { family, all, verbatim, order } = options as dns.LookupOptions & { order?: string };
  const wanted = family === 'IPv4' ? 4 : family === 'IPv6' ? 6 : Number(family ?? 0);
  let fitting = addresses
    .filter((entry) => !wanted || entry.family === wanted)
    .map((entry) => ({ ...entry })); // each caller its own copy (a caller may reorder it)
  const first = order === 'ipv6first' ? 6 : order === 'ipv4first' || verbatim === false ? 4 : 0;
  if (first)
    fitting = [
      ...fitting.filter((e) => e.family === first),
      ...fitting.filter((e) => e.family !== first),
    ];
  if (all) return callback(null, fitting);
  const chosen = fitting[0];
  if (!chosen) {
    const error: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
    error.code = 'ENOTFOUND';
    return callback(error);
  }
  callback(null, chosen.address, chosen.family);
}

export class LookupGate {
  private running = 0;
  private readonly waiting: Array<{ run: () => void; since: number; expire: () => void }> = [];
  /** The callers of each name being looked up or queued, the first one's included. */
  private readonly asking = new Map<
    string,
    Array<{ options: dns.LookupOptions; callback: LookupCallback }>
  >();

  constructor(
    private readonly resolve: Lookup = dns.lookup as unknown as Lookup,
    private readonly max = LOOKUPS_AT_ONCE,
    private readonly maxWaitMs = MAX_WAIT_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** `dns.lookup` as got (`dnsLookup`) and `net.connect` (`lookup`) call it, gated. */
  readonly lookup = (hostname: string, options: dns.LookupOptions, callback: LookupCallback) => {
    const askers = this.asking.get(hostname);
    if (askers) {
      askers.push({ options, callback });
      return;
    }
    const asking = [{ options, callback }];
    this.asking.set(hostname, asking);
    const answer: LookupCallback = (error, addresses) => {
      this.asking.delete(hostname);
      for (const asker of asking) {
        if (error) asker.callback(error);
        else answerFor(hostname, asker.options, addresses as dns.LookupAddress[], asker.callback);
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
        this.resolve(hostname, EVERY_ADDRESS, finish);
      } catch (error) {
        finish(error as NodeJS.ErrnoException); // refused at once (a malformed name)
      }
    };
    if (this.running < this.max) return run();
    const queued = {
      run: () => {
        clearTimeout(timer);
        run();
      },
      since: this.now(),
      expire: () => {
        clearTimeout(timer);
        const error: NodeJS.ErrnoException = new Error(`queryA ETIMEOUT ${hostname}`);
        error.code = 'ETIMEOUT';
        answer(error);
      },
    };
    // Answered when its wait is up though no place freed (every running lookup hung).
    const timer = setTimeout(() => {
      const at = this.waiting.indexOf(queued);
      if (at < 0) return;
      this.waiting.splice(at, 1);
      queued.expire();
    }, this.maxWaitMs);
    timer.unref();
    this.waiting.push(queued);
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
      this.lookup(hostname, EVERY_ADDRESS, (error, addresses) => {
        if (error) reject(error);
        else resolve(addresses as dns.LookupAddress[]);
      });
    });
  }
}

/** This process's gate for webhook lookups (the threadpool is the process's). */
export const webhookLookups = new LookupGate();

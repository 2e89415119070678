/**
 * What the rate limit's client key costs a call on /arc (the limit is on by default): keying
 * the address afresh with express-rate-limit's ipKeyGenerator (IPv6 by its /56), against
 * arcd's RateLimiter, which remembers each address's key. The clients of a server listening
 * on `::` come as IPv6 or IPv4-mapped (`::ffff:…`) addresses. In-process: steady figures.
 *
 *   npm run build && npx tsx bench/rateLimitKey.ts
 */
import { ipKeyGenerator } from 'express-rate-limit';
import { compiled } from './lib/proc';

/** What the limiter reads of a request: its connection's address (no proxy trusted). */
interface Caller {
  socket: { remoteAddress: string };
  headers: Record<string, string>;
}
interface Limiter {
  check(auth: { mode: 'open' }, req: Caller): Promise<unknown>;
  close(): void;
}
const { RateLimiter } = compiled<{ RateLimiter: new (perMinute: number) => Limiter }>(
  'http',
  'rateLimiter.js',
);

const CALLS = 100_000;
const CLIENTS = 32;

async function perCall(call: (address: string) => unknown, addresses: string[]): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i += 1) await call(addresses[i % addresses.length] as string);
  return Number(process.hrtime.bigint() - start) / CALLS / 1000;
}

async function main(): Promise<void> {
  const families: Record<string, (i: number) => string> = {
    IPv4: (i) => `127.0.0.${i + 1}`,
    'IPv4-mapped': (i) => `::ffff:127.0.0.${i + 1}`,
    IPv6: (i) => `2001:db8:0:${i.toString(16)}::1`,
  };
  console.log(`${CLIENTS} clients, ${CALLS.toLocaleString('en')} calls`);
  console.log('addresses     key afresh µs/call   RateLimiter.check µs/call (key + count)');
  for (const [family, address] of Object.entries(families)) {
    const addresses = Array.from({ length: CLIENTS }, (_, i) => address(i));
    const afresh = await perCall((a) => ipKeyGenerator(a), addresses);
    const limiter = new RateLimiter(1_000_000_000);
    const callers = new Map(
      addresses.map((a) => [a, { socket: { remoteAddress: a }, headers: {} }]),
    );
    const checked = await perCall(
      (a) => limiter.check({ mode: 'open' }, callers.get(a) as Caller),
      addresses,
    );
    limiter.close();
    console.log(
      `${family.padEnd(12)}  ${afresh.toFixed(3).padStart(19)}   ${checked.toFixed(3).padStart(10)}`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

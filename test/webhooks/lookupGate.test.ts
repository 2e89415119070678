/**
 * LookupGate: webhook name lookups wait on the threadpool a few at a time, the rest queued
 * in order; a lookup that fails, or is refused at once, frees its place all the same; lookups
 * of one name share one question whatever their options.
 */
import type dns from 'node:dns';
import { LookupGate, webhookLookups } from '../../src/webhooks/lookupGate';

type Pending = {
  hostname: string;
  options: dns.LookupOptions;
  /** Answers with one IPv4 address, or with the list given. */
  answer: (error: Error | null, address?: string | dns.LookupAddress[]) => void;
};

/** A resolver that answers when the test says so. */
function heldResolver() {
  const pending: Pending[] = [];
  const resolve = (
    hostname: string,
    options: dns.LookupOptions,
    callback: (error: Error | null, ...results: unknown[]) => void,
  ) => {
    if (hostname === '') throw new TypeError('no name');
    pending.push({
      hostname,
      options,
      answer: (error, address) =>
        callback(error, typeof address === 'string' ? [{ address, family: 4 }] : address),
    });
  };
  return { pending, resolve };
}

test('at most two lookups run at once; the others start in order as places free', () => {
  const resolver = heldResolver();
  const gate = new LookupGate(resolver.resolve, 2);
  const answers: string[] = [];
  for (const name of ['a.test', 'b.test', 'c.test', 'd.test']) {
    gate.lookup(name, {}, (error, address) => answers.push(`${name} ${error?.message ?? address}`));
  }
  expect(resolver.pending.map((p) => p.hostname)).toEqual(['a.test', 'b.test']);
  resolver.pending[1]!.answer(null, '192.0.2.2');
  expect(resolver.pending.map((p) => p.hostname)).toEqual(['a.test', 'b.test', 'c.test']);
  resolver.pending[0]!.answer(new Error('ENOTFOUND'));
  expect(resolver.pending.map((p) => p.hostname)).toEqual(['a.test', 'b.test', 'c.test', 'd.test']);
  expect(answers).toEqual(['b.test 192.0.2.2', 'a.test ENOTFOUND']);
});

test('a lookup refused at once is answered with its error and frees its place', () => {
  const resolver = heldResolver();
  const gate = new LookupGate(resolver.resolve, 1);
  const errors: string[] = [];
  gate.lookup('', {}, (error) => errors.push(String(error?.message)));
  gate.lookup('next.test', {}, () => undefined);
  expect(errors).toEqual(['no name']);
  expect(resolver.pending.map((p) => p.hostname)).toEqual(['next.test']);
});

test('a lookup queued past the longest wait is answered ETIMEOUT, not looked up', () => {
  const resolver = heldResolver();
  let now = 0;
  const gate = new LookupGate(resolver.resolve, 1, 30_000, () => now);
  const answers: string[] = [];
  gate.lookup('slow.test', {}, () => undefined);
  gate.lookup('stale.test', {}, (error) => answers.push(`stale ${error?.code}`));
  now = 20_000;
  gate.lookup('fresh.test', {}, (error, address) => answers.push(`fresh ${address}`));
  now = 40_000; // stale.test has waited 40 s, fresh.test 20 s
  resolver.pending[0]!.answer(new Error('EAI_AGAIN'));
  expect(answers).toEqual(['stale ETIMEOUT']);
  expect(resolver.pending.map((p) => p.hostname)).toEqual(['slow.test', 'fresh.test']);
  resolver.pending[1]!.answer(null, '192.0.2.9');
  expect(answers).toEqual(['stale ETIMEOUT', 'fresh 192.0.2.9']);
});

test('lookups of a name already asked share its answer: a hung name takes one place, not all', () => {
  const resolver = heldResolver();
  const gate = new LookupGate(resolver.resolve, 2);
  const answers: string[] = [];
  for (let i = 0; i < 5; i += 1) {
    gate.lookup('hung.test', {}, (error) => answers.push(`hung ${i} ${error?.message}`));
  }
  gate.lookup('well.test', {}, (_error, address) => answers.push(`well ${address}`));
  // One question on the threadpool for the hung name; the healthy name had a place at once.
  expect(resolver.pending.map((p) => p.hostname)).toEqual(['hung.test', 'well.test']);
  resolver.pending[1]!.answer(null, '192.0.2.7');
  expect(answers).toEqual(['well 192.0.2.7']);
  resolver.pending[0]!.answer(new Error('EAI_AGAIN'));
  expect(answers.slice(1)).toEqual([0, 1, 2, 3, 4].map((i) => `hung ${i} EAI_AGAIN`));
  // Answered: the next lookup of the name asks afresh.
  gate.lookup('hung.test', {}, () => undefined);
  expect(resolver.pending.map((p) => p.hostname)).toEqual(['hung.test', 'well.test', 'hung.test']);
  // A different question about the same name (one family) shares it too.
  gate.lookup('hung.test', { family: 6 }, () => undefined);
  expect(resolver.pending).toHaveLength(3);
});

test("one question a name: each caller gets what its options ask of the name's addresses", () => {
  const resolver = heldResolver();
  const gate = new LookupGate(resolver.resolve, 2);
  const told: unknown[] = [];
  const ask = (options: dns.LookupOptions) =>
    gate.lookup('both.test', options, (error, ...results) => told.push(error?.code ?? results));
  ask({ all: true, verbatim: true }); // a subscribe's check
  ask({ family: 4, hints: 0 }); // a connect's, one family
  ask({ family: 6, all: true });
  ask({ all: true, order: 'ipv4first' } as dns.LookupOptions);
  ask({});
  expect(resolver.pending.map((p) => [p.hostname, p.options])).toEqual([
    ['both.test', { all: true, verbatim: true }],
  ]);
  const v6 = { address: '2001:db8::1', family: 6 };
  const v4 = { address: '192.0.2.1', family: 4 };
  resolver.pending[0]!.answer(null, [v6, v4]);
  expect(told).toEqual([[[v6, v4]], ['192.0.2.1', 4], [[v6]], [[v4, v6]], ['2001:db8::1', 6]]);
  // A family the name has no address of: not found, as dns.lookup says it.
  gate.lookup('v4only.test', { family: 6 }, (error) => told.push(error?.code));
  resolver.pending[1]!.answer(null, '192.0.2.2');
  expect(told.at(-1)).toBe('ENOTFOUND');
});

test('a queued lookup is answered ETIMEOUT when its wait is up, though no place freed', async () => {
  const resolver = heldResolver();
  const gate = new LookupGate(resolver.resolve, 1, 50);
  gate.lookup('hung.test', {}, () => undefined); // never answered
  const queued = await new Promise<string | undefined>((resolve) =>
    gate.lookup('behind.test', {}, (error) => resolve(error?.code)),
  );
  expect(queued).toBe('ETIMEOUT');
  expect(resolver.pending.map((p) => p.hostname)).toEqual(['hung.test']);
});

test("the process's gate resolves names with the system resolver (the hosts file included)", async () => {
  const addresses = await webhookLookups.lookupAll('localhost');
  expect(addresses.length).toBeGreaterThan(0);
  for (const { address } of addresses) expect(['127.0.0.1', '::1']).toContain(address);
});

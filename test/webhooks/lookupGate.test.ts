/**
 * LookupGate: webhook name lookups wait on the threadpool a few at a time, the rest queued
 * in order; a lookup that fails, or is refused at once, frees its place all the same.
 */
import type dns from 'node:dns';
import { LookupGate, webhookLookups } from '../../src/webhooks/lookupGate';

type Pending = { hostname: string; answer: (error: Error | null, address?: string) => void };

/** A resolver that answers when the test says so. */
function heldResolver() {
  const pending: Pending[] = [];
  const resolve = (
    hostname: string,
    _options: dns.LookupOptions,
    callback: (error: Error | null, ...results: unknown[]) => void,
  ) => {
    if (hostname === '') throw new TypeError('no name');
    pending.push({ hostname, answer: (error, address) => callback(error, address, 4) });
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
  // A different question about the same name (one family) is its own.
  gate.lookup('hung.test', { family: 6 }, () => undefined);
  expect(resolver.pending).toHaveLength(4);
});

test("the process's gate resolves names with the system resolver (the hosts file included)", async () => {
  const addresses = await webhookLookups.lookupAll('localhost');
  expect(addresses.length).toBeGreaterThan(0);
  for (const { address } of addresses) expect(['127.0.0.1', '::1']).toContain(address);
});

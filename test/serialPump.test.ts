import { SerialPump } from '../src/serialPump';

const tick = () => new Promise((resolve) => setImmediate(resolve));

test('pokes during a run ask for exactly one more run; runs never overlap', async () => {
  let active = 0;
  let overlap = false;
  let runs = 0;
  let release!: () => void;
  const pump = new SerialPump(
    async () => {
      active += 1;
      overlap ||= active > 1;
      runs += 1;
      await new Promise<void>((resolve) => (release = resolve));
      active -= 1;
    },
    () => undefined,
  );
  pump.poke();
  await tick(); // the run has begun: pokes now ask for one more run after it
  pump.poke();
  pump.poke();
  await tick();
  expect(runs).toBe(1);
  release();
  await tick();
  await tick();
  expect(runs).toBe(2);
  release();
  await tick();
  await tick();
  expect(runs).toBe(2);
  expect(overlap).toBe(false);
});

test('coalesced pokes of one event-loop turn share a run; errors are reported, not thrown', async () => {
  const errors: unknown[] = [];
  let runs = 0;
  const pump = new SerialPump(
    async () => {
      runs += 1;
      throw new Error('boom');
    },
    (error) => errors.push(error),
    true,
  );
  pump.poke();
  pump.poke();
  for (let i = 0; i < 5; i += 1) await tick();
  expect(runs).toBe(1);
  expect(errors).toHaveLength(1);
  pump.stop();
  pump.poke();
  await tick();
  expect(runs).toBe(1);
});

test('stop resolves once the run under way has ended, and starts no other', async () => {
  let runs = 0;
  let release!: () => void;
  let ended = false;
  const pump = new SerialPump(
    async () => {
      runs += 1;
      await new Promise<void>((resolve) => (release = resolve));
      ended = true;
    },
    () => undefined,
  );
  pump.poke();
  await tick();
  pump.poke(); // asks for one more run, which stop must prevent
  let stopped = false;
  const stopping = pump.stop().then(() => (stopped = true));
  await tick();
  expect(stopped).toBe(false);
  release();
  await stopping;
  expect(ended).toBe(true);
  await tick();
  expect(runs).toBe(1);
});

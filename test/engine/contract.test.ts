/**
 * The agent contract from the engine's side: handlers that throw or misbehave fail their task
 * with a readable reason and never crash the server or strand a task in WORKING; input sent
 * while a task waits or works joins the history the next turn sees.
 */
import Database from 'better-sqlite3';
import { defineAgent, type TurnContext } from '../../src/agents/contract';
import {
  type Running,
  type WireJson,
  arcCall,
  arcResult,
  createTask,
  startArcd,
  taskInfo,
  textMessage,
  waitFor,
  waitForStatus,
} from '../helpers/arcServer';

/** An agent whose behaviour each test supplies. */
function scripted(id: string, handle: (ctx: TurnContext) => unknown) {
  return defineAgent({ id, description: `test agent ${id}`, handle: handle as never });
}

/** A promise the test resolves by hand. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

let arcd: Running;
afterEach(async () => arcd?.close());

describe('handlers that break the contract', () => {
  const cases: Array<[string, (ctx: TurnContext) => unknown, RegExp]> = [
    ['throws a string', () => Promise.reject('plain string'), /plain string/],
    [
      'throws an error without a message',
      () => {
        throw new Error('');
      },
      /handler threw/,
    ],
    ['returns a number', () => 42, /agent broke the contract: invalid message from agent/],
    [
      'replies with an invalid part',
      (ctx) => ctx.reply({ parts: [{ type: 'TextPart' } as never] }),
      /invalid message from agent: parts\.0\.content is required/,
    ],
    [
      'adds an artifact without parts',
      (ctx) => ctx.addArtifact({ name: 'x' } as never),
      /invalid artifact from agent: parts is required/,
    ],
    [
      'returns more than a part may hold',
      () => 'x'.repeat(20 * 1024 * 1024),
      /invalid message from agent: Part too large: 20971520 bytes, the limit is 10485760/,
    ],
    [
      'adds an artifact whose file does not decode',
      (ctx) =>
        ctx.addArtifact({
          name: 'broken',
          parts: [{ type: 'FilePart', content: '%%% not base64 %%%', mimeType: 'image/png' }],
        }),
      /invalid artifact from agent: artifact\.parts\.0\.content content is not valid base64/,
    ],
    [
      'replies as the user',
      (ctx) => ctx.reply({ role: 'user', parts: [{ type: 'TextPart', content: 'me again' }] }),
      /invalid message from agent: an agent speaks as "agent" or "system"/,
    ],
    [
      'adds an artifact whose metadata passes the message limit',
      (ctx) =>
        ctx.addArtifact({
          name: 'big',
          parts: [{ type: 'TextPart', content: 'small' }],
          metadata: { notes: 'm'.repeat(13 * 1024 * 1024) },
        }),
      /invalid artifact from agent: its description and metadata pass the message limit \(12582912 bytes\)/,
    ],
    [
      'saves a function as its checkpoint',
      (ctx) => ctx.checkpoint((() => 1) as never),
      /a checkpoint needs JSON data/,
    ],
    [
      'saves a checkpoint past the message limit',
      (ctx) => ctx.checkpoint('x'.repeat(13 * 1024 * 1024)),
      /a checkpoint passes the message limit \(12582912 bytes\)/,
    ],
    [
      'asks for input with a reason that is not text',
      (ctx) => ctx.requestInput('what?', { reason: 42 as never }),
      /an input request's reason is text of at most 4096 characters/,
    ],
    [
      'saves a checkpoint that is not JSON',
      (ctx) => ctx.checkpoint({ big: 10n } as never),
      /a checkpoint must be JSON: .*BigInt/,
    ],
    [
      'replies after asking for input',
      async (ctx) => {
        await ctx.requestInput('what?');
        await ctx.reply('ignoring the rule');
      },
      /the turn asked for input/,
    ],
    [
      'returns a reply after asking for input',
      async (ctx) => {
        await ctx.requestInput('what?');
        return 'and the answer anyway';
      },
      /the turn asked for input: it must return nothing/,
    ],
  ];

  test.each(cases)(
    'a handler that %s fails its task with a readable reason',
    async (_name, handle, reason) => {
      let calls = 0;
      const counted = (ctx: TurnContext) => {
        calls += 1;
        return handle(ctx);
      };
      arcd = await startArcd({ bundled: false, agents: [scripted('bad', counted)] });
      // Retries allowed: a broken contract is not retried (the handler would break it again).
      const task = await createTask(arcd.url, 'bad', 'go', {
        settings: { maxRetries: 2, retryDelayMs: 0 },
      });
      const failed = await waitForStatus(arcd.url, 'bad', task.taskId, ['FAILED']);
      expect(failed.reason).toMatch(reason);
      expect(failed.error).toMatchObject({ code: -42004 });
      if (/agent broke the contract/.test(failed.reason)) expect(calls).toBe(1);
      // The server is still answering, and no turn is left running.
      expect((await fetch(`${arcd.url}/health`)).status).toBe(200);
      await waitFor('no active turns', async () =>
        arcd.server.runner.activeTurns === 0 ? true : undefined,
      );
    },
  );

  test('a handler returning null or an empty string completes its task without a reply', async () => {
    arcd = await startArcd({
      bundled: false,
      agents: [scripted('quiet', (ctx) => (ctx.text() === 'null' ? null : ''))],
    });
    for (const text of ['null', 'empty']) {
      const task = await createTask(arcd.url, 'quiet', text);
      const done = await waitForStatus(arcd.url, 'quiet', task.taskId, ['COMPLETED', 'FAILED']);
      expect(done.status).toBe('COMPLETED');
      expect(done.messages).toHaveLength(1); // the caller's only
    }
  });

  test('a FinalError from another copy of the contract module is known by its mark', async () => {
    let calls = 0;
    arcd = await startArcd({
      bundled: false,
      agents: [
        scripted('elsewhere', () => {
          calls += 1;
          // What `new FinalError(...)` of a second copy of src/agents/contract makes.
          throw Object.assign(new Error('not with this input'), {
            name: 'FinalError',
            [Symbol.for('arcd.final-error')]: true,
          });
        }),
      ],
    });
    const task = await createTask(arcd.url, 'elsewhere', 'go', {
      settings: { maxRetries: 3, retryDelayMs: 0 },
    });
    const failed = await waitForStatus(arcd.url, 'elsewhere', task.taskId, ['FAILED']);
    expect(failed.reason).toMatch(/not with this input/);
    expect(calls).toBe(1);
  });

  test("an input request without a reason takes its prompt's opening words", async () => {
    const prompt = 'w'.repeat(1_000);
    arcd = await startArcd({
      bundled: false,
      agents: [scripted('asker', (ctx) => ctx.requestInput(prompt))],
    });
    const task = await createTask(arcd.url, 'asker', 'go');
    const paused = await waitForStatus(arcd.url, 'asker', task.taskId, ['INPUT_REQUIRED']);
    expect(paused.messages.at(-1).parts[0].content).toBe(prompt);
    const events = await arcd.server.store.listEvents(task.taskId);
    const pause = events.find((e) => e.type === 'TASK_PAUSED');
    expect(pause?.data.reason).toBe(`${'w'.repeat(254)}…`);
  });

  test('only the last checkpoint of a task is kept', async () => {
    arcd = await startArcd({
      bundled: false,
      agents: [
        scripted('stepper', async (ctx) => {
          for (let step = 1; step <= 3; step += 1) await ctx.checkpoint({ step });
        }),
      ],
    });
    const task = await createTask(arcd.url, 'stepper', 'go');
    await waitForStatus(arcd.url, 'stepper', task.taskId, ['COMPLETED']);
    expect((await arcd.server.store.lastCheckpoint(task.taskId))?.data).toEqual({ step: 3 });
    const db = new Database(arcd.db, { readonly: true });
    const rows = db.prepare('SELECT seq FROM checkpoints WHERE task_id = ?').all(task.taskId);
    db.close();
    expect(rows).toEqual([{ seq: 3 }]);
  });

  test('ctx calls after the handler returned are refused', async () => {
    let saved: TurnContext | undefined;
    arcd = await startArcd({
      bundled: false,
      agents: [
        scripted('leaky', (ctx) => {
          saved = ctx;
        }),
      ],
    });
    const task = await createTask(arcd.url, 'leaky', 'go');
    await waitForStatus(arcd.url, 'leaky', task.taskId, ['COMPLETED']);
    await expect(saved?.reply('late')).rejects.toThrow(/turn has ended/);
    expect((await taskInfo(arcd.url, 'leaky', task.taskId)).messages).toHaveLength(1);
  });

  test('a handler that ignores cancel cannot complete the canceled task', async () => {
    const release = gate();
    arcd = await startArcd({
      bundled: false,
      agents: [
        scripted('stubborn', async () => {
          await release.opened;
          return 'finished anyway';
        }),
      ],
    });
    const task = await createTask(arcd.url, 'stubborn', 'go');
    await waitForStatus(arcd.url, 'stubborn', task.taskId, ['WORKING']);
    await arcResult(arcd.url, 'task.cancel', { taskId: task.taskId }, { targetAgent: 'stubborn' });
    release.open();
    await waitFor('the turn to end', async () =>
      arcd.server.runner.activeTurns === 0 ? true : undefined,
    );
    const info = await taskInfo(arcd.url, 'stubborn', task.taskId);
    expect(info.status).toBe('CANCELED');
    expect(info.messages).toHaveLength(1);
  });
});

describe('input and history', () => {
  test('messages sent while SUBMITTED or WORKING are refused, and no turn sees them', async () => {
    const release = gate();
    const seen: Array<{ input: string; history: number }> = [];
    const blocker = scripted('blocker', async () => {
      await release.opened;
    });
    const listener = scripted('listener', (ctx) => {
      seen.push({ input: ctx.text(), history: ctx.history.length });
    });
    arcd = await startArcd({
      bundled: false,
      agents: [blocker, listener],
      config: { concurrency: 1 },
    });
    const first = await createTask(arcd.url, 'blocker', 'hold the only slot');
    await waitForStatus(arcd.url, 'blocker', first.taskId, ['WORKING']);
    const whileWorking = await arcCall(
      arcd.url,
      'task.send',
      { taskId: first.taskId, message: textMessage('while working') },
      { targetAgent: 'blocker' },
    );
    expect(whileWorking.body.error).toMatchObject({ code: -42006 });
    const second = await createTask(arcd.url, 'listener', 'one');
    const whileQueued = await arcCall(
      arcd.url,
      'task.send',
      { taskId: second.taskId, message: textMessage('two') },
      { targetAgent: 'listener' },
    );
    expect(whileQueued.body.error).toMatchObject({ code: -42006 });
    release.open();
    await waitForStatus(arcd.url, 'listener', second.taskId, ['COMPLETED']);
    expect(seen).toEqual([{ input: 'one', history: 1 }]);
    const blocked = await waitForStatus(arcd.url, 'blocker', first.taskId, ['COMPLETED']);
    expect(blocked.messages).toHaveLength(1);
  });

  test('input sent while the paused turn is still ending runs at once, not at the next poll', async () => {
    const lingering = gate();
    const asker = scripted('lingerer', async (ctx) => {
      if (ctx.history.length > 1) return `hello ${ctx.text()}`;
      await ctx.requestInput('name?');
      await lingering.opened; // returns late: its lease is let go only then
      return undefined;
    });
    arcd = await startArcd({ bundled: false, agents: [asker], config: { pollMs: 60_000 } });
    const on = { targetAgent: 'lingerer' };
    const task = await createTask(arcd.url, 'lingerer', 'start');
    await waitForStatus(arcd.url, 'lingerer', task.taskId, ['INPUT_REQUIRED']);
    const { store } = arcd.server;
    const claim = store.claimTurns.bind(store);
    let emptyClaims = 0;
    jest.spyOn(store, 'claimTurns').mockImplementation(async (...args) => {
      const claimed = await claim(...args);
      if (claimed.length === 0) emptyClaims += 1;
      return claimed;
    });
    await arcResult(
      arcd.url,
      'task.send',
      { taskId: task.taskId, message: textMessage('Ada') },
      on,
    );
    // The claim the input asked for has come and found the task's lease still held.
    await waitFor('a claim finding nothing', async () => (emptyClaims > 0 ? true : undefined));
    lingering.open();
    const done = await waitForStatus(arcd.url, 'lingerer', task.taskId, ['COMPLETED']);
    expect(done.messages.at(-1).parts[0].content).toBe('hello Ada');
  });

  test('a resumed turn sees only the new input, and the whole history', async () => {
    const turns: Array<{ input: string; history: number }> = [];
    const asker = scripted('asker', async (ctx) => {
      turns.push({ input: ctx.text(), history: ctx.history.length });
      if (turns.length < 3) await ctx.requestInput(`question ${turns.length}`);
      else return 'all answered';
      return undefined;
    });
    arcd = await startArcd({ bundled: false, agents: [asker] });
    const task = await createTask(arcd.url, 'asker', 'start');
    for (const answer of ['a1', 'a2']) {
      await waitForStatus(arcd.url, 'asker', task.taskId, ['INPUT_REQUIRED']);
      await arcResult(
        arcd.url,
        'task.send',
        { taskId: task.taskId, message: textMessage(answer) },
        { targetAgent: 'asker' },
      );
    }
    await waitForStatus(arcd.url, 'asker', task.taskId, ['COMPLETED']);
    expect(turns).toEqual([
      { input: 'start', history: 1 },
      { input: 'a1', history: 3 },
      { input: 'a2', history: 5 },
    ]);
  });

  test("a caller's agent or system message is its input, not taken for the agent's own", async () => {
    const turns: string[] = [];
    const asker = scripted('asker', async (ctx) => {
      turns.push(ctx.text());
      if (turns.length === 1) await ctx.requestInput('your name?');
      else return `hello ${ctx.text()}`;
      return undefined;
    });
    arcd = await startArcd({ bundled: false, agents: [asker] });
    const on = { targetAgent: 'asker', requestAgent: 'caller' };
    // Sent as the agent, even naming it: stored as the caller's.
    const as = (role: string, text: string) => ({
      role,
      agentId: 'asker',
      parts: [{ type: 'TextPart', content: text }],
    });
    const { task } = await arcResult(
      arcd.url,
      'task.create',
      { initialMessage: as('agent', 'start') },
      on,
    );
    await waitForStatus(arcd.url, 'asker', task.taskId, ['INPUT_REQUIRED'], on);
    await arcResult(
      arcd.url,
      'task.send',
      { taskId: task.taskId, message: as('system', 'Ada') },
      on,
    );
    const done = await waitForStatus(arcd.url, 'asker', task.taskId, ['COMPLETED'], on);
    expect(turns).toEqual(['start', 'Ada']);
    expect(done.messages.map((m: WireJson) => `${m.role}:${m.agentId}`)).toEqual([
      'agent:caller',
      'agent:asker',
      'system:caller',
      'agent:asker',
    ]);
  });

  test("task.run without a message runs the task's first message again, whatever its role", async () => {
    const seen: string[] = [];
    const echoing = scripted('echoing', (ctx) => {
      seen.push(ctx.text());
      return `got ${ctx.text()}`;
    });
    arcd = await startArcd({ bundled: false, agents: [echoing] });
    const on = { targetAgent: 'echoing', requestAgent: 'caller' };
    const initialMessage = { role: 'agent', parts: [{ type: 'TextPart', content: 'first' }] };
    const { task } = await arcResult(arcd.url, 'task.create', { initialMessage }, on);
    await waitForStatus(arcd.url, 'echoing', task.taskId, ['COMPLETED'], on);
    await arcResult(arcd.url, 'task.run', { taskId: task.taskId }, on);
    await waitFor('the second run', async () => (seen.length === 2 ? true : undefined));
    expect(seen).toEqual(['first', 'first']);
  });

  test('a turn run again after it replied sees the input its first attempt saw', async () => {
    const seen: string[] = [];
    const replier = scripted('replier', async (ctx) => {
      seen.push(ctx.text());
      await ctx.reply(`working on ${ctx.text()}`);
      await ctx.reply({ role: 'system', parts: [{ type: 'TextPart', content: 'a note' }] });
      if (seen.length === 1) throw new Error('the first attempt fails after replying');
      return `done with ${ctx.text()}`;
    });
    arcd = await startArcd({ bundled: false, agents: [replier] });
    const task = await createTask(arcd.url, 'replier', 'job 7', {
      settings: { maxRetries: 1, retryDelayMs: 0 },
    });
    await waitForStatus(arcd.url, 'replier', task.taskId, ['COMPLETED']);
    expect(seen).toEqual(['job 7', 'job 7']);
  });

  test('with one slot, queued tasks start most urgent first, then oldest', async () => {
    const release = gate();
    const order: string[] = [];
    const blocker = scripted('blocker', async () => {
      await release.opened;
    });
    const recorder = scripted('recorder', (ctx) => {
      order.push(ctx.text());
    });
    arcd = await startArcd({
      bundled: false,
      agents: [blocker, recorder],
      config: { concurrency: 1 },
    });
    const first = await createTask(arcd.url, 'blocker', 'hold');
    await waitForStatus(arcd.url, 'blocker', first.taskId, ['WORKING']);
    const ids = [];
    for (const [text, priority] of [
      ['low', 'LOW'],
      ['normal', 'NORMAL'],
      ['urgent', 'URGENT'],
      ['high', 'HIGH'],
      ['normal-2', 'NORMAL'],
    ]) {
      ids.push((await createTask(arcd.url, 'recorder', text as string, { priority })).taskId);
    }
    release.open();
    for (const id of ids) await waitForStatus(arcd.url, 'recorder', id, ['COMPLETED']);
    expect(order).toEqual(['urgent', 'high', 'normal', 'normal-2', 'low']);
  });
});

test("an agent's parts are stored in the spec's spelling; a caller's as sent", async () => {
  const short = scripted('short', async (ctx) => {
    await ctx.addArtifact({ name: 'a', parts: [{ type: 'data', content: { n: 1 } }] });
    return { parts: [...(ctx.input[0]?.parts ?? []), { type: 'TextPart', content: 'long' }] };
  });
  arcd = await startArcd({ bundled: false, agents: [short] });
  const on = { targetAgent: 'short' };
  const { task } = await arcResult(
    arcd.url,
    'task.create',
    { initialMessage: { role: 'user', parts: [{ type: 'text', content: 'hi' }] } },
    on,
  );
  const done = await waitForStatus(arcd.url, 'short', task.taskId, ['COMPLETED'], on);
  const types = (message: { parts: Array<{ type: string }> }) => message.parts.map((p) => p.type);
  expect(done.messages.map(types)).toEqual([['text'], ['TextPart', 'TextPart']]);
  expect(done.messages[1].parts[0]).toEqual({ type: 'TextPart', content: 'hi' });
  expect(done.artifacts.map(types)).toEqual([['DataPart']]);
});

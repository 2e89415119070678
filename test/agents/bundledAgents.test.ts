/**
 * Each bundled agent's whole lifecycle through HTTP on the real app, with the stored event log
 * checked against the protocol's event payloads.
 */
import {
  type Running,
  arcCall,
  arcResult,
  createTask,
  startArcd,
  taskInfo,
  textMessage,
  waitFor,
  waitForStatus,
} from '../helpers/arcServer';

let arcd: Running;

beforeEach(async () => {
  arcd = await startArcd();
});

async function eventsOf(taskId: string) {
  return arcd.server.store.listEvents(taskId);
}

function expectContiguous(events: Array<{ seq: number }>) {
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
}

describe('echo', () => {
  test('replies with its input part for part and completes', async () => {
    const parts = [
      { type: 'TextPart', content: 'héllo wörld ✓ 𝄞' },
      { type: 'data', content: { n: 1, nested: { list: [1, 'two', null] } } },
      {
        type: 'FilePart',
        content: Buffer.from([0, 1, 2, 255]).toString('base64'),
        mimeType: 'application/octet-stream',
        filename: 'b.bin',
        encoding: 'base64',
      },
    ];
    const { task } = await arcResult(arcd.url, 'task.create', {
      initialMessage: { role: 'user', parts },
      priority: 'HIGH',
      metadata: { ticket: 42 },
    });
    expect(task).toMatchObject({
      status: 'SUBMITTED',
      priority: 'HIGH',
      assignedAgent: 'echo',
      metadata: { ticket: 42 },
    });
    const done = await waitForStatus(arcd.url, 'echo', task.taskId, ['COMPLETED']);
    expect(done.completedAt).toEqual(expect.stringMatching(/Z$/));
    expect(done.messages).toHaveLength(2);
    expect(done.messages[0].parts).toEqual(parts);
    // Its reply is the server's: the spec's spelling of each part type (the caller's stays).
    const spelled = parts.map((part) =>
      part.type === 'data' ? { ...part, type: 'DataPart' } : part,
    );
    expect(done.messages[1]).toMatchObject({ role: 'agent', agentId: 'echo', parts: spelled });

    const events = await eventsOf(task.taskId);
    expectContiguous(events);
    expect(events.map((e) => e.type)).toEqual([
      'TASK_CREATED',
      'NEW_MESSAGE',
      'TASK_STARTED',
      'STATUS_CHANGE',
      'NEW_MESSAGE',
      'TASK_COMPLETED',
      'STATUS_CHANGE',
    ]);
    const [createdEvt, firstMsg, startedEvt, change1, reply, completedEvt, change2] = events;
    expect(createdEvt?.data).toMatchObject({
      status: 'SUBMITTED',
      priority: 'HIGH',
      assignedAgent: 'echo',
      createdAt: task.createdAt,
      message: expect.any(String),
    });
    expect(firstMsg?.data).toMatchObject({
      status: 'SUBMITTED',
      messageContent: { role: 'user', parts },
    });
    expect(startedEvt?.data).toMatchObject({ status: 'WORKING', startedAt: expect.any(String) });
    expect(change1?.data).toMatchObject({
      status: 'WORKING',
      previousStatus: 'SUBMITTED',
      changedAt: expect.any(String),
      reason: expect.any(String),
    });
    expect(reply?.data).toMatchObject({ messageContent: { role: 'agent', parts: spelled } });
    expect(completedEvt?.data).toMatchObject({
      status: 'COMPLETED',
      completedAt: done.completedAt,
      duration: expect.any(Number),
      artifactCount: 0,
      messageCount: 2,
    });
    expect(change2?.data).toMatchObject({ status: 'COMPLETED', previousStatus: 'WORKING' });
  });

  test('task.info honours includeMessages and includeArtifacts', async () => {
    const task = await createTask(arcd.url, 'echo', 'x');
    await waitForStatus(arcd.url, 'echo', task.taskId, ['COMPLETED']);
    const bare = await arcResult(arcd.url, 'task.info', {
      taskId: task.taskId,
      includeMessages: false,
      includeArtifacts: false,
    });
    expect(bare.task).not.toHaveProperty('messages');
    expect(bare.task).not.toHaveProperty('artifacts');
    const full = await arcResult(arcd.url, 'task.info', { taskId: task.taskId });
    expect(full.task.messages).toHaveLength(2);
    expect(full.task.artifacts).toEqual([]);
  });
});

describe('document-analyzer', () => {
  test('asks for input once, resumes on task.send, then produces an artifact', async () => {
    const task = await createTask(
      arcd.url,
      'document-analyzer',
      'Revenue grew.\nCosts fell.\nRevenue rules.',
    );
    const waiting = await waitForStatus(arcd.url, 'document-analyzer', task.taskId, [
      'INPUT_REQUIRED',
    ]);
    expect(waiting.messages[1]).toMatchObject({ role: 'agent', parts: [{ type: 'TextPart' }] });

    const sent = await arcResult(
      arcd.url,
      'task.send',
      { taskId: task.taskId, message: textMessage('revenue') },
      { targetAgent: 'document-analyzer' },
    );
    expect(sent).toEqual({ success: true });
    const done = await waitForStatus(arcd.url, 'document-analyzer', task.taskId, ['COMPLETED']);
    expect(done.artifacts).toHaveLength(1);
    expect(done.artifacts[0]).toMatchObject({
      name: 'analysis',
      createdBy: 'document-analyzer',
      artifactId: expect.stringMatching(/^art-/),
      parts: [
        {
          type: 'DataPart',
          content: {
            focus: 'revenue',
            words: 6,
            lines: 3,
            mentions: ['Revenue grew.', 'Revenue rules.'],
          },
        },
      ],
    });
    expect(done.messages.map((m: { role: string }) => m.role)).toEqual([
      'user',
      'agent',
      'user',
      'agent',
    ]);

    const events = await eventsOf(task.taskId);
    expectContiguous(events);
    const paused = events.find((e) => e.type === 'TASK_PAUSED');
    expect(paused?.data).toMatchObject({
      status: 'INPUT_REQUIRED',
      pausedAt: expect.any(String),
      reason: 'focus needed',
      requiredInput: { type: 'text' },
    });
    const resumed = events.find((e) => e.type === 'TASK_RESUMED');
    expect(resumed?.data).toMatchObject({
      status: 'WORKING',
      resumedAt: expect.any(String),
      pauseDuration: expect.any(Number),
    });
    const artifact = events.find((e) => e.type === 'NEW_ARTIFACT');
    expect(artifact?.data).toMatchObject({
      artifact: { name: 'analysis' },
      createdAt: expect.any(String),
    });
    const completed = events.find((e) => e.type === 'TASK_COMPLETED');
    expect(completed?.data).toMatchObject({ artifactCount: 1, messageCount: 4 });
    expect(events.filter((e) => e.type === 'TASK_STARTED')).toHaveLength(1);
  });

  test('run again with a new document, it asks again and analyses that one; a text file counts', async () => {
    const on = { targetAgent: 'document-analyzer' };
    const task = await createTask(arcd.url, 'document-analyzer', 'alpha beta');
    await waitForStatus(arcd.url, 'document-analyzer', task.taskId, ['INPUT_REQUIRED'], on);
    await arcResult(
      arcd.url,
      'task.send',
      { taskId: task.taskId, message: textMessage('alpha') },
      on,
    );
    await waitForStatus(arcd.url, 'document-analyzer', task.taskId, ['COMPLETED'], on);
    // The second document as a text file: three lines, two about gamma.
    const file = {
      type: 'FilePart',
      mimeType: 'text/plain',
      content: Buffer.from('gamma one\ngamma two\ndelta').toString('base64'),
    };
    const message = { role: 'user', parts: [file] };
    await arcResult(arcd.url, 'task.run', { taskId: task.taskId, message }, on);
    await waitForStatus(arcd.url, 'document-analyzer', task.taskId, ['INPUT_REQUIRED'], on);
    await arcResult(
      arcd.url,
      'task.send',
      { taskId: task.taskId, message: textMessage('gamma') },
      on,
    );
    const done = await waitForStatus(arcd.url, 'document-analyzer', task.taskId, ['COMPLETED'], on);
    expect(done.artifacts.at(-1).parts[0].content).toMatchObject({
      focus: 'gamma',
      words: 5,
      lines: 3,
      mentions: ['gamma one', 'gamma two'],
    });
  });
});

describe('slow', () => {
  test('works in steps, reporting progress, then completes', async () => {
    const task = await createTask(arcd.url, 'slow', 'steps=2');
    const done = await waitForStatus(arcd.url, 'slow', task.taskId, ['COMPLETED']);
    const texts = done.messages
      .slice(1)
      .map((m: { parts: Array<{ content: string }> }) => m.parts[0]?.content);
    expect(texts).toEqual(['step 1/2', 'step 2/2', 'done after 2 steps']);
  });

  test('a running task is canceled and its handler stops', async () => {
    const task = await createTask(arcd.url, 'slow', 'take your time');
    await waitFor('first progress', async () => {
      const info = await taskInfo(arcd.url, 'slow', task.taskId);
      return info.status === 'WORKING' && info.messages.length >= 2 ? info : undefined;
    });
    const { task: canceled } = await arcResult(
      arcd.url,
      'task.cancel',
      { taskId: task.taskId, reason: 'no longer needed' },
      { targetAgent: 'slow' },
    );
    expect(canceled).toMatchObject({
      status: 'CANCELED',
      reason: 'no longer needed',
      canceledAt: expect.any(String),
    });
    await waitFor('the handler to stop', async () =>
      arcd.server.runner.activeTurns === 0 ? true : undefined,
    );
    const before = (await taskInfo(arcd.url, 'slow', task.taskId)).messages.length;
    await new Promise((resolve) => setTimeout(resolve, 500));
    const after = await taskInfo(arcd.url, 'slow', task.taskId);
    expect(after.status).toBe('CANCELED');
    expect(after.messages).toHaveLength(before);
    const canceledEvent = (await eventsOf(task.taskId)).find((e) => e.type === 'TASK_CANCELED');
    expect(canceledEvent?.data).toMatchObject({
      status: 'CANCELED',
      canceledBy: 'tester',
      reason: 'no longer needed',
      canceledAt: canceled.canceledAt,
    });
  });

  test('a queued task can be canceled before it starts', async () => {
    await arcd.close();
    arcd = await startArcd({ config: { concurrency: 1 } });
    const blocker = await createTask(arcd.url, 'slow', 'steps=50');
    const queued = await createTask(arcd.url, 'slow', 'steps=1');
    await waitForStatus(arcd.url, 'slow', blocker.taskId, ['WORKING']);
    expect((await taskInfo(arcd.url, 'slow', queued.taskId)).status).toBe('SUBMITTED');
    const reply = await arcCall(
      arcd.url,
      'task.cancel',
      { taskId: queued.taskId },
      { targetAgent: 'slow' },
    );
    expect(reply.body.result.task).toMatchObject({
      status: 'CANCELED',
      reason: 'Canceled by tester',
    });
    const events = (await eventsOf(queued.taskId)).map((e) => e.type);
    expect(events).not.toContain('TASK_STARTED');
  });
});

describe('flaky', () => {
  test('fails with a readable reason and an error object', async () => {
    const task = await createTask(arcd.url, 'flaky', 'please fail');
    const failed = await waitForStatus(arcd.url, 'flaky', task.taskId, ['FAILED']);
    expect(failed.reason).toMatch(/flaky agent failed on purpose \(attempt 1\)/);
    expect(failed.error).toMatchObject({ code: -42004, message: failed.reason });
    const event = (await eventsOf(task.taskId)).find((e) => e.type === 'TASK_FAILED');
    expect(event?.data).toMatchObject({
      status: 'FAILED',
      failedAt: expect.any(String),
      duration: expect.any(Number),
      error: { code: -42004 },
    });
  });

  test('succeed-after=0 completes on the first attempt', async () => {
    const task = await createTask(arcd.url, 'flaky', 'succeed-after=0');
    const done = await waitForStatus(arcd.url, 'flaky', task.taskId, ['COMPLETED']);
    expect(done.messages[1].parts[0].content).toBe('succeeded on attempt 1');
  });
});

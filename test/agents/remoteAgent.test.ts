/**
 * Remote agents with two arcd instances on loopback: the front instance forwards each bundled
 * agent's task to the back instance and mirrors its life — replies, a request for input and
 * the answer, artifacts, failure, cancel — into its own store, where its subscribers see it.
 */
import http from 'node:http';
import { defineAgent } from '../../src/agents/contract';
import { parseRemoteAgents } from '../../src/agents/remoteAgent';
import { ArcClient } from '../../src/client';
import {
  type Running,
  type WireJson,
  arcResult,
  createTask,
  startArcd,
  taskInfo,
  textMessage,
  waitFor,
  waitForStatus,
} from '../helpers/arcServer';
import { startReceiver } from '../helpers/receiver';

let back: Running;
let front: Running;

beforeEach(async () => {
  back = await startArcd({ config: { serverName: 'back' } });
  const remotes = ['echo', 'document-analyzer', 'flaky', 'slow']
    .map((id) => `remote-${id}=${back.url}/${id}`)
    .join(',');
  front = await startArcd({
    bundled: false,
    config: {
      serverName: 'front',
      remoteAgents: remotes,
      webhookAllowlist: '127.0.0.1',
      webhookPollMs: 25,
    },
  });
});

/** Answers a remote-document-analyzer task's question on the front server; the task once ended. */
async function answerAnalyzer(taskId: string, text: string): Promise<WireJson> {
  const on = { targetAgent: 'remote-document-analyzer' };
  await arcResult(front.url, 'task.send', { taskId, message: textMessage(text) }, on);
  return waitForStatus(front.url, 'remote-document-analyzer', taskId, ['COMPLETED', 'FAILED'], on);
}

test('ARCD_REMOTE_AGENTS parses ids, endpoints and remote ids', () => {
  expect(parseRemoteAgents('a=http://h:1/x, b=https://k')).toEqual([
    { id: 'a', endpoint: 'http://h:1', remoteAgent: 'x' },
    { id: 'b', endpoint: 'https://k' },
  ]);
  expect(() => parseRemoteAgents('oops')).toThrow(/id=url/);
  // An agent card's url (…/arc), a gateway prefix, a scheme arcd cannot call: refused at start.
  for (const bad of ['r=http://h:8080/arc', 'r=http://gw/prefix/analyst', 'r=ftp://h/x']) {
    expect(() => parseRemoteAgents(bad)).toThrow(/ARCD_REMOTE_AGENTS: r/);
  }
});

test('a forwarded echo task completes with the remote reply, and local subscribers see it', async () => {
  const receiver = await startReceiver();
  const task = await createTask(front.url, 'remote-echo', 'over the wire');
  await arcResult(
    front.url,
    'task.subscribe',
    { taskId: task.taskId, callbackUrl: receiver.url, replay: true },
    { targetAgent: 'remote-echo' },
  );
  const done = await waitForStatus(front.url, 'remote-echo', task.taskId, ['COMPLETED']);
  expect(done.messages.map((m: { role: string }) => m.role)).toEqual(['user', 'agent']);
  expect(done.messages[1].parts).toEqual([{ type: 'TextPart', content: 'over the wire' }]);
  await waitFor('the local webhook', async () =>
    receiver.received.some((r) => r.body.event === 'TASK_COMPLETED') ? true : undefined,
  );
  // The back instance holds the real task, created by the front server in its own name.
  const { remoteTaskId } = (await front.server.store.lastCheckpoint(task.taskId))!.data as {
    remoteTaskId: string;
  };
  const remote = await taskInfo(back.url, 'echo', remoteTaskId, { requestAgent: 'front' });
  expect(remote).toMatchObject({
    status: 'COMPLETED',
    requestAgent: 'front',
    metadata: { forwardedFrom: task.taskId },
  });
});

test('a task run again with a new message forwards that message, as a new remote task', async () => {
  const on = { targetAgent: 'remote-echo' };
  const task = await createTask(front.url, 'remote-echo', 'first run');
  await waitForStatus(front.url, 'remote-echo', task.taskId, ['COMPLETED'], on);
  await arcResult(
    front.url,
    'task.run',
    { taskId: task.taskId, message: textMessage('second run') },
    on,
  );
  const again = await waitForStatus(front.url, 'remote-echo', task.taskId, ['COMPLETED'], on);
  expect(again.messages.map((m: WireJson) => m.parts[0].content)).toEqual([
    'first run',
    'first run',
    'second run',
    'second run',
  ]);
  const remotes = await forwardedFrom(task.taskId);
  expect(remotes).toHaveLength(2);
  const firstMessages = await Promise.all(
    remotes.map(async (remote) => {
      const info = await taskInfo(back.url, 'echo', remote.taskId, { requestAgent: 'front' });
      return info.messages.map((m: WireJson) => `${m.role}:${m.parts[0].content}`);
    }),
  );
  expect(firstMessages.sort()).toEqual([
    ['user:first run', 'agent:first run'],
    ['user:second run', 'agent:second run'],
  ]);
});

test('a turn run again after the remote completion was mirrored completes, not fails', async () => {
  // The turn stops right after mirroring the remote task's last event (as if its process
  // stopped before the local completion was written): its retry resumes after that event.
  const { store } = front.server;
  const save = store.saveCheckpoint.bind(store);
  let stoppedOnce = false;
  jest.spyOn(store, 'saveCheckpoint').mockImplementation(async (taskId, runId, data, at, by) => {
    const written = await save(taskId, runId, data, at, by);
    const { remoteTaskId, lastSeq } = data as { remoteTaskId?: string; lastSeq?: number };
    const events = remoteTaskId ? await back.server.store.listEvents(remoteTaskId) : [];
    const completed = events.find((event) => event.type === 'TASK_COMPLETED');
    if (!stoppedOnce && completed && lastSeq === completed.seq) {
      stoppedOnce = true;
      throw new Error('stopped after the last event was mirrored');
    }
    return written;
  });
  const task = await createTask(front.url, 'remote-echo', 'once', {
    settings: { maxRetries: 1, retryDelayMs: 0 },
  });
  const done = await waitForStatus(front.url, 'remote-echo', task.taskId, ['COMPLETED', 'FAILED']);
  expect(stoppedOnce).toBe(true);
  expect(done.status).toBe('COMPLETED');
  expect(done.messages.map((m: WireJson) => m.parts[0].content)).toEqual(['once', 'once']);
  expect(await forwardedFrom(task.taskId)).toHaveLength(1);
});

test('an answer passed on whose reply was lost, the remote task then ended: its end is mirrored', async () => {
  const { proxied, lost } = await answerLost('document-analyzer', 'task.send');
  const on = { targetAgent: 'remote-document-analyzer' };
  const task = await createTask(proxied.url, 'remote-document-analyzer', 'red green', {
    settings: { maxRetries: 1, retryDelayMs: 0 },
  });
  await waitForStatus(proxied.url, on.targetAgent, task.taskId, ['INPUT_REQUIRED'], on);
  const done = await answerThenEnd(proxied.url, on.targetAgent, task.taskId, 'red');
  expect(lost()).toBe(1);
  expect(done.status).toBe('COMPLETED');
  expect(done.artifacts.map((a: WireJson) => a.name)).toEqual(['analysis']);
  expect(await forwardedFrom(task.taskId)).toHaveLength(1);
});

test('input requested remotely is asked locally, and the answer is forwarded', async () => {
  const task = await createTask(front.url, 'remote-document-analyzer', 'red green\nblue red');
  const waiting = await waitForStatus(front.url, 'remote-document-analyzer', task.taskId, [
    'INPUT_REQUIRED',
  ]);
  expect(waiting.messages[1].parts[0].content).toMatch(/focus/);
  const done = await answerAnalyzer(task.taskId, 'red');
  expect(done.status).toBe('COMPLETED');
  expect(done.artifacts).toHaveLength(1);
  expect(done.artifacts[0]).toMatchObject({
    name: 'analysis',
    parts: [{ content: { focus: 'red', mentions: ['red green', 'blue red'] } }],
    metadata: { remoteArtifactId: expect.stringMatching(/^art-/) },
  });
  expect(done.messages.at(-1).parts[0].content).toMatch(/Analysis done/);
});

test("an answer sent as `agent` is the caller's, and forwarded like any other", async () => {
  const on = { targetAgent: 'remote-document-analyzer' };
  const task = await createTask(front.url, 'remote-document-analyzer', 'red green\nblue red');
  await waitForStatus(front.url, 'remote-document-analyzer', task.taskId, ['INPUT_REQUIRED'], on);
  const message = { role: 'agent', parts: [{ type: 'TextPart', content: 'red' }] };
  await arcResult(front.url, 'task.send', { taskId: task.taskId, message }, on);
  const done = await waitForStatus(
    front.url,
    'remote-document-analyzer',
    task.taskId,
    ['COMPLETED', 'FAILED'],
    on,
  );
  expect(done.status).toBe('COMPLETED');
  expect(done.artifacts[0].parts[0].content).toMatchObject({ focus: 'red' });
});

test('a remote failure fails the local task; a local cancel cancels the remote task', async () => {
  const failing = await createTask(front.url, 'remote-flaky', 'no luck');
  const failed = await waitForStatus(front.url, 'remote-flaky', failing.taskId, ['FAILED']);
  expect(failed.reason).toMatch(/remote task failed: .*flaky agent failed on purpose/);

  const slow = await createTask(front.url, 'remote-slow', 'steps=50');
  await waitFor('remote progress', async () =>
    (await taskInfo(front.url, 'remote-slow', slow.taskId)).messages.length >= 2 ? true : undefined,
  );
  await arcResult(
    front.url,
    'task.cancel',
    { taskId: slow.taskId },
    { targetAgent: 'remote-slow' },
  );
  const { remoteTaskId } = (await front.server.store.lastCheckpoint(slow.taskId))!.data as {
    remoteTaskId: string;
  };
  await waitForStatus(back.url, 'slow', remoteTaskId, ['CANCELED'], { requestAgent: 'front' });
});

/** The back server's tasks forwarded from local task `taskId`, as the front sees them there. */
async function forwardedFrom(taskId: string): Promise<WireJson[]> {
  const { tasks } = await arcResult(
    back.url,
    'task.list',
    { metadata: { forwardedFrom: taskId } },
    { requestAgent: 'front' },
  );
  return tasks;
}

/**
 * A front arcd whose remote `remote-<agent>` is reached through a proxy to the back server.
 * `intercept` may answer a request itself (true), or let it through, and then see the back
 * server's answer first (`answered`: true when it dealt with the answer itself).
 */
async function frontThroughProxy(
  agent: string,
  intercept: {
    request?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean;
    answered?: (req: http.IncomingMessage, res: http.ServerResponse, body: string) => boolean;
  },
): Promise<Running> {
  const target = new URL(back.url);
  const proxy = http.createServer((req, res) => {
    if (intercept.request?.(req, res)) return;
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    const { hostname: host, port } = target;
    const upstream = http.request(
      { host, port, path: req.url, method: req.method, headers: req.headers },
      (reply) => {
        if (intercept.answered?.(req, res, body)) return void reply.resume();
        res.writeHead(reply.statusCode ?? 502, reply.headers);
        reply.pipe(res);
      },
    );
    // The back server or this proxy closing mid-request (a test's end): the caller is cut.
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxies.push(proxy);
  const { port } = proxy.address() as { port: number };
  return startArcd({
    bundled: false,
    config: {
      serverName: 'front',
      remoteAgents: `remote-${agent}=http://127.0.0.1:${port}/${agent}`,
    },
  });
}

/**
 * A front arcd whose remote `agent` takes the first `method` call but whose answer never
 * arrives (the socket is cut once the back server has answered); `lost()` counts the cuts.
 */
async function answerLost(agent: string, method: string) {
  let lost = 0;
  const proxied = await frontThroughProxy(agent, {
    answered: (_req, res, body) => {
      if (lost > 0 || !body.includes(`"${method}"`)) return false;
      lost += 1;
      res.socket?.destroy();
      return true;
    },
  });
  return { proxied, lost: () => lost };
}

/** Sends `answer` to a task waiting for input on `agent`, then waits for the task's end. */
async function answerThenEnd(url: string, agent: string, taskId: string, answer: string) {
  const on = { targetAgent: agent };
  await arcResult(url, 'task.send', { taskId, message: textMessage(answer) }, on);
  return waitForStatus(url, agent, taskId, ['COMPLETED', 'FAILED'], on);
}

/** Answers the first `count` event-stream requests with `answer`. */
function firstStreams(count: number, answer: (res: http.ServerResponse) => void) {
  let left = count;
  return (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (!req.url?.includes('/events') || left === 0) return false;
    left -= 1;
    answer(res);
    return true;
  };
}

const proxies: http.Server[] = [];
afterEach(async () => {
  for (const proxy of proxies.splice(0)) {
    proxy.closeAllConnections();
    await new Promise((resolve) => proxy.close(resolve));
  }
});

test('an event stream that ends before the remote task does is watched again, not taken as done', async () => {
  const proxied = await frontThroughProxy('slow', {
    request: firstStreams(1, (res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(); // a clean end, no terminal event
    }),
  });
  const task = await createTask(proxied.url, 'remote-slow', 'steps=2');
  const done = await waitForStatus(proxied.url, 'remote-slow', task.taskId, [
    'COMPLETED',
    'FAILED',
  ]);
  expect(done.status).toBe('COMPLETED');
  expect(done.messages.map((m: WireJson) => m.parts[0].content)).toEqual([
    'steps=2',
    'step 1/2',
    'step 2/2',
    'done after 2 steps',
  ]);
});

test('streams that keep ending empty once a turn resumes still mirror the finished task whole', async () => {
  let emptyStreams = false;
  const proxied = await frontThroughProxy('document-analyzer', {
    request: (req, res) => {
      if (!emptyStreams || !req.url?.includes('/events')) return false;
      // A proxy ending every stream at once, without the task's status.
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end();
      return true;
    },
  });
  const agent = 'remote-document-analyzer';
  const task = await createTask(proxied.url, agent, 'red green\nblue red');
  await waitForStatus(proxied.url, agent, task.taskId, ['INPUT_REQUIRED']);
  emptyStreams = true;
  const done = await answerThenEnd(proxied.url, agent, task.taskId, 'red');
  const [remote] = await forwardedFrom(task.taskId);
  const there = await taskInfo(back.url, 'document-analyzer', remote!.taskId, {
    requestAgent: 'front',
  });
  expect(there.status).toBe('COMPLETED');
  const text = (t: WireJson) => t.messages.map((m: WireJson) => String(m.parts[0].content));
  expect(done.status).toBe('COMPLETED');
  expect(text(done)).toEqual(text(there));
  expect(text(done).at(-1)).toMatch(/Analysis done/);
  expect(done.artifacts).toHaveLength(1);
});

test('a page that is no event stream fails the forwarded task instead of completing it', async () => {
  const proxied = await frontThroughProxy('slow', {
    request: firstStreams(100, (res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>app</html>');
    }),
  });
  const task = await createTask(proxied.url, 'remote-slow', 'steps=2');
  const done = await waitForStatus(proxied.url, 'remote-slow', task.taskId, [
    'COMPLETED',
    'FAILED',
  ]);
  expect(done.status).toBe('FAILED');
});

test('a forwarded task that fails here cancels its remote task, which would run on orphaned', async () => {
  const proxied = await frontThroughProxy('slow', {
    request: firstStreams(100, (res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>app</html>');
    }),
  });
  // Every remote cancel the forwarding agent asks for, as it asks (before its turn's end).
  const cancels = new Set<string>();
  const call = ArcClient.prototype.call;
  const spy = jest.spyOn(ArcClient.prototype, 'call').mockImplementation(function <T>(
    this: ArcClient,
    method: string,
    targetAgent: string,
    params: object,
  ) {
    if (method === 'task.cancel') cancels.add(String((params as { taskId: string }).taskId));
    return call.call(this, method, targetAgent, params) as Promise<T>;
  });
  // With a retry to follow, the remote task lives on: the retry resumes it.
  const on = { targetAgent: 'remote-slow' };
  const retried = await createTask(proxied.url, 'remote-slow', 'steps=100', {
    settings: { maxRetries: 1, retryDelayMs: 60_000 },
  });
  await waitFor('the retry planned', async () =>
    (await taskInfo(proxied.url, 'remote-slow', retried.taskId, on)).nextAttemptAt
      ? true
      : undefined,
  );
  const task = await createTask(proxied.url, 'remote-slow', 'steps=100');
  await waitForStatus(proxied.url, 'remote-slow', task.taskId, ['FAILED']);
  const [remote] = await forwardedFrom(task.taskId);
  const canceled = await waitForStatus(back.url, 'slow', remote!.taskId, ['CANCELED'], {
    requestAgent: 'front',
  });
  expect(canceled.reason).toBe('canceled upstream: the forwarding turn failed');
  const [kept] = await forwardedFrom(retried.taskId);
  expect(kept!.status).toBe('WORKING');
  expect([...cancels]).toEqual([remote!.taskId]); // none for the task whose retry follows
  spy.mockRestore();
});

test.each([
  ['a cancel the remote refuses with an error page (restarting) is sent again', 1],
  // Each of the signal's tries refused: the stopped hook (stoppedAlways) cancels it after.
  ['a cancel refused as often as the turn tries it is sent again by the stopped hook', 4],
])('%s', async (_name, refused) => {
  let refusals = refused;
  const target = new URL(back.url);
  const proxied = await frontThroughProxy('slow', {
    request: (req, res) => {
      if (req.method !== 'POST') return false;
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        if (body.includes('"task.cancel"') && refusals > 0) {
          refusals -= 1;
          res.writeHead(503, { 'content-type': 'text/html' });
          return void res.end('<html>restarting</html>');
        }
        const { hostname: host, port } = target;
        const upstream = http.request(
          { host, port, path: req.url, method: 'POST', headers: req.headers },
          (reply) => {
            res.writeHead(reply.statusCode ?? 502, reply.headers);
            reply.pipe(res);
          },
        );
        // The back server closed first at the test's end (a stopped hook's cancel comes
        // through while the front shuts down): the caller is cut.
        upstream.on('error', () => res.destroy());
        upstream.end(body);
      });
      return true;
    },
  });
  const task = await createTask(proxied.url, 'remote-slow', 'steps=100');
  await waitFor('remote progress', async () =>
    (await taskInfo(proxied.url, 'remote-slow', task.taskId)).messages.length >= 2
      ? true
      : undefined,
  );
  await arcResult(
    proxied.url,
    'task.cancel',
    { taskId: task.taskId },
    { targetAgent: 'remote-slow' },
  );
  const [remote] = await forwardedFrom(task.taskId);
  const canceled = await waitForStatus(back.url, 'slow', remote!.taskId, ['CANCELED'], {
    requestAgent: 'front',
  });
  expect(canceled.reason).toBe('canceled upstream: the task was canceled');
  expect(refusals).toBe(0);
});

test('a shutdown leaves the remote task running, and the restarted server follows it to the end', async () => {
  const db = front.db;
  const task = await createTask(front.url, 'remote-slow', 'steps=8');
  await waitFor('remote progress', async () =>
    (await taskInfo(front.url, 'remote-slow', task.taskId)).messages.length >= 2 ? true : undefined,
  );
  await front.close();
  const [remote] = await forwardedFrom(task.taskId);
  expect(remote.status).toBe('WORKING');
  const again = await startArcd({
    db,
    bundled: false,
    config: { serverName: 'front', remoteAgents: `remote-slow=${back.url}/slow` },
  });
  const done = await waitForStatus(again.url, 'remote-slow', task.taskId, ['COMPLETED', 'FAILED']);
  expect(done.status).toBe('COMPLETED');
  expect(done.messages.at(-1).parts[0].content).toBe('done after 8 steps');
  expect(await forwardedFrom(task.taskId)).toHaveLength(1);
});

test('with enableMemory off, the answer still goes to the remote task that asked', async () => {
  const task = await createTask(front.url, 'remote-document-analyzer', 'red green\nblue red', {
    settings: { enableMemory: false },
  });
  const waiting = await waitForStatus(front.url, 'remote-document-analyzer', task.taskId, [
    'INPUT_REQUIRED',
  ]);
  // The remote's reason and what it expects come through with its question.
  const paused = (await front.server.store.listEvents(task.taskId)).find(
    (e) => e.type === 'TASK_PAUSED',
  );
  expect(paused?.data).toMatchObject({
    reason: 'focus needed',
    requiredInput: { type: 'text', description: 'the topic to look for' },
  });
  expect(waiting.messages).toHaveLength(2);
  const done = await answerAnalyzer(task.taskId, 'red'); // asked again, it would never end
  expect(done.status).toBe('COMPLETED');
  expect(await forwardedFrom(task.taskId)).toHaveLength(1);
});

test('a retry after a remote failure or a timeout starts another remote task', async () => {
  const retried = { maxRetries: 1, retryDelayMs: 0 };
  const failing = await createTask(front.url, 'remote-flaky', 'succeed-after=1', {
    settings: retried,
  });
  await waitForStatus(front.url, 'remote-flaky', failing.taskId, ['FAILED']);
  const failed = await forwardedFrom(failing.taskId);
  expect(failed.map((t) => t.status)).toEqual(['FAILED', 'FAILED']);

  const slow = await createTask(front.url, 'remote-slow', 'steps=50', {
    settings: { ...retried, timeoutMs: 500 },
  });
  const timedOut = await waitForStatus(front.url, 'remote-slow', slow.taskId, ['FAILED']);
  expect(timedOut.error).toMatchObject({ code: -42005 });
  await waitFor('both remote tasks canceled', async () => {
    const remotes = await forwardedFrom(slow.taskId);
    return remotes.length === 2 && remotes.every((t) => t.status === 'CANCELED') ? true : undefined;
  });
});

test('a remote task whose create answer was lost is found again by its key, not created twice', async () => {
  const { proxied, lost } = await answerLost('echo', 'task.create');
  const task = await createTask(proxied.url, 'remote-echo', 'once only', {
    settings: { maxRetries: 1, retryDelayMs: 0 },
  });
  const done = await waitForStatus(proxied.url, 'remote-echo', task.taskId, [
    'COMPLETED',
    'FAILED',
  ]);
  expect(lost()).toBe(1);
  expect(done.status).toBe('COMPLETED');
  expect(done.messages.map((m: WireJson) => m.parts[0].content)).toEqual([
    'once only',
    'once only',
  ]);
  expect(await forwardedFrom(task.taskId)).toHaveLength(1);
});

test('a turn failing on a create whose answer was lost cancels the remote task it made', async () => {
  const { proxied, lost } = await answerLost('slow', 'task.create');
  const task = await createTask(proxied.url, 'remote-slow', 'steps=100'); // no retries
  await waitForStatus(proxied.url, 'remote-slow', task.taskId, ['FAILED']);
  expect(lost()).toBe(1);
  const [remote] = await forwardedFrom(task.taskId);
  const canceled = await waitForStatus(back.url, 'slow', remote!.taskId, ['CANCELED'], {
    requestAgent: 'front',
  });
  expect(canceled.reason).toBe('canceled upstream: the forwarding turn failed');
});

test('a local task canceled or expired while it waits for input cancels its remote task', async () => {
  const remoteOf = async (taskId: string) => (await forwardedFrom(taskId))[0]!;
  const asking = await createTask(front.url, 'remote-document-analyzer', 'red green');
  await waitForStatus(front.url, 'remote-document-analyzer', asking.taskId, ['INPUT_REQUIRED']);
  await arcResult(
    front.url,
    'task.cancel',
    { taskId: asking.taskId },
    { targetAgent: 'remote-document-analyzer' },
  );
  await waitFor('the remote task canceled', async () =>
    (await remoteOf(asking.taskId)).status === 'CANCELED' ? true : undefined,
  );

  const expiring = await createTask(front.url, 'remote-document-analyzer', 'blue', {
    deadline: new Date(Date.now() + 1500).toISOString(),
  });
  await waitForStatus(front.url, 'remote-document-analyzer', expiring.taskId, ['INPUT_REQUIRED']);
  await waitForStatus(front.url, 'remote-document-analyzer', expiring.taskId, ['FAILED']);
  await waitFor('the remote task canceled', async () =>
    (await remoteOf(expiring.taskId)).status === 'CANCELED' ? true : undefined,
  );
});

test('a task canceled while it waits to retry a create whose answer was lost cancels the remote task', async () => {
  const { proxied, lost } = await answerLost('document-analyzer', 'task.create');
  const on = { targetAgent: 'remote-document-analyzer' };
  const task = await createTask(proxied.url, on.targetAgent, 'red green', {
    settings: { maxRetries: 1, retryDelayMs: 60_000 },
  });
  await waitFor('the retry planned', async () => {
    const info = await taskInfo(proxied.url, on.targetAgent, task.taskId, on);
    return info.nextAttemptAt ? true : undefined;
  });
  await arcResult(proxied.url, 'task.cancel', { taskId: task.taskId }, on);
  await waitFor('the remote task canceled', async () =>
    (await forwardedFrom(task.taskId))[0]?.status === 'CANCELED' ? true : undefined,
  );
  expect(lost()).toBe(1);
});

test('a remote task canceled by its own side while waiting ends the local one; none is made anew, retries or not', async () => {
  // Retries left: a cancel on the remote's side is final all the same.
  const task = await createTask(front.url, 'remote-document-analyzer', 'red green', {
    settings: { maxRetries: 2, retryDelayMs: 0 },
  });
  await waitForStatus(front.url, 'remote-document-analyzer', task.taskId, ['INPUT_REQUIRED']);
  const [remote] = await forwardedFrom(task.taskId);
  await arcResult(
    back.url,
    'task.cancel',
    { taskId: remote!.taskId, reason: 'closed by the back office' },
    { targetAgent: 'document-analyzer', requestAgent: 'front' },
  );
  const ended = await answerAnalyzer(task.taskId, 'red');
  expect(ended.status).toBe('FAILED');
  expect(ended.reason).toMatch(/remote task was canceled: closed by the back office/);
  expect(await forwardedFrom(task.taskId)).toHaveLength(1);
});

test('a remote task started anew is given the answers the caller gave before, as it asks again', async () => {
  let answeredTurns = 0;
  const asker = defineAgent({
    id: 'asker',
    description: 'asks for a focus; its first answered turn fails, later ones complete',
    async handle(ctx) {
      if (ctx.history.length === 1) return ctx.requestInput('focus?');
      answeredTurns += 1;
      if (answeredTurns === 1) throw new Error('lost its notes after the answer');
      return `done with ${ctx.text()}`;
    },
  });
  const remote = await startArcd({ agents: [asker], bundled: false });
  const local = await startArcd({
    bundled: false,
    config: { remoteAgents: `remote-asker=${remote.url}/asker` },
  });
  const on = { targetAgent: 'remote-asker' };
  const task = await createTask(local.url, 'remote-asker', 'the report', {
    settings: { maxRetries: 1, retryDelayMs: 0 },
  });
  await waitForStatus(local.url, 'remote-asker', task.taskId, ['INPUT_REQUIRED'], on);
  const done = await answerThenEnd(local.url, 'remote-asker', task.taskId, 'revenue');
  expect(done.status).toBe('COMPLETED');
  // Asked once here: the second remote task's question was answered with the caller's answer.
  expect(done.messages.map((m: WireJson) => m.parts[0].content)).toEqual([
    'the report',
    'focus?',
    'revenue',
    'done with revenue',
  ]);
});

test('an answer whose send outlived its turn (a shutdown) is not sent again as the answer to the next question', async () => {
  const twice = defineAgent({
    id: 'twice',
    description: 'asks two questions, then says what it was told',
    async handle(ctx) {
      const answers = ctx.history
        .filter((m) => m.role === 'user')
        .slice(1)
        .map((m) => (m.parts[0] as { content: string }).content);
      if (answers.length === 0) return ctx.requestInput('first?');
      if (answers.length === 1) return ctx.requestInput('second?');
      return `told ${answers.join(', ')}`;
    },
  });
  const remote = await startArcd({ agents: [twice], bundled: false });
  const target = new URL(remote.url);
  // Holds the back's answer to the first task.send until the front has begun its shutdown.
  let holding = false;
  let arrived!: () => void;
  const sendArrived = new Promise<void>((resolve) => (arrived = resolve));
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const proxy = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const { hostname: host, port } = target;
      const upstream = http.request(
        { host, port, path: req.url, method: req.method, headers: req.headers },
        (reply) => {
          if (req.method !== 'POST') {
            res.writeHead(reply.statusCode ?? 502, reply.headers);
            return void reply.pipe(res); // an event stream: as it comes
          }
          const chunks: Buffer[] = [];
          reply.on('data', (chunk: Buffer) => chunks.push(chunk));
          reply.on('end', async () => {
            if (holding && body.includes('"task.send"')) {
              holding = false;
              arrived();
              await released;
            }
            res.writeHead(reply.statusCode ?? 502, reply.headers);
            res.end(Buffer.concat(chunks));
          });
        },
      );
      upstream.on('error', () => res.destroy());
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxies.push(proxy);
  const { port } = proxy.address() as { port: number };
  const config = {
    serverName: 'front',
    remoteAgents: `remote-twice=http://127.0.0.1:${port}/twice`,
  };
  const on = { targetAgent: 'remote-twice' };
  const first = await startArcd({ bundled: false, config });
  const task = await createTask(first.url, 'remote-twice', 'go');
  await waitForStatus(first.url, 'remote-twice', task.taskId, ['INPUT_REQUIRED'], on);
  holding = true;
  await arcResult(first.url, 'task.send', { taskId: task.taskId, message: textMessage('A1') }, on);
  await sendArrived; // the remote has the answer, and asks its second question
  // The shutdown stops the turn first; only then does the send's answer reach it.
  const { runner } = first.server;
  const stop = runner.stop.bind(runner);
  jest.spyOn(runner, 'stop').mockImplementationOnce(() => {
    const stopping = stop();
    release();
    return stopping;
  });
  await first.close();
  const again = await startArcd({ db: first.db, bundled: false, config });
  const asked = await waitForStatus(
    again.url,
    'remote-twice',
    task.taskId,
    ['INPUT_REQUIRED', 'COMPLETED', 'FAILED'],
    on,
  );
  expect(asked.status).toBe('INPUT_REQUIRED');
  expect(asked.messages.at(-1).parts[0].content).toBe('second?');
  const done = await answerThenEnd(again.url, 'remote-twice', task.taskId, 'A2');
  expect(done.messages.at(-1).parts[0].content).toBe('told A1, A2');
});

/**
 * The protocol's edge cases as one table: each row is a raw request and the ARC error it must
 * produce — always HTTP 200, the id echoed with its type, both result and error keys, and a
 * `details` object carrying the keys real clients dereference.
 */
import {
  type Running,
  arcCall,
  createTask,
  post,
  startArcd,
  textMessage,
  waitForStatus,
} from '../helpers/arcServer';

let arcd: Running;

beforeEach(async () => {
  arcd = await startArcd({ config: { maxBodyBytes: 64 * 1024 } });
});

const base = {
  arc: '1.0',
  id: 'req-1',
  method: 'task.create',
  requestAgent: 'tester',
  targetAgent: 'echo',
  params: { initialMessage: textMessage('hi') },
};

const without = (key: string) =>
  Object.fromEntries(Object.entries(base).filter(([k]) => k !== key));
const withParams = (params: Record<string, unknown>) => ({ ...base, params });
const message = (parts: unknown[], role = 'user') => ({ initialMessage: { role, parts } });

interface Row {
  name: string;
  body: unknown;
  raw?: boolean;
  code: number;
  id: string | number | null;
  details?: string[];
  field?: string;
  responseAgent?: string;
}

const rows: Row[] = [
  { name: 'body is not JSON', body: '{"arc":"1.0",', raw: true, code: -32700, id: null },
  { name: 'empty body', body: '', raw: true, code: -32700, id: null },
  { name: 'body is a JSON string', body: 'hello', code: -32600, id: null },
  { name: 'body is null', body: null, code: -32600, id: null },
  {
    name: 'method missing',
    body: without('method'),
    code: -32600,
    id: 'req-1',
    details: ['errors'],
    field: 'method',
  },
  {
    name: 'requestAgent missing',
    body: without('requestAgent'),
    code: -32600,
    id: 'req-1',
    field: 'requestAgent',
  },
  {
    name: 'targetAgent missing',
    body: without('targetAgent'),
    code: -32600,
    id: 'req-1',
    field: 'targetAgent',
  },
  { name: 'params missing', body: without('params'), code: -32600, id: 'req-1', field: 'params' },
  { name: 'id missing', body: without('id'), code: -32600, id: null, field: 'id' },
  { name: 'arc missing', body: without('arc'), code: -32600, id: 'req-1', field: 'arc' },
  {
    name: 'id of the wrong type',
    body: { ...base, id: { a: 1 } },
    code: -32600,
    id: null,
    field: 'id',
  },
  {
    name: 'params not an object',
    body: { ...base, params: [1, 2] },
    code: -32600,
    id: 'req-1',
    field: 'params',
  },
  {
    name: 'method not a string',
    body: { ...base, method: 7 },
    code: -32600,
    id: 'req-1',
    field: 'method',
  },
  {
    name: 'traceId not a string',
    body: { ...base, traceId: 5 },
    code: -32600,
    id: 'req-1',
    field: 'traceId',
  },
  {
    name: 'wrong ARC version',
    body: { ...base, arc: '2.0' },
    code: -45001,
    id: 'req-1',
    details: ['supportedVersion'],
  },
  {
    name: 'numeric ARC version',
    body: { ...base, arc: 1.0, id: 42 },
    code: -45001,
    id: 42,
    details: ['supportedVersion'],
  },
  {
    name: 'unknown method',
    body: { ...base, method: 'task.explode' },
    code: -32601,
    id: 'req-1',
    details: ['supportedMethods'],
  },
  {
    name: 'an unknown chat method',
    body: { ...base, method: 'chat.pause' },
    code: -32601,
    id: 'req-1',
    details: ['supportedMethods'],
  },
  {
    name: 'unknown agent',
    body: { ...base, targetAgent: 'nobody' },
    code: -41001,
    id: 'req-1',
    details: ['agentId', 'availableAgents'],
    responseAgent: 'arcd',
  },
  {
    name: 'initialMessage missing',
    body: withParams({}),
    code: -32602,
    id: 'req-1',
    field: 'initialMessage',
    responseAgent: 'echo',
  },
  {
    name: 'unknown role',
    body: withParams(message([{ type: 'text', content: 'x' }], 'robot')),
    code: -32602,
    id: 'req-1',
    field: 'initialMessage.role',
  },
  {
    name: 'no parts',
    body: withParams(message([])),
    code: -32602,
    id: 'req-1',
    field: 'initialMessage.parts',
  },
  {
    name: 'part without content',
    body: withParams(message([{ type: 'TextPart' }])),
    code: -32602,
    id: 'req-1',
    field: 'initialMessage.parts.0.content',
  },
  {
    name: 'text part with empty content',
    body: withParams(message([{ type: 'text', content: '' }])),
    code: -32602,
    id: 'req-1',
    field: 'initialMessage.parts.0.content',
  },
  {
    name: 'unknown part type',
    body: withParams(message([{ type: 'VideoPart', content: 'x' }])),
    code: -32602,
    id: 'req-1',
    field: 'initialMessage.parts.0.type',
  },
  {
    name: 'file part without mimeType',
    body: withParams(message([{ type: 'FilePart', content: 'aGk=' }])),
    code: -32602,
    id: 'req-1',
    field: 'initialMessage.parts.0.mimeType',
  },
  {
    name: 'bad priority (ARC: task priority invalid)',
    body: withParams({ ...message([{ type: 'text', content: 'x' }]), priority: 'CRITICAL' }),
    code: -42010,
    id: 'req-1',
    field: 'priority',
  },
  {
    name: 'bad priority beside another bad field',
    body: withParams({ ...message([]), priority: 'CRITICAL' }),
    code: -32602,
    id: 'req-1',
    field: 'initialMessage.parts',
  },
  {
    name: 'metadata not an object',
    body: withParams({ ...message([{ type: 'text', content: 'x' }]), metadata: 'x' }),
    code: -32602,
    id: 'req-1',
    field: 'metadata',
  },
  {
    name: 'bad timestamp',
    body: withParams({ initialMessage: { ...textMessage('x'), timestamp: 'yesterday' } }),
    code: -32602,
    id: 'req-1',
    field: 'initialMessage.timestamp',
  },
  {
    name: 'task.info without taskId',
    body: { ...base, method: 'task.info', params: {} },
    code: -32602,
    id: 'req-1',
    field: 'taskId',
  },
  {
    name: 'task.info includeMessages not boolean',
    body: { ...base, method: 'task.info', params: { taskId: 't', includeMessages: 'yes' } },
    code: -32602,
    id: 'req-1',
    field: 'includeMessages',
  },
  {
    name: 'unknown task',
    body: { ...base, method: 'task.info', params: { taskId: 'task-nope' } },
    code: -42001,
    id: 'req-1',
    details: ['taskId'],
    responseAgent: 'echo',
  },
  {
    name: 'unknown task via task.get alias',
    body: { ...base, id: 0, method: 'task.get', params: { taskId: 'task-nope' } },
    code: -42001,
    id: 0,
    details: ['taskId'],
  },
  {
    name: 'cancel of an unknown task',
    body: { ...base, id: -3.5, method: 'task.cancel', params: { taskId: 'task-nope' } },
    code: -42001,
    id: -3.5,
    details: ['taskId'],
  },
  {
    name: 'subscribe with a non-http URL',
    body: { ...base, method: 'task.subscribe', params: { taskId: 't', callbackUrl: 'ftp://x/y' } },
    code: -32602,
    id: 'req-1',
    field: 'callbackUrl',
  },
  {
    name: 'subscribe with an unknown event',
    body: {
      ...base,
      method: 'task.subscribe',
      params: { taskId: 't', callbackUrl: 'http://x/y', events: ['TASK_EXPLODED'] },
    },
    code: -32602,
    id: 'req-1',
    field: 'events.0',
  },
  {
    name: 'oversize body (the id and agents read from its first bytes)',
    body: { ...base, params: { initialMessage: textMessage('x'.repeat(70 * 1024)) } },
    code: -45004,
    id: 'req-1',
    details: ['limitBytes'],
  },
];

describe('ARC wire errors', () => {
  test.each(rows.map((row) => [row.name, row] as const))('%s', async (_name, row) => {
    const reply = await post(arcd.url, row.body, { raw: row.raw === true });
    expect(reply.status).toBe(200);
    expect(reply.contentType).toBe('application/arc+json');
    const envelope = reply.body;
    expect(envelope.arc).toBe('1.0');
    expect(envelope).toHaveProperty('result', null);
    expect(envelope.id).toBe(row.id);
    expect(Number.isInteger(envelope.error.code)).toBe(true);
    expect(envelope.error.code).toBe(row.code);
    expect(typeof envelope.error.message).toBe('string');
    expect(envelope.error.details).toEqual(expect.any(Object));
    expect(envelope.error.details).not.toBeNull();
    for (const key of row.details ?? []) expect(envelope.error.details).toHaveProperty(key);
    if (row.field) {
      const fields = (envelope.error.details.errors as Array<{ field: string }>).map(
        (e) => e.field,
      );
      expect(fields).toContain(row.field);
    }
    expect(envelope.responseAgent).toBe(row.responseAgent ?? envelope.responseAgent);
    expect(typeof envelope.responseAgent).toBe('string');
  });

  test('an unknown agent names the agent and the hosted ones', async () => {
    const reply = await post(arcd.url, { ...base, targetAgent: 'nobody' });
    expect(reply.body.error.details).toEqual({
      agentId: 'nobody',
      availableAgents: ['document-analyzer', 'echo', 'flaky', 'slow'],
    });
    expect(reply.body.responseAgent).toBe('arcd');
    expect(reply.body.targetAgent).toBe('tester');
  });

  test('-45001 tells back a version as a short string, whatever was sent in its place', async () => {
    // Deeper than JSON.stringify can write back (it overflows the stack well before JSON.parse).
    const nested = '['.repeat(20_000) + ']'.repeat(20_000);
    for (const [arc, told] of [
      ['"2.0"', '2.0'],
      ['1.0', '(number)'],
      [nested, '(array)'],
      [JSON.stringify({ big: 'x'.repeat(30_000) }), '(object)'],
      [`"${'9'.repeat(1_000)}"`, '9'.repeat(64)],
    ] as const) {
      const body = JSON.stringify({ ...base, arc: 0 }).replace('"arc":0', `"arc":${arc}`);
      const reply = await post(arcd.url, body, { raw: true });
      expect(reply.status).toBe(200);
      expect(reply.body.error).toMatchObject({
        code: -45001,
        details: { supportedVersion: '1.0', receivedVersion: told },
      });
    }
  });

  test('an unknown method lists the supported ones', async () => {
    const reply = await post(arcd.url, { ...base, method: 'nope' });
    expect(reply.body.error.details.supportedMethods).toEqual(
      expect.arrayContaining([
        'task.create',
        'task.send',
        'task.info',
        'task.cancel',
        'task.subscribe',
        'task.notification',
      ]),
    );
  });

  test('an oversize body is refused whatever it claims to be', async () => {
    const reply = await post(arcd.url, 'x'.repeat(100 * 1024), {
      raw: true,
      headers: { 'content-type': 'text/plain' },
    });
    expect(reply.status).toBe(200);
    expect(reply.body.error.code).toBe(-45004);
  });

  test('state errors: -42002 completed, -42003 canceled, -42006 failed', async () => {
    const done = await createTask(arcd.url, 'echo', 'hi');
    await waitForStatus(arcd.url, 'echo', done.taskId, ['COMPLETED']);
    const send = (agent: string, taskId: string) =>
      arcCall(
        arcd.url,
        'task.send',
        { taskId, message: textMessage('more') },
        { targetAgent: agent, id: 'state' },
      );
    const cancel = (agent: string, taskId: string) =>
      arcCall(arcd.url, 'task.cancel', { taskId }, { targetAgent: agent, id: 'state' });

    for (const reply of [await send('echo', done.taskId), await cancel('echo', done.taskId)]) {
      expect(reply.body.error).toMatchObject({ code: -42002, details: { taskId: done.taskId } });
    }

    const slow = await createTask(arcd.url, 'slow', 'steps=50');
    expect((await cancel('slow', slow.taskId)).body.error).toBeNull();
    for (const reply of [await send('slow', slow.taskId), await cancel('slow', slow.taskId)]) {
      expect(reply.body.error).toMatchObject({ code: -42003, details: { taskId: slow.taskId } });
    }

    const flaky = await createTask(arcd.url, 'flaky', 'fail please');
    await waitForStatus(arcd.url, 'flaky', flaky.taskId, ['FAILED']);
    for (const reply of [await send('flaky', flaky.taskId), await cancel('flaky', flaky.taskId)]) {
      expect(reply.body.error).toMatchObject({ code: -42006, details: { taskId: flaky.taskId } });
    }
  });

  test('an unexpected failure is -32603 with only an error id on the wire', async () => {
    arcd.server.store.db.close(); // the database vanishing under a running server
    const reply = await arcCall(arcd.url, 'task.info', { taskId: 'task-x' }, { id: 'boom' });
    expect(reply.status).toBe(200);
    expect(reply.body.id).toBe('boom');
    expect(reply.body.error.code).toBe(-32603);
    expect(Object.keys(reply.body.error.details)).toEqual(['errorId']);
    expect(reply.body.error.message).not.toMatch(/database|sqlite|connection/i);
  });

  test('success echoes id type, traceId, and answers on / as on /arc', async () => {
    for (const [path, id] of [
      ['/arc', 7],
      ['/', 'seven'],
    ] as const) {
      const reply = await post(
        arcd.url,
        { ...base, id, traceId: 'trace-9' },
        { path, headers: { 'content-type': 'text/event-stream' } },
      );
      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({
        arc: '1.0',
        id,
        responseAgent: 'echo',
        targetAgent: 'tester',
        error: null,
        traceId: 'trace-9',
      });
      expect(reply.body.result.task.status).toBe('SUBMITTED');
    }
  });

  test('wrong verb or path is a transport error, not an ARC one', async () => {
    expect((await fetch(`${arcd.url}/arc`)).status).toBe(405);
    expect((await post(arcd.url, base, { path: '/nowhere' })).status).toBe(404);
  });
});

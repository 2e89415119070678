/**
 * Property-based fuzzing of POST /arc with fast-check: thousands of malformed envelopes,
 * params, parts, unicode, huge numbers, deep nesting and wrong types. Every answer must be a
 * well-formed ARC (or JSON-RPC) envelope with a known code and HTTP 200, the server must keep
 * answering, and afterwards the database must hold its invariants.
 */
import fc from 'fast-check';
import Database from 'better-sqlite3';
import { type Running, type WireJson, post, startArcd, waitFor } from '../helpers/arcServer';

const KNOWN_CODES = new Set([
  -32700, -32600, -32601, -32602, -32603, -41001, -41002, -41011, -42001, -42002, -42003, -42004,
  -42006, -42010, -42011, -44001, -44002, -44003, -44004, -44007, -45001, -45004,
]);
const METHODS = [
  'task.create',
  'task.send',
  'task.info',
  'task.get',
  'task.cancel',
  'task.subscribe',
  'task.notification',
  'task.runs',
  'subscription.list',
  'delivery.list',
  'delivery.retry',
  'chat.start',
];

const seenTaskIds: string[] = [];

const anyText = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: 'binary' }),
  fc.constantFrom('', ' ', '\u0000', '\ud800', '💥'.repeat(50)),
);
const anyNumber = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(Number.MAX_SAFE_INTEGER, 1e308, -0, 2 ** 53 + 1),
);
const anyValue = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  anyText,
  anyNumber,
  fc.constant(null),
  fc.constant(undefined),
);
const part = fc.record(
  {
    type: fc.oneof(
      fc.constantFrom(
        'text',
        'TextPart',
        'data',
        'DataPart',
        'file',
        'FilePart',
        'image',
        'ImagePart',
        'audio',
        'AudioPart',
      ),
      anyText,
    ),
    content: fc.oneof(anyText, fc.jsonValue({ maxDepth: 3 }), fc.base64String()),
    mimeType: fc.oneof(
      fc.constantFrom('text/plain', 'application/octet-stream', 'image/png'),
      anyText,
    ),
    encoding: fc.oneof(fc.constantFrom('base64', 'utf8', 'binary'), anyText),
    size: anyNumber,
  },
  { requiredKeys: [] },
);
const message = fc.record(
  {
    role: fc.oneof(fc.constantFrom('user', 'agent', 'system'), anyText),
    parts: fc.oneof(fc.array(part, { maxLength: 4 }), anyValue),
    timestamp: fc.oneof(
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      anyText,
    ),
  },
  { requiredKeys: [] },
);
const taskId = fc.oneof(
  fc.constantFrom(...['task-nope']),
  anyText,
  anyNumber,
  fc.constant('__recent__'),
);
const params = fc.oneof(
  fc.record(
    {
      initialMessage: fc.oneof(message, anyValue),
      message: fc.oneof(message, anyValue),
      taskId,
      priority: fc.oneof(fc.constantFrom('LOW', 'NORMAL', 'HIGH', 'URGENT'), anyValue),
      metadata: anyValue,
      settings: fc.oneof(
        fc.record({ maxRetries: anyNumber, timeoutMs: anyNumber }, { requiredKeys: [] }),
        anyValue,
      ),
      deadline: fc.oneof(anyText, fc.constant('2999-01-01T00:00:00Z')),
      callbackUrl: fc.oneof(fc.webUrl(), anyText),
      events: fc.oneof(
        fc.array(fc.constantFrom('TASK_COMPLETED', 'STATUS_CHANGE', 'NOPE')),
        anyValue,
      ),
      includeMessages: anyValue,
    },
    { requiredKeys: [] },
  ),
  anyValue,
);
const envelope = fc.record(
  {
    arc: fc.oneof(fc.constant('1.0'), fc.constant('1.0'), anyValue),
    id: fc.oneof(fc.string(), fc.integer(), anyValue),
    method: fc.oneof(fc.constantFrom(...METHODS), anyValue),
    requestAgent: fc.oneof(fc.constant('fuzzer'), anyValue),
    targetAgent: fc.oneof(fc.constant('echo'), fc.constant('echo'), anyValue),
    params,
    traceId: anyValue,
  },
  { requiredKeys: [] },
);

function deepNest(depth: number): string {
  return `${'['.repeat(depth)}${']'.repeat(depth)}`;
}

/** Nearly valid creates: unicode text, JSON data and base64 files that should be stored. */
const goodPart = fc.oneof(
  fc.record({
    type: fc.constantFrom('text', 'TextPart'),
    content: fc.string({ unit: 'grapheme', minLength: 1 }),
  }),
  fc.record({
    type: fc.constantFrom('data', 'DataPart'),
    content: fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 })),
  }),
  fc.record({
    type: fc.constant('FilePart'),
    content: fc.base64String({ minLength: 4 }),
    mimeType: fc.constant('application/octet-stream'),
    encoding: fc.constant('base64'),
  }),
);
const create = fc.record({
  arc: fc.constant('1.0'),
  id: fc.oneof(fc.string(), fc.integer()),
  method: fc.constant('task.create'),
  requestAgent: fc.constant('fuzzer'),
  targetAgent: fc.constant('echo'),
  params: fc.record({
    initialMessage: fc.record({
      role: fc.constant('user'),
      parts: fc.array(goodPart, { minLength: 1, maxLength: 4 }),
    }),
    metadata: fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 })),
  }),
});

const body = fc.oneof(
  { weight: 2, arbitrary: create.map((e) => JSON.stringify(e)) },
  { weight: 6, arbitrary: envelope.map((e) => JSON.stringify(e)) },
  { weight: 1, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: anyText },
  {
    weight: 1,
    arbitrary: fc
      .array(
        envelope.map((e) => ({ ...e, jsonrpc: '2.0' })),
        { maxLength: 3 },
      )
      .map((b) => JSON.stringify(b)),
  },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 10, max: 200_000 })
      .map(
        (d) =>
          `{"arc":"1.0","id":1,"method":"task.create","requestAgent":"f","targetAgent":"echo","params":{"metadata":{"a":${deepNest(d)}}}}`,
      ),
  },
);

function checkArcEnvelope(reply: { status: number; body: WireJson }) {
  expect(reply.status).toBe(200);
  const env = reply.body;
  expect(env.arc).toBe('1.0');
  expect(env).toHaveProperty('result');
  expect(env).toHaveProperty('error');
  expect(typeof env.responseAgent).toBe('string');
  expect(env.id === null || typeof env.id === 'string' || typeof env.id === 'number').toBe(true);
  if (env.error === null) {
    expect(env.result).not.toBeNull();
    if (env.result?.task?.taskId) seenTaskIds.push(env.result.task.taskId);
  } else {
    expect(env.result).toBeNull();
    expect(KNOWN_CODES.has(env.error.code)).toBe(true);
    expect(env.error.details).toEqual(expect.any(Object));
    expect(env.error.message).not.toMatch(/\n\s+at /); // never a stack
  }
}

function checkJsonRpc(reply: { status: number; body: WireJson }) {
  if (reply.status === 204) return;
  expect(reply.status).toBe(200);
  for (const item of Array.isArray(reply.body) ? reply.body : [reply.body]) {
    expect(item.jsonrpc).toBe('2.0');
    if (item.error) {
      expect(KNOWN_CODES.has(item.error.code)).toBe(true);
      expect(item.error.data).toEqual(expect.any(Object));
    }
  }
}

async function checkInvariants(arcd: Running) {
  await waitFor(
    'turns to settle',
    async () => (arcd.server.runner.activeTurns === 0 ? true : undefined),
    30_000,
  );
  const db = new Database(arcd.db, { readonly: true });
  try {
    expect(db.pragma('integrity_check')).toEqual([{ integrity_check: 'ok' }]);
    expect(db.pragma('foreign_key_check')).toEqual([]);
    const broken = db
      .prepare(
        `SELECT t.task_id FROM tasks t WHERE
           t.last_seq != (SELECT COUNT(*) FROM events e WHERE e.task_id = t.task_id)
        OR t.last_seq != COALESCE((SELECT MAX(seq) FROM events e WHERE e.task_id = t.task_id), 0)
        OR t.message_count != (SELECT COUNT(*) FROM messages m WHERE m.task_id = t.task_id)
        OR t.artifact_count != (SELECT COUNT(*) FROM artifacts a WHERE a.task_id = t.task_id)
        OR (t.status IN ('COMPLETED','FAILED','CANCELED') AND t.pending_turn = 1)
        OR (SELECT type FROM events e WHERE e.task_id = t.task_id AND e.seq = 1) != 'TASK_CREATED'`,
      )
      .all();
    expect(broken).toEqual([]);
    expect(
      (db.prepare('SELECT COUNT(*) AS n FROM tasks').get() as { n: number }).n,
    ).toBeGreaterThan(0);
  } finally {
    db.close();
  }
}

test('every malformed request gets a well-formed answer; the server keeps serving and its database stays consistent', async () => {
  const arcd = await startArcd({ config: { maxBodyBytes: 64 * 1024 } });
  await fc.assert(
    fc.asyncProperty(body, async (raw) => {
      const text =
        seenTaskIds.length > 0
          ? raw.replace('"__recent__"', JSON.stringify(seenTaskIds.at(-1)))
          : raw;
      const reply = await post(arcd.url, text, { raw: true });
      expect(reply.status).not.toBeGreaterThanOrEqual(500);
      if (reply.status === 204) {
        // Nothing to answer: only a JSON-RPC request made of notifications may get this.
        expect(text).toContain('"jsonrpc"');
        expect(reply.text).toBe('');
      } else if (reply.body && (Array.isArray(reply.body) || 'jsonrpc' in reply.body)) {
        checkJsonRpc(reply);
      } else checkArcEnvelope(reply);
    }),
    { numRuns: Number(process.env.FUZZ_RUNS ?? 1500) },
  );
  const health = await fetch(`${arcd.url}/health`);
  expect(health.status).toBe(200);
  await checkInvariants(arcd);
}, 240_000);

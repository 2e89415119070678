/**
 * Authentication and authorization on the real app: API keys (created by `arcd token
 * create`), JWTs by shared secret and by JWKS URL, the ARC scope table, identity =
 * requestAgent, isolation between identities, rate limiting, and helmet's headers. Every
 * refusal is an ARC envelope with HTTP 200.
 */
import { execFileSync } from 'node:child_process';
import { type KeyObject, generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { compiledMain } from '../helpers/childArcd';
import { type Running, post, startArcd, textMessage, waitFor } from '../helpers/arcServer';
import { tempDbFile } from '../helpers/tempDb';

const TASK_SCOPES = 'arc.task.controller arc.agent.caller';
const SECRET = 'a shared secret that is long enough for HS256';

function createKey(file: string, identity: string, scopes: string): string {
  return execFileSync(
    process.execPath,
    [
      compiledMain,
      'token',
      'create',
      '--identity',
      identity,
      '--scopes',
      scopes,
      '--api-keys-file',
      file,
    ],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  )
    .toString()
    .trim();
}

function call(
  arcd: Running,
  token: string | undefined,
  method: string,
  params: object,
  requestAgent: string,
  id: string | number = 'c1',
) {
  return post(
    arcd.url,
    { arc: '1.0', id, method, requestAgent, targetAgent: 'echo', params },
    { headers: token ? { authorization: `Bearer ${token}` } : {} },
  );
}

function jwt(claims: Record<string, unknown>, expiresIn = '5m') {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(SECRET));
}

describe('API keys', () => {
  const keys = tempDbFile('keys').replace(/\.db$/, '.json');
  let alice: string;
  let bob: string;
  let admin: string;
  let narrow: string;
  let arcd: Running;

  beforeAll(() => {
    alice = createKey(keys, 'alice', TASK_SCOPES);
    bob = createKey(keys, 'bob', TASK_SCOPES);
    admin = createKey(keys, 'ops', `${TASK_SCOPES} arc.admin`);
    narrow = createKey(keys, 'reader', 'arc.agent.caller');
  });

  beforeEach(async () => {
    arcd = await startArcd({ config: { auth: 'required', apiKeysFile: keys } });
  });

  test('the keys file holds hashes, never tokens', async () => {
    const stored = (await import('node:fs')).readFileSync(keys, 'utf8');
    expect(stored).not.toContain(alice);
    expect(stored).toMatch(/"sha256": "[0-9a-f]{64}"/);
    expect(alice).toMatch(/^arcd_/);
  });

  test.each([
    ['no Authorization header', undefined, -44001],
    ['an unknown token', 'arcd_not-a-real-token', -44001],
    ['a malformed JWT', 'aaa.bbb.ccc', -44001],
  ])('%s is refused with %p', async (_name, token, code) => {
    const reply = await call(
      arcd,
      token,
      'task.create',
      { initialMessage: textMessage('x') },
      'alice',
      77,
    );
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({
      id: 77,
      result: null,
      error: { code, details: { reason: expect.any(String) } },
    });
  });

  test('a valid key works as its identity', async () => {
    const reply = await call(
      arcd,
      alice,
      'task.create',
      { initialMessage: textMessage('hi') },
      'alice',
    );
    expect(reply.body.error).toBeNull();
    expect(reply.body.result.task.requestAgent).toBe('alice');
  });

  test('a requestAgent other than the identity is -44002; an admin may act for others', async () => {
    const reply = await call(
      arcd,
      alice,
      'task.create',
      { initialMessage: textMessage('hi') },
      'bob',
    );
    expect(reply.body.error).toMatchObject({
      code: -44002,
      details: { requestAgent: 'bob', identity: 'alice' },
    });
    const asAdmin = await call(
      arcd,
      admin,
      'task.create',
      { initialMessage: textMessage('hi') },
      'bob',
    );
    expect(asAdmin.body.result.task.requestAgent).toBe('bob');
  });

  test("task.list: a caller sees its own tasks; an admin sees everyone's", async () => {
    const hello = { initialMessage: textMessage('hi') };
    const mine = (await call(arcd, alice, 'task.create', hello, 'alice')).body.result.task;
    const bobs = (await call(arcd, bob, 'task.create', hello, 'bob')).body.result.task;
    const ids = (reply: { body: { result: { tasks: Array<{ taskId: string }> } } }) =>
      reply.body.result.tasks.map((t) => t.taskId);
    expect(ids(await call(arcd, alice, 'task.list', {}, 'alice'))).toEqual([mine.taskId]);
    expect(ids(await call(arcd, admin, 'task.list', {}, 'ops'))).toEqual([
      bobs.taskId,
      mine.taskId,
    ]);
    expect(ids(await call(arcd, admin, 'task.list', { requestAgent: 'bob' }, 'ops'))).toEqual([
      bobs.taskId,
    ]);
    const peek = await call(arcd, alice, 'task.list', { requestAgent: 'bob' }, 'alice');
    expect(peek.body.error).toMatchObject({ code: -44002, details: { requestAgent: 'bob' } });
  });

  test('missing scopes are -44003 with required_scopes and provided_scopes', async () => {
    const reply = await call(arcd, narrow, 'task.info', { taskId: 'x' }, 'reader');
    expect(reply.body.error).toEqual({
      code: -44003,
      message: expect.any(String),
      details: {
        required_scopes: ['arc.task.controller', 'arc.agent.caller'],
        provided_scopes: ['arc.agent.caller'],
      },
    });
    const notify = await call(
      arcd,
      alice,
      'task.notification',
      { taskId: 'x', event: 'E', timestamp: new Date().toISOString(), data: {} },
      'alice',
    );
    expect(notify.body.error).toMatchObject({
      code: -44003,
      details: { required_scopes: ['arc.task.notify', 'arc.agent.receiver'] },
    });
  });

  test("a task's event stream asks for task.events' scopes too", async () => {
    // Its own key file: the describe's is shared by every test's server.
    const own = tempDbFile('stream-keys');
    const writer = createKey(own, 'alice', TASK_SCOPES);
    const reader = createKey(own, 'alice', 'arc.chat.controller arc.agent.caller');
    arcd = await startArcd({ config: { auth: 'required', apiKeysFile: own } });
    const created = await call(
      arcd,
      writer,
      'task.create',
      { initialMessage: { role: 'user', parts: [{ type: 'TextPart', content: 'hi' }] } },
      'alice',
    );
    const taskId = created.body.result.task.taskId as string;
    const open = (token: string) =>
      fetch(`${arcd.url}/arc/tasks/${taskId}/events`, {
        headers: { authorization: `Bearer ${token}` },
      });
    const refused = await open(reader);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: number } }).error.code).toBe(-44003);
    const allowed = await open(writer);
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await allowed.body?.cancel();
  });

  test("one identity cannot see or touch another's task", async () => {
    const created = await call(
      arcd,
      alice,
      'task.create',
      { initialMessage: textMessage('mine') },
      'alice',
    );
    const taskId = created.body.result.task.taskId;
    for (const [method, params] of [
      ['task.info', { taskId }],
      ['task.send', { taskId, message: textMessage('hi') }],
      ['task.cancel', { taskId }],
      ['task.subscribe', { taskId, callbackUrl: 'https://hooks.invalid/x' }],
      ['task.runs', { taskId }],
    ] as const) {
      const reply = await call(arcd, bob, method, params, 'bob');
      expect(reply.body.error).toMatchObject({ code: -42001, details: { taskId } });
    }
    const mine = await call(arcd, alice, 'task.info', { taskId }, 'alice');
    expect(mine.body.result.task.taskId).toBe(taskId);
  });

  test('a key added or taken out while the server runs counts within a second', async () => {
    const own = tempDbFile('own-keys');
    const first = createKey(own, 'carol', TASK_SCOPES);
    const running = await startArcd({ config: { auth: 'required', apiKeysFile: own } });
    const listed = (token: string) => call(running, token, 'task.list', {}, 'carol');
    const later = createKey(own, 'carol', TASK_SCOPES); // `arcd token create` beside it
    await waitFor('the new key', async () => (await listed(later)).body.result ?? undefined);
    expect((await listed(first)).body.result).toBeTruthy();
    const entries = JSON.parse(fs.readFileSync(own, 'utf8')) as unknown[];
    fs.writeFileSync(own, JSON.stringify(entries.slice(1))); // the first key revoked by hand
    await waitFor('the revocation', async () =>
      (await listed(first)).body.error?.code === -44001 ? true : undefined,
    );
    expect((await listed(later)).body.result).toBeTruthy();
    // A bad edit keeps the keys as they were: test/auth/apiKeyFile.test.ts, step by step.
  });

  test('JSON-RPC requests are authenticated the same way', async () => {
    const reply = await post(arcd.url, {
      jsonrpc: '2.0',
      id: 5,
      method: 'task.info',
      params: { taskId: 'x' },
      targetAgent: 'echo',
      requestAgent: 'alice',
    });
    expect(reply.body).toMatchObject({ jsonrpc: '2.0', id: 5, error: { code: -44001 } });
  });
});

describe('JWT', () => {
  test('HS256 tokens: scopes from scope, scp or permissions; expiry is -44004', async () => {
    const arcd = await startArcd({
      config: { auth: 'required', apiKeysFile: tempDbFile('none'), jwtSecret: SECRET },
    });
    for (const claims of [
      { sub: 'carol', scope: TASK_SCOPES },
      { sub: 'carol', scp: TASK_SCOPES.split(' ') },
      { sub: 'carol', permissions: TASK_SCOPES.split(' ') },
    ]) {
      const reply = await call(
        arcd,
        await jwt(claims),
        'task.create',
        { initialMessage: textMessage('hi') },
        'carol',
      );
      expect(reply.body.error).toBeNull();
    }
    const expired = await jwt({ sub: 'carol', scope: TASK_SCOPES }, '-1m');
    expect(
      (await call(arcd, expired, 'task.info', { taskId: 'x' }, 'carol')).body.error,
    ).toMatchObject({ code: -44004 });
    const forged = await new SignJWT({ sub: 'carol', scope: TASK_SCOPES })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode('some other secret, also long enough'));
    expect(
      (await call(arcd, forged, 'task.info', { taskId: 'x' }, 'carol')).body.error,
    ).toMatchObject({ code: -44001 });
  });

  test('--jwt-require-exp on refuses a token without an expiry (-44001, named); other values stop the start', async () => {
    const arcd = await startArcd({
      config: {
        auth: 'required',
        apiKeysFile: tempDbFile('none'),
        jwtSecret: SECRET,
        jwtRequireExp: 'on',
      },
    });
    const forever = await new SignJWT({ sub: 'carol', scope: TASK_SCOPES })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(SECRET));
    expect(
      (await call(arcd, forever, 'task.info', { taskId: 'x' }, 'carol')).body.error,
    ).toMatchObject({ code: -44001, message: expect.stringMatching(/no expiry/) });
    const dated = await jwt({ sub: 'carol', scope: TASK_SCOPES });
    expect(
      (await call(arcd, dated, 'task.info', { taskId: 'x' }, 'carol')).body.error,
    ).toMatchObject({ code: -42001 });
    await expect(
      startArcd({ config: { auth: 'required', jwtSecret: SECRET, jwtRequireExp: 'yes' } }),
    ).rejects.toThrow(/--jwt-require-exp: expected "on" or "off"/);
  });

  test('a configured identity claim is read instead of sub', async () => {
    const arcd = await startArcd({
      config: {
        auth: 'required',
        apiKeysFile: tempDbFile('none'),
        jwtSecret: SECRET,
        jwtIdentityClaim: 'agent_id',
      },
    });
    const token = await jwt({ sub: 'user-1', agent_id: 'dave', scope: TASK_SCOPES });
    const reply = await call(
      arcd,
      token,
      'task.create',
      { initialMessage: textMessage('hi') },
      'dave',
    );
    expect(reply.body.result.task.requestAgent).toBe('dave');
  });

  test.each([
    ['EC P-256', 'ec', { namedCurve: 'P-256' }, 'ES256'],
    ['RSA', 'rsa', { modulusLength: 2048 }, 'RS256'],
    ['RSA (PSS signature)', 'rsa', { modulusLength: 2048 }, 'PS256'],
    ['Ed25519', 'ed25519', {}, 'EdDSA'],
  ] as const)('a %s public key file verifies its tokens', async (_name, type, params, alg) => {
    const pair = generateKeyPairSync(type as 'ec', params as never) as unknown as {
      publicKey: KeyObject;
      privateKey: KeyObject;
    };
    const { publicKey, privateKey } = pair;
    const file = tempDbFile('jwt-key').replace(/\.db$/, '.pem');
    fs.writeFileSync(file, publicKey.export({ type: 'spki', format: 'pem' }));
    const arcd = await startArcd({
      config: { auth: 'required', apiKeysFile: tempDbFile('none'), jwtPublicKeyFile: file },
    });
    const token = await new SignJWT({ sub: 'dana', scope: TASK_SCOPES })
      .setProtectedHeader({ alg })
      .setExpirationTime('5m')
      .sign(privateKey);
    const reply = await call(
      arcd,
      token,
      'task.create',
      { initialMessage: textMessage('hi') },
      'dana',
    );
    expect(reply.body.error).toBeNull();
  });

  test('a public key file that is not a key stops the start, saying why', async () => {
    const file = tempDbFile('jwt-key').replace(/\.db$/, '.pem');
    fs.writeFileSync(file, 'not a key');
    await expect(
      startArcd({
        config: { auth: 'required', apiKeysFile: tempDbFile('none'), jwtPublicKeyFile: file },
      }),
    ).rejects.toThrow(/--jwt-public-key-file .*not a PEM public key/);
  });

  test('RS256 tokens verify against a JWKS URL, for the issuer and audience set', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    const jwks = http.createServer((_req, res) =>
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ keys: [jwk] })),
    );
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`;
      const arcd = await startArcd({
        config: {
          auth: 'required',
          apiKeysFile: tempDbFile('none'),
          jwtJwksUrl: url,
          jwtIssuer: 'https://issuer.example',
          jwtAudience: 'arcd',
        },
      });
      const sign = (iss: string, aud = 'arcd') =>
        new SignJWT({ sub: 'erin', scope: TASK_SCOPES })
          .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
          .setIssuer(iss)
          .setAudience(aud)
          .setExpirationTime('5m')
          .sign(privateKey);
      const good = await sign('https://issuer.example');
      const ok = await call(
        arcd,
        good,
        'task.create',
        { initialMessage: textMessage('hi') },
        'erin',
      );
      expect(ok.body.error).toBeNull();
      const taskId = ok.body.result.task.taskId as string;
      await waitFor('the task done, read with the token', async () => {
        const info = await call(arcd, good, 'task.info', { taskId }, 'erin');
        return info.body.result?.task.status === 'COMPLETED' ? true : undefined;
      });
      const wrongIssuer = await call(
        arcd,
        await sign('https://evil.example'),
        'task.info',
        { taskId: 'x' },
        'erin',
      );
      expect(wrongIssuer.body.error).toMatchObject({ code: -44001 });
      // Signed by the same provider for another app: not a token for arcd.
      const otherApp = await sign('https://issuer.example', 'another-app');
      const wrongAudience = await call(arcd, otherApp, 'task.info', { taskId: 'x' }, 'erin');
      expect(wrongAudience.body.error).toMatchObject({ code: -44001 });
    } finally {
      jwks.closeAllConnections();
      jwks.close();
    }
  });
});

describe('limits and headers', () => {
  test('calls beyond the per-identity rate answer -44007, other identities are unaffected', async () => {
    const keys = tempDbFile('rate').replace(/\.db$/, '.json');
    const a = createKey(keys, 'alice', TASK_SCOPES);
    const b = createKey(keys, 'bob', TASK_SCOPES);
    const arcd = await startArcd({
      config: { auth: 'required', apiKeysFile: keys, rateLimitPerMinute: 3 },
    });
    for (let i = 0; i < 3; i += 1) {
      expect((await call(arcd, a, 'task.info', { taskId: 'x' }, 'alice')).body.error.code).toBe(
        -42001,
      );
    }
    const limited = await call(arcd, a, 'task.info', { taskId: 'x' }, 'alice', 'limited');
    expect(limited.status).toBe(200);
    expect(limited.body).toMatchObject({
      id: 'limited',
      error: { code: -44007, details: { limit: 3, retryAfterSeconds: expect.any(Number) } },
    });
    // The window began at the first call: what is left of it, whatever this machine's pace.
    const { retryAfterSeconds } = limited.body.error.details as { retryAfterSeconds: number };
    expect(retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(retryAfterSeconds).toBeLessThanOrEqual(60);
    expect((await call(arcd, b, 'task.info', { taskId: 'x' }, 'bob')).body.error.code).toBe(-42001);
  });

  test("helmet's headers are set", async () => {
    const arcd = await startArcd();
    const response = await fetch(`${arcd.url}/health`);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-powered-by')).toBeNull();
  });

  test('more than one JWT key source stops the start (only one would be used)', async () => {
    const config = { auth: 'required', jwtSecret: SECRET, jwtJwksUrl: 'https://idp.test/jwks' };
    await expect(startArcd({ config })).rejects.toThrow(
      /set one of --jwt-jwks-url, --jwt-secret, not 2/,
    );
  });

  test('a JWKS without --jwt-issuer and --jwt-audience, or an HS256 secret under 32 bytes, stops the start', async () => {
    const jwks = { auth: 'required', jwtJwksUrl: 'https://idp.test/jwks' };
    for (const config of [jwks, { ...jwks, jwtIssuer: 'https://idp.test/' }]) {
      await expect(startArcd({ config })).rejects.toThrow(
        /--jwt-jwks-url needs --jwt-issuer and --jwt-audience/,
      );
    }
    await expect(
      startArcd({ config: { auth: 'required', jwtSecret: 'x'.repeat(31) } }),
    ).rejects.toThrow(/--jwt-secret: at least 32 bytes/);
  });

  test('an unknown auth mode stops the start before the database opens', async () => {
    const db = tempDbFile('refused');
    await expect(startArcd({ db, config: { auth: 'maybe' } })).rejects.toThrow(/ARCD_AUTH/);
    // Opened, the store would have created the file and left a writer thread running.
    expect(fs.existsSync(db)).toBe(false);
  });
});

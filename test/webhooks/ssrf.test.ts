/**
 * The SSRF guard at both checkpoints: task.subscribe refuses private, loopback, link-local,
 * multicast and unspecified callbacks (literal or resolved), and the sender refuses them at
 * connect time even when a subscription slipped in under a looser policy.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import got from 'got';
import {
  IDLE_SOCKET_MS,
  callbackProblem,
  connectForms,
  createGuardedAgents,
  forbiddenReason,
  parseAllowlist,
  refusingCompatible,
} from '../../src/webhooks/ssrf';
import {
  arcCall,
  arcResult,
  createTask,
  startArcd,
  waitFor,
  waitForStatus,
} from '../helpers/arcServer';
import { startReceiver } from '../helpers/receiver';
import { tempDbFile } from '../helpers/tempDb';

const none = parseAllowlist('');

describe('address policy', () => {
  test.each([
    ['127.0.0.1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['192.168.0.10', 'private'],
    ['172.16.5.5', 'private'],
    ['169.254.169.254', 'linkLocal'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['::1', 'loopback'],
    ['fe80::1', 'linkLocal'],
    ['fc00::1', 'uniqueLocal'],
    ['::', 'unspecified'],
    ['::ffff:127.0.0.1', 'IPv4-mapped IPv6 address: give the IPv4 address 127.0.0.1'],
    ['::ffff:8.8.8.8', 'IPv4-mapped IPv6 address: give the IPv4 address 8.8.8.8'],
    // As a URL writes `[::127.0.0.1]` and `[::10.0.0.1]`:
    ['::7f00:1', 'IPv4-compatible IPv6 address'],
    ['::a00:1', 'IPv4-compatible IPv6 address'],
  ])('%s is refused (%s)', (ip, range) => {
    expect(forbiddenReason(ip, none)).toContain(range);
  });

  test.each(['93.184.216.34', '2606:4700:4700::1111', '8.8.8.8'])('%s is allowed', (ip) => {
    expect(forbiddenReason(ip, none)).toBeUndefined();
  });

  test('the allowlist opens single addresses, CIDRs and host names', async () => {
    const policy = parseAllowlist('127.0.0.1, 10.0.0.0/8, [::1], hooks.internal');
    expect(forbiddenReason('127.0.0.1', policy)).toBeUndefined();
    expect(forbiddenReason('10.200.1.1', policy)).toBeUndefined();
    expect(forbiddenReason('::1', policy)).toBeUndefined();
    expect(forbiddenReason('192.168.1.1', policy)).toContain('private');
    // The sender's guard matches the allowlist on the address as connected to.
    expect(forbiddenReason('::ffff:127.0.0.1', policy)).toContain('IPv4-mapped');
    expect(forbiddenReason('::ffff:127.0.0.1', parseAllowlist('::ffff:127.0.0.1'))).toBeUndefined();
    expect(await callbackProblem('http://hooks.internal/x', policy)).toBeUndefined();
  });

  test('a mistyped range in the allowlist is refused, not taken for a host name', () => {
    expect(() => parseAllowlist('127.0.0.1, 10.0.0.0/33')).toThrow(/10\.0\.0\.0\/33/);
    expect(() => parseAllowlist('fd00::/129')).toThrow(/not a valid address range/);
  });

  test('allowlisted addresses are given to the connect-time guard in every form it may see', () => {
    // A URL's host is compacted (`[::ffff:127.0.0.1]` → ::ffff:7f00:1); name resolution gives
    // a mapped address dotted. The guard compares single addresses as text.
    for (const written of ['::ffff:127.0.0.1', '::ffff:7f00:1', '[::ffff:7f00:1]']) {
      const forms = connectForms(parseAllowlist(written).ranges);
      expect(forms).toEqual(expect.arrayContaining(['::ffff:7f00:1', '::ffff:127.0.0.1']));
    }
    expect(connectForms(['0:0:0:0:0:0:0:1', '10.0.0.0/8'])).toEqual([
      '0:0:0:0:0:0:0:1',
      '10.0.0.0/8',
      '::1',
    ]);
  });

  test("the send-time lookup refuses an IPv4-compatible answer (the agent's own check takes it for public)", () => {
    type Answer = Array<{ address: string; family: number }>;
    const answering =
      (addresses: Answer) =>
      (_host: string, _options: object, callback: (e: Error | null, a?: Answer) => void) =>
        callback(null, addresses);
    const ask = (policy: string, addresses: Answer) => {
      const lookup = refusingCompatible(parseAllowlist(policy), answering(addresses) as never);
      let told: { error: Error | null; addresses?: Answer } | undefined;
      lookup('rebound.test', { all: true }, (error, answered) => {
        told = { error, addresses: answered as Answer };
      });
      return told!;
    };
    const rebound = [
      { address: '93.184.216.34', family: 4 },
      { address: '::7f00:1', family: 6 },
    ];
    expect(ask('', rebound).error?.message).toMatch(
      /::7f00:1 \(host: rebound.test\) is not allowed/,
    );
    expect(ask('::/96', rebound)).toEqual({ error: null, addresses: rebound }); // allowlisted
    const plain = [{ address: '2606:4700:4700::1111', family: 6 }];
    expect(ask('', plain)).toEqual({ error: null, addresses: plain });
  });

  test('a host name is judged by what it resolves to', async () => {
    // The kind of address, never the address itself (it would map internal names).
    const problem = await callbackProblem('http://localhost:8080/hook', none);
    expect(problem).toBe('localhost resolves to a loopback address');
    expect(await callbackProblem('http://[::1]:8080/hook', none)).toMatch(/loopback/);
  });
});

describe('task.subscribe refuses forbidden callbacks', () => {
  test.each([
    'http://127.0.0.1:9/h',
    'http://localhost/h',
    'https://169.254.169.254/latest/meta-data',
    'http://[::1]/h',
    'http://10.0.0.7/h',
    'http://[::ffff:8.8.8.8]/h',
  ])('%s', async (callbackUrl) => {
    const arcd = await startArcd();
    const task = await createTask(arcd.url, 'echo', 'x');
    const reply = await arcCall(arcd.url, 'task.subscribe', { taskId: task.taskId, callbackUrl });
    expect(reply.status).toBe(200);
    expect(reply.body.error).toMatchObject({
      code: -32602,
      details: {
        errors: [{ field: 'callbackUrl', message: expect.stringMatching(/not allowed/) }],
      },
    });
    expect(await arcd.server.store.listSubscriptions(task.taskId)).toEqual([]);
  });
});

describe('the sender checks the connected address', () => {
  test('an IPv4-mapped callback allowlisted as written is subscribed and delivered', async () => {
    const receiver = await startReceiver();
    const callbackUrl = receiver.url.replace('127.0.0.1', '[::ffff:127.0.0.1]');
    const arcd = await startArcd({
      config: { webhookAllowlist: '::ffff:127.0.0.1', webhookPollMs: 25 },
    });
    const task = await createTask(arcd.url, 'echo', 'x');
    await waitForStatus(arcd.url, 'echo', task.taskId, ['COMPLETED']);
    const subscribe = {
      taskId: task.taskId,
      callbackUrl,
      events: ['TASK_COMPLETED'],
      replay: true,
    };
    await arcResult(arcd.url, 'task.subscribe', subscribe);
    await waitFor('delivery', async () => (receiver.received.length > 0 ? true : undefined));
    expect(receiver.received[0]?.body.event).toBe('TASK_COMPLETED');
  });

  test('a subscription stored under an allowlist is not sent once the allowlist is gone', async () => {
    const db = tempDbFile('ssrf');
    const receiver = await startReceiver();
    const first = await startArcd({
      db,
      config: { webhookAllowlist: '127.0.0.1', webhookPollMs: 25 },
    });
    const task = await createTask(first.url, 'echo', 'x');
    await waitForStatus(first.url, 'echo', task.taskId, ['COMPLETED']);
    await first.close();

    // Re-open with the guard closed, then subscribe through the store (as an older process would have).
    const second = await startArcd({
      db,
      config: { webhookPollMs: 25, webhookScheduleMs: '0,20' },
    });
    await second.server.store.insertSubscription(
      {
        subscriptionId: 'sub-legacy',
        taskId: task.taskId,
        ownerAgent: 'tester',
        callbackUrl: receiver.url,
        events: ['TASK_COMPLETED'],
        secret: `whsec_${Buffer.alloc(32).toString('base64')}`,
        active: true,
        createdAt: new Date().toISOString(),
      },
      true,
    );
    second.server.deliveries.poke();
    const { deliveries } = await waitFor('dead delivery', async () => {
      const result = await arcResult(second.url, 'delivery.list', { taskId: task.taskId });
      return result.deliveries[0]?.status === 'dead' ? result : undefined;
    });
    expect(deliveries[0].attemptLog[0].error).toMatch(/^ERR_WEBHOOK_FORBIDDEN_ADDRESS/);
    expect(JSON.stringify(deliveries)).not.toMatch(/127\.0\.0\.1(?!:\d+\/)/); // but in its URL
    expect(receiver.received).toHaveLength(0);
  });
});

test('a receiver connection left idle is closed by the sender, though the receiver never says when', async () => {
  // Answers every request on the connection and never closes it, with no Keep-Alive hint.
  let closed!: () => void;
  const closedByClient = new Promise<void>((resolve) => (closed = resolve));
  const receiver = net.createServer((socket) => {
    socket.on('data', () => socket.write('HTTP/1.1 204 No Content\r\n\r\n'));
    socket.on('close', closed);
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const { port } = receiver.address() as AddressInfo;
  const agents = createGuardedAgents(parseAllowlist('127.0.0.1'));
  try {
    const sent = Date.now();
    const answer = await got.post(`http://127.0.0.1:${port}/hook`, {
      agent: { http: agents.http },
      body: '{}',
      retry: { limit: 0 },
    });
    expect(answer.statusCode).toBe(204);
    await closedByClient;
    expect(Date.now() - sent).toBeGreaterThanOrEqual(IDLE_SOCKET_MS - 100);
  } finally {
    agents.http.destroy();
    await new Promise((resolve) => receiver.close(resolve));
  }
}, 15_000);

/**
 * The same route speaks plain JSON-RPC 2.0, driven here by the json-rpc-2.0 package's own
 * JSONRPCClient (routing fields added as extra members), plus the spec's corner cases sent raw.
 */
import {
  JSONRPCClient,
  JSONRPCErrorException,
  type JSONRPCRequest,
  type JSONRPCResponse,
} from 'json-rpc-2.0';
import { type Running, post, startArcd, textMessage, waitFor } from '../helpers/arcServer';

let arcd: Running;

beforeEach(async () => {
  arcd = await startArcd();
});

function clientFor(url: string, targetAgent: string, statuses: number[] = []): JSONRPCClient {
  const client: JSONRPCClient = new JSONRPCClient(
    async (payload: JSONRPCRequest | JSONRPCRequest[]) => {
      const route = (r: JSONRPCRequest) => ({ ...r, targetAgent, requestAgent: 'rpc-tester' });
      const body = Array.isArray(payload) ? payload.map(route) : route(payload);
      const response = await fetch(`${url}/arc`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      statuses.push(response.status);
      if (response.status === 200) client.receive((await response.json()) as JSONRPCResponse);
      else if (response.status !== 204) throw new Error(`HTTP ${response.status}`);
    },
  );
  return client;
}

describe('JSON-RPC 2.0 mode', () => {
  test('the package client runs a task from create to completion', async () => {
    const client = clientFor(arcd.url, 'echo');
    const created = await client.request('task.create', {
      initialMessage: textMessage('rpc hello'),
    });
    expect(created.task.status).toBe('SUBMITTED');
    const done = await waitFor('completion', async () => {
      const info = await client.request('task.info', { taskId: created.task.taskId });
      return info.task.status === 'COMPLETED' ? info.task : undefined;
    });
    expect(done.messages.map((m: { role: string }) => m.role)).toEqual(['user', 'agent']);
    expect(done.messages[1].parts[0].content).toBe('rpc hello');
  });

  test('ARC errors come back as JSON-RPC errors with data, same codes', async () => {
    const client = clientFor(arcd.url, 'echo');
    const error = await Promise.resolve(
      client.request('task.info', { taskId: 'task-missing' }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JSONRPCErrorException);
    expect((error as JSONRPCErrorException).code).toBe(-42001);
    expect((error as JSONRPCErrorException).data).toEqual({ taskId: 'task-missing' });

    const unknown = await Promise.resolve(
      clientFor(arcd.url, 'ghost').request('task.info', { taskId: 'x' }),
    ).catch((e: unknown) => e);
    expect((unknown as JSONRPCErrorException).code).toBe(-41001);
    expect((unknown as JSONRPCErrorException).data).toMatchObject({ agentId: 'ghost' });
  });

  test('a notification is executed and answered with 204 and no body', async () => {
    const statuses: number[] = [];
    const client = clientFor(arcd.url, 'slow', statuses);
    const created = await client.request('task.create', {
      initialMessage: textMessage('steps=50'),
    });
    client.notify('task.cancel', { taskId: created.task.taskId, reason: 'by notification' });
    const canceled = await waitFor('cancel by notification', async () => {
      const info = await client.request('task.info', { taskId: created.task.taskId });
      return info.task.status === 'CANCELED' ? info.task : undefined;
    });
    expect(canceled.reason).toBe('by notification');
    // The cancel is readable once committed, which may be a moment before its answer is sent.
    await waitFor('the notification answered', async () => statuses.includes(204) || undefined);
    expect(statuses.filter((s) => s === 204)).toHaveLength(1);
  });

  test('a batch through the package client answers each request by id', async () => {
    const client = clientFor(arcd.url, 'echo');
    const responses = await client.requestAdvanced([
      {
        jsonrpc: '2.0',
        id: 1,
        method: 'task.create',
        params: { initialMessage: textMessage('a') },
      },
      { jsonrpc: '2.0', id: 2, method: 'task.info', params: { taskId: 'nope' } },
      { jsonrpc: '2.0', id: 3, method: 'no.such.method', params: {} },
    ]);
    const byId = new Map(responses.map((r) => [r.id, r]));
    expect(byId.get(1)?.result).toMatchObject({ type: 'task' });
    expect(byId.get(2)?.error?.code).toBe(-42001);
    expect(byId.get(3)?.error?.code).toBe(-32601);
  });

  const routing = { targetAgent: 'echo', requestAgent: 'raw' };

  test('a one-element batch answers a one-element array', async () => {
    const reply = await post(arcd.url, [
      { jsonrpc: '2.0', id: 'only', method: 'task.info', params: { taskId: 'x' }, ...routing },
    ]);
    expect(reply.status).toBe(200);
    expect(Array.isArray(reply.body)).toBe(true);
    expect(reply.body).toHaveLength(1);
    expect(reply.body[0]).toMatchObject({ jsonrpc: '2.0', id: 'only', error: { code: -42001 } });
  });

  test('an empty batch answers one -32600 with id null', async () => {
    const reply = await post(arcd.url, []);
    expect(reply.body).toEqual({
      jsonrpc: '2.0',
      id: null,
      error: expect.objectContaining({ code: -32600, data: {} }),
    });
  });

  test('a batch of notifications only answers 204 with no body', async () => {
    const note = { jsonrpc: '2.0', method: 'task.info', params: { taskId: 'x' }, ...routing };
    const reply = await post(arcd.url, [note, note]);
    expect(reply.status).toBe(204);
    expect(reply.text).toBe('');
    // Without arcd's routing members it cannot run, and is still not answered: a notification.
    const bare = { jsonrpc: '2.0', method: 'task.cancel', params: { taskId: 't' } };
    const unrouted = await post(arcd.url, bare);
    expect([unrouted.status, unrouted.text]).toEqual([204, '']);
    // A body that is no JSON-RPC request at all (wrong version) is answered, with id null.
    const wrong = await post(arcd.url, { ...bare, jsonrpc: '1.0' });
    expect(wrong.body).toMatchObject({ id: null, error: { code: -32600 } });
  });

  test('invalid members of a batch get -32600 with id null', async () => {
    const reply = await post(arcd.url, [
      1,
      { jsonrpc: '2.0', id: 5, method: 'task.info', params: { taskId: 'x' } },
    ]);
    expect(reply.body).toEqual([
      { jsonrpc: '2.0', id: null, error: expect.objectContaining({ code: -32600 }) },
      { jsonrpc: '2.0', id: 5, error: expect.objectContaining({ code: -32600 }) },
    ]);
  });

  test('parse errors in JSON-RPC bodies answer in JSON-RPC form', async () => {
    const reply = await post(arcd.url, '{"jsonrpc": "2.0", "method": ', { raw: true });
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } });
    // A batch cut short is JSON-RPC too, whether or not its text got as far as `"jsonrpc":`.
    const batch = await post(arcd.url, ' [{"id": 1, "method": "task.info"', { raw: true });
    expect(batch.body).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } });
  });

  test('positional params are invalid params', async () => {
    const reply = await post(arcd.url, {
      jsonrpc: '2.0',
      id: 9,
      method: 'task.info',
      params: ['x'],
      ...routing,
    });
    expect(reply.body).toMatchObject({ id: 9, error: { code: -32602 } });
  });

  test('batches are bounded', async () => {
    const many = Array.from({ length: 101 }, (_, i) => ({
      jsonrpc: '2.0',
      id: i,
      method: 'task.info',
      params: { taskId: 'x' },
      ...routing,
    }));
    const reply = await post(arcd.url, many);
    expect(reply.body).toMatchObject({
      id: null,
      error: { code: -32600, data: { maxBatch: 100 } },
    });
  });
});

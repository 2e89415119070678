/**
 * Event streams as writeAnswer writes them, on a real node:http server: a caller gone before
 * its stream began stops the work (its `close` came before anyone listened), a slow reader
 * holds the stream back instead of the server buffering it, and characters some line readers
 * split lines on are escaped.
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { writeAnswer } from '../../src/http/writeAnswer';
import { type SseEvent, SseResult, formatSse } from '../../src/rpc/sseResult';
import type { HttpAnswer } from '../../src/rpc/handleBody';

async function serve(handler: http.RequestListener) {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const streamAnswer = (events: AsyncIterable<SseEvent>, cancel: () => void) =>
  ({ stream: new SseResult(events, cancel) }) as unknown as HttpAnswer;

test('a caller gone before its stream began stops the work, and nothing is read of it', async () => {
  let read = 0;
  async function* events(): AsyncGenerator<SseEvent> {
    read += 1;
    yield { event: 'stream', data: {} };
  }
  let cancel!: () => void;
  const canceled = new Promise<void>((resolve) => (cancel = resolve));
  const server = await serve((req, res) => {
    // The answer is written only once the caller has gone (as after a slow store write).
    res.once('close', () => void writeAnswer(res, streamAnswer(events(), cancel)));
    req.socket.destroy();
  });
  const socket = net.connect(server.port, '127.0.0.1');
  socket.on('error', () => undefined);
  socket.end('POST /arc HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n');
  await canceled;
  expect(read).toBe(0);
  await server.close();
});

test('a reader slower than the stream holds it back', async () => {
  const total = 1000;
  let produced = 0;
  const chunk = 'x'.repeat(64 * 1024);
  async function* events(): AsyncGenerator<SseEvent> {
    for (; produced < total;) {
      produced += 1;
      yield { event: 'stream', data: { chunk } };
    }
  }
  const server = await serve(
    (_req, res) =>
      void writeAnswer(
        res,
        streamAnswer(events(), () => {}),
      ),
  );
  const paused = new Promise<http.IncomingMessage>((resolve) => {
    http.get(`http://127.0.0.1:${server.port}/`, (res) => {
      res.once('data', () => {
        res.pause(); // reads nothing more
        resolve(res);
      });
    });
  });
  const res = await paused;
  await new Promise((resolve) => setTimeout(resolve, 200));
  // 64 MB unread: without waiting for the socket to drain, all of it would be made and held.
  expect(produced).toBeLessThan(total / 4);
  res.destroy();
  await server.close();
});

test('line separators in an event are written as JSON escapes', () => {
  const text = 'a\u2028b\u2029c\u0085d';
  const frame = formatSse({ event: 'stream', data: { text } });
  expect(frame).toBe('event: stream\ndata: {"text":"a\\u2028b\\u2029c\\u0085d"}\n\n');
  expect(JSON.parse(frame.split('\n')[1]!.slice(6))).toEqual({ text });
});

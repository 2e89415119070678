/**
 * A real webhook receiver on port 0: records every request (headers and the exact body
 * bytes) and answers as the test tells it. Closed after each test (leak guard).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  headers: http.IncomingHttpHeaders;
  raw: string;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  at: number;
}

export interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Hold the answer this long (a slow receiver). */
  delayMs?: number;
}

export interface Receiver {
  url: string;
  received: Received[];
  /** Decides each answer from the request and how many came before it. */
  answer: (request: Received, index: number) => Answer;
  close(): Promise<void>;
}

const open = new Set<Receiver>();

afterEach(async () => {
  await Promise.all([...open].map((r) => r.close()));
});

export async function startReceiver(
  answer: Receiver['answer'] = () => ({ status: 200 }),
): Promise<Receiver> {
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        body = undefined;
      }
      const request: Received = { headers: req.headers, raw, body, at: Date.now() };
      const index = receiver.received.length;
      receiver.received.push(request);
      const reply = receiver.answer(request, index);
      const send = () => {
        res.writeHead(reply.status, reply.headers).end(reply.body ?? '');
      };
      if (reply.delayMs) {
        const timer = setTimeout(() => {
          timers.delete(timer);
          send();
        }, reply.delayMs);
        timers.add(timer);
      } else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const receiver: Receiver = {
    url: `http://127.0.0.1:${port}/hook`,
    received: [],
    answer,
    close: async () => {
      open.delete(receiver);
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  open.add(receiver);
  return receiver;
}

import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { RawConnection } from '../../bench/lib/rawHttp';
import { endedCompleted } from '../../bench/lib/load';

/** A real node:http server: /fixed answers with a length, /chunked in chunks, /echo the body. */
function startServer(): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      if (req.url === '/fixed') {
        res.setHeader('Content-Length', Buffer.byteLength('héllo fixed'));
        res.end('héllo fixed');
      } else if (req.url === '/chunked') {
        res.write('event: a\n');
        setImmediate(() => {
          res.write('data: {"x":"ü"}\n\n');
          setImmediate(() => res.end('event: b\ndata: {}\n\n'));
        });
      } else if (req.url === '/echo') {
        res.statusCode = 201;
        res.end(`${req.method} ${req.headers['content-type']} ${body}`);
      } else {
        res.statusCode = 404;
        res.end();
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** A raw TCP server that answers each request with `reply`, written one byte at a time. */
function startByteServer(reply: string): Promise<net.Server> {
  const server = net.createServer((socket) => {
    socket.on('data', async () => {
      for (const byte of Buffer.from(reply)) {
        socket.write(Buffer.from([byte]));
        await new Promise((resolve) => setImmediate(resolve));
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('RawConnection (the bench loop client)', () => {
  let server: http.Server;
  let connection: RawConnection;

  beforeAll(async () => {
    server = await startServer();
    connection = new RawConnection('127.0.0.1', (server.address() as AddressInfo).port);
  });
  afterAll(async () => {
    connection.close();
    await new Promise((resolve) => server.close(resolve));
  });

  it('reads bodies with a length and chunked ones, one request after another on one socket', async () => {
    expect(await connection.send('GET', '/fixed')).toEqual({ status: 200, body: 'héllo fixed' });
    expect(await connection.send('GET', '/chunked')).toEqual({
      status: 200,
      body: 'event: a\ndata: {"x":"ü"}\n\nevent: b\ndata: {}\n\n',
    });
    expect(await connection.send('POST', '/echo', '{"ä":1}')).toEqual({
      status: 201,
      body: 'POST application/json {"ä":1}',
    });
    expect(await connection.send('GET', '/nowhere')).toEqual({ status: 404, body: '' });
    expect(await connection.send('GET', '/fixed')).toEqual({ status: 200, body: 'héllo fixed' });
  });

  it('refuses a second request while one is under way', async () => {
    const first = connection.send('GET', '/chunked');
    await expect(
      (async () => {
        await new Promise((resolve) => setImmediate(resolve));
        return connection.send('GET', '/fixed');
      })(),
    ).rejects.toThrow('one request at a time');
    expect((await first).status).toBe(200);
  });

  it('puts an answer together from bytes that arrive one at a time', async () => {
    const reply =
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n' +
      '5\r\nhello\r\n1a\r\n abcdefghijklmnopqrstuvwxy\r\n0\r\n\r\n';
    const bytes = await startByteServer(reply);
    const raw = new RawConnection('127.0.0.1', (bytes.address() as AddressInfo).port);
    try {
      expect(await raw.send('GET', '/')).toEqual({
        status: 200,
        body: 'hello abcdefghijklmnopqrstuvwxy',
      });
    } finally {
      raw.close();
      bytes.close();
    }
  });

  it('fails the request in hand when the server hangs up, and every one after', async () => {
    const hangUp = net.createServer((socket) => socket.on('data', () => socket.destroy()));
    await new Promise<void>((resolve) => hangUp.listen(0, '127.0.0.1', resolve));
    const raw = new RawConnection('127.0.0.1', (hangUp.address() as AddressInfo).port);
    try {
      await expect(raw.send('GET', '/')).rejects.toThrow('connection closed');
      await expect(raw.send('GET', '/')).rejects.toThrow('connection closed');
    } finally {
      raw.close();
      hangUp.close();
    }
  });
});

describe('endedCompleted', () => {
  const frame = (event: string, status?: string) =>
    `id: 1\nevent: ${event}\ndata: ${JSON.stringify({ event, data: status ? { status } : {} })}\n\n`;

  it('is true only when the last frame is a COMPLETED status change', () => {
    expect(
      endedCompleted(frame('STATUS_CHANGE', 'WORKING') + frame('STATUS_CHANGE', 'COMPLETED')),
    ).toBe(true);
    expect(endedCompleted(frame('STATUS_CHANGE', 'COMPLETED') + frame('MESSAGE_ADDED'))).toBe(
      false,
    );
    expect(endedCompleted(frame('STATUS_CHANGE', 'FAILED'))).toBe(false);
    expect(endedCompleted('')).toBe(false);
  });
});

/**
 * A bare HTTP/1.1 keep-alive client on one socket, for the bench's closed loops: it writes a
 * request as one string and reads back the status and the whole body (Content-Length or
 * chunked). node:http costs the load generator ~2.5× autocannon's CPU per request, and on a
 * 2-core machine what the load generator spends the server under test does not get; this one
 * costs about what autocannon does, so the rows driven by it and the autocannon rows compete
 * for the CPU alike. One request at a time per connection; no redirects, no compression.
 */
import net from 'node:net';

export interface RawAnswer {
  status: number;
  body: string;
}

interface Waiting {
  resolve: (answer: RawAnswer) => void;
  reject: (error: Error) => void;
}

const HEAD_END = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');

/** What the parser knows of the response being read. */
interface Reading {
  status: number;
  /** Body bytes still owed (Content-Length), or -1 while chunked. */
  remaining: number;
  chunks: Buffer[];
  close: boolean;
}

export class RawConnection {
  private readonly socket: net.Socket;
  private readonly ready: Promise<void>;
  private buffered: Buffer = Buffer.alloc(0);
  private reading: Reading | undefined;
  private waiting: Waiting | undefined;
  private failure: Error | undefined;

  constructor(
    private readonly host: string,
    port: number,
  ) {
    this.socket = net.connect({ host, port, noDelay: true });
    this.ready = new Promise((resolve, reject) => {
      this.socket.once('connect', resolve);
      this.socket.once('error', reject);
    });
    this.socket.on('data', (data: Buffer) => this.received(data));
    this.socket.on('error', (error) => this.fail(error));
    this.socket.on('close', () => this.fail(new Error('connection closed')));
  }

  /** Sends one request and resolves with its answer (the connection then takes the next). */
  async send(method: string, path: string, body?: string): Promise<RawAnswer> {
    await this.ready;
    if (this.failure) throw this.failure;
    if (this.waiting) throw new Error('one request at a time on a RawConnection');
    const head =
      body === undefined
        ? `${method} ${path} HTTP/1.1\r\nHost: ${this.host}\r\n\r\n`
        : `${method} ${path} HTTP/1.1\r\nHost: ${this.host}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
    return new Promise<RawAnswer>((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.socket.write(body === undefined ? head : head + body);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private fail(error: Error): void {
    this.failure ??= error;
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.reject(error);
  }

  private received(data: Buffer): void {
    this.buffered = this.buffered.length === 0 ? data : Buffer.concat([this.buffered, data]);
    try {
      while (this.step());
    } catch (error) {
      this.fail(error as Error);
      this.socket.destroy();
    }
  }

  /** Parses what it can of the buffered bytes; true when it made progress and may go on. */
  private step(): boolean {
    const reading = this.reading;
    if (!reading) return this.readHead();
    if (reading.remaining >= 0) {
      if (this.buffered.length < reading.remaining) return false;
      reading.chunks.push(this.buffered.subarray(0, reading.remaining));
      this.buffered = this.buffered.subarray(reading.remaining);
      this.answered(reading);
      return true;
    }
    const lineEnd = this.buffered.indexOf(CRLF);
    if (lineEnd < 0) return false;
    const size = Number.parseInt(this.buffered.subarray(0, lineEnd).toString('latin1'), 16);
    if (!Number.isInteger(size) || size < 0) throw new Error('bad chunk size');
    // The chunk, and the CRLF after it (after the last, empty chunk: no trailers here).
    if (this.buffered.length < lineEnd + 2 + size + 2) return false;
    reading.chunks.push(this.buffered.subarray(lineEnd + 2, lineEnd + 2 + size));
    this.buffered = this.buffered.subarray(lineEnd + 2 + size + 2);
    if (size === 0) this.answered(reading);
    return true;
  }

  private readHead(): boolean {
    const end = this.buffered.indexOf(HEAD_END);
    if (end < 0) return false;
    const lines = this.buffered.subarray(0, end).toString('latin1').split('\r\n');
    this.buffered = this.buffered.subarray(end + 4);
    const status = Number((lines[0] ?? '').split(' ', 2)[1]);
    if (!Number.isInteger(status)) throw new Error(`bad status line: ${lines[0]}`);
    let remaining = 0;
    let close = false;
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line
        .slice(colon + 1)
        .trim()
        .toLowerCase();
      if (name === 'content-length') remaining = Number(value);
      else if (name === 'transfer-encoding' && value.includes('chunked')) remaining = -1;
      else if (name === 'connection' && value === 'close') close = true;
    }
    this.reading = { status, remaining, chunks: [], close };
    return true;
  }

  private answered(reading: Reading): void {
    this.reading = undefined;
    const waiting = this.waiting;
    this.waiting = undefined;
    if (reading.close) this.fail(new Error('server closed the connection'));
    waiting?.resolve({
      status: reading.status,
      body: Buffer.concat(reading.chunks).toString('utf8'),
    });
  }
}

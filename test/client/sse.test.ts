/**
 * The client's SSE reader, fed the same stream cut at every byte: multi-byte characters and
 * CRLF / CR line ends split between chunks come out whole.
 */
import { ArcTransportError } from '../../src/client/errors';
import { readSse, type SseMessage } from '../../src/client/sse';

async function read(chunks: Array<Buffer | string>): Promise<SseMessage[]> {
  const out: SseMessage[] = [];
  async function* feed() {
    yield* chunks;
  }
  for await (const message of readSse(feed())) out.push(message);
  return out;
}

/** The stream as two chunks, cut at byte `at`. */
const cutAt = (bytes: Buffer, at: number) => [bytes.subarray(0, at), bytes.subarray(at)];

const expected: SseMessage[] = [
  { id: '1', event: 'STATUS_CHANGE', data: '{"text":"héllo wörld 日本 🚀"}' },
  { id: '2', event: 'message', data: 'two\nlines' },
];

test.each([
  ['LF', '\n'],
  ['CRLF', '\r\n'],
  ['CR', '\r'],
])('every cut of a %s stream reads the same events', async (_name, eol) => {
  const text =
    `id: 1${eol}event: STATUS_CHANGE${eol}data: ${expected[0]!.data}${eol}${eol}` +
    `: a comment${eol}id: 2${eol}data: two${eol}data: lines${eol}${eol}`;
  const bytes = Buffer.from(text, 'utf8');
  for (let at = 0; at <= bytes.length; at += 1) {
    expect({ at, events: await read(cutAt(bytes, at)) }).toEqual({ at, events: expected });
  }
});

test('strings are read as they come', async () => {
  expect(await read(['data: a\r', '\ndata: b\n', '\n'])).toEqual([
    { event: 'message', data: 'a\nb' },
  ]);
});

test('an event that never ends is not held past the bound: the reader throws', async () => {
  async function* endless() {
    yield 'data: one\n\n';
    for (;;) yield 'x'.repeat(1000); // no blank line, ever
  }
  const seen: string[] = [];
  const reading = (async () => {
    for await (const message of readSse(endless(), 10_000)) seen.push(message.data);
  })();
  await expect(reading).rejects.toBeInstanceOf(ArcTransportError);
  await expect(reading).rejects.toThrow(/without an event's end/);
  expect(seen).toEqual(['one']);
  // Within the bound, a long event is read whole.
  const long = 'y'.repeat(9_000);
  expect(await read([`data: ${long}`, '\n\n'])).toEqual([{ event: 'message', data: long }]);
});

test('the SSE reader reads events cut into one-character chunks', async () => {
  const text = 'id: 1\ndata: a\n\n\n\nid: 2\ndata: b\ndata: c\n\n';
  const out: string[] = [];
  async function* chars() {
    yield* text.split('');
  }
  for await (const message of readSse(chars())) out.push(`${message.id}:${message.data}`);
  expect(out).toEqual(['1:a', '2:b\nc']);
});

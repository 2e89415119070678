/**
 * A minimal Server-Sent Events reader: chunks in, complete events out. Bytes are decoded as
 * one UTF-8 stream (a character split between two chunks stays whole), and lines may end in
 * LF, CRLF or CR, wherever the chunks are cut.
 */

import { ArcTransportError } from './errors';

export interface SseMessage {
  id?: string;
  event: string;
  data: string;
}

/** One event's block of lines (without its blank line), or undefined if it holds no event. */
function parseBlock(block: string): SseMessage | undefined {
  const message: SseMessage = { event: 'message', data: '' };
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':') || line === '') continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') message.event = value;
    else if (field === 'data') data.push(value);
    else if (field === 'id') message.id = value;
  }
  if (data.length === 0 && message.id === undefined) return undefined;
  message.data = data.join('\n');
  return message;
}

/** The longest event a reader holds waiting for its end (characters): past it, it throws. */
export const MAX_EVENT_CHARS = 256 * 1024 * 1024;

export async function* readSse(
  chunks: AsyncIterable<Buffer | string>,
  maxEventChars = MAX_EVENT_CHARS,
): AsyncIterable<SseMessage> {
  const decoder = new TextDecoder();
  // An event's text so far, in pieces: joined only once its end has come, so that a large
  // event in many chunks is not copied and searched again for each one.
  let pieces: string[] = [];
  let held = 0;
  let heldCr = false; // a chunk's last CR: the first half of a CRLF, or a line end of its own
  function* complete(chunk: string): Generator<SseMessage> {
    const text = chunk.replace(/\r\n?/g, '\n');
    if (text === '') return;
    const afterLineEnd = held > 0 && (pieces[pieces.length - 1] as string).endsWith('\n');
    if (!text.includes('\n\n') && !(afterLineEnd && text.startsWith('\n'))) {
      pieces.push(text);
      held += text.length;
    } else {
      let buffer = held > 0 ? pieces.join('') + text : text;
      let cut: number;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const message = parseBlock(buffer.slice(0, cut));
        buffer = buffer.slice(cut + 2);
        if (message) yield message;
      }
      pieces = buffer === '' ? [] : [buffer];
      held = buffer.length;
    }
    // A sender that never ends its event (a broken proxy, a hostile server) is not held for
    // ever in memory.
    if (held > maxEventChars) {
      throw new ArcTransportError(`an event stream sent ${held} characters without an event's end`);
    }
  }
  for await (const chunk of chunks) {
    let text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    if (heldCr) text = `\r${text}`;
    heldCr = text.endsWith('\r');
    yield* complete(heldCr ? text.slice(0, -1) : text);
  }
  if (heldCr) yield* complete('\n'); // the stream's last CR ended a line
}

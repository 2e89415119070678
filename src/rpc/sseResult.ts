/**
 * Server-Sent Events as arcd writes them (LF only, one compact `data:` line per event), and a
 * method result that is a stream: the ARC route answers it as SSE instead of a JSON envelope.
 */

import type { ArcError } from './errors';
import { extended } from '../extended';

/** The code of every error event inside a chat stream (ARC's "invalid chat message"). */
const STREAM_ERROR = -43005;

export interface SseEvent {
  /** Written as an `id:` line, for streams a client resumes with Last-Event-ID. */
  id?: number;
  event: string;
  data: unknown;
}

export class SseResult {
  /**
   * `cancel`: called when the caller goes away before the stream ended, so the work producing
   * it can stop (a chat reply's handler sees its signal aborted).
   */
  constructor(
    readonly events: AsyncIterable<SseEvent>,
    readonly cancel?: () => void,
  ) {}
}

/**
 * A chat stream's failure: an `error` event, then `done` with ERROR. Its code is -43005, as
 * ARC has every error inside a stream; the error's own code is `details.code` (-43001 for an
 * unknown chat, say), its details with it.
 */
export function chatErrorEvents(
  chatId: string | null,
  error: Pick<ArcError, 'code' | 'message' | 'details'>,
): SseEvent[] {
  const { code, message, details } = error;
  const told = { code: STREAM_ERROR, message, details: extended(details, { code }) };
  return [
    { event: 'error', data: { chatId, error: told } },
    { event: 'done', data: { chatId, status: 'ERROR', done: true } },
  ];
}

/**
 * Characters JSON.stringify leaves as they are that some line readers take for line breaks
 * (Python's str.splitlines, which httpx's line decoder follows): one of them in a string
 * would cut the `data:` line in two. Written as JSON escapes instead, which parse the same.
 */
const LINE_BREAKING = /[\u0085\u2028\u2029]/g;

const escaped = (char: string) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;

export function formatSse(event: SseEvent): string {
  const id = event.id === undefined ? '' : `id: ${event.id}\n`;
  const json = JSON.stringify(event.data).replace(LINE_BREAKING, escaped);
  return `${id}event: ${event.event}\ndata: ${json}\n\n`;
}

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

export function formatSse(event: SseEvent): string {
  const id = event.id === undefined ? '' : `id: ${event.id}\n`;
  return `${id}event: ${event.event}\ndata: ${JSON.stringify(event.data)}\n\n`;
}

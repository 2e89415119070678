/**
 * Server-Sent Events as arcd writes them (LF only, one compact `data:` line per event), and a
 * method result that is a stream: the ARC route answers it as SSE instead of a JSON envelope.
 */

export interface SseEvent {
  /** Written as an `id:` line, for streams a client resumes with Last-Event-ID. */
  id?: number;
  event: string;
  data: unknown;
}

export class SseResult {
  constructor(readonly events: AsyncIterable<SseEvent>) {}
}

export function formatSse(event: SseEvent): string {
  const id = event.id === undefined ? '' : `id: ${event.id}\n`;
  return `${id}event: ${event.event}\ndata: ${JSON.stringify(event.data)}\n\n`;
}

/**
 * A method result that is a stream: the ARC route answers it as Server-Sent Events (LF only,
 * one compact `data:` line per event) instead of a JSON envelope.
 */

export interface SseEvent {
  event: string;
  data: unknown;
}

export class SseResult {
  constructor(readonly events: AsyncIterable<SseEvent>) {}
}

export function formatSse(event: SseEvent): string {
  return `event: ${event.event}\ndata: ${JSON.stringify(event.data)}\n\n`;
}

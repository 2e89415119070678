/**
 * Writes an HttpAnswer onto a plain node:http response (express's is one too): a JSON body
 * with its length, or an SSE stream frame by frame. Headers passed in (security, rate limit)
 * go out with it.
 */
import type { ServerResponse } from 'node:http';
import type { HttpAnswer } from '../rpc/handleBody';
import { formatSse } from '../rpc/sseResult';
import { type ExactIds, restoreExactIds } from '../rpc/exactIds';

export type HeaderList = ReadonlyArray<readonly [string, string]>;

export function setHeaders(res: ServerResponse, headers: HeaderList): void {
  for (const [name, value] of headers) res.setHeader(name, value);
}

/** `headers` then `more` as the flat name, value, … list writeHead takes in one go. */
function flat(headers: HeaderList, ...more: Array<string | number>): Array<string | number> {
  const out: Array<string | number> = [];
  for (const [name, value] of headers) out.push(name, value);
  out.push(...more);
  return out;
}

/** Resolves once `res` can take more ('drain'), or is closed. */
export function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}

export async function writeAnswer(
  res: ServerResponse,
  answer: HttpAnswer,
  headers: HeaderList = [],
): Promise<void> {
  if (answer.stream) {
    setHeaders(res, headers);
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    const { events, cancel } = answer.stream;
    const gone = () => cancel?.(); // the caller left mid-stream: the work stops, not only the writes
    // Gone already (while the call was read and answered): its 'close' has been and gone.
    if (res.destroyed) {
      gone();
      return;
    }
    res.once('close', gone);
    try {
      for await (const event of events) {
        if (res.destroyed) break;
        // A reader slower than the stream: the next event waits for the last to drain.
        if (!res.write(formatSse(event))) await drained(res);
      }
    } finally {
      res.off('close', gone);
    }
    res.end();
    return;
  }
  // Bare: JSON's media types (application/arc+json, application/json) define no charset, and
  // the ARC spec names the type exactly.
  const type = answer.contentType;
  if (answer.body === undefined) {
    res.writeHead(answer.status, flat(headers, 'Content-Type', type));
    res.end();
    return;
  }
  writeJsonBody(res, answer.status, type, answer.body, headers, answer.exactIds);
}

/** `body` as JSON with its length; one writeHead with every header (a setHeader per header
 * validates and stores each). Ids JSON.parse could not keep go out as they came in. */
function writeJsonBody(
  res: ServerResponse,
  status: number,
  type: string,
  body: unknown,
  headers: HeaderList,
  exactIds?: ExactIds,
): void {
  const json = JSON.stringify(body);
  const text = exactIds ? restoreExactIds(json, exactIds) : json;
  const length = Buffer.byteLength(text);
  res.writeHead(status, flat(headers, 'Content-Type', type, 'Content-Length', length));
  res.end(text);
}

/** A plain JSON answer outside the ARC envelope (405, 500). */
export function writeJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: HeaderList = [],
): void {
  writeJsonBody(res, status, 'application/json; charset=utf-8', body, headers);
}

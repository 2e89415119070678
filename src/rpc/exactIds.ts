/**
 * Request ids echoed exactly as written. JSON.parse reads every number as a double, so an id
 * like 12345678901234567890 (a Python client's int) would come back as 12345678901234567000
 * and 1e400 as null, and ARC clients reject a response whose id differs from the request's.
 * For the rare numeric id that is not a safe integer, the id's text is found in the raw body,
 * the parsed id is swapped for a stand-in string while the call runs, and the answer's JSON
 * gets the original text back in the stand-in's place. Safe integers and strings, nearly every
 * id, cost one type check.
 */
import { randomBytes } from 'node:crypto';
import { arrayElements, objectMembers, spaceEnd } from './jsonScan';

/** Each stand-in, as it appears in the answer's JSON (quoted), → the id's text in the body. */
export type ExactIds = ReadonlyMap<string, string>;

/** A stand-in's prefix: nothing a caller sent can be it by chance. */
const PREFIX = `arcd-exact-id-${randomBytes(8).toString('hex')}-`;
let made = 0;

/** The text of the `id` member of the object opening at `at` (its last, as JSON.parse keeps). */
function idText(text: string, at: number): string | undefined {
  const ids = objectMembers(text, at).members.filter((member) => member.key === 'id');
  const last = ids[ids.length - 1];
  return last && text.slice(last.start, last.end);
}

type Request = { id?: unknown };

function inexact(value: unknown): value is Request {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return false;
  const { id } = value as Request;
  return typeof id === 'number' && !Number.isSafeInteger(id);
}

function standIn(request: Request, text: string | undefined, ids: Map<string, string>): void {
  if (text === undefined) return;
  const stand = `${PREFIX}${made++}`;
  request.id = stand;
  ids.set(JSON.stringify(stand), text);
}

/**
 * For a parsed body (`text` its JSON): the ids that JSON.parse could not keep exactly, each
 * swapped in `body` for a stand-in (an ARC request, or JSON-RPC requests alone or in a batch).
 * Undefined when there are none, which is nearly always.
 */
export function keepExactIds(body: unknown, text: string): ExactIds | undefined {
  const start = spaceEnd(text, 0);
  const ids = new Map<string, string>();
  if (Array.isArray(body)) {
    if (!body.some(inexact)) return undefined;
    const starts = arrayElements(text, start);
    body.forEach((item: unknown, i) => {
      if (inexact(item)) standIn(item, idText(text, starts[i] as number), ids);
    });
  } else if (inexact(body)) {
    standIn(body, idText(text, start), ids);
  }
  return ids.size > 0 ? ids : undefined;
}

/** An answer's JSON with each stand-in replaced by the id as the caller wrote it. */
export function restoreExactIds(json: string, ids: ExactIds): string {
  let restored = json;
  for (const [standIn, original] of ids) restored = restored.split(standIn).join(original);
  return restored;
}

/**
 * Reading the members of a JSON object straight from its text, without parsing it: where each
 * member's value is written. Used where JSON.parse cannot serve: to see how a number was
 * written (exactIds.ts), and to read what came of a body cut short (prefixBody below). On a
 * cut text, a member whose value the cut reached is left out.
 */

const SPACE = new Set([' ', '\t', '\n', '\r']);
const SCALAR_END = new Set([',', '}', ']', ' ', '\t', '\n', '\r']);

export function spaceEnd(text: string, at: number): number {
  let i = at;
  while (i < text.length && SPACE.has(text[i] as string)) i += 1;
  return i;
}

/** Where the JSON string opening at `at` ends (just past its closing quote). */
function stringEnd(text: string, at: number): number {
  for (let i = at + 1; i < text.length; i += 1) {
    const c = text[i];
    if (c === '\\') i += 1;
    else if (c === '"') return i + 1;
  }
  return text.length;
}

/** Where the JSON value beginning at `at` ends (the text's end if cut inside it). */
function valueEnd(text: string, at: number): number {
  const first = text[at];
  if (first === '"') return stringEnd(text, at);
  if (first !== '{' && first !== '[') {
    let i = at;
    while (i < text.length && !SCALAR_END.has(text[i] as string)) i += 1;
    return i;
  }
  let depth = 0;
  for (let i = at; i < text.length; i += 1) {
    const c = text[i];
    if (c === '"') i = stringEnd(text, i) - 1;
    else if (c === '{' || c === '[') depth += 1;
    else if (c === '}' || c === ']') {
      depth -= 1;
      if (depth === 0) return i + 1;
    }
  }
  return text.length;
}

export interface Member {
  key: string;
  /** The value's text is text.slice(start, end). */
  start: number;
  end: number;
}

/**
 * The members of the object opening at `at`, in order, each whole; on a cut text, `cut` is the
 * member the cut came inside (its value's text runs to the end).
 */
export function objectMembers(text: string, at: number): { members: Member[]; cut?: Member } {
  const members: Member[] = [];
  let i = spaceEnd(text, at + 1);
  while (text[i] === '"') {
    const keyEnd = stringEnd(text, i);
    const colon = spaceEnd(text, keyEnd);
    if (text[colon] !== ':') break;
    const key = keyText(text.slice(i, keyEnd));
    if (key === undefined) break; // not a JSON string after all (a bad escape)
    const start = spaceEnd(text, colon + 1);
    const end = valueEnd(text, start);
    const next = spaceEnd(text, end);
    // The cut came inside this value, or right after it (a number may go on).
    if (next >= text.length) return { members, cut: { key, start, end: text.length } };
    members.push({ key, start, end });
    if (text[next] !== ',') break;
    i = spaceEnd(text, next + 1);
  }
  return { members };
}

/** A member's key from its quoted text, or undefined when that is not a JSON string. */
function keyText(raw: string): string | undefined {
  if (!raw.includes('\\')) return raw.slice(1, -1);
  try {
    return JSON.parse(raw) as string;
  } catch {
    return undefined;
  }
}

/** Where each element of the array opening at `at` begins. */
export function arrayElements(text: string, at: number): number[] {
  const starts: number[] = [];
  let i = spaceEnd(text, at + 1);
  while (i < text.length && text[i] !== ']') {
    starts.push(i);
    i = spaceEnd(text, valueEnd(text, i));
    if (text[i] !== ',') break;
    i = spaceEnd(text, i + 1);
  }
  return starts;
}

/** The envelope's members an error answer echoes or looks at, and the params' it looks at. */
const ENVELOPE_KEYS = new Set([
  'arc',
  'jsonrpc',
  'id',
  'method',
  'requestAgent',
  'targetAgent',
  'traceId',
  'params',
]);
const PARAMS_KEYS = new Set(['stream', 'chatId']);

/** The whole members named in `keys` of the object opening at `at`, parsed. */
function wholeMembers(text: string, at: number, keys: ReadonlySet<string>) {
  const found: Record<string, unknown> = {};
  const { members, cut } = objectMembers(text, at);
  for (const { key, start, end } of members) {
    if (!keys.has(key)) continue;
    try {
      found[key] = JSON.parse(text.slice(start, end));
    } catch {
      return { found }; // not JSON after all: what came before still counts
    }
  }
  return { found, cut };
}

/**
 * What can be read of an object body cut short (the first bytes of one too large to take):
 * its envelope members written whole before the cut, parsed, and of params cut short their
 * `stream` and `chatId`, so that an error can echo the caller's id and agents, as SSE to a
 * call that asked for a stream. Undefined when the text does not open an object.
 */
export function prefixBody(text: string): Record<string, unknown> | undefined {
  const start = spaceEnd(text, 0);
  if (text[start] !== '{') return undefined;
  const { found, cut } = wholeMembers(text, start, ENVELOPE_KEYS);
  if (cut?.key === 'params' && text[cut.start] === '{') {
    found.params = wholeMembers(text, cut.start, PARAMS_KEYS).found;
  }
  return found;
}

/**
 * A part's type has two spellings: the spec's `TextPart`, `DataPart`, `FilePart`, `ImagePart`,
 * `AudioPart`, and the SDK docs' `text`, `data`, `file`, `image`, `audio`. A caller's parts are
 * stored as sent; what the server generates (agents' messages and artifacts) is written in the
 * spec's spelling, whichever the agent used.
 */
import type { Part } from '../types';

const SPEC_NAME: ReadonlyMap<string, string> = new Map([
  ['text', 'TextPart'],
  ['data', 'DataPart'],
  ['file', 'FilePart'],
  ['image', 'ImagePart'],
  ['audio', 'AudioPart'],
]);

/** `parts` with every short type name spelled as the spec spells it (the same array if none is). */
export function withSpecTypeNames(parts: Part[]): Part[] {
  let short = false;
  for (const part of parts) if (SPEC_NAME.has(part.type)) short = true;
  if (!short) return parts; // the common case, on every agent reply: no copy, no closure
  return parts.map((part) => {
    const type = SPEC_NAME.get(part.type);
    // The agent's own object (any keys its schema allows): copied as a spread copies it.
    return type === undefined ? part : { ...part, type };
  });
}

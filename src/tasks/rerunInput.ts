/**
 * The message a re-run starts from: the task's first caller message (its "definition"), or a
 * message given with task.run, with `input` merged into its first DataPart whose content is an
 * object (or added as a new DataPart when it has none).
 */
import type { JsonObject, Message, Part } from '../types';

const isDataPart = (part: Part) => part.type === 'DataPart' || part.type === 'data';
const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export function rerunMessage(base: Message, input: JsonObject | undefined): Message {
  const parts = base.parts.map((part) => ({ ...part }));
  if (input) {
    const data = parts.find((part) => isDataPart(part) && isObject(part.content));
    // The caller's JSON: merged as spreads merge it (see src/extended.ts).
    // eslint-disable-next-line no-restricted-syntax -- client JSON
    if (data) data.content = { ...(data.content as JsonObject), ...input };
    else parts.push({ type: 'DataPart', content: input, mimeType: 'application/json' });
  }
  return { role: 'user', parts };
}

/**
 * Checks a caller's message before it is stored: each file-like part must decode, fit the
 * per-part limit and look like its declared mime type (where that is cheap to tell); images
 * need an image/* type and audio an audio/* one; a declared `size` must be right; the whole
 * message must fit the per-message limit. Over a limit: -45004; anything else: -32602.
 */
import type { Message, Part } from '../types';
import { type FieldProblem, InvalidParamsError, PartTooLargeError } from '../rpc/errors';
import { bytesType, fileBytes, isAudioPart, isFilePart, isImagePart } from './fileParts';
import { contentMismatch } from './sniff';

export interface PartLimits {
  /** Largest part, in bytes (decoded for files, UTF-8 for text, JSON for data). */
  maxPartBytes: number;
  /** Largest message, all its parts together, counted the same way. */
  maxMessageBytes: number;
}

function partSize(part: Part): number | undefined {
  if (isFilePart(part)) return fileBytes(part)?.length;
  if (typeof part.content === 'string') return Buffer.byteLength(part.content);
  return Buffer.byteLength(JSON.stringify(part.content));
}

function fileProblem(part: Part): string | undefined {
  const mime = (part.mimeType ?? '').toLowerCase();
  if (isImagePart(part) && !mime.startsWith('image/'))
    return 'an image part needs an image/* mimeType';
  if (isAudioPart(part) && !mime.startsWith('audio/'))
    return 'an audio part needs an audio/* mimeType';
  const data = fileBytes(part);
  if (!data) {
    return part.encoding === 'binary'
      ? 'content is not binary: a character past U+00FF is no byte'
      : 'content is not valid base64 (send encoding "utf8" for plain text)';
  }
  if (part.size !== undefined && part.size !== data.length) {
    return `size says ${part.size} bytes but the content has ${data.length}`;
  }
  return contentMismatch(bytesType(part), data);
}

/** Throws PartTooLargeError or InvalidParamsError for the first message that breaks a rule. */
export function checkMessageParts(
  message: Message,
  field: string,
  limits: PartLimits,
  /** The field a part's problem names (a message made from other fields names those). */
  partField = (i: number) => `${field}.parts.${i}`,
): void {
  let total = 0;
  const problems: FieldProblem[] = [];
  message.parts.forEach((part, i) => {
    const at = partField(i);
    if (isFilePart(part)) {
      const problem = fileProblem(part);
      if (problem) problems.push({ field: `${at}.content`, message: problem });
    }
    const size = partSize(part) ?? 0;
    if (size > limits.maxPartBytes)
      throw new PartTooLargeError(at, size, limits.maxPartBytes, 'part');
    total += size;
  });
  if (total > limits.maxMessageBytes) {
    throw new PartTooLargeError(field, total, limits.maxMessageBytes, 'message');
  }
  if (problems.length > 0) throw new InvalidParamsError(problems);
}

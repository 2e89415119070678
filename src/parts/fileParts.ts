/**
 * File-like parts (FilePart, ImagePart, AudioPart, either spelling): their bytes, decoded from
 * base64 (or taken as UTF-8 text with `encoding: "utf8"`), and what a handler sees of them.
 */
import { decoderFor } from './sniff';
import type { Message, Part } from '../types';

const FILE_TYPES = new Set(['FilePart', 'file', 'ImagePart', 'image', 'AudioPart', 'audio']);
const IMAGE_TYPES = new Set(['ImagePart', 'image']);
const AUDIO_TYPES = new Set(['AudioPart', 'audio']);
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export const isFilePart = (part: Part): boolean => FILE_TYPES.has(part.type);
export const isImagePart = (part: Part): boolean => IMAGE_TYPES.has(part.type);
export const isAudioPart = (part: Part): boolean => AUDIO_TYPES.has(part.type);

/** A decoded file as handlers receive it from ctx.files() / ctx.images(). */
export interface InputFile {
  name?: string;
  mimeType: string;
  size: number;
  data: Buffer;
  /** The part's type as sent (FilePart, image, …). */
  partType: string;
}

/**
 * The mime type a file-like part's bytes are in: as declared, but without its charset when
 * sent as `encoding: "utf8"` (those bytes are UTF-8 whatever the type names).
 */
export function bytesType(part: Part): string {
  const declared = part.mimeType ?? '';
  return part.encoding === 'utf8' ? declared.split(';')[0]! : declared;
}

/**
 * The bytes of a file-like part, or undefined when its content is not in its encoding: base64
 * (the default), `utf8` (text as UTF-8), or `binary` (one byte a character, none past U+00FF).
 */
export function fileBytes(part: Part): Buffer | undefined {
  const content = typeof part.content === 'string' ? part.content : '';
  if (part.encoding === 'utf8') return Buffer.from(content, 'utf8');
  if (part.encoding === 'binary') {
    return /[\u0100-\uffff]/.test(content) ? undefined : Buffer.from(content, 'latin1');
  }
  const compact = content.replace(/\s+/g, '');
  if (compact.length % 4 !== 0 || !BASE64.test(compact)) return undefined;
  return Buffer.from(compact, 'base64');
}

export function toInputFile(part: Part): InputFile | undefined {
  const data = fileBytes(part);
  if (!data) return undefined;
  return {
    ...(part.filename ? { name: part.filename } : {}),
    // The type of `data` (sent as utf8 text, its bytes are UTF-8 whatever charset was named).
    mimeType: bytesType(part) || 'application/octet-stream',
    size: data.length,
    data,
    partType: part.type,
  };
}

const TEXT_LIKE =
  /^(text\/|application\/(json|xml|yaml|x-yaml|csv|x-ndjson|javascript)\b)|\+(json|xml)\b/;

/** Files whose bytes are text a model can read (text/*, JSON, XML, YAML, CSV …). */
export const isTextLike = (mimeType: string): boolean => TEXT_LIKE.test(mimeType.toLowerCase());

/** The decodable files among the messages' parts, in order. */
export function filesOf(messages: readonly Message[]): InputFile[] {
  return messages.flatMap((m) =>
    m.parts.filter(isFilePart).flatMap((part) => toInputFile(part) ?? []),
  );
}

/** Text parts, and the text of text-like files, in message order, joined by newlines. */
export function readableText(messages: readonly Message[]): string {
  return messages
    .flatMap((m) =>
      m.parts.flatMap((part) => {
        if (part.type === 'TextPart' || part.type === 'text') return [String(part.content)];
        if (!isFilePart(part) || !isTextLike(part.mimeType ?? '')) return [];
        const data = fileBytes(part);
        if (!data) return [];
        return [(decoderFor(bytesType(part)) ?? new TextDecoder()).decode(data)];
      }),
    )
    .join('\n');
}

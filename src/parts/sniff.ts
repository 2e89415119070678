/**
 * The cheap content checks: the magic bytes of common binary formats, and UTF-8 (and JSON)
 * validity for text. Formats not listed here are taken as declared.
 */
const SIGNATURES: Array<{ mime: string; test: (b: Buffer) => boolean }> = [
  {
    mime: 'image/png',
    test: (b) => b.subarray(0, 8).equals(Buffer.from('89504e470d0a1a0a', 'hex')),
  },
  { mime: 'image/jpeg', test: (b) => b.subarray(0, 3).equals(Buffer.from('ffd8ff', 'hex')) },
  { mime: 'image/gif', test: (b) => b.subarray(0, 4).toString('latin1') === 'GIF8' },
  {
    mime: 'image/webp',
    test: (b) =>
      b.subarray(0, 4).toString('latin1') === 'RIFF' &&
      b.subarray(8, 12).toString('latin1') === 'WEBP',
  },
  { mime: 'application/pdf', test: (b) => b.subarray(0, 5).toString('latin1') === '%PDF-' },
  {
    mime: 'audio/wav',
    test: (b) =>
      b.subarray(0, 4).toString('latin1') === 'RIFF' &&
      b.subarray(8, 12).toString('latin1') === 'WAVE',
  },
  {
    mime: 'audio/mpeg',
    test: (b) =>
      b.subarray(0, 3).toString('latin1') === 'ID3' ||
      (b[0] === 0xff && ((b[1] ?? 0) & 0xe0) === 0xe0),
  },
  { mime: 'audio/ogg', test: (b) => b.subarray(0, 4).toString('latin1') === 'OggS' },
  { mime: 'audio/flac', test: (b) => b.subarray(0, 4).toString('latin1') === 'fLaC' },
  { mime: 'application/zip', test: (b) => b.subarray(0, 4).equals(Buffer.from('504b0304', 'hex')) },
];

const ALIASES: Record<string, string> = {
  'image/jpg': 'image/jpeg',
  'audio/x-wav': 'audio/wav',
  'audio/wave': 'audio/wav',
  'audio/mp3': 'audio/mpeg',
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A decoder for the `charset` a mime type names (`text/csv; charset=windows-1252`): UTF-8
 * when it names none, undefined when it names one this runtime does not know.
 */
export function decoderFor(
  mimeType: string,
  fatal = false,
): InstanceType<typeof TextDecoder> | undefined {
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(mimeType)?.[1];
  try {
    return new TextDecoder(charset ?? 'utf-8', { fatal });
  } catch {
    return undefined;
  }
}

/** Why `data` cannot be `mimeType`, or undefined when it can (or the format is not checked). */
export function contentMismatch(mimeType: string, data: Buffer): string | undefined {
  const declared = ALIASES[mimeType.toLowerCase()] ?? mimeType.toLowerCase().split(';')[0]!.trim();
  const signature = SIGNATURES.find((s) => s.mime === declared);
  if (signature) return signature.test(data) ? undefined : `content is not ${declared}`;
  if (declared.startsWith('text/') || declared === 'application/json') {
    // Text in the charset it names (UTF-8 unless it names another; one not known here is
    // taken as declared).
    const decoder = declared === 'application/json' ? utf8 : decoderFor(mimeType, true);
    if (!decoder) return undefined;
    let text: string;
    try {
      text = decoder.decode(data);
    } catch {
      return `content of ${declared} is not valid ${decoder.encoding === 'utf-8' ? 'UTF-8' : decoder.encoding}`;
    }
    if (declared === 'application/json') {
      try {
        JSON.parse(text);
      } catch {
        return 'content of application/json is not valid JSON';
      }
    }
  }
  return undefined;
}

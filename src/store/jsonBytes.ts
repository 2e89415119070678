/**
 * Sizes as they go out: the UTF-8 bytes a value takes in an answer's JSON text. What a read's
 * byte budget (`--max-history-bytes`, an events page) counts, without building that text.
 */

/** ASCII that JSON writes as it is: printable, neither `"` nor `\`. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7f]*$/;

/** The control characters JSON.stringify writes as a two-character escape (`\b \t \n \f \r`). */
const SHORT_ESCAPE = new Set([0x08, 0x09, 0x0a, 0x0c, 0x0d]);

const isHigh = (code: number) => code >= 0xd800 && code <= 0xdbff;
const isLow = (code: number) => code >= 0xdc00 && code <= 0xdfff;

/**
 * The UTF-8 bytes of `JSON.stringify(text)`, quotes included: `"` and `\` escaped, control
 * characters as `\n` or `\u00XX`, a lone surrogate as `\uDXXX`, anything else as its UTF-8.
 */
export function jsonStringBytes(text: string): number {
  if (PLAIN.test(text)) return text.length + 2;
  let bytes = 2;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20) bytes += SHORT_ESCAPE.has(code) ? 2 : 6;
    else if (code === 0x22 || code === 0x5c) bytes += 2;
    else if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (isHigh(code) && isLow(text.charCodeAt(i + 1))) {
      bytes += 4; // a pair: one code point past U+FFFF
      i++;
    } else if (isHigh(code) || isLow(code)) bytes += 6;
    else bytes += 3;
  }
  return bytes;
}

/** The UTF-8 bytes of stored JSON text (already escaped as it will be written), or 0. */
export function jsonTextBytes(text: string | null | undefined): number {
  return text ? Buffer.byteLength(text, 'utf8') : 0;
}

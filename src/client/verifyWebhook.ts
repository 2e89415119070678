/**
 * For webhook consumers: checks a delivery's signatures over the exact body bytes — the
 * Standard Webhooks headers (HMAC over `id.timestamp.body` with the secret's decoded bytes,
 * timestamp within 5 minutes by default) and, when present, the ARC `X-ARC-Signature`
 * (HMAC-SHA256, base64) — and returns the parsed body.
 * Throws WebhookVerificationError when any signature present is wrong, or the Standard
 * Webhooks ones are missing: `X-ARC-Signature` signs neither a time nor the delivery id, so
 * a delivery stripped down to it could be replayed, as new, for ever. `arcOnly: true` takes
 * it alone, for senders that send nothing else.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export class WebhookVerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookVerificationError';
  }
}

type Headers = Record<string, string | string[] | undefined>;

function header(headers: Headers, name: string): string | undefined {
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : headers[key];
  return Array.isArray(value) ? value[0] : value;
}

export function verifyWebhook(
  headers: Headers,
  rawBody: string | Buffer,
  secret: string,
  options: { toleranceSeconds?: number; now?: Date; arcOnly?: boolean } = {},
): unknown {
  if (!Buffer.isBuffer(rawBody) && typeof rawBody !== 'string') {
    // A body parsed already (express.json() before this): its bytes are gone, and a
    // re-serialization signs differently. Said as a verification error, which callers catch.
    throw new WebhookVerificationError(
      `the body must be the raw bytes received (a Buffer or string, e.g. express.raw()), not ${rawBody === null ? 'null' : typeof rawBody}`,
    );
  }
  const body = Buffer.isBuffer(rawBody) ? rawBody : Buffer.from(rawBody, 'utf8');
  const arc = header(headers, 'x-arc-signature');
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signature = header(headers, 'webhook-signature');
  if (!arc && !signature) throw new WebhookVerificationError('no signature headers');
  if (!signature && !options.arcOnly) {
    throw new WebhookVerificationError(
      'no Standard Webhooks signature (X-ARC-Signature alone is taken only with arcOnly)',
    );
  }
  if (arc) {
    const expected = Buffer.from(
      `sha256=${createHmac('sha256', secret).update(body).digest('base64')}`,
    );
    const given = Buffer.from(arc);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new WebhookVerificationError('X-ARC-Signature does not match');
    }
  }
  if (signature) {
    if (!id || !timestamp)
      throw new WebhookVerificationError('incomplete Standard Webhooks headers');
    const age = Math.abs((options.now ?? new Date()).getTime() / 1000 - Number(timestamp));
    if (!(age <= (options.toleranceSeconds ?? 300))) {
      throw new WebhookVerificationError('webhook-timestamp is outside the tolerance');
    }
    const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
    const expected = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest();
    const matches = signature.split(' ').some((candidate) => {
      const [version, value] = candidate.split(',');
      if (version !== 'v1' || !value) return false;
      const given = Buffer.from(value, 'base64');
      return given.length === expected.length && timingSafeEqual(given, expected);
    });
    if (!matches) throw new WebhookVerificationError('webhook-signature does not match');
  }
  return JSON.parse(body.toString('utf8')) as unknown;
}

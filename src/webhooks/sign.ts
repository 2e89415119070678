/**
 * Webhook signatures, computed over the exact body bytes at send time: the ARC SDK's
 * `X-ARC-Signature: sha256=<base64 HMAC-SHA256>` (keyed with the secret string as UTF-8) and
 * the Standard Webhooks headers (`webhook-id`, `webhook-timestamp`, `webhook-signature`),
 * keyed with the secret's decoded bytes as that scheme defines.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

const SECRET = /^whsec_([A-Za-z0-9+/]+={0,2})$/;

export function generateSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/**
 * A caller-chosen secret must be Standard Webhooks-shaped: whsec_ + base64 of 24–64 bytes, in
 * its canonical padded form, which every verifier decodes (Python's and Go's refuse base64
 * without its padding, or with stray bits, though Node's takes it).
 */
export function secretProblem(secret: string): string | undefined {
  const match = SECRET.exec(secret);
  if (!match) return 'must be "whsec_" followed by base64';
  const text = match[1] as string;
  const bytes = Buffer.from(text, 'base64');
  if (bytes.toString('base64') !== text) {
    return 'must be canonical base64, padded with "=" to a multiple of 4 characters';
  }
  return bytes.length >= 24 && bytes.length <= 64 ? undefined : 'must encode 24 to 64 random bytes';
}

export function arcSignature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('base64')}`;
}

export function signatureHeaders(
  secret: string,
  deliveryId: string,
  body: string,
  at: Date,
): Record<string, string> {
  return {
    'X-ARC-Signature': arcSignature(secret, body),
    'webhook-id': deliveryId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(deliveryId, at, body),
  };
}

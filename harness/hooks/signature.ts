import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header a delivery's signature travels in (GitHub's convention: `sha256=<hex>` of the raw body). */
export const SIGNATURE_HEADER = 'X-Devlab-Signature-256';
/** The delivery's id: the same on every retry and redelivery, so a receiver can drop repeats. */
export const DELIVERY_HEADER = 'X-Devlab-Delivery';
export const EVENT_HEADER = 'X-Devlab-Event';
export const HOOK_HEADER = 'X-Devlab-Hook';

/** `sha256=<hex>`: HMAC-SHA256 of the raw body with the hook's secret. */
export function signBody(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** What a receiver does: recompute over the raw bytes and compare in constant time. */
export function verifySignature(secret: string, body: string | Buffer, header: string | undefined): boolean {
  if (!header) return false;
  const expected = Buffer.from(signBody(secret, body));
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

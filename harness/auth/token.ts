import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A recognisable prefix lets secret scanners find leaked devlab tokens. */
export const TOKEN_PREFIX = 'dlb_';

/** 32 random bytes: far beyond guessing range, so the rate limit only has to stop noise, not brute force. */
export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Whether a request's `Authorization` header carries `token`, compared in constant time. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const given = createHash('sha256')
    .update(header ?? '')
    .digest();
  const expected = createHash('sha256').update(`Bearer ${token}`).digest();
  return timingSafeEqual(given, expected);
}

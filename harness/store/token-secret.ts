import { createHash, randomBytes } from 'node:crypto';

/** A recognisable prefix lets secret scanners find leaked devlab tokens. */
export const TOKEN_PREFIX = 'dlb_';

/** 32 random bytes: far beyond guessing range, so the rate limit only has to stop noise, not brute force. */
export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/** What the tokens table keeps of a token: its sha256, never the token. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { RequestError } from '../errors.ts';
import type { Db } from './database.ts';
import { generateToken, hashToken } from './token-secret.ts';

export const TOKEN_ROLES = ['partner', 'admin'] as const;
export type TokenRole = (typeof TOKEN_ROLES)[number];

/** Same rule as a run request's partner, so a token's partner is always a valid run partner. */
const partnerSchema = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/);

export interface TokenRow {
  id: string;
  partner: string;
  role: TokenRole;
  createdAt: number;
  revokedAt: number | null;
}

export interface CreatedToken extends TokenRow {
  /** Shown once: only its hash is stored. */
  token: string;
}

const SELECT = `SELECT id, partner, role, created_at AS createdAt, revoked_at AS revokedAt FROM api_tokens`;

/** API bearer tokens; the table holds sha256 hashes only. */
export class TokensRepo {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  create(partner: string, role: TokenRole = 'partner'): CreatedToken {
    if (!partnerSchema.safeParse(partner).success)
      throw new RequestError('partner', 'partner ids are lower case letters, digits, _ and -');
    if (!TOKEN_ROLES.includes(role))
      throw new RequestError('role', `role must be one of ${TOKEN_ROLES.join(', ')}`);
    const token = generateToken();
    const row: TokenRow = {
      id: `tok-${randomBytes(6).toString('hex')}`,
      partner,
      role,
      createdAt: this.now(),
      revokedAt: null,
    };
    this.db
      .prepare('INSERT INTO api_tokens (id, partner, role, hash, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(row.id, partner, role, hashToken(token), row.createdAt);
    return { ...row, token };
  }

  /** The live token row for a presented token, or undefined (unknown or revoked). */
  verify(token: string): TokenRow | undefined {
    return this.db.prepare(`${SELECT} WHERE hash = ? AND revoked_at IS NULL`).get(hashToken(token)) as
      | TokenRow
      | undefined;
  }

  /** Returns false when the id is unknown or was already revoked. */
  revoke(id: string): boolean {
    return (
      this.db
        .prepare('UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL')
        .run(this.now(), id).changes === 1
    );
  }

  list(filter: { partner?: string; includeRevoked?: boolean } = {}): TokenRow[] {
    const where: string[] = [];
    const args: string[] = [];
    if (filter.partner) {
      where.push('partner = ?');
      args.push(filter.partner);
    }
    if (!filter.includeRevoked) where.push('revoked_at IS NULL');
    const sql = `${SELECT} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, partner, id`;
    return this.db.prepare(sql).all(...args) as TokenRow[];
  }
}

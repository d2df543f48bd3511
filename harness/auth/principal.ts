import type { TokenRole } from '../store/tokens-repo.ts';

/** Who a request acts as; absent when auth is disabled (a single-tenant lab sees everything). */
export interface Principal {
  tokenId: string;
  partner: string;
  role: TokenRole;
}

/** The partner a request is confined to, or null for "every partner" (admins, auth disabled). */
export function partnerScope(principal: Principal | null): string | null {
  return principal && principal.role !== 'admin' ? principal.partner : null;
}

export function isAdmin(principal: Principal | null): boolean {
  return principal === null || principal.role === 'admin';
}

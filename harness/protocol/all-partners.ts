/**
 * The history partner of the whole lab (every partner's results): what admins read, where a partner's own
 * view names its partner id. Never a partner id (those are `[a-z0-9][a-z0-9_-]*`, run-request.ts).
 */
export const ALL_PARTNERS = '*';

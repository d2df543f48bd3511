import { z } from 'zod';

/** The HTTP header a client names its submit with (draft-ietf-httpapi-idempotency-key-header). */
export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
/** The answer's header when it is the run an earlier submit with the same key created. */
export const IDEMPOTENT_REPLAYED_HEADER = 'Idempotent-Replayed';

export const IDEMPOTENCY_KEY_MAX = 128;

/**
 * A client-chosen idempotency key: 1-128 characters of letters, digits and `. _ : / + = -` (a UUID, a
 * CI system's `pipeline:run:attempt`, base64). The draft standard sends it as a structured-field string
 * (`"…"`); the quotes are optional here.
 */
export const idempotencyKeyValueSchema = z
  .string()
  .min(1, 'the idempotency key is empty')
  .max(IDEMPOTENCY_KEY_MAX, `an idempotency key has at most ${IDEMPOTENCY_KEY_MAX} characters`)
  .regex(/^[A-Za-z0-9._:/+=-]+$/, 'an idempotency key is letters, digits and . _ : / + = - only');

/** The header's value: the key, optionally in double quotes. */
export const idempotencyKeySchema = z
  .string()
  .transform((v) => (v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v))
  .pipe(idempotencyKeyValueSchema);

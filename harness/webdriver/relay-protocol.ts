import { z } from 'zod';

/**
 * The WebDriver relay's messages (relay-channel.ts carries them): the control plane asks the agent that
 * owns a device to open an Appium session on it, forward a command, capture the session's evidence or
 * close it; the agent answers with what its Appium server answered, or why it could not.
 */

const relayId = z.string().min(1).max(100);

export const relayOperationSchema = z.discriminatedUnion('op', [
  z.object({
    op: z.literal('open'),
    deviceId: z.string().min(1),
    /** The client's capabilities (devlab's own already taken out). */
    client: z.record(z.string(), z.unknown()),
    /** The lab's idle timeout: Appium's own is set a minute past it, and the agent forgets a session after it. */
    idleTimeoutMs: z.number().int().positive(),
  }),
  z.object({
    op: z.literal('command'),
    relayId,
    method: z.enum(['GET', 'POST', 'DELETE']),
    /** The path after `/session/<id>`, e.g. `/url`. */
    rest: z.string(),
    body: z.string().optional(),
  }),
  z.object({ op: z.literal('capture'), relayId }),
  z.object({ op: z.literal('close'), relayId }),
]);
export type RelayOperation = z.infer<typeof relayOperationSchema>;
export type RelayOp = RelayOperation['op'];

export const relayRequestSchema = z.object({
  id: z.string().min(1).max(100),
  /** The control plane's reply channel. */
  replyTo: z.string().min(1),
  /** Epoch ms after which nobody waits for the answer: an agent that takes it later drops it. */
  expiresAt: z.number().int(),
  operation: relayOperationSchema,
});
export type RelayRequest = z.infer<typeof relayRequestSchema>;

export const openedSchema = z.object({
  relayId,
  appiumSessionId: z.string().min(1),
  capabilities: z.record(z.string(), z.unknown()),
});
export const answerSchema = z.object({
  status: z.number().int(),
  contentType: z.string(),
  body: z.string(),
});
export const capturedSchema = z.object({
  artifacts: z.array(z.object({ name: z.string().min(1), contentType: z.string(), base64: z.string() })),
});
export const closedSchema = z.object({});

/** What each operation answers when it succeeds. */
export const RELAY_RESULTS = {
  open: openedSchema,
  command: answerSchema,
  capture: capturedSchema,
  close: closedSchema,
} as const satisfies Record<RelayOp, z.ZodType>;
export type RelayResult<O extends RelayOp> = z.infer<(typeof RELAY_RESULTS)[O]>;

export const relayReplySchema = z.discriminatedUnion('ok', [
  z.object({ id: z.string(), ok: z.literal(true), result: z.unknown() }),
  z.object({
    id: z.string(),
    ok: z.literal(false),
    /** `device lost`: the device or its Appium server failed; `refused`: the request was not valid here. */
    error: z.object({ kind: z.enum(['device lost', 'refused']), message: z.string() }),
  }),
]);
export type RelayReply = z.infer<typeof relayReplySchema>;

/** What a relaying agent keeps under `LabKeys.relayAgent(agentId)` while it lives. */
export const relayAgentSchema = z.object({
  /** The devices it relays for (its Appium devices). */
  devices: z.array(z.string()),
  pid: z.number().int(),
  since: z.number().int(),
});
export type RelayAgentRecord = z.infer<typeof relayAgentSchema>;

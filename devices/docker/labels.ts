import { randomUUID } from 'node:crypto';

export const LABEL_AGENT = 'devlab.agent';
export const LABEL_DEVICE = 'devlab.device';
/** Which life of the agent process created the container, so the reaper spares the current one's. */
export const LABEL_INSTANCE = 'devlab.instance';

/** This process's instance id (one per agent life). */
export const PROCESS_INSTANCE = randomUUID();

export function containerLabels(agentId: string, deviceId: string, instance: string): Record<string, string> {
  return { [LABEL_AGENT]: agentId, [LABEL_DEVICE]: deviceId, [LABEL_INSTANCE]: instance };
}

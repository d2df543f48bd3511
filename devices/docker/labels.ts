import { randomUUID } from 'node:crypto';

export const LABEL_AGENT = 'devlab.agent';
export const LABEL_DEVICE = 'devlab.device';
/** Which life of the agent process created the container, so the reaper spares the current one's. */
export const LABEL_INSTANCE = 'devlab.instance';
/**
 * Which lab (its Redis prefix) the container belongs to: two labs on one engine may have agents of the
 * same host name, and each one's reaper removes only its own lab's containers.
 */
export const LABEL_LAB = 'devlab.lab';

/** The lab of a driver told none: the configuration's default Redis prefix (harness/config/config.ts). */
export const DEFAULT_LAB = 'devlab';

/** This process's instance id (one per agent life). */
export const PROCESS_INSTANCE = randomUUID();

/** Who a container belongs to: the lab, the agent (host) and device, and the agent's life. */
export interface ContainerOwner {
  lab: string;
  agentId: string;
  deviceId: string;
  instance: string;
}

export function containerLabels(owner: ContainerOwner): Record<string, string> {
  return {
    [LABEL_LAB]: owner.lab,
    [LABEL_AGENT]: owner.agentId,
    [LABEL_DEVICE]: owner.deviceId,
    [LABEL_INSTANCE]: owner.instance,
  };
}

import type Docker from 'dockerode';
import { removeContainer } from './create-container.ts';
import { DEFAULT_LAB, LABEL_AGENT, LABEL_INSTANCE, LABEL_LAB, PROCESS_INSTANCE } from './labels.ts';

export interface ReapResult {
  removed: string[];
  failed: Array<{ id: string; error: string }>;
}

/**
 * Whether a container labelled with the agent's host belongs to lab `lab`. A container with no lab label
 * was created by a devlab from before the label: it is taken too. Such a container can only be a leftover
 * of an older agent of this host name (no agent of this version creates one), nothing else would ever
 * remove it, and the older agents that made it reaped by host alone themselves; so taking it removes a
 * one-time leak after an upgrade at the price of nothing an older version did not already do.
 */
function ofLab(info: Docker.ContainerInfo, lab: string): boolean {
  const label = info.Labels?.[LABEL_LAB];
  return label === undefined || label === lab;
}

/**
 * Run at agent start: removes the containers this agent's earlier lives left behind (a killed agent
 * cannot clean up): labelled with its host name and its lab (Redis prefix), so that another lab's agent
 * of the same host name on this engine keeps its containers. Containers of the current life
 * (`keepInstance`) are spared.
 */
export async function reapContainers(
  docker: Docker,
  agentId: string,
  keepInstance: string = PROCESS_INSTANCE,
  lab: string = DEFAULT_LAB,
): Promise<ReapResult> {
  const containers = await docker.listContainers({
    all: true,
    filters: { label: [`${LABEL_AGENT}=${agentId}`] },
  });
  const result: ReapResult = { removed: [], failed: [] };
  for (const info of containers) {
    if (!ofLab(info, lab) || info.Labels?.[LABEL_INSTANCE] === keepInstance) continue;
    try {
      await removeContainer(docker.getContainer(info.Id));
      result.removed.push(info.Id);
    } catch (err) {
      result.failed.push({ id: info.Id, error: (err as Error).message });
    }
  }
  return result;
}

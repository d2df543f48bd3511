import type Docker from 'dockerode';
import { LABEL_AGENT, LABEL_INSTANCE, PROCESS_INSTANCE } from './labels.ts';
import { removeContainer } from './create-container.ts';

export interface ReapResult {
  removed: string[];
  failed: Array<{ id: string; error: string }>;
}

/**
 * Run at agent start: removes the containers this agent's earlier lives left behind (a killed agent
 * cannot clean up). Containers of the current life (`keepInstance`) are spared.
 */
export async function reapContainers(
  docker: Docker,
  agentId: string,
  keepInstance: string = PROCESS_INSTANCE,
): Promise<ReapResult> {
  const containers = await docker.listContainers({
    all: true,
    filters: { label: [`${LABEL_AGENT}=${agentId}`] },
  });
  const result: ReapResult = { removed: [], failed: [] };
  for (const info of containers) {
    if (info.Labels?.[LABEL_INSTANCE] === keepInstance) continue;
    try {
      await removeContainer(docker.getContainer(info.Id));
      result.removed.push(info.Id);
    } catch (err) {
      result.failed.push({ id: info.Id, error: (err as Error).message });
    }
  }
  return result;
}

import type Docker from 'dockerode';
import { createDriverRegistry } from '../../devices/default-registry.ts';
import type { ContainerHandle } from '../../devices/device.ts';
import { LABEL_AGENT } from '../../devices/docker/labels.ts';
import { parseInventory } from '../../devices/inventory/load.ts';
import type { TestDefinition } from '../../suites/test-api.ts';
import { containerBox } from './container-box.ts';
import { type LabHarness, startLabHarness } from './lab-harness.ts';
import { DOCKER_SOCKET } from './services.ts';

/** Helpers of the tests that look at a test container from the engine's side and from inside. */

export type ExecResult = { exitCode: number; stdout: string; stderr: string };

/** An inventory of one container device (see `containerBox`) on the engine at DOCKER_SOCKET. */
export function dockerBoxInventory(o: Parameters<typeof containerBox>[0]): string {
  return `\ndevices:${containerBox({ ...o, settings: { socket: DOCKER_SOCKET, ...o.settings } })}`;
}

/** What the engine says about the container a test body runs in. */
export function inspectOwn(docker: Docker, container: ContainerHandle): Promise<Docker.ContainerInspectInfo> {
  return docker.getContainer(container.id).inspect();
}

/** Runs each shell probe (name → script) inside the container, as its user, one after the other. */
export async function runProbes(
  container: ContainerHandle,
  probes: Record<string, string>,
): Promise<Record<string, ExecResult>> {
  const inside: Record<string, ExecResult> = {};
  for (const [name, script] of Object.entries(probes))
    inside[name] = await container.exec(['sh', '-c', script]);
  return inside;
}

/** A lab of one agent with the default drivers, on an inventory written as YAML (`file` names it). */
export function startAgentLab(o: {
  agent: string;
  inventory: string;
  file: string;
  tests: TestDefinition[];
}): Promise<LabHarness> {
  return startLabHarness({
    inventory: parseInventory(o.inventory, o.file),
    tests: o.tests,
    registry: createDriverRegistry({}),
    agentIds: [o.agent],
    appUrl: 'http://127.0.0.1:9/',
  });
}

/** The containers (running or not) labelled as `agent`'s. */
export function containersOf(docker: Docker, agent: string): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`${LABEL_AGENT}=${agent}`] } });
}

import { createDriverRegistry } from '../../devices/default-registry.ts';
import type { DeviceRecord } from '../../devices/device.ts';
import { parseInventory } from '../../devices/inventory/load.ts';
import { defineTest } from '../../suites/define-test.ts';
import { containerBox } from '../support/container-box.ts';
import { type LabHarness, startLabHarness } from '../support/lab-harness.ts';

/**
 * A lab whose agent is never started: one container device and one test, so that a run's jobs exist
 * (uploads and reports are accepted for them) while nothing runs. For tests of the HTTP layer that need
 * Redis and SQLite but no device.
 */
export function idleLabInventory(name: string): DeviceRecord[] {
  return parseInventory(
    `devices:${containerBox({ id: `sec-${name}-box-1`, name: `security ${name} box`, model: `sec-${name}-box`, host: `agent-sec-${name}`, memoryMb: 32 })}`,
    `sec-${name}.yaml`,
  );
}

export function startIdleLab(name: string, inventory = idleLabInventory(name)): Promise<LabHarness> {
  return startLabHarness({
    inventory,
    tests: [
      defineTest(
        {
          id: `sec.${name}`,
          title: 'never runs',
          component: 'platform',
          owner: 'qa',
          requires: { drivers: ['docker'] },
        },
        async () => {},
      ),
    ],
    registry: createDriverRegistry({}),
    agentIds: [`agent-sec-${name}`],
    appUrl: 'http://127.0.0.1:9/',
    deferAgents: true,
  });
}

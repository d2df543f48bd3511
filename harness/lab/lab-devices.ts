import type { DeviceRecord, DeviceState } from '../../devices/device.ts';
import type { DeviceStateStore } from '../../devices/state/state-store.ts';
import { compileDeviceQuery } from '../../suites/query/query.ts';

/** States in which a device takes no new work; a run planned now would wait on it indefinitely. */
const NOT_PLANNABLE: ReadonlySet<DeviceState> = new Set(['blocked', 'draining', 'offline', 'quarantined']);

/** The inventory with live states: what a selector matches and what may take work. */
export class LabDevices {
  constructor(
    readonly inventory: readonly DeviceRecord[],
    private readonly states: DeviceStateStore,
  ) {}

  async withStates(): Promise<(DeviceRecord & { state: DeviceState })[]> {
    return Promise.all(
      this.inventory.map(async (d) => {
        const status = await this.states.get(d.id).catch(() => null);
        return { ...d, state: status?.state ?? 'available' };
      }),
    );
  }

  /** Devices matching the selector (which may name `state`) that can take work now. */
  async select(selector: string): Promise<DeviceRecord[]> {
    const matches = compileDeviceQuery(selector);
    return (await this.withStates())
      .filter((d) => matches(d) && !NOT_PLANNABLE.has(d.state))
      .map(({ state: _s, ...device }) => device);
  }
}

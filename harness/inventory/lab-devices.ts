import type { DeviceRecord, DeviceState } from '../../devices/device.ts';
import type { DeviceStateStore } from '../../devices/state/state-store.ts';
import { DEVICE_QUERY_FIELDS } from '../../suites/query/device-fields.ts';
import { suggestTerm } from '../../suites/query/no-match.ts';
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

  /**
   * For a selector that matches no device of the inventory, whatever its state: that, with its "did you
   * mean" (`platform:tizen` for `platform:tizn`); undefined when it matches some.
   */
  async unmatched(selector: string): Promise<{ suggestion?: string } | undefined> {
    const matches = compileDeviceQuery(selector);
    const devices = await this.withStates();
    if (devices.some(matches)) return undefined;
    const suggestion = suggestTerm(selector, DEVICE_QUERY_FIELDS, devices);
    return suggestion === undefined ? {} : { suggestion };
  }

  /** Devices matching the selector (which may name `state`) that can take work now. */
  async select(selector: string): Promise<DeviceRecord[]> {
    const matches = compileDeviceQuery(selector);
    return (await this.withStates())
      .filter((d) => matches(d) && !NOT_PLANNABLE.has(d.state))
      .map(({ state: _s, ...device }) => device);
  }
}

import type { DeviceRecord } from '../../devices/device.ts';

/** A device of the inventory with its live state, as the API shows it. */
export type DeviceView = DeviceRecord & {
  state: string;
  /** Why the device is in that state (block reason, quarantine cause). */
  reason?: string;
  /** The agent or worker holding the device's lease, when one does. */
  leaseHolder?: string;
  /** Reserved for a person (harness/webdriver/reservation-service.ts): by which partner, until when. */
  reservation?: { partner: string; until: number };
};

/** The inventory and its state machine, behind the API's device routes (wired by the control plane). */
export interface DevicesProvider {
  list(): Promise<DeviceView[]>;
  /** `by` names who asked (the admin token's id), for the device's transition log. */
  block(id: string, reason: string, by?: string): Promise<unknown>;
  unblock(id: string, reason: string, by?: string): Promise<unknown>;
  drain(id: string, reason: string, by?: string): Promise<unknown>;
}

import type { DeviceRecord } from '../device.ts';
import { redact } from '../redact.ts';

/** A device record safe to log: secret capabilities (and the ones its settings mark secret) hidden. */
export function redactDevice(device: DeviceRecord): DeviceRecord {
  const marked = device.settings['secretCapabilities'];
  const extra = Array.isArray(marked) ? marked.filter((k): k is string => typeof k === 'string') : [];
  return redact(device, extra);
}

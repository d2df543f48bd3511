import type { DeviceRecord } from '../device.ts';
import { redactText } from '../redact.ts';

export interface HealthResult {
  deviceId: string;
  ok: boolean;
  /** What was checked and what went wrong, one line. */
  message: string;
  durationMs: number;
}

export type HealthCheck = (device: DeviceRecord) => Promise<HealthResult>;

/**
 * Times a check body; a thrown error is an infrastructure failure with its message. The message goes to
 * Redis, the state's reason, logs and CLI output: URL credentials in it are masked here, at the source.
 */
export async function timed(device: DeviceRecord, body: () => Promise<string>): Promise<HealthResult> {
  const started = performance.now();
  try {
    const message = await body();
    return {
      deviceId: device.id,
      ok: true,
      message: redactText(message),
      durationMs: performance.now() - started,
    };
  } catch (err) {
    return {
      deviceId: device.id,
      ok: false,
      message: redactText(err instanceof Error ? err.message : String(err)),
      durationMs: performance.now() - started,
    };
  }
}

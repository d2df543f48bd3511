import type { DeviceRecord } from '../device.ts';

export interface HealthResult {
  deviceId: string;
  ok: boolean;
  /** What was checked and what went wrong, one line. */
  message: string;
  durationMs: number;
}

export type HealthCheck = (device: DeviceRecord) => Promise<HealthResult>;

/** Times a check body; a thrown error is an infrastructure failure with its message. */
export async function timed(device: DeviceRecord, body: () => Promise<string>): Promise<HealthResult> {
  const started = performance.now();
  try {
    const message = await body();
    return { deviceId: device.id, ok: true, message, durationMs: performance.now() - started };
  } catch (err) {
    return {
      deviceId: device.id,
      ok: false,
      message: (err as Error).message,
      durationMs: performance.now() - started,
    };
  }
}

import type { Artifact, DeviceRecord, SessionHandles } from '../../devices/device.ts';
import { redactText } from '../../devices/redact.ts';
import type { TestContext, TestLogger } from '../../suites/test-api.ts';

export interface ContextRecorder {
  /** Log lines, steps and attachments the body produced; they become the attempt's artifacts. */
  readonly lines: string[];
  readonly attachments: Artifact[];
}

function guessContentType(name: string, data: string | Buffer): string {
  if (/\.png$/i.test(name)) return 'image/png';
  if (/\.xml$/i.test(name)) return 'application/xml';
  if (/\.json$/i.test(name)) return 'application/json';
  if (/\.html?$/i.test(name)) return 'text/html';
  return typeof data === 'string' ? 'text/plain; charset=utf-8' : 'application/octet-stream';
}

/** Builds the context a test body receives from a session's handles, recording what the body reports. */
export function createTestContext(
  handles: SessionHandles,
  device: DeviceRecord,
  appUrl: string,
  signal: AbortSignal,
): { ctx: TestContext; recorder: ContextRecorder } {
  const recorder: ContextRecorder = { lines: [], attachments: [] };
  const started = Date.now();
  const write = (level: string, message: string, data?: Record<string, unknown>) => {
    const elapsed = ((Date.now() - started) / 1000).toFixed(3).padStart(8);
    // The test log becomes an artifact: a hub URL a test prints (its device's settings) is masked.
    recorder.lines.push(
      redactText(`${elapsed}s ${level.padEnd(5)} ${message}${data ? ` ${JSON.stringify(data)}` : ''}`),
    );
  };
  const log: TestLogger = {
    info: (m, d) => write('info', m, d),
    warn: (m, d) => write('warn', m, d),
    error: (m, d) => write('error', m, d),
  };
  const ctx: TestContext = {
    ...handles,
    device,
    appUrl,
    log,
    signal,
    async step(name, fn) {
      write('step', `▶ ${name}`);
      const t0 = Date.now();
      try {
        const value = await fn();
        write('step', `✔ ${name} (${Date.now() - t0} ms)`);
        return value;
      } catch (err) {
        write('step', `✖ ${name} (${Date.now() - t0} ms): ${(err as Error).message?.split('\n')[0]}`);
        throw err;
      }
    },
    attach(name, data, contentType) {
      recorder.attachments.push({
        name,
        contentType: contentType ?? guessContentType(name, data),
        data: typeof data === 'string' ? Buffer.from(data) : data,
      });
    },
  };
  return { ctx, recorder };
}

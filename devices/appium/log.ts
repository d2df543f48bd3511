/**
 * What the Appium code logs through: fields and a message. A pino logger is one (devices/ imports nothing
 * of ours, so the agent hands its logger in); fields name the component, device and port where known.
 */
export interface AppiumLog {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** Logs nothing (a caller that gave no logger: tests, the doctor's probe). */
export const silentLog: AppiumLog = { info() {}, warn() {}, error() {} };

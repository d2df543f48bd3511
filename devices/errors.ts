import { redactText } from './redact.ts';

/**
 * Errors of the device layer, classified so that callers can tell a broken device or service
 * (`infrastructure`: retry elsewhere, count towards quarantine) from a test that found a bug (`test`).
 */
export type ErrorKind = 'infrastructure' | 'test' | 'timeout' | 'config';

export class DeviceError extends Error {
  readonly kind: ErrorKind;
  readonly deviceId: string | undefined;

  constructor(kind: ErrorKind, message: string, options: { deviceId?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DeviceError';
    this.kind = kind;
    this.deviceId = options.deviceId;
  }
}

export class InfrastructureError extends DeviceError {
  constructor(message: string, options: { deviceId?: string; cause?: unknown } = {}) {
    super('infrastructure', message, options);
    this.name = 'InfrastructureError';
  }
}

export class DeviceTimeoutError extends DeviceError {
  constructor(message: string, options: { deviceId?: string; cause?: unknown } = {}) {
    super('timeout', message, options);
    this.name = 'DeviceTimeoutError';
  }
}

/** Messages of errors that come from the transport or the device, never from an assertion. */
const INFRA_PATTERNS = [
  /invalid session id/i,
  /session (is )?(deleted|not created|not found)/i,
  /session has been deleted|session is either terminated or not started/i,
  /no such window/i,
  /chrome not reachable/i,
  /disconnected: /i,
  /target (page, context or browser )?(has been )?closed/i,
  /browser has been closed/i,
  /ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|socket hang up|fetch failed/i,
  // undici (fetch, WebdriverIO's transport): the server went away with a request in flight, or never answered.
  /UND_ERR_(SOCKET|CLOSED|DESTROYED|CONNECT_TIMEOUT|HEADERS_TIMEOUT|BODY_TIMEOUT)|other side closed/i,
  /make sure you have a WebDriver compatible server running/i,
  /connect ENOENT/i,
  /\(HTTP code 5\d\d\)/i,
  /no such container|is not running|container .* is marked for removal/i,
];

/** True when the error says the device, its session or its service failed (not the test). */
export function isInfrastructureError(err: unknown): boolean {
  if (err instanceof DeviceError) return err.kind === 'infrastructure' || err.kind === 'config';
  if (!(err instanceof Error)) return false;
  const text = `${err.name}: ${err.message}`;
  if (INFRA_PATTERNS.some((re) => re.test(text))) return true;
  // Docker engine answers: 5xx is the engine's fault, 404/409 a container that vanished or is in the way.
  const status = (err as { statusCode?: unknown }).statusCode;
  if (typeof status === 'number' && (status >= 500 || status === 404 || status === 409)) return true;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code) && code !== 'ERR_ASSERTION';
}

/** A plain, serialisable view of an error for results and logs. */
export interface ErrorInfo {
  name: string;
  message: string;
  stack?: string;
  kind: ErrorKind;
}

/**
 * The view results and logs get. Message and stack have URL credentials masked: a request that failed
 * (fetch, WebdriverIO) may quote the URL it was sent to, and a hub URL may carry an access key.
 */
export function errorInfo(err: unknown, kind?: ErrorKind): ErrorInfo {
  const e = err instanceof Error ? err : new Error(String(err));
  return {
    name: e.name,
    message: redactText(String(e.message)),
    ...(e.stack ? { stack: redactText(e.stack) } : {}),
    kind: kind ?? (e instanceof DeviceError ? e.kind : isInfrastructureError(e) ? 'infrastructure' : 'test'),
  };
}

/**
 * W3C WebDriver errors (https://www.w3.org/TR/webdriver2/#errors): the error code a client's library
 * reads and the HTTP status the spec gives it. Every answer of /wd/hub that is not Appium's own is one.
 */
export const WEBDRIVER_ERRORS = {
  'invalid argument': 400,
  'session not created': 500,
  'invalid session id': 404,
  'unknown command': 404,
  'unknown error': 500,
  timeout: 500,
} as const;

export type WebDriverErrorCode = keyof typeof WEBDRIVER_ERRORS;

/** The W3C error body: `{ value: { error, message, stacktrace } }`. */
export interface WebDriverErrorBody {
  value: { error: WebDriverErrorCode; message: string; stacktrace: string };
}

export class WebDriverError extends Error {
  readonly status: number;

  constructor(
    readonly code: WebDriverErrorCode,
    message: string,
    /** An HTTP status other than the spec's (401 for a missing token). */
    status?: number,
  ) {
    super(message);
    this.name = 'WebDriverError';
    this.status = status ?? WEBDRIVER_ERRORS[code];
  }

  body(): WebDriverErrorBody {
    return { value: { error: this.code, message: this.message, stacktrace: '' } };
  }
}

/** A request the control plane refuses; `field` names what was wrong (for API 400s and CLI messages). */
export class RequestError extends Error {
  constructor(
    readonly field: string,
    message: string,
    /** A rendered hint under the message, e.g. a query's caret line. */
    readonly detail?: string,
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

/**
 * A valid request the lab cannot carry out as asked (HTTP 422): a query that selects no test, a selector
 * that matches no device, or a lab whose suites did not all load. `field` names the part to change.
 */
export class UnprocessableRequestError extends Error {
  constructor(
    readonly field: string,
    message: string,
    /** More lines under the message, e.g. each suite file that did not load. */
    readonly detail?: string,
  ) {
    super(message);
    this.name = 'UnprocessableRequestError';
  }
}

/**
 * A submit reused an idempotency key with a different request: the key already names another run's
 * request, so neither a replay nor a new run would be what the client meant (HTTP 422).
 */
export class IdempotencyConflictError extends Error {
  constructor(
    readonly key: string,
    readonly runId: string | null,
  ) {
    super(
      `Idempotency-Key "${key}" was already used with a different request${runId ? ` (run ${runId})` : ''}: ` +
        'send the same request to get that run again, or a new key for a new run',
    );
    this.name = 'IdempotencyConflictError';
  }
}

export class NotFoundError extends Error {
  constructor(
    readonly what: string,
    readonly id: string,
  ) {
    super(`${what} ${id} not found`);
    this.name = 'NotFoundError';
  }
}

/** A message on a lab stream that can never be handled (bad JSON, wrong shape): set aside, not retried. */
export class MalformedMessageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedMessageError';
  }
}

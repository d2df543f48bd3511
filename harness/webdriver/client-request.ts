import type { FastifyReply, FastifyRequest } from 'fastify';
import { WebDriverError } from './webdriver-error.ts';

/** Aborted when the client closes its connection before its answer was sent. */
export function clientGone(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort(new Error('the client closed its connection'));
  });
  return controller.signal;
}

/** The request's body as the client sent it (text), if any. */
export function rawBody(req: FastifyRequest): string | undefined {
  return typeof req.body === 'string' && req.body.length > 0 ? req.body : undefined;
}

/** A new-session body: JSON, or an `invalid argument`. */
export function sessionBody(req: FastifyRequest): unknown {
  const text = rawBody(req);
  if (text === undefined) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new WebDriverError('invalid argument', 'body: not valid JSON');
  }
}

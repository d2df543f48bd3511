import type { EventEmitter } from 'node:events';

/**
 * Logs a client's connection errors (a Redis connection, a BullMQ worker) instead of dropping them: the
 * first error, then only a different one, so that an outage reconnecting every second gives a line when
 * it starts and changes, not one per retry; and a line when the client is ready again.
 */
export function logConnectionErrors(client: EventEmitter, what: string, log: (line: string) => void): void {
  let last: string | null = null;
  client.on('error', (err: Error) => {
    if (err.message === last) return;
    last = err.message;
    log(`${what}: ${err.message}`);
  });
  client.on('ready', () => {
    if (last === null) return;
    last = null;
    log(`${what}: connected again`);
  });
}

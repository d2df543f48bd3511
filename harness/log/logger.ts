import pino, { type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';
import { redactText } from '../../devices/redact.ts';
import type { DevlabConfig } from '../config/config.ts';

/**
 * The log of a long-running devlab process (server, agent): pino on stderr, so stdout stays for the
 * one line that says the process is up. JSON lines for log collectors; readable lines on a terminal.
 * Callers log messages and plain fields only: device settings and tokens never reach a logger (the
 * inventory is logged through `redactDevice`). As a last line of defence every line written has its URL
 * credentials masked (an error message may quote a hub URL with its access key).
 */
export function createLogger(name: string, level: DevlabConfig['logLevel']): Logger {
  const destination = process.stderr.isTTY
    ? pretty({ destination: 2, sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' })
    : pino.destination({ dest: 2, sync: true });
  const redacting: DestinationStream = { write: (line: string) => destination.write(redactText(line)) };
  return pino({ name, level, base: { name } }, redacting);
}

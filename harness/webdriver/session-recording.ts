import type { Logger } from 'pino';
import type { Artifact } from '../../devices/device.ts';
import { redactText } from '../../devices/redact.ts';
import { artifactId } from '../agent/artifact-sink.ts';
import type { ArtifactStore } from '../artifacts/artifact-store.ts';

/** One proxied command as the command log keeps it. */
export interface CommandLine {
  /** Epoch ms when the command came in. */
  at: number;
  method: string;
  /** The path after `/session/<id>`, e.g. `/element/<el>/click` ('' for the session itself). */
  command: string;
  /** Appium's HTTP status (0: no answer). */
  status: number;
  ms: number;
  /** The body sent, bounded, with typed text masked. */
  body?: string;
  /** The W3C error code of an error answer, or why there was no answer. */
  error?: string;
}

/** A session's commands kept at most (a runaway client's log stays bounded; the rest are counted). */
const MAX_LINES = 20_000;
const MAX_BODY = 300;
/** Commands whose body is typed text (a password field, say): the log says how long, never what. */
const TYPED = /^\/(element\/[^/]+\/value|actions|keys)$/;

/** What the log keeps of a command's body. */
export function bodySummary(command: string, body: string | undefined): string | undefined {
  if (body === undefined || body === '' || body === '{}') return undefined;
  if (TYPED.test(command)) return `(${body.length} bytes, typed text not logged)`;
  const text = redactText(body);
  return text.length <= MAX_BODY ? text : `${text.slice(0, MAX_BODY)}… (${text.length - MAX_BODY} more)`;
}

/** The W3C error code of an error answer (`{"value":{"error":"no such element",...}}`), if it is one. */
export function errorCode(status: number, body: string): string | undefined {
  if (status < 400) return undefined;
  const m = /"error"\s*:\s*"([^"]{1,80})"/.exec(body.slice(0, 2000));
  return m ? m[1] : `HTTP ${status}`;
}

/** The commands of one session, in order: stored as the session's `commands.jsonl` artifact. */
export class CommandLog {
  private readonly lines: CommandLine[] = [];
  private dropped = 0;
  private total = 0;

  add(line: CommandLine): void {
    this.total++;
    if (this.lines.length < MAX_LINES) this.lines.push(line);
    else this.dropped++;
  }

  /** Commands proxied so far (all of them, kept or not). */
  get count(): number {
    return this.total;
  }

  toArtifact(): Artifact {
    const text = this.lines.map((l) => JSON.stringify(l)).join('\n');
    const tail = this.dropped
      ? `\n${JSON.stringify({ dropped: this.dropped, note: 'log bound reached' })}`
      : '';
    return {
      name: 'commands.jsonl',
      contentType: 'application/x-ndjson',
      data: Buffer.from(`${text}${tail}\n`, 'utf8'),
    };
  }
}

/**
 * Stores a session's artifacts (command log, final screenshot, page source, browser log) as its attempt's,
 * through the artifact store the agents' uploads go to. One that cannot be stored (a full or read-only
 * disk) is logged and recorded as lost with the reason, so the run says which evidence is missing.
 */
export async function storeArtifacts(
  artifacts: ArtifactStore,
  owner: { runId: string; jobId: string; deviceId: string },
  list: readonly Artifact[],
  logger: Logger,
): Promise<void> {
  for (const artifact of list) {
    const meta = {
      id: artifactId({ ...owner, attempt: 1 }, artifact.name),
      runId: owner.runId,
      jobId: owner.jobId,
      attempt: 1,
      name: artifact.name,
      contentType: artifact.contentType,
    };
    try {
      await artifacts.save(meta, artifact.data, { device: owner.deviceId });
    } catch (err) {
      logger.error(
        { err, run: owner.runId, job: owner.jobId, device: owner.deviceId, artifact: artifact.name },
        'webdriver session: an artifact could not be stored',
      );
      try {
        artifacts.recordLost(meta, `not stored: ${(err as Error).message}`, { device: owner.deviceId });
      } catch (again) {
        logger.error(
          { err: again, run: owner.runId, artifact: artifact.name },
          'webdriver session: the lost artifact could not be recorded either',
        );
      }
    }
  }
}

import type { Logger } from 'pino';
import type { DeviceRecord } from '../../devices/device.ts';
import type { RunRequest } from '../protocol/run-request.ts';
import type { AttemptStatus, Verdict } from '../protocol/verdict.ts';
import type { RunStatus } from '../store/runs-repo.ts';
import type { Store } from '../store/store.ts';

/** The test id of a WebDriver session's one job: the client's own test, which the catalog does not know. */
export const WEBDRIVER_TEST_ID = 'webdriver-session';
/** The agent column of its attempt: the control plane drove the device, not an agent. */
export const WEBDRIVER_AGENT = 'control-plane/webdriver';

/**
 * How a session ended. The client's own verdict is never known to the lab, so none of these is a test
 * result: `completed` is "the client ended its session", not "its test passed".
 */
export const SESSION_OUTCOMES = ['completed', 'aborted by client', 'idle timeout', 'device lost'] as const;
export type SessionOutcome = (typeof SESSION_OUTCOMES)[number];

/** Each outcome as the store's vocabulary says it (attempt status, job verdict, run status). */
const OUTCOME_ROWS: Record<SessionOutcome, { attempt: AttemptStatus; verdict: Verdict; run: RunStatus }> = {
  completed: { attempt: 'passed', verdict: 'passed', run: 'passed' },
  'aborted by client': { attempt: 'cancelled', verdict: 'cancelled', run: 'cancelled' },
  'idle timeout': { attempt: 'cancelled', verdict: 'cancelled', run: 'cancelled' },
  'device lost': { attempt: 'error', verdict: 'error', run: 'error' },
};

export interface OpenedSession {
  runId: string;
  jobId: string;
  request: RunRequest;
  device: DeviceRecord;
  /** When the client asked (`POST /session`): the run's creation; the wait in the queue is up to `startedAt`. */
  requestedAt: number;
  /** When the device was leased. */
  startedAt: number;
}

export interface EndedSession {
  runId: string;
  jobId: string;
  deviceId: string | null;
  outcome: SessionOutcome;
  /** Says what happened, e.g. "completed: the client deleted the session after 12 commands". */
  message: string;
  startedAt: number;
  endedAt: number;
}

/** A session's run left open by a control plane that stopped during it. */
export interface LeftoverSession {
  runId: string;
  jobId: string;
  deviceId: string | null;
  startedAt: number;
}

/**
 * A WebDriver session as a run of the store: one job (`webdriver-session` on the leased device) and one
 * attempt, `kind = 'webdriver'` so that the history, the ranking and the training never read it
 * (harness/store/history-repo.ts). Written through the store's own repos, one transaction per step.
 */
export class SessionStore {
  constructor(private readonly store: Store) {}

  /** The run (running) and its job (running on the device), once the device is leased. */
  open(session: OpenedSession): void {
    const { device } = session;
    const pool = `webdriver:${device.id}`;
    this.store.transaction(() => {
      this.store.runs.insert({
        id: session.runId,
        request: session.request,
        createdAt: session.requestedAt,
        plan: { pools: { [pool]: [device.id] }, unplanned: [], ranker: 'webdriver' },
      });
      this.store.db.prepare(`UPDATE runs SET kind = 'webdriver' WHERE id = ?`).run(session.runId);
      this.store.jobs.insertMany(
        [
          {
            id: session.jobId,
            runId: session.runId,
            seq: 0,
            testId: WEBDRIVER_TEST_ID,
            pool,
            deviceModel: device.model,
            deviceFirmware: device.firmware,
            devicePlatform: device.platform,
            component: 'webdriver',
            score: null,
            reasons: ['a WebDriver client\u2019s own session (/wd/hub)'],
            estDurationMs: null,
            maxRetries: 0,
            timeoutMs: 0,
          },
        ],
        session.requestedAt,
      );
      this.store.runs.markStarted(session.runId, session.startedAt);
      this.store.jobs.markRunning(session.jobId, device.id);
    });
  }

  /**
   * The attempt, the job's verdict and the run's status. A run someone cancelled meanwhile
   * (`POST /api/runs/:id/cancel`) keeps its `cancelled`; the attempt is still recorded.
   */
  end(session: EndedSession): void {
    const rows = OUTCOME_ROWS[session.outcome];
    const infra = rows.attempt === 'error';
    this.store.transaction(() => {
      this.store.attempts.insert(
        {
          runId: session.runId,
          jobId: session.jobId,
          attempt: 1,
          deviceId: session.deviceId,
          agent: WEBDRIVER_AGENT,
          status: rows.attempt,
          ...(rows.attempt === 'passed'
            ? {}
            : { error: { message: session.message, kind: infra ? 'infra' : 'cancelled' } }),
          startedAt: session.startedAt,
          endedAt: session.endedAt,
          artifacts: [],
          cases: [],
        },
        null,
      );
      this.store.jobs.countAttempt(session.jobId, infra);
      this.store.jobs.finish(session.jobId, {
        verdict: rows.verdict,
        deviceId: session.deviceId,
        durationMs: Math.max(0, session.endedAt - session.startedAt),
        signature: null,
        message: session.message,
        at: session.endedAt,
      });
      this.store.runs.finish(session.runId, rows.run, session.endedAt);
    });
  }

  /** Sessions' runs still open: a previous life of the control plane stopped during them. */
  leftovers(): LeftoverSession[] {
    return this.store.db
      .prepare(
        `SELECT r.id AS runId, j.id AS jobId, j.device_id AS deviceId, COALESCE(r.started_at, r.created_at) AS startedAt
         FROM runs r JOIN jobs j ON j.run_id = r.id
         WHERE r.kind = 'webdriver' AND r.status IN ('planning', 'queued', 'running')`,
      )
      .all() as LeftoverSession[];
  }
}

/**
 * Before the control plane starts (its recovery would queue an open job as a catalog job): the runs of
 * sessions a previous life left open are closed as `device lost`. Their leases expire by TTL and Appium
 * ends their sessions after its own idle limit. Returns how many were closed.
 */
export function closeLeftoverSessions(store: Store, logger: Logger): number {
  const sessions = new SessionStore(store);
  const left = sessions.leftovers();
  for (const session of left) {
    sessions.end({
      runId: session.runId,
      jobId: session.jobId,
      deviceId: session.deviceId,
      outcome: 'device lost',
      message: 'device lost: the control plane stopped during the session',
      startedAt: session.startedAt,
      endedAt: Date.now(),
    });
    logger.warn(
      { run: session.runId, device: session.deviceId },
      'a WebDriver session left open by a previous control plane: its run is closed as device lost',
    );
  }
  return left.length;
}

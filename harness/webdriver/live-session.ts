import type { Logger } from 'pino';
import type { DeviceRecord } from '../../devices/device.ts';
import type { LeaseHeartbeat } from '../../devices/lease/heartbeat.ts';
import type { ArtifactStore } from '../artifacts/artifact-store.ts';
import { DeviceLostError, type ProxiedAnswer, type SessionProxy, sessionGone } from './session-proxy.ts';
import { bodySummary, CommandLog, errorCode, storeArtifacts } from './session-recording.ts';
import type { EndedSession, SessionOutcome, SessionStore } from './session-store.ts';
import { WebDriverError } from './webdriver-error.ts';

/** Records how a session ended; a store that cannot take it is logged (the device is freed anyway). */
export function recordEnd(recorded: SessionStore, ended: EndedSession, log: Logger): void {
  try {
    recorded.end(ended);
  } catch (err) {
    log.error(
      { err, run: ended.runId, outcome: ended.outcome },
      'webdriver session: its end could not be stored',
    );
  }
}

export interface LiveSessionDeps {
  artifacts: ArtifactStore;
  recorded: SessionStore;
  idleTimeoutMs: number;
  log: Logger;
  /** The session is over and its device free: the service forgets it and offers the device again. */
  onEnded(session: LiveSession, outcome: SessionOutcome, message: string): void;
}

export interface LiveSessionFields {
  id: string;
  partner: string;
  runId: string;
  jobId: string;
  device: DeviceRecord;
  /** Straight to the device's Appium server, or through its agent's relay. */
  proxy: SessionProxy;
  /** Renews the device's lease while the session lives. */
  heartbeat: LeaseHeartbeat;
  startedAt: number;
}

/**
 * One open session: its commands are proxied and logged one by one, an idle timer runs between them, and
 * it ends once (client's delete, idle timeout, lost device or lease, cancelled run): final capture, the
 * Appium session closed, the lease given back, then the run and its artifacts stored.
 */
export class LiveSession {
  readonly commands = new CommandLog();
  private idle: NodeJS.Timeout | null = null;
  private inFlight = 0;
  private ended: Promise<void> | null = null;

  constructor(
    readonly fields: LiveSessionFields,
    private readonly deps: LiveSessionDeps,
  ) {}

  get isEnding(): boolean {
    return this.ended !== null;
  }

  /** Starts the idle timer and watches the lease. */
  start(): void {
    this.fields.heartbeat.on('lost', (reason) => void this.end('device lost', `device lost: ${reason}`));
    this.armIdle();
  }

  /** One command (`rest`: the path after `/session/<id>`); Appium's answer as it came. */
  async command(
    method: string,
    rest: string,
    body: string | undefined,
    signal: AbortSignal,
  ): Promise<ProxiedAnswer> {
    if (this.idle) clearTimeout(this.idle);
    this.idle = null;
    this.inFlight++;
    const at = Date.now();
    const summary = bodySummary(rest, body);
    const line = { at, method, command: rest, ...(summary ? { body: summary } : {}) };
    try {
      const answer = await this.fields.proxy.forward(method, rest, body, signal);
      const error = errorCode(answer.status, answer.body);
      this.commands.add({ ...line, status: answer.status, ms: Date.now() - at, ...(error ? { error } : {}) });
      if (sessionGone(answer))
        void this.end('device lost', `device lost: Appium no longer has the session (${method} ${rest})`);
      return answer;
    } catch (err) {
      const message = (err as Error).message;
      this.commands.add({ ...line, status: 0, ms: Date.now() - at, error: message });
      if (err instanceof DeviceLostError) {
        const { id, runId, jobId, device, proxy } = this.fields;
        this.deps.log.warn(
          { session: id, run: runId, job: jobId, device: device.id, via: proxy.via, err: message },
          'webdriver session: device lost',
        );
        void this.end('device lost', `device lost: ${message}`);
        throw new WebDriverError('unknown error', message);
      }
      if (signal.aborted) {
        void this.end(
          'aborted by client',
          `aborted: the client closed its connection during ${method} ${rest}`,
        );
        throw new WebDriverError('unknown error', 'the client went away');
      }
      throw err;
    } finally {
      this.inFlight--;
      this.armIdle();
    }
  }

  /** Ends the session once; later calls wait for the first. */
  end(outcome: SessionOutcome, message: string): Promise<void> {
    this.ended ??= this.finish(outcome, message).catch((err: unknown) =>
      this.deps.log.error(
        { err, session: this.fields.id, run: this.fields.runId },
        'webdriver session: ending it failed',
      ),
    );
    return this.ended;
  }

  private armIdle(): void {
    if (this.ended || this.inFlight > 0) return;
    if (this.idle) clearTimeout(this.idle);
    const ms = this.deps.idleTimeoutMs;
    const why = `idle timeout: no command for ${(ms / 1000).toFixed(1)} s (webdriver.idleTimeoutMs)`;
    this.idle = setTimeout(() => void this.end('idle timeout', why), ms);
    this.idle.unref();
  }

  private async finish(outcome: SessionOutcome, message: string): Promise<void> {
    if (this.idle) clearTimeout(this.idle);
    const endedAt = Date.now();
    const { id, partner, runId, jobId, device, proxy, heartbeat, startedAt } = this.fields;
    const { log } = this.deps;
    // A lost device is not asked for anything more: each capture would wait out its timeout.
    const captured = outcome === 'device lost' ? [] : await proxy.capture();
    await proxy.close();
    heartbeat.stop();
    await heartbeat
      .release()
      .catch((err: unknown) =>
        log.warn({ err, device: device.id }, 'webdriver session: cannot give back a lease'),
      );
    this.deps.onEnded(this, outcome, message);
    recordEnd(
      this.deps.recorded,
      { runId, jobId, deviceId: device.id, outcome, message, startedAt, endedAt },
      log,
    );
    await storeArtifacts(
      this.deps.artifacts,
      { runId, jobId, deviceId: device.id },
      [this.commands.toArtifact(), ...captured],
      log,
    );
    log.info(
      {
        session: id,
        partner,
        device: device.id,
        run: runId,
        outcome,
        commands: this.commands.count,
        ms: endedAt - startedAt,
      },
      'webdriver session ended',
    );
  }
}

import type { Logger } from 'pino';
import type { SessionDrops } from '../../devices/health/session-drops.ts';
import type { SessionOutcome } from './session-store.ts';

export interface EndedOnDevice {
  deviceId: string;
  runId: string;
  jobId: string;
  session: string;
}

/**
 * What a WebDriver session tells the device-health view, and only it (never the failure model: the
 * session's run is `kind = 'webdriver'`, which no history read takes). `device lost` counts against the
 * device (repeated, it quarantines it: devices/health/session-drops.ts); `completed`, `aborted by client`
 * and `idle timeout` show it holds sessions. Sessions the control plane itself ends as it stops are not
 * the device's doing and count for nothing.
 */
export class SessionHealth {
  private counting = true;

  constructor(
    private readonly drops: SessionDrops,
    private readonly log: Logger,
  ) {}

  /** The control plane stops: what ends sessions from now on is not their devices' doing. */
  stopCounting(): void {
    this.counting = false;
  }

  /** Records how a session ended; a failure to record it is logged, never thrown. */
  async ended(on: EndedOnDevice, outcome: SessionOutcome, message: string): Promise<void> {
    if (!this.counting) return;
    const fields = { device: on.deviceId, run: on.runId, job: on.jobId, session: on.session };
    try {
      if (outcome !== 'device lost') {
        await this.drops.held(on.deviceId);
        return;
      }
      const result = await this.drops.dropped(on.deviceId, message);
      if (result.transition)
        this.log.warn(
          { ...fields, drops: result.drops, reason: result.transition.reason },
          'webdriver session: its device is quarantined (sessions in a row lost it)',
        );
      else
        this.log.info(
          { ...fields, drops: result.drops, state: result.state },
          'webdriver session: the lost device is counted in its health',
        );
    } catch (err) {
      this.log.error(
        { ...fields, outcome, err: (err as Error).message },
        'webdriver session: its end was not recorded in the device’s health',
      );
    }
  }
}

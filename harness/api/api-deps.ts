import type { Logger } from 'pino';
import type { ArtifactStore } from '../artifacts/artifact-store.ts';
import type { AuthOptions } from '../auth/auth-hook.ts';
import type { ReportProvider } from '../history/prediction-report.ts';
import type { HookService } from '../hooks/hook-service.ts';
import type { ControlPlane } from '../server/control-plane.ts';
import type { TokensRepo } from '../store/tokens-repo.ts';
import type { ReservationService } from '../webdriver/reservation-service.ts';
import type { WebDriverService } from '../webdriver/webdriver-service.ts';
import type { DevicesProvider } from './devices-provider.ts';
import type { RunTriageProvider } from './run-view.ts';

/** What the HTTP API is built over (`buildApi`), and the options its route plugins are registered with. */
export interface ApiDeps {
  controlPlane: ControlPlane;
  artifacts: ArtifactStore;
  /** Agents present it when they upload artifacts. */
  agentToken?: string;
  /** Limit of JSON request bodies (artifact uploads have their own). */
  bodyLimitBytes?: number;
  /** Bearer tokens on `/api/*`; off by default so a single-user lab needs no setup. */
  auth?: AuthOptions;
  /** Tokens to check against; defaults to the control plane store's table. */
  tokens?: TokensRepo;
  /** Inventory and live states for the device routes; without it they answer 503. */
  devices?: DevicesProvider;
  /** The failure-prediction report at /api/report; without it the route answers 503. */
  report?: ReportProvider;
  /**
   * Failure triage of a run's failed jobs, by job id (the lab history service's `triageRun`); without it
   * results carry `triage: null`.
   */
  triage?: RunTriageProvider;
  /**
   * `file:line:column: message` of each suite file the control plane started without (`--allow-broken`):
   * a submit or preview is refused (422, field `suites`) unless it says `?allowBroken=true`.
   */
  suiteProblems?: () => readonly string[];
  /** The WebDriver endpoint at `/wd/hub` (harness/webdriver/); without it there is none. */
  webdriver?: WebDriverService;
  /**
   * Device reservations (`/api/devices/:id/reservations`, `/api/reservations`, `/wd/hub/reservations/<id>`)
   * and their longest duration (`webdriver.maxReservationMs`); without it there are none.
   */
  reservations?: { service: ReservationService; maxMs: number };
  /** Signed outbound webhooks at `/api/hooks` (harness/hooks/); without it there are no hook routes. */
  hooks?: HookService;
  /** Serve the dashboard at `/` (default true). */
  dashboard?: boolean;
  /**
   * The process's log (harness/log/logger.ts): requests that fail (5xx, with their cause), refused ones
   * (4xx, at info) and the rest (debug), each with its request id. Without it the API logs nothing.
   */
  logger?: Logger;
}

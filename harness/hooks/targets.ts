import type { DevlabConfig } from '../config/config.ts';
import { RequestError } from '../errors.ts';
import type { HookEvent, HookTarget, HookTargetOptions } from '../store/hooks-repo.ts';
import { checkHookUrl } from './allow-list.ts';
import type { FailingPair, RunSummary } from './payload.ts';

type HookSettings = DevlabConfig['hooks'];

/** A Spinnaker webhook trigger's `source`: the last segment of Gate's `/webhooks/webhook/{source}`. */
const SPINNAKER_SOURCE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
/** `owner/name` as GitHub spells them. */
const GITHUB_REPO = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/;
/** GitHub cuts a status description at 140 characters; ours never needs cutting by GitHub. */
export const GITHUB_DESCRIPTION_MAX = 140;
const DEFAULT_CONTEXT = 'devlab';

/** What a subscription asks for, as the API and CLI take it. */
export interface TargetInput {
  target?: HookTarget | undefined;
  url?: string | undefined;
  events?: HookEvent[] | undefined;
  spinnakerSource?: string | undefined;
  githubRepo?: string | undefined;
  githubContext?: string | undefined;
  onlyPassed?: boolean | undefined;
}

export interface ResolvedTarget {
  target: HookTarget;
  /** Where deliveries go: the receiver (generic), Gate's trigger URL (spinnaker), `<api>/repos/o/r/statuses` (github). */
  url: string;
  targetOptions: HookTargetOptions;
  events: HookEvent[];
  onlyPassed: boolean;
}

/** Events a target is sent when the subscription names none. */
const DEFAULT_EVENTS: Record<HookTarget, HookEvent[]> = {
  generic: [],
  spinnaker: ['run.finished'],
  github: ['run.started', 'run.finished'],
};

function refuseFields(input: TargetInput, target: HookTarget, fields: (keyof TargetInput)[]): void {
  for (const f of fields)
    if (input[f] !== undefined && input[f] !== '')
      throw new RequestError(f, `${f}: not used by a ${target} target`);
}

/**
 * Checks a subscription's target and works out where its deliveries go. Throws a RequestError naming the
 * field (an API 400). The URL's host must be on the allow-list (checked again before every attempt).
 */
export function resolveTarget(input: TargetInput, settings: HookSettings): ResolvedTarget {
  const target = input.target ?? 'generic';
  const events = [...new Set(input.events?.length ? input.events : DEFAULT_EVENTS[target])];
  const onlyPassed = input.onlyPassed === true;
  if (onlyPassed && (events.length !== 1 || events[0] !== 'run.finished'))
    throw new RequestError(
      'onlyPassed',
      'onlyPassed: sends run.finished for passed runs only; subscribe to run.finished alone',
    );

  if (target === 'generic') {
    refuseFields(input, target, ['spinnakerSource', 'githubRepo', 'githubContext']);
    if (!input.url) throw new RequestError('url', 'url: where deliveries are POSTed is required');
    checkHookUrl(input.url, settings.allowHosts);
    return { target, url: input.url, targetOptions: {}, events, onlyPassed };
  }

  if (target === 'spinnaker') {
    refuseFields(input, target, ['githubRepo', 'githubContext']);
    if (!input.url)
      throw new RequestError('url', "url: Gate's base URL is required (e.g. https://gate.example.net)");
    const base = checkHookUrl(input.url, settings.allowHosts);
    if (/\/webhooks\/webhook(\/|$)/.test(base.pathname))
      throw new RequestError(
        'url',
        "url: give Gate's base URL; /webhooks/webhook/<source> is added from spinnakerSource",
      );
    const source = input.spinnakerSource ?? '';
    if (!SPINNAKER_SOURCE.test(source))
      throw new RequestError(
        'spinnakerSource',
        'spinnakerSource: the webhook trigger\u2019s source is required: 1-100 of A-Z a-z 0-9 . _ - (e.g. devlab-cert)',
      );
    base.pathname = `${base.pathname.replace(/\/+$/, '')}/webhooks/webhook/${source}`;
    return { target, url: base.toString(), targetOptions: { source }, events, onlyPassed };
  }

  // github: the API base and the token are the lab's; a subscription names the repository only, so the
  // token never goes to a URL a subscriber chose.
  refuseFields(input, target, ['spinnakerSource']);
  if (input.url)
    throw new RequestError(
      'url',
      'url: a github target posts to the lab\u2019s hooks.githubApiUrl; leave url out and give githubRepo',
    );
  if (onlyPassed) throw new RequestError('onlyPassed', 'onlyPassed: a commit status reports failures too');
  if (events.includes('job.failed'))
    throw new RequestError('events', 'events: a github target sets a commit status per run, not per job');
  const repo = input.githubRepo ?? '';
  if (!GITHUB_REPO.test(repo))
    throw new RequestError('githubRepo', 'githubRepo: owner/name of the repository is required');
  const context = (input.githubContext ?? '').trim() || DEFAULT_CONTEXT;
  if (context.length > 100) throw new RequestError('githubContext', 'githubContext: at most 100 characters');
  if (!settings.githubToken)
    throw new RequestError(
      'target',
      'target: this control plane has no GitHub token (hooks.githubToken / DEVLAB_GITHUB_TOKEN)',
    );
  const url = `${settings.githubApiUrl.replace(/\/+$/, '')}/repos/${repo}/statuses`;
  try {
    checkHookUrl(url, settings.allowHosts);
  } catch (err) {
    throw new RequestError(
      'target',
      `target: GitHub's API (${settings.githubApiUrl}) is not reachable by hooks: ${(err as Error).message.replace(/^url: /, '')}`,
    );
  }
  return { target, url, targetOptions: { repo, context }, events, onlyPassed };
}

// --- Spinnaker: Gate's webhook trigger ---

/** An artifact as Spinnaker's kork `Artifact` reads it. */
export interface SpinnakerArtifact {
  type: string;
  name: string;
  reference: string;
  version: string;
}

/**
 * The body POSTed to Gate's `/webhooks/webhook/{source}`. Echo reads `parameters` (the pipeline's
 * parameters) and `artifacts` (received artifacts) from it, and matches a trigger's `payloadConstraints`
 * (key = regex) against its top-level fields, so the verdict, build, run and partner are there too as
 * strings. The whole body is the execution's `trigger.payload`.
 */
export interface SpinnakerTrigger {
  event: HookEvent;
  at: string;
  /** The run's status: passed, failed, error, cancelled when it is over; queued or running before. */
  verdict: string;
  build: string;
  runId: string;
  partner: string;
  priority: string;
  parameters: Record<string, string>;
  artifacts: SpinnakerArtifact[];
  run: RunSummary;
  job?: FailingPair & { jobId: string };
}

export function spinnakerTrigger(
  event: HookEvent,
  at: string,
  run: RunSummary,
  job?: FailingPair & { jobId: string },
): SpinnakerTrigger {
  return {
    event,
    at,
    verdict: run.status,
    build: run.build,
    runId: run.id,
    partner: run.partner,
    priority: run.priority,
    parameters: {
      build: run.build,
      verdict: run.status,
      runId: run.id,
      partner: run.partner,
      priority: run.priority,
      event,
      failing: String(run.failingTotal),
      runUrl: run.links.run,
      resultsUrl: run.links.results,
      junitUrl: run.links.junit,
    },
    artifacts: [{ type: 'http/file', name: 'junit', reference: run.links.junit, version: run.id }],
    run,
    ...(job ? { job } : {}),
  };
}

// --- GitHub: commit statuses ---

export type GithubState = 'pending' | 'success' | 'failure' | 'error';

/** The body of `POST /repos/{owner}/{repo}/statuses/{sha}`. */
export interface GithubStatus {
  state: GithubState;
  target_url: string;
  description: string;
  context: string;
}

/** A final run status as a commit status: test failures fail it, an infrastructure error or a cancel is an error. */
export function githubState(event: HookEvent, status: string): GithubState {
  if (event === 'run.started') return 'pending';
  if (status === 'passed') return 'success';
  if (status === 'failed') return 'failure';
  return 'error';
}

const ORDER = ['passed', 'failed', 'timed-out', 'flaky', 'error', 'skipped', 'cancelled', 'pending'];

function countsText(counts: RunSummary['counts']): string {
  return ORDER.filter((v) => (counts as Record<string, number | undefined>)[v])
    .map((v) => `${(counts as Record<string, number>)[v]} ${v}`)
    .join(', ');
}

export function githubStatus(
  event: HookEvent,
  run: RunSummary,
  context: string,
  dashboardUrl: string,
): GithubStatus {
  const state = githubState(event, run.status);
  const jobs = Object.values(run.counts).reduce((a, b) => a + (b ?? 0), 0);
  const what =
    state === 'pending'
      ? `devlab run ${run.id} queued: ${jobs} test \u00d7 device job${jobs === 1 ? '' : 's'}`
      : `devlab run ${run.id} ${run.status}: ${countsText(run.counts) || 'no jobs'}`;
  const description =
    what.length <= GITHUB_DESCRIPTION_MAX ? what : `${what.slice(0, GITHUB_DESCRIPTION_MAX - 1)}\u2026`;
  return {
    state,
    target_url: `${dashboardUrl.replace(/\/+$/, '')}/#/runs/${encodeURIComponent(run.id)}`,
    description,
    context,
  };
}

/**
 * The commit a run tested: its build when that is a full 40-hex commit SHA (`--build $GITHUB_SHA`), or
 * ends in one after `@` (`1.4.2@<sha>`). Null otherwise: no status can be set.
 */
export function commitSha(build: string): string | null {
  const m = /(?:^|@)([0-9a-f]{40})$/i.exec(build.trim());
  return m ? m[1]!.toLowerCase() : null;
}

import type { Logger } from 'pino';
import { NotFoundError, RequestError } from '../errors.ts';
import { ALL_PARTNERS } from '../protocol/all-partners.ts';
import {
  HOOK_EVENTS,
  type HookEvent,
  type HookRow,
  type HooksRepo,
  type SigningHook,
} from '../store/hooks-repo.ts';
import { checkGithubRepo } from './allow-list.ts';
import type { HookSettings } from './hook-sender.ts';
import { resolveTarget, type TargetInput } from './targets.ts';

export interface NewHook extends TargetInput {
  /** The receiver (generic) or Gate's base URL (spinnaker); a github target's comes from the config. */
  url?: string | undefined;
  /** What to be told about; a spinnaker or github target has defaults (see targets.ts). */
  events?: HookEvent[] | undefined;
  query?: string | null | undefined;
  /** An admin's hook for one partner's runs; absent: a partner's own, or an admin's for every partner. */
  partner?: string | null | undefined;
}

export interface HookSubscriptionsDeps {
  repo: HooksRepo;
  settings: HookSettings;
  logger: Logger;
  /** See HookServiceDeps.selectTests: a hook's query is checked with it when the hook is added. */
  selectTests?: ((query: string, historyPartner: string) => readonly { id: string }[]) | undefined;
}

/** Whether a scope (a partner, or null for an admin) may see a hook. */
export function visible(scope: string | null, hook: HookRow): boolean {
  return scope === null || hook.partner === scope;
}

/**
 * Hook subscriptions as the API and CLI manage them, per scope: a partner's token sees and adds its own
 * partner's hooks (another partner's answers like a missing one); an admin (scope null) every hook, and
 * adds hooks for every partner's runs or one partner's.
 */
export class HookSubscriptions {
  constructor(private readonly deps: HookSubscriptionsDeps) {}

  /** Adds a hook for `scope`'s runs (an admin: every partner's, or `partner`'s); the secret is returned once. */
  add(scope: string | null, input: NewHook): SigningHook {
    const { repo, settings, selectTests } = this.deps;
    for (const e of input.events ?? [])
      if (!(HOOK_EVENTS as readonly string[]).includes(e))
        throw new RequestError('events', `events: ${e} is not one of ${HOOK_EVENTS.join(', ')}`);
    const resolved = resolveTarget(input, settings);
    const { events } = resolved;
    if (events.length === 0)
      throw new RequestError('events', `events: give one or more of ${HOOK_EVENTS.join(', ')}`);
    if (scope !== null && input.partner != null && input.partner !== scope)
      throw new RequestError('partner', `partner: this token adds hooks for partner ${scope} only`);
    const partner = scope ?? input.partner ?? null;
    if (resolved.target === 'github')
      checkGithubRepo(partner, resolved.targetOptions.repo ?? '', settings.githubRepos);
    const query = input.query?.trim() || null;
    // A bad query is a 400 with its caret now, not a silent non-match at delivery time.
    if (query !== null && selectTests) selectTests(query, partner ?? ALL_PARTNERS);
    const hook = repo.create({
      partner,
      url: resolved.url,
      events,
      query,
      target: resolved.target,
      targetOptions: resolved.targetOptions,
      onlyPassed: resolved.onlyPassed,
    });
    this.deps.logger.info(
      { hook: hook.id, partner: hook.partner, target: hook.target, host: new URL(hook.url).host, events },
      'hook added',
    );
    return hook;
  }

  list(scope: string | null): HookRow[] {
    return scope === null ? this.deps.repo.list() : this.deps.repo.list({ partner: scope });
  }

  /** A live hook the scope may see; another partner's answers like a missing one. */
  hook(scope: string | null, id: string): HookRow {
    const hook = this.deps.repo.get(id);
    if (!hook || hook.removedAt !== null || !visible(scope, hook)) throw new NotFoundError('hook', id);
    return hook;
  }

  remove(scope: string | null, id: string): void {
    this.hook(scope, id);
    this.deps.repo.remove(id);
    this.deps.logger.info({ hook: id }, 'hook removed');
  }
}

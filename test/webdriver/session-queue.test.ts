import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { AcquireResult, Lease } from '../../devices/lease/lease-manager.ts';
import { type Granted, type SessionLeases, SessionQueue } from '../../harness/webdriver/session-queue.ts';
import { WebDriverError } from '../../harness/webdriver/webdriver-error.ts';

/**
 * The queue's order on its own: leases in a map stand in for Redis (the endpoint's test,
 * webdriver-endpoint.test.ts, runs the same queue on the lab's real leases). Passes run only when poked
 * (the poll interval is an hour), so every order below is decided by the policy, not by timing.
 */
function fakeLeases(): SessionLeases & { holders: Map<string, string> } {
  const holders = new Map<string, string>();
  let token = 0;
  return {
    holders,
    async acquire(deviceId, holder): Promise<AcquireResult> {
      const held = holders.get(deviceId);
      if (held) return { ok: false, reason: `held by ${held}` };
      holders.set(deviceId, holder);
      return { ok: true, lease: { deviceId, holder, token: ++token, ttlMs: 1000, acquiredAt: Date.now() } };
    },
    async release(lease: Lease) {
      if (holders.get(lease.deviceId) !== lease.holder) return false;
      holders.delete(lease.deviceId);
      return true;
    },
  };
}

const silent = pino({ level: 'silent' });
const HOUR = 3_600_000;
/** Lets the pass a poke started run to its end (the fake leases answer in microtasks). */
const turn = () => new Promise((r) => setImmediate(r));

describe('the WebDriver session queue', () => {
  it('serves partners in turn and each partner first come, first served', async () => {
    const leases = fakeLeases();
    const queue = new SessionQueue(leases, { pollMs: HOUR, logger: silent });
    leases.holders.set('tv', 'agent-a/tv');
    const served: Granted[] = [];
    const ask = (partner: string, holder: string) =>
      queue
        .wait({ partner, devices: ['tv'], holder, timeoutMs: HOUR })
        .then((granted) => served.push(granted));
    for (const [partner, holder] of [
      ['acme', 'acme-1'],
      ['acme', 'acme-2'],
      ['acme', 'acme-3'],
      ['globex', 'globex-1'],
    ] as const)
      void ask(partner, holder);
    await turn();
    expect(queue.queued.map((q) => q.partner)).toEqual(['acme', 'acme', 'acme', 'globex']);
    expect(served).toEqual([]);

    // The agent gives the device back; each session then ends in turn and frees it for the next.
    leases.holders.delete('tv');
    for (let i = 1; i <= 4; i++) {
      queue.poke();
      await turn();
      expect(served).toHaveLength(i);
      await leases.release(served.at(-1)!.lease);
    }
    expect(served.map((g) => g.lease.holder)).toEqual(['acme-1', 'globex-1', 'acme-2', 'acme-3']);
    expect(queue.queued).toEqual([]);
    queue.close();
  });

  it('takes any free device of those a request matches, and never one a request ahead of it found held', async () => {
    const leases = fakeLeases();
    const queue = new SessionQueue(leases, { pollMs: HOUR, logger: silent });
    leases.holders.set('tv-1', 'agent-a/tv-1');
    const first = queue.wait({ partner: 'acme', devices: ['tv-1'], holder: 'first', timeoutMs: HOUR });
    const second = queue.wait({
      partner: 'acme',
      devices: ['tv-1', 'tv-2'],
      holder: 'second',
      timeoutMs: HOUR,
    });
    expect((await second).deviceId).toBe('tv-2');
    expect(queue.queued).toHaveLength(1);
    leases.holders.delete('tv-1');
    queue.poke();
    expect((await first).deviceId).toBe('tv-1');
    queue.close();
  });

  it('refuses with `session not created` saying who held the device when the wait is too long', async () => {
    const leases = fakeLeases();
    const queue = new SessionQueue(leases, { pollMs: 10, logger: silent });
    leases.holders.set('tv', 'agent-a/tv');
    const err = await queue
      .wait({ partner: 'acme', devices: ['tv'], holder: 'late', timeoutMs: 100 })
      .catch((e) => e);
    expect(err).toBeInstanceOf(WebDriverError);
    expect(err).toMatchObject({ code: 'session not created', status: 500 });
    expect((err as Error).message).toMatch(
      /^waited 0\.1 s for a device \(tv\) and none came free \(tv: held by agent-a\/tv\)$/,
    );
    expect(queue.queued).toEqual([]);
    queue.close();
  });

  it('drops a request whose client went away, and a device leased meanwhile goes back', async () => {
    const leases = fakeLeases();
    const queue = new SessionQueue(leases, { pollMs: HOUR, logger: silent });
    leases.holders.set('tv', 'agent-a/tv');
    const controller = new AbortController();
    const waiting = queue.wait({
      partner: 'acme',
      devices: ['tv'],
      holder: 'gone',
      timeoutMs: HOUR,
      signal: controller.signal,
    });
    controller.abort();
    await expect(waiting).rejects.toThrow('the client went away while waiting');
    leases.holders.delete('tv');
    queue.poke();
    await turn();
    expect(leases.holders.size).toBe(0);
    queue.close();
  });
});

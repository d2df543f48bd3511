/**
 * What a reused session runs between two tests (one `Runtime.evaluate`, beside a cookie clear).
 *
 * `quiesce` stops the last test's page from doing anything more: its timers and intervals are cleared,
 * its media paused, and storage writes turned into no-ops before local and session storage are
 * cleared, all in one task. So nothing the page still had queued (a player saving its resume point
 * every second, a `pagehide` handler) can write into the next test's storage. The page stays on screen
 * until the next test navigates; no navigation is waited for, which keeps the reset to one round trip.
 *
 * `blank-page` does the same and then leaves for about:blank (chromedriver waits for that navigation:
 * ~50-100 ms more), for suites whose tests assume they start on an empty page.
 */
const QUIESCE = `(() => {
  const last = setTimeout(() => {}, 0);
  for (let id = 0; id <= last; id++) { clearTimeout(id); clearInterval(id); }
  // Best effort: a medium that refuses to pause is said in the browser log (an artifact of the attempt).
  for (const media of document.querySelectorAll('video, audio')) {
    try { media.pause(); } catch (e) { console.warn('devlab reset: a media element did not pause: ' + e); }
  }
  const ignore = () => {};
  // A document without storage (about:blank, an opaque origin: origin 'null') throws a SecurityError
  // here, and has nothing to clear. A real page whose storage could not be cleared says so in the
  // browser log (an artifact of the attempt): the next test may see what it left.
  const unclean = (what, e) => {
    if (location.origin !== 'null') console.warn('devlab reset: ' + what + ' (' + location.origin + '): ' + e);
  };
  try { Storage.prototype.setItem = ignore; Storage.prototype.removeItem = ignore; }
  catch (e) { unclean('storage writes not stopped', e); }
  try { localStorage.clear(); sessionStorage.clear(); } catch (e) { unclean('storage not cleared', e); }
})();`;

export type ResetMode = 'quiesce' | 'blank-page';

export function resetScript(mode: ResetMode): string {
  return mode === 'blank-page' ? `${QUIESCE} location.replace('about:blank');` : QUIESCE;
}

import { closest, distance } from 'fastest-levenshtein';

/** The candidate the user most likely meant, or undefined when none is close enough to be a typo. */
export function suggest(input: string, candidates: readonly string[]): string | undefined {
  if (candidates.length === 0 || input.length === 0) return undefined;
  const lower = input.toLowerCase();
  const sameIgnoringCase = candidates.find((c) => c.toLowerCase() === lower);
  if (sameIgnoringCase !== undefined) return sameIgnoringCase;
  // An abbreviation (`prio`, `comp`) is a clearer signal than edit distance.
  if (lower.length >= 3) {
    const extended = candidates.filter((c) => c.toLowerCase().startsWith(lower));
    if (extended.length === 1) return extended[0];
  }
  const best = closest(lower, candidates.map((c) => c.toLowerCase()) as string[]);
  const index = candidates.findIndex((c) => c.toLowerCase() === best);
  // A third of the word may be wrong (at least 2 edits), so `tgas` finds `tags` but `xyz` finds nothing.
  const budget = Math.max(2, Math.floor(input.length / 3));
  return distance(lower, best) <= budget ? candidates[index] : undefined;
}

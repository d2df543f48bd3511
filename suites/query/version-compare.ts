import semver from 'semver';

const NUMBERS = /\d+/g;

/**
 * Orders firmware and OS versions: strict semver when both sides are semver (so pre-releases order right),
 * otherwise by their runs of digits ("6.5" < "6.10", "T-KTMAKUC-1250.5" < "T-KTMAKUC-1300.1"),
 * missing parts counting as 0; ties fall back to plain text order so the result is total.
 */
export function compareVersions(a: string, b: string): number {
  if (a === b) return 0;
  if (semver.valid(a) !== null && semver.valid(b) !== null) return semver.compare(a, b);
  const left = numericParts(a);
  const right = numericParts(b);
  const length = Math.max(left.length, right.length);
  for (let i = 0; i < length; i++) {
    const diff = (left[i] ?? 0) - (right[i] ?? 0);
    if (diff !== 0) return diff < 0 ? -1 : 1;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

function numericParts(version: string): number[] {
  return (version.match(NUMBERS) ?? []).map((part) => Number.parseInt(part, 10));
}

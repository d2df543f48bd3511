/** FNV-1a 32-bit hash of a string. */
export function fnv1a(text: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Hashed vocabulary: any id (also one never seen in training) maps to a bucket in [1, buckets);
 * bucket 0 stands for "absent".
 */
export function bucketOf(id: string | undefined, buckets: number): number {
  if (id === undefined || id === '') return 0;
  return 1 + (fnv1a(id) % (buckets - 1));
}

/** A deterministic pseudo-random number in [0, 1) from a string, for seeded tie-breaking. */
export function hashUnit(text: string, seed: number): number {
  return fnv1a(text, (0x811c9dc5 ^ Math.imul(seed, 0x9e3779b1)) >>> 0) / 4294967296;
}

/** Mulberry32 seeded generator. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

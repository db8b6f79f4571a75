// Small seeded PRNG (mulberry32) used everywhere encore needs randomness, so results are reproducible.

/** A seeded random source. */
export interface Rng {
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Standard normal (Box-Muller). */
  normal(): number;
  /** Shuffles an array in place (Fisher-Yates) and returns it. */
  shuffle<T>(items: T[]): T[];
  /** One uniformly chosen element. */
  choice<T>(items: readonly T[]): T;
  /** Index drawn with probability proportional to `weights[i]` (non-negative, not all zero). */
  weighted(weights: ArrayLike<number>): number;
  /** A 32-bit seed for a derived, independent stream. */
  fork(): number;
  /** Advances the stream by `n` draws of {@link Rng.next} in O(1), as if they had been drawn. */
  skip(n: number): void;
}

/** Mixes any string or number into a 32-bit seed (FNV-1a then avalanche). */
export function hashSeed(...parts: (string | number)[]): number {
  let h = 0x811c9dc5;
  for (const part of parts) {
    const s = String(part);
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    h ^= 0xff;
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

/** An integer `>>> 0` keeps apart from every other integer of the range but its twin 2^32 apart: -2^31 to 2^32 - 1. */
function isUint32Like(seed: number | string): seed is number {
  return typeof seed === 'number' && Number.isInteger(seed) && seed >= -(2 ** 31) && seed < 2 ** 32;
}

/**
 * Creates a deterministic random source from a seed.
 *
 * @example
 * ```ts
 * const rng = createRng(42);
 * rng.next();      // same value every run
 * rng.int(10);     // 0..9
 * ```
 */
export function createRng(seed: number | string): Rng {
  // An integer from -2^31 to 2^32 - 1 is its own 32-bit state (so -1 and 2^32 - 1 are the same seed); any
  // other number (1.5, 2 ** 40) or a string is hashed, so it no longer collides with an integer seed
  // (`>>> 0` alone mapped 1.5 to 1 and 2 ** 32 to 0).
  let a = isUint32Like(seed) ? seed >>> 0 : hashSeed(seed);
  let spare: number | undefined;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const rng: Rng = {
    next,
    int: (n) => Math.floor(next() * n),
    normal: () => {
      if (spare !== undefined) {
        const s = spare;
        spare = undefined;
        return s;
      }
      let u = 0;
      while (u === 0) u = next();
      const v = next();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
    shuffle: (items) => {
      for (let i = items.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        const t = items[i]!;
        items[i] = items[j]!;
        items[j] = t;
      }
      return items;
    },
    choice: (items) => items[Math.floor(next() * items.length)]!,
    weighted: (weights) => {
      let total = 0;
      for (let i = 0; i < weights.length; i++) total += weights[i]!;
      let r = next() * total;
      for (let i = 0; i < weights.length; i++) {
        r -= weights[i]!;
        if (r < 0) return i;
      }
      return weights.length - 1;
    },
    fork: () => Math.floor(next() * 4294967296) >>> 0,
    skip: (n) => {
      // mulberry32's state is a counter: n draws add n * 0x6d2b79f5 (mod 2^32).
      a = (a + Math.imul(n >>> 0, 0x6d2b79f5)) >>> 0;
    },
  };
  return rng;
}

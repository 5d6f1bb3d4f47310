// A small seeded random generator (mulberry32) and the seed of each run and actor, so that a run's
// decisions repeat from its printed seed.

/** Mixes a 32-bit value (splitmix32's finaliser): nearby inputs give unrelated outputs. */
export function mix32(value: number): number {
  let z = (value + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * The seed of run `i` of a series started with `seed`: run 0 uses the seed itself, so `--seed <printed>
 * --runs 1` repeats any run whose seed was printed; later runs get seeds derived from both.
 */
export function runSeed(seed: number, i: number): number {
  return i === 0 ? seed >>> 0 : mix32((seed ^ Math.imul(i, 0x27d4eb2d)) >>> 0);
}

export interface Random {
  /** [0, 1) */
  next(): number;
  /** An integer in [min, max]. */
  int(min: number, max: number): number;
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** Picks by weight: `[[weight, value], …]`. */
  weighted<T>(options: readonly (readonly [number, T])[]): T;
  /** A new generator for a named part of the run (an actor), independent of how often this one is used. */
  fork(label: string): Random;
  /** A 32-bit seed drawn from this generator. */
  seed(): number;
}

function hashLabel(label: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export function createRandom(seed: number): Random {
  const origin = seed >>> 0;
  let state = origin;
  const next = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const random: Random = {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (p) => next() < p,
    pick: (items) => {
      if (items.length === 0) throw new Error('pick from an empty list');
      return items[Math.floor(next() * items.length)]!;
    },
    weighted: (options) => {
      const total = options.reduce((sum, [w]) => sum + w, 0);
      let roll = next() * total;
      for (const [w, value] of options) {
        roll -= w;
        if (roll < 0) return value;
      }
      return options[options.length - 1]![1];
    },
    fork: (label) => createRandom(mix32((origin ^ hashLabel(label)) >>> 0)),
    seed: () => Math.floor(next() * 4294967296) >>> 0,
  };
  return random;
}

/** `--seed` as given: a whole number 0..2^32-1, or any text (hashed). */
export function parseSeed(text: string): number {
  if (/^\d+$/.test(text) && Number(text) <= 0xffffffff) return Number(text);
  return hashLabel(text);
}

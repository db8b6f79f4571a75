// Tests of the built-in reward hooks, their option validation and the error naming through combine.
import { describe, expect, it } from 'vitest';
import { Dataset } from '../src/data/dataset.js';
import type { Listen, Track } from '../src/data/types.js';
import { InvalidOptionError } from '../src/errors.js';
import { computeRewards, type RewardContext, RewardHookError, runHook } from '../src/rewards/hook.js';
import { rewards } from '../src/rewards/hooks.js';

const DAY = 86_400_000;
const L = (trackId: string, timestamp: number, extra: Partial<Listen> = {}): Listen => ({
  userId: 'u1',
  trackId,
  timestamp,
  ...extra,
});
const ctx = (history: Listen[] = [], next: Listen[] = []): RewardContext => ({
  userId: 'u1',
  history,
  next,
  index: history.length,
});

describe('built-in hooks', () => {
  it('completion uses msPlayed/durationMs, skip level, then defaults to 1', () => {
    const h = rewards.completion();
    expect(runHook(h, L('a', 0, { msPlayed: 45_000, durationMs: 180_000 }), ctx())).toBeCloseTo(0.25);
    expect(runHook(h, L('a', 0, { msPlayed: 500_000, durationMs: 180_000 }), ctx())).toBe(1);
    expect(runHook(h, L('a', 0, { skipLevel: 0 }), ctx())).toBe(1);
    expect(runHook(h, L('a', 0, { skipLevel: 1 }), ctx())).toBe(0);
    expect(runHook(h, L('a', 0, { skipLevel: 3 }), ctx())).toBe(0.75);
    expect(runHook(h, L('a', 0), ctx())).toBe(1);
    expect((h as { hookName?: string }).hookName).toBe('completion');
  });

  it('skipPenalty applies the per-level penalty (defaults and custom)', () => {
    const h = rewards.skipPenalty();
    expect([0, 1, 2, 3].map((s) => h(L('a', 0, { skipLevel: s as 0 | 1 | 2 | 3 }), ctx()))).toEqual([
      0, -1, -0.6, -0.2,
    ]);
    const c = rewards.skipPenalty({ levels: { 2: -5 } });
    expect(c(L('a', 0, { skipLevel: 2 }), ctx())).toBe(-5);
    expect(c(L('a', 0, { skipLevel: 1 }), ctx())).toBe(-1);
    expect(h(L('a', 0), ctx())).toBe(0);
  });

  it('saveBonus pays for saved listens', () => {
    const h = rewards.saveBonus({ bonus: 2 });
    expect(h(L('a', 0, { saved: true }), ctx())).toBe(2);
    expect(h(L('a', 0, { saved: false }), ctx())).toBe(0);
  });

  it('repeatBonus looks for the same track in context.next within the window', () => {
    const h = rewards.repeatBonus({ withinDays: 2 });
    expect(h(L('a', 0), ctx([], [L('b', DAY), L('a', DAY * 1.5)]))).toBe(1);
    expect(h(L('a', 0), ctx([], [L('b', DAY), L('a', DAY * 3)]))).toBe(0);
    expect(h(L('a', 0), ctx([], []))).toBe(0);
  });

  it('diversityBonus with metadata scores by artist and genre; without, by track novelty', () => {
    const tracks: Track[] = [
      { trackId: 'a', title: 'A', artistId: 'x', artist: 'X', genre: 'rock' },
      { trackId: 'b', title: 'B', artistId: 'x', artist: 'X', genre: 'rock' },
      { trackId: 'c', title: 'C', artistId: 'y', artist: 'Y', genre: 'rock' },
      { trackId: 'd', title: 'D', artistId: 'z', artist: 'Z', genre: 'jazz' },
    ];
    const h = rewards.diversityBonus({ tracks, window: 2 });
    // History [b (same artist), c (same genre)]: similarity = (1 + 0.5) / 2.
    expect(h(L('a', 0), ctx([L('d', -3), L('b', -2), L('c', -1)]))).toBeCloseTo(1 - 0.75);
    expect(h(L('d', 0), ctx([L('b', -2), L('c', -1)]))).toBe(1);
    expect(h(L('d', 0), ctx())).toBe(1);
    const plain = rewards.diversityBonus({ window: 2 });
    expect(plain(L('a', 0), ctx([L('a', -2), L('b', -1)]))).toBe(0);
    expect(plain(L('a', 0), ctx([L('a', -3), L('b', -2), L('c', -1)]))).toBe(1);
  });

  it('returnBonus pays when the listener comes back within `days` (a new session)', () => {
    const h = rewards.returnBonus({ days: 3 });
    expect(h(L('a', 0), ctx([], [L('b', 60_000), L('c', 2 * DAY)]))).toBe(1);
    expect(h(L('a', 0), ctx([], [L('b', 60_000), L('c', 4 * DAY)]))).toBe(0);
    expect(h(L('a', 0), ctx([], [L('b', 60_000)]))).toBe(0);
  });

  it('over a dataset, repeatBonus and returnBonus look past the 50 listens of context.next', () => {
    const T0 = Date.UTC(2024, 0, 1, 10);
    const MIN = 60_000;
    // One long session of 80 listens, 2 minutes apart, and no return: no listen earns returnBonus.
    const binge = Array.from({ length: 80 }, (_, i) => L(`t${i}`, T0 + 2 * i * MIN, { userId: 'u' }));
    const none = computeRewards(Dataset.fromListens(binge), rewards.returnBonus({ days: 7 })).get('u')!;
    expect(Array.from(none).every((r) => r === 0)).toBe(true);
    // The same session, then a return a day later: every listen of the session earns it, the last session's none.
    const back = [...binge, L('t0', T0 + 2 * 80 * MIN + DAY, { userId: 'u' })];
    const paid = computeRewards(Dataset.fromListens(back), rewards.returnBonus({ days: 7 })).get('u')!;
    expect(Array.from(paid.subarray(0, 80)).every((r) => r === 1)).toBe(true);
    expect(paid[80]).toBe(0);
    // A replay 60 listens later (still within the window) earns repeatBonus.
    const rep = rewards.repeatBonus({ withinDays: 30 });
    expect(computeRewards(Dataset.fromListens(back), rep).get('u')![0]).toBe(1);
    expect(computeRewards(Dataset.fromListens(back), rep).get('u')![1]).toBe(0);
  });

  it('over a dataset, diversityBonus honours a window longer than the 50 listens of context.history', () => {
    // X, then 60 other tracks, then X again: the replay is 61 listens after the first play.
    const listens = [L('X', 0)];
    for (let i = 0; i < 60; i++) listens.push(L(`o${i}`, (i + 1) * 1000));
    listens.push(L('X', 61_000));
    const ds = Dataset.fromListens(listens);
    const wide = computeRewards(ds, rewards.diversityBonus({ window: 100 })).get('u1')!;
    expect(wide[61]).toBe(0); // X is within the last 100 listens
    expect(wide[60]).toBe(1);
    const narrow = computeRewards(ds, rewards.diversityBonus({ window: 61 })).get('u1')!;
    expect(narrow[61]).toBe(0);
    const short = computeRewards(ds, rewards.diversityBonus({ window: 60 })).get('u1')!;
    expect(short[61]).toBe(1); // the first X is 61 listens back, outside a window of 60
    // With metadata, the similarity is averaged over the whole window too.
    const tracks: Track[] = listens.map((l) => ({
      trackId: l.trackId,
      title: l.trackId,
      artistId: l.trackId === 'X' ? 'x' : 'other',
      artist: '',
    }));
    const meta = computeRewards(ds, rewards.diversityBonus({ window: 100, tracks })).get('u1')!;
    expect(meta[61]).toBeCloseTo(1 - 1 / 61, 6);
  });

  it('combine sums weighted hooks', () => {
    const h = rewards.combine([
      [rewards.completion(), 1],
      [rewards.skipPenalty(), 0.5],
      [rewards.saveBonus(), 2],
    ]);
    expect(h(L('a', 0, { skipLevel: 1 }), ctx())).toBeCloseTo(0 - 0.5);
    expect(h(L('a', 0, { skipLevel: 0, saved: true }), ctx())).toBeCloseTo(1 + 2);
    expect((h as { hookName?: string }).hookName).toBe('combine(completion, skipPenalty, saveBonus)');
  });
});

describe('validation and errors', () => {
  it('rejects bad factory options with InvalidOptionError naming the option', () => {
    expect(() => rewards.skipPenalty({ levels: { 1: Number.NaN } })).toThrow(/`levels.1`/);
    expect(() => rewards.skipPenalty({ levels: { 4: -1 } as never })).toThrow(InvalidOptionError);
    expect(() => rewards.returnBonus({ days: 0 })).toThrow(/`days`/);
    expect(() => rewards.repeatBonus({ withinDays: -1 })).toThrow(/`withinDays`/);
    expect(() => rewards.diversityBonus({ window: 1.5 })).toThrow(/`window`/);
    expect(() => rewards.diversityBonus({ genreWeight: 2 })).toThrow(/`genreWeight`/);
    expect(() => rewards.saveBonus({ bonus: Number.POSITIVE_INFINITY })).toThrow(/`bonus`/);
    expect(() => rewards.combine([])).toThrow(/`parts`/);
    expect(() => rewards.combine([[rewards.completion(), Number.NaN]])).toThrow(/parts\[0\] weight/);
  });

  it('a NaN or throwing hook inside combine is named, with the listen, by computeRewards', () => {
    const nanHook = Object.assign(() => Number.NaN, { hookName: 'nanHook' });
    const listens = [L('a', 0), L('b', 1000)];
    const ds = Dataset.fromListens(listens);
    const combined = rewards.combine([
      [rewards.completion(), 1],
      [nanHook, 1],
    ]);
    let err: unknown;
    try {
      computeRewards(ds, combined);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RewardHookError);
    expect((err as RewardHookError).hook).toBe('nanHook');
    expect((err as Error).message).toMatch(/nanHook returned NaN/);
    expect((err as Error).message).toMatch(/"a"/);

    const thrower = function boom(): number {
      throw new Error('kaput');
    };
    expect(() => computeRewards(ds, rewards.combine([[thrower, 1]]))).toThrow(
      /Reward hook boom threw: kaput/,
    );
    expect(() => computeRewards(ds, () => Number.POSITIVE_INFINITY)).toThrow(RewardHookError);
  });

  it('computeRewards rejects a finite value that float32 storage would turn into Infinity', () => {
    const ds = Dataset.fromListens([L('a', 0), L('b', 1000)]);
    const huge = Object.assign(() => 1e39, { hookName: 'huge' });
    expect(() => computeRewards(ds, huge)).toThrow(RewardHookError);
    expect(() => computeRewards(ds, huge)).toThrow(
      /Reward hook huge returned 1e\+39, which overflows the float32/,
    );
    expect(() => computeRewards(ds, () => -1e39)).toThrow(/overflows the float32/);
    // The largest float32 itself is stored as is.
    const max = 3.4028234663852886e38;
    expect(computeRewards(ds, () => max).get('u1')![0]).toBe(max);
  });

  it('computeRewards runs a combined hook over a dataset', () => {
    const ds = Dataset.fromListens([
      L('a', 0, { skipLevel: 0 }),
      L('b', DAY, { skipLevel: 1 }),
      L('a', 2 * DAY),
    ]);
    const r = computeRewards(
      ds,
      rewards.combine([
        [rewards.completion(), 1],
        [rewards.repeatBonus(), 1],
      ]),
    );
    expect(Array.from(r.get('u1')!)).toEqual([2, 0, 1]);
  });
});

describe('hook edge cases', () => {
  it('completion rejects a skipCredit outside [0, 1], naming the level', () => {
    expect(() => rewards.completion({ skipCredit: { 1: 5 } })).toThrow(/`skipCredit.1`.*\[0, 1\].*got 5/);
    expect(() => rewards.completion({ skipCredit: { 2: -3 } })).toThrow(/`skipCredit.2`/);
    expect(rewards.completion({ skipCredit: { 1: 0.1 } })(L('a', 0, { skipLevel: 1 }), ctx())).toBe(0.1);
  });

  it('repeatBonus and returnBonus see listens appended to the same listens array', () => {
    const listens = [L('a', 0), L('b', DAY)];
    const repeat = rewards.repeatBonus({ withinDays: 30 });
    const back = rewards.returnBonus({ days: 7 });
    const at = (i: number): RewardContext => ({
      userId: 'u1',
      history: listens.slice(0, i),
      next: listens.slice(i + 1),
      index: i,
      listens,
    });
    expect(runHook(repeat, listens[0]!, at(0))).toBe(0);
    expect(runHook(back, listens[1]!, at(1))).toBe(0);
    listens.push(L('a', 2 * DAY)); // a replay two days later, in a new session
    expect(runHook(repeat, listens[0]!, at(0))).toBe(1);
    expect(runHook(back, listens[1]!, at(1))).toBe(1);
    expect(runHook(repeat, listens[2]!, at(2))).toBe(0);
  });

  it('diversityBonus counts the same track again as fully similar, even without an artist id', () => {
    const tracks: Track[] = [{ trackId: 'a', title: 'A', artist: '', artistId: '', genre: 'pop' }];
    const h = rewards.diversityBonus({ tracks });
    const listens = [L('a', 0), L('a', 1000), L('a', 2000)];
    const r = listens.map((l, i) =>
      h(l, { userId: 'u1', history: listens.slice(0, i), next: listens.slice(i + 1), index: i, listens }),
    );
    expect(r).toEqual([1, 0, 0]);
  });

  it('names a string where a number was expected', () => {
    expect(() => runHook(() => '1' as never, L('a', 0), ctx())).toThrow(/returned "1"/);
  });
});

// Tests of the long-term listener simulator and the progressive-belief early prediction.
import { describe, expect, it } from 'vitest';
import { Vocabulary } from '../src/data/dataset.js';
import { InvalidDataError, InvalidOptionError } from '../src/errors.js';
import { BaseRecommender } from '../src/models/recommender.js';
import { beliefErrorByDay, createBelief, progressiveBelief } from '../src/sim/progressive-belief.js';
import { createSimWorld, ListenerSimulator, type SimWorld } from '../src/sim/simulator.js';
import { createRng } from '../src/util/random.js';

/** A test policy scoring every track with a fixed function of the history. */
class ScoreFn extends BaseRecommender {
  readonly type = 'score-fn';
  constructor(
    vocabulary: Vocabulary,
    private readonly fn: (history: readonly string[]) => Float32Array,
  ) {
    super(vocabulary);
  }
  async scoreAll(histories: readonly (readonly string[])[]) {
    return histories.map((h) => this.fn(h));
  }
  async save() {}
  dispose() {}
}

const world = createSimWorld({ listeners: 60, tracks: 200, artists: 40, seed: 5 });
const vocab = Vocabulary.from(world.tracks.map((t) => t.trackId));

/** Oracle-ish: valuable tracks in the genres the listener already plays, with a fixed per-track jitter. */
function goodPolicy(w: SimWorld) {
  const byId = new Map(w.tracks.map((t) => [t.trackId, t]));
  return new ScoreFn(vocab, (h) => {
    const g = new Map<string, number>();
    for (const id of h) g.set(byId.get(id)!.genre, (g.get(byId.get(id)!.genre) ?? 0) + 1);
    const mx = Math.max(1, ...g.values());
    return Float32Array.from([
      0,
      ...w.tracks.map((t, i) => t.value * ((g.get(t.genre) ?? 0) / mx) + (0.2 * ((i * 7919) % 100)) / 100),
    ]);
  });
}

/** Always the same catchy clickbait tracks, history or not. */
function clickbaitPolicy(w: SimWorld) {
  const scores = Float32Array.from([0, ...w.tracks.map((t) => t.appeal)]);
  return new ScoreFn(vocab, () => scores);
}

describe('ListenerSimulator', () => {
  it('is deterministic per seed and differs across seeds', async () => {
    const sim = new ListenerSimulator(world);
    const a = await sim.simulate({ policy: goodPolicy(world), days: 20, seed: 1 });
    const b = await sim.simulate({ policy: goodPolicy(world), days: 20, seed: 1 });
    const c = await sim.simulate({ policy: goodPolicy(world), days: 20, seed: 2 });
    expect(a).toEqual(b);
    expect(a.perListener.map((p) => Array.from(p.trace))).not.toEqual(
      c.perListener.map((p) => Array.from(p.trace)),
    );
    expect(createSimWorld({ listeners: 60, tracks: 200, artists: 40, seed: 5 })).toEqual(world);
  });

  it('returns consistent summary figures', async () => {
    const r = await new ListenerSimulator(world).simulate({
      policy: goodPolicy(world),
      days: 14,
      seed: 3,
      recordListens: true,
    });
    expect(r.daily).toHaveLength(14);
    expect(r.daily[0]!.active).toBe(60); // everyone starts on day 1
    expect(r.perListener).toHaveLength(60);
    const mean = r.perListener.reduce((s, p) => s + p.activeDays, 0) / 60;
    expect(r.meanActiveDays).toBeCloseTo(mean);
    expect(r.day1CompletionRate).toBe(r.daily[0]!.completionRate);
    expect(r.skipRate).toBeGreaterThan(0);
    expect(r.skipRate).toBeLessThan(1);
    expect(r.listens!.length).toBeCloseTo(r.sessionLength * r.daily.reduce((s, d) => s + d.active, 0), 6);
    expect(r.retention).toBeGreaterThanOrEqual(0);
    expect(r.retention).toBeLessThanOrEqual(1);
  });

  it('a fitting, varied policy beats one that repeats the same clickbait tracks on mean active days', async () => {
    const sim = new ListenerSimulator(world);
    const good = await sim.simulate({ policy: goodPolicy(world), days: 40, seed: 4 });
    const bait = await sim.simulate({
      policy: { model: clickbaitPolicy(world), excludeHistory: false },
      days: 40,
      seed: 4,
    });
    expect(good.meanActiveDays).toBeGreaterThan(bait.meanActiveDays + 5);
    expect(good.retention).toBeGreaterThan(bait.retention);
    // Clickbait is catchy on day 1.
    expect(bait.day1CompletionRate).toBeGreaterThan(0.6);
  });

  it('an empty list is a visit, not an active day, and costs satisfaction', async () => {
    const sim = new ListenerSimulator(world);
    const good = await sim.simulate({ policy: goodPolicy(world), days: 20, seed: 6 });
    const nothing = await sim.simulate({
      policy: { model: goodPolicy(world), rerank: () => [] },
      days: 20,
      seed: 6,
    });
    expect(nothing.meanActiveDays).toBe(0);
    expect(nothing.retention).toBe(0);
    expect(nothing.perListener.every((p) => p.activeDays === 0)).toBe(true);
    expect(nothing.daily[0]!.visits).toBe(60);
    expect(nothing.daily[0]!.active).toBe(0);
    expect(nothing.daily[0]!.meanSessionLength).toBe(0);
    // Listeners keep coming back less as the disappointment adds up; the good policy keeps them.
    expect(nothing.daily.at(-1)!.satisfaction).toBeLessThan(good.daily.at(-1)!.satisfaction);
    expect(good.meanActiveDays).toBeGreaterThan(5);
    // Empty lists on odd days only: those days are visits, the even days active days.
    const half = await sim.simulate({
      policy: { model: goodPolicy(world), rerank: (recs, ctx) => (ctx.day % 2 === 0 ? recs : []) },
      days: 6,
      seed: 6,
    });
    half.daily.forEach((d) => {
      expect(d.active).toBe(d.day % 2 === 0 ? d.visits : 0);
    });
    expect(half.perListener.every((p) => p.trace.every((on, day) => !on || day % 2 === 0))).toBe(true);
    for (const d of [...good.daily, ...half.daily]) expect(d.active).toBeLessThanOrEqual(d.visits);
    // With every list non-empty, every visit is an active day.
    for (const d of good.daily) expect(d.active).toBe(d.visits);
  });

  it('rejects a world other than its own', async () => {
    const other = createSimWorld({ listeners: 10, tracks: 50, artists: 10, seed: 9 });
    const sim = new ListenerSimulator(world);
    await expect(sim.simulate({ policy: goodPolicy(world), days: 1, world: other } as never)).rejects.toThrow(
      /`world`/,
    );
    const r = await sim.simulate({ policy: goodPolicy(world), days: 1, world } as never);
    expect(r.daily).toHaveLength(1);
  });

  it('applies a policy re-ranker and rejects foreign track ids and bad options', async () => {
    const sim = new ListenerSimulator(world);
    let calls = 0;
    await sim.simulate({
      policy: {
        model: goodPolicy(world),
        rerank: (recs) => {
          calls++;
          return recs.slice().reverse();
        },
      },
      days: 2,
      seed: 1,
    });
    expect(calls).toBeGreaterThanOrEqual(60);
    const foreign = new ScoreFn(Vocabulary.from(['x1', 'x2', ...world.tracks.map((t) => t.trackId)]), () =>
      Float32Array.from({ length: 203 }, (_, i) => (i === 1 ? 10 : 0)),
    );
    await expect(sim.simulate({ policy: foreign, days: 1 })).rejects.toThrow(InvalidDataError);
    await expect(sim.simulate({ policy: goodPolicy(world), days: 0 })).rejects.toThrow(/`days`/);
    await expect(sim.simulate({ policy: {} as never })).rejects.toThrow(InvalidOptionError);
    await expect(sim.simulate({ policy: goodPolicy(world), listeners: 61 })).rejects.toThrow(/`listeners`/);
    // A misspelt policy key would have compared the plain model with itself; a re-ranker must return a list.
    const model = goodPolicy(world);
    await expect(
      sim.simulate({ policy: { model, rerankk: (r: unknown) => r } as never, days: 1 }),
    ).rejects.toThrow(/`policy.rerankk`/);
    await expect(
      sim.simulate({ policy: { model, rerank: () => undefined as never }, days: 1 }),
    ).rejects.toThrow(/`policy.rerank`/);
  });
});

/** Synthetic traces: each listener has a propensity; activity also decays over time. */
function traces(n: number, days: number, seed: number): Uint8Array[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => {
    const p = rng.next();
    const decay = 0.97 + 0.03 * rng.next();
    return Uint8Array.from({ length: days }, (_, d) => (rng.next() < p * decay ** d ? 1 : 0));
  });
}

describe('progressiveBelief', () => {
  const train = traces(300, 60, 1);
  const test = traces(100, 60, 2);

  it('with all 60 days observed, predicts exactly the observed total with std 0', () => {
    for (const t of test.slice(0, 10)) {
      const b = progressiveBelief(train, t, { days: 60 });
      expect(b.mean).toBeCloseTo(
        t.reduce((s, x) => s + x, 0),
        9,
      );
      expect(b.std).toBeCloseTo(0, 6);
    }
  });

  it('error decreases as more days are observed', () => {
    const rows = beliefErrorByDay(train, test, { days: 60 });
    expect(rows).toHaveLength(61);
    expect(rows[7]!.mae).toBeLessThan(rows[0]!.mae);
    expect(rows[14]!.mae).toBeLessThan(rows[7]!.mae);
    expect(rows[30]!.mae).toBeLessThan(rows[14]!.mae);
    expect(rows[60]!.mae).toBeCloseTo(0, 9);
    // Early conditioning beats the prior mean alone by a wide margin.
    expect(rows[14]!.mae).toBeLessThan(0.6 * rows[0]!.mae);
  });

  it('predictions stay in range and the belief narrows', () => {
    const model = createBelief(train);
    const b0 = model.predict([]);
    const b30 = model.predict(test[0]!.subarray(0, 30));
    expect(b30.std).toBeLessThan(b0.std);
    for (const t of test) {
      const b = model.predict(t.subarray(0, 10));
      const seen = t.subarray(0, 10).reduce((s, x) => s + x, 0);
      expect(b.mean).toBeGreaterThanOrEqual(seen);
      expect(b.mean).toBeLessThanOrEqual(seen + 50);
    }
  });

  it('rejects bad input', () => {
    expect(() => progressiveBelief([train[0]!], train[0]!)).toThrow(/`traces`/);
    expect(() => progressiveBelief(train, new Uint8Array(61))).toThrow(/`observed`/);
    expect(() => progressiveBelief([new Uint8Array(30), new Uint8Array(30)], new Uint8Array(3))).toThrow(
      InvalidDataError,
    );
    expect(() => createBelief(train, { shrinkage: 2 })).toThrow(/`shrinkage`/);
    // A NaN in a trace is named (it surfaced as "covariance is not positive definite"); so is a count of 5.
    expect(() =>
      createBelief(
        [
          [1, Number.NaN, 1],
          [1, 1, 1],
        ],
        { days: 3 },
      ),
    ).toThrow(/traces\[0\]\[1\]/);
    expect(() => createBelief(train).predict([5])).toThrow(/`observed\[0\]`/);
  });
});

// Evaluation: hand-computed metrics on fixed scorers, ties against the model, sampled protocols, tables.
import { describe, expect, it } from 'vitest';
import { Dataset, Vocabulary } from '../src/data/dataset.js';
import { bestAchievableHitRate, generateWorld, truthCases } from '../src/data/generate.js';
import { leaveOneOut } from '../src/data/splits.js';
import type { EvalCase } from '../src/data/types.js';
import { InvalidDataError, InvalidOptionError } from '../src/errors.js';
import { compare, formatComparison } from '../src/eval/compare.js';
import { expectedAtK } from '../src/eval/expectation.js';
import { evaluateExpected } from '../src/eval/expected.js';
import { type EvaluateOptions, evaluate } from '../src/eval/metrics.js';
import { formatTable } from '../src/eval/table.js';
import { ItemTransition, Popularity } from '../src/models/baselines.js';
import { BaseRecommender, scoreBatchSize } from '../src/models/recommender.js';
import { createRng } from '../src/util/random.js';

/** A test double: scores come from a function of the history (indices by track id). */
class FixedScorer extends BaseRecommender {
  readonly type: string;
  calls = 0;
  constructor(
    ids: string[],
    private readonly fn: (history: readonly string[], vocab: Vocabulary) => ArrayLike<number>,
    type = 'fixed',
  ) {
    super(Vocabulary.from(ids));
    this.type = type;
  }
  async scoreAll(histories: readonly (readonly string[])[]): Promise<Float32Array[]> {
    this.calls++;
    return histories.map((h) => {
      const s = new Float32Array(this.vocabulary.size + 1);
      s.set(this.fn(h, this.vocabulary), 1);
      return s;
    });
  }
  async save(): Promise<void> {}
  dispose(): void {}
}

const ids = (n: number) => Array.from({ length: n }, (_, i) => `t${i}`);

/** a > b > c > d > e whatever the history. */
const ranked = () => new FixedScorer(['a', 'b', 'c', 'd', 'e'], () => [5, 4, 3, 2, 1]);

const CASES: EvalCase[] = [
  { userId: 'u1', history: ['a'], target: 'c' }, // rank 2 (a excluded, b above)
  { userId: 'u2', history: [], target: 'a' }, // rank 1
  { userId: 'u3', history: ['b'], target: 'e' }, // rank 4 (a, c, d above)
  { userId: 'u4', history: ['d'], target: 'zzz' }, // unknown target: a miss
];

describe('evaluate: full ranking, hand-computed', () => {
  it('HR, NDCG, MRR, coverage and novelty match hand-computed values', async () => {
    const itemCounts = { a: 7, b: 1, c: 1, d: 0, e: 1 }; // 10 listens, 5 tracks
    const r = await evaluate(ranked(), CASES, { k: [1, 3], itemCounts });
    expect(r.protocol).toBe('full');
    expect(r.users).toBe(4);
    expect(r.skipped).toBe(0);
    expect(r.unknownTargets).toBe(1);
    expect(r.k).toEqual([1, 3]);
    expect(r.hr[1]).toBeCloseTo(1 / 4, 12);
    expect(r.hr[3]).toBeCloseTo(2 / 4, 12);
    expect(r.ndcg[1]).toBeCloseTo(1 / 4, 12);
    expect(r.ndcg[3]).toBeCloseTo((1 + 1 / Math.log2(3)) / 4, 12);
    expect(r.mrr).toBeCloseTo((1 / 2 + 1 + 1 / 4 + 0) / 4, 12);
    // top-1 lists: b, a, a, a; top-3 lists: bcd, abc, acd, abc.
    expect(r.coverage[1]).toBeCloseTo(2 / 5, 12);
    expect(r.coverage[3]).toBeCloseTo(4 / 5, 12);
    const info = (c: number) => -Math.log2((c + 1) / 15);
    expect(r.novelty[1]).toBeCloseTo((info(1) + 3 * info(7)) / 4, 12);
    const top3 = [1, 1, 0, 7, 1, 1, 7, 1, 0, 7, 1, 1]; // counts of b c d, a b c, a c d, a b c
    expect(r.novelty[3]).toBeCloseTo(top3.reduce((s, c) => s + info(c), 0) / 12, 12);
  });

  it('excludeHistory: false ranks history items too', async () => {
    const r = await evaluate(ranked(), [CASES[0]!], { k: [1, 3], excludeHistory: false });
    expect(r.mrr).toBeCloseTo(1 / 3, 12); // a and b above c
  });

  it('excludes a replayed target with the rest of the history: a miss, counted, and rankable only with excludeHistory false', async () => {
    // Unmasking the target alone would leak it: a scorer that ranks its history first would hit every replay.
    const historyFirst = new FixedScorer(['a', 'b', 'c', 'd'], () => [1, 0.8, 1, 0]);
    const cases = [
      { userId: 'u', history: ['a', 'c'], target: 'c' },
      { userId: 'v', history: ['a', 'c'], target: 'b' },
    ];
    const r = await evaluate(historyFirst, cases, { k: [1] });
    expect(r.hr[1]).toBe(0.5); // v's new track b beats d; u's replay is a miss
    expect(r.historyTargets).toBe(1);
    const all = await evaluate(historyFirst, cases, { k: [1, 2, 3], excludeHistory: false });
    expect(all.historyTargets).toBe(0);
    expect(all.hr[1]).toBe(0); // c ties a (ties count against)
    expect(all.hr[2]).toBe(0.5);
    expect(all.hr[3]).toBe(1);
  });

  it('a constant scorer earns HR = NDCG = 0 at every k: ties count against the model', async () => {
    const n = 20;
    const constant = new FixedScorer(ids(n), () => new Float32Array(n));
    const cases = Array.from({ length: 10 }, (_, i) => ({
      userId: `u${i}`,
      history: [`t${i}`, `t${i + 1}`],
      target: `t${i + 5}`,
    }));
    const r = await evaluate(constant, cases, { k: [1, 5, 10] });
    for (const k of [1, 5, 10]) {
      expect(r.hr[k]).toBe(0);
      expect(r.ndcg[k]).toBe(0);
    }
    expect(r.mrr).toBeCloseTo(1 / (n - 2), 12); // ranked last among the 18 non-history tracks
    // NaN scores are treated as -Infinity, so they tie too.
    const nan = new FixedScorer(ids(n), () => new Float32Array(n).fill(Number.NaN));
    expect((await evaluate(nan, cases, { k: [10] })).hr[10]).toBe(0);
  });

  it('an oracle scorer earns 1 everywhere', async () => {
    const n = 50;
    const cases = Array.from({ length: 30 }, (_, i) => ({
      userId: `u${i}`,
      history: [`t${i}`],
      target: `t${(i * 7 + 3) % n}`,
    }));
    const byHistory = new Map(cases.map((c) => [c.history[0]!, c.target]));
    const oracle = new FixedScorer(ids(n), (h, v) => {
      const s = new Float32Array(n);
      s[v.index(byHistory.get(h[0]!)!)! - 1] = 1;
      return s;
    });
    const r = await evaluate(oracle, cases);
    for (const k of [5, 10, 20]) {
      expect(r.hr[k]).toBe(1);
      expect(r.ndcg[k]).toBe(1);
    }
    expect(r.mrr).toBe(1);
  });

  it('does not depend on batchSize and calls scoreAll once per batch', async () => {
    const model = ranked();
    const a = await evaluate(model, CASES, { batchSize: 1, k: [1, 3] });
    expect(model.calls).toBe(4);
    const b = await evaluate(model, CASES, { batchSize: 3, k: [1, 3] });
    expect(model.calls).toBe(6);
    expect(b).toEqual(a);
  });

  it('takes novelty popularity from a training Dataset or from the cases', async () => {
    const listens = ['a', 'a', 'a', 'a', 'a', 'a', 'a', 'b', 'c', 'e'].map((trackId, i) => ({
      userId: 'x',
      trackId,
      timestamp: i,
    }));
    const train = Dataset.fromListens(listens);
    const fromTrain = await evaluate(ranked(), CASES, { k: [1, 3], train });
    const fromCounts = await evaluate(ranked(), CASES, { k: [1, 3], itemCounts: { a: 7, b: 1, c: 1, e: 1 } });
    expect(fromTrain.novelty).toEqual(fromCounts.novelty);
    // Both at once could disagree: refused rather than one silently winning.
    await expect(evaluate(ranked(), CASES, { k: [1], train, itemCounts: { a: 7 } })).rejects.toMatchObject({
      option: 'itemCounts',
    });
    await expect(evaluate(ranked(), [{ history: ['a'], target: 'b' } as never])).rejects.toMatchObject({
      option: 'cases[0].userId',
    });
    // From the histories: a, b and d once each (3 listens).
    const fromCases = await evaluate(ranked(), CASES, { k: [1] });
    expect(fromCases.novelty[1]).toBeCloseTo(-Math.log2(2 / 8), 12); // every top-1 item was played once
  });
});

describe('evaluate: batches of score rows', () => {
  it('asks a large catalogue for fewer rows at a time, with the same metrics and recommendations', async () => {
    expect(scoreBatchSize(2_000)).toBe(256);
    expect(scoreBatchSize(660_000)).toBe(50);
    expect(scoreBatchSize(912_510)).toBe(36);
    expect(scoreBatchSize(1e9)).toBe(1);
    const n = 600_000;
    // Each track's score falls with its index, except the last track's successor (6 on), which comes first.
    const model = new FixedScorer(ids(n), (h) => {
      const s = new Float32Array(n); // s[i]: the score of track t{i}
      for (let i = 0; i < n; i++) s[i] = -i;
      const last = h.length > 0 ? Number(h[h.length - 1]!.slice(1)) : 0;
      s[(last + 6) % n] = 1;
      return s;
    });
    const cases: EvalCase[] = Array.from({ length: 120 }, (_, u) => ({
      userId: `u${u}`,
      history: [`t${u * 3}`],
      target: `t${u % 2 === 0 ? u * 3 + 6 : u}`, // every other target is the successor, ranked first
    }));
    const original = model.scoreAll.bind(model);
    const batches: number[] = [];
    model.scoreAll = async (histories) => {
      batches.push(histories.length);
      return original(histories);
    };
    const auto = await evaluate(model, cases, { k: [10] });
    expect(batches).toEqual([55, 55, 10]); // scoreBatchSize(600_000) rows at a time
    const one = await evaluate(model, cases, { k: [10], batchSize: 256 });
    expect(batches.slice(3)).toEqual([120]);
    expect(auto).toEqual(one);
    expect(auto.hr[10]).toBeGreaterThan(0.5);
    // recommendBatch asks for as many rows at a time, and answers each history as recommend does.
    batches.length = 0;
    const histories = cases.map((c) => c.history);
    const recs = await model.recommendBatch(histories, { k: 3 });
    expect(batches).toEqual([55, 55, 10]);
    for (const i of [0, 54, 55, 119]) expect(recs[i]).toEqual(await model.recommend(histories[i]!, { k: 3 }));
    expect(recs[1]![0]!.trackId).toBe('t9'); // the successor of t3
  });
});

describe('recommendBatch: a model that streams its rows', () => {
  it('refuses a visitRows that leaves a history out, naming it', async () => {
    class Skipping extends FixedScorer {
      protected override async visitRows(
        histories: readonly (readonly string[])[],
        visit: (row: Float32Array, h: number) => void,
      ): Promise<void> {
        const rows = await this.scoreAll(histories);
        rows.forEach((row, h) => {
          if (h !== 1) visit(row, h);
        });
      }
    }
    const model = new Skipping(['a', 'b', 'c'], () => [3, 2, 1]);
    await expect(model.recommendBatch([['a'], ['b'], []], { k: 1 })).rejects.toThrow(
      /visitRows gave no score row for history 1 of 3/,
    );
  });
});

describe('evaluate: sampled protocols', () => {
  const n = 200;
  const rng = createRng(3);
  const noisy = Float32Array.from({ length: n }, () => rng.next());
  const model = () => new FixedScorer(ids(n), () => noisy);
  const cases = Array.from({ length: 60 }, (_, i) => ({
    userId: `u${i}`,
    history: [`t${(i * 3) % n}`],
    target: `t${(i * 11 + 1) % n}`,
  }));

  it('is labelled, seeded, and inflated relative to full ranking', async () => {
    const full = await evaluate(model(), cases, { k: [10] });
    const sampled = await evaluate(model(), cases, { k: [10], candidates: { sample: 20, seed: 1 } });
    expect(sampled.protocol).toBe('sampled (n=20, uniform)');
    // As many negatives as other tracks is every track ranked, and labelled so, with the same numbers.
    const everything = await evaluate(model(), cases, { k: [10], candidates: { sample: n - 1, seed: 1 } });
    expect(everything.protocol).toBe('full');
    expect(everything.hr).toEqual(full.hr);
    expect(sampled.hr[10]!).toBeGreaterThan(2 * full.hr[10]!);
    expect(sampled.mrr).toBeGreaterThan(full.mrr);
    // Coverage and novelty describe the real top-k lists, so they do not change with the protocol.
    expect(sampled.coverage).toEqual(full.coverage);
    expect(await evaluate(model(), cases, { k: [10], candidates: { sample: 20, seed: 1 } })).toEqual(sampled);
    const other = await evaluate(model(), cases, { k: [10], candidates: { sample: 20, seed: 2 } });
    expect(other.mrr).not.toBe(sampled.mrr);
  });

  it('with more negatives than available items it equals full ranking', async () => {
    const full = await evaluate(model(), cases, { k: [10] });
    const all = await evaluate(model(), cases, { k: [10], candidates: { sample: 10_000 } });
    expect(all.hr).toEqual(full.hr);
    expect(all.mrr).toBeCloseTo(full.mrr, 12);
  });

  it('never samples the target or (by default) history items as negatives', async () => {
    // The history track scores highest, the target second: any sampled history item would outrank it.
    const m = 60;
    const scorer = new FixedScorer(ids(m), () =>
      Float32Array.from({ length: m }, (_, i) => (i === 0 ? 100 : i === 1 ? 1 : 0)),
    );
    const c = [{ userId: 'u', history: ['t0'], target: 't1' }];
    for (const sample of [5, 40, 58, 100]) {
      const r = await evaluate(scorer, c, { k: [1], candidates: { sample, seed: sample } });
      expect(r.mrr).toBe(1);
    }
    const withHistory = await evaluate(scorer, c, {
      k: [1],
      candidates: { sample: 100 },
      excludeHistory: false,
    });
    expect(withHistory.mrr).toBe(1 / 2);
  });

  it('ranks against given negatives, skipping users without any', async () => {
    const negatives = { u1: ['b', 'd', 'unknown', 'c'], u3: ['a', 'b'] };
    const r = await evaluate(ranked(), CASES, { k: [1, 3], candidates: { negatives } });
    expect(r.protocol).toBe('sampled (given negatives)');
    expect(r.users).toBe(2);
    expect(r.skipped).toBe(2);
    // u1: c vs b, d, and a negative the model cannot score, which counts against it -> rank 3;
    // u3: e vs a (b is in u3's history, so out of the ranking with it) -> rank 2.
    expect(r.unknownNegatives).toBe(1);
    expect(r.mrr).toBeCloseTo((1 / 3 + 1 / 2) / 2, 12);
    const keep = await evaluate(ranked(), CASES, {
      k: [1, 3],
      candidates: { negatives },
      excludeHistory: false,
    });
    expect(keep.mrr).toBeCloseTo((1 / 3 + 1 / 3) / 2, 12); // with the history ranked, b counts again
    const viaMap = await evaluate(ranked(), CASES, {
      k: [1, 3],
      candidates: { negatives: new Map(Object.entries(negatives)) },
    });
    expect(viaMap).toEqual(r);
  });
});

describe('evaluate: validation before any work', () => {
  const bad: [EvaluateOptions, string][] = [
    [{ k: [] }, 'k'],
    [{ k: [0] }, 'k'],
    [{ k: [1.5] }, 'k'],
    [{ k: 'ten' as unknown as number[] }, 'k'],
    [{ candidates: 'some' as unknown as 'all' }, 'candidates'],
    [{ candidates: { sample: 0 } }, 'candidates.sample'],
    [{ candidates: { sample: 2.5 } }, 'candidates.sample'],
    [{ candidates: { sample: 10, seed: Number.NaN } }, 'candidates.seed'],
    [{ candidates: { negatives: { u1: 'a' as unknown as string[] } } }, 'candidates.negatives["u1"]'],
    [{ candidates: { negatives: { u1: [] } } }, 'candidates.negatives["u1"]'],
    [{ candidates: { sample: 2, negatives: { u1: ['a'] } } as unknown as 'all' }, 'candidates'],
    [{ candidates: { negatives: { nobody: ['a'] } } }, 'candidates.negatives'],
    [{ candidates: { sample: 2, sede: 5 } as unknown as 'all' }, 'candidates.sede'],
    [{ candidates: { negatives: { u1: ['a'] }, seed: 1 } as unknown as 'all' }, 'candidates.seed'],
    [{ batchSize: 0 }, 'batchSize'],
    [{ excludeHistory: 'yes' as unknown as boolean }, 'excludeHistory'],
  ];
  for (const [opts, option] of bad) {
    it(`rejects ${JSON.stringify(opts)} naming ${option}`, async () => {
      const model = ranked();
      const err = await evaluate(model, CASES, opts).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidOptionError);
      expect((err as InvalidOptionError).option).toBe(option);
      expect(model.calls).toBe(0);
    });
  }

  it('refuses negatives that all drop out (the target, or the excluded history) instead of ranking the target first', async () => {
    const cases: EvalCase[] = [{ userId: 'u1', history: ['a', 'b'], target: 'd' }];
    const err = await evaluate(ranked(), cases, { candidates: { negatives: { u1: ['a', 'b', 'd'] } } }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect((err as InvalidOptionError).option).toBe('candidates.negatives["u1"]');
    // With the history in the ranking, 'a' and 'b' are real negatives, and both outrank 'd'.
    const r = await evaluate(ranked(), cases, {
      candidates: { negatives: { u1: ['a', 'b', 'd'] } },
      excludeHistory: false,
      k: [1],
    });
    expect(r.mrr).toBeCloseTo(1 / 3);
  });

  it('refuses score rows of the wrong width from a custom model, naming scoreAll', async () => {
    class Short extends FixedScorer {
      override async scoreAll(histories: readonly (readonly string[])[]): Promise<Float32Array[]> {
        return histories.map(() => new Float32Array(this.vocabulary.size)); // forgot the padding column
      }
    }
    const short = new Short(['a', 'b', 'c'], () => [0, 0, 0]);
    const err = await evaluate(short, [{ userId: 'u', history: [], target: 'c' }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect((err as Error).message).toMatch(/scoreAll returns one row of vocabulary.size \+ 1 = 4 scores/);
    await expect(short.recommend([], { k: 1 })).rejects.toThrow(/a row of 3 scores/);
    await expect(short.score([], ['a'])).rejects.toThrow(InvalidOptionError);
  });

  it('rejects malformed cases naming the case', async () => {
    const model = ranked();
    await expect(evaluate(model, [])).rejects.toThrow(/`cases`/);
    const err = await evaluate(model, [CASES[0]!, { userId: 'x', history: [] } as unknown as EvalCase]).catch(
      (e) => e,
    );
    expect((err as InvalidOptionError).option).toBe('cases[1].target');
    const err2 = await evaluate(model, [
      { userId: 'x', history: 'a', target: 'b' } as unknown as EvalCase,
    ]).catch((e) => e);
    expect((err2 as InvalidOptionError).option).toBe('cases[0].history');
    expect(model.calls).toBe(0);
  });
});

describe('compare and tables', () => {
  it('evaluates models in the given order and formats one line each', async () => {
    const constant = new FixedScorer(['a', 'b', 'c', 'd', 'e'], () => [0, 0, 0, 0, 0], 'constant');
    const rows = await compare({ ranked: ranked(), constant }, CASES, { k: [1, 10] });
    expect(rows.map((r) => r.name)).toEqual(['ranked', 'constant']);
    expect(rows[0]!.result).toEqual(await evaluate(ranked(), CASES, { k: [1, 10] }));
    const text = formatComparison(rows);
    const lines = text.split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(
      /^model\s+HR@10\s+NDCG@10\s+MRR\s+Cov@10\s+Nov@10\s+cases\s+replays out\s+protocol$/,
    );
    expect(lines[2]).toMatch(/^ranked\s+0\.7500\s/);
    expect(lines[3]).toMatch(/^constant\s/);
    expect(lines[3]).toMatch(/full$/);
    expect(formatComparison(rows, { k: 1 })).toContain('HR@1 ');
    expect(() => formatComparison(rows, { k: 5 })).toThrow(InvalidOptionError);
  });

  it('names array entries by type, numbering repeats, and validates before evaluating', async () => {
    const a = ranked();
    const rows = await compare([a, ranked()], CASES, { k: [1] });
    expect(rows.map((r) => r.name)).toEqual(['fixed', 'fixed#2']);
    const b = ranked();
    await expect(compare([b], CASES, { k: [0] })).rejects.toThrow(InvalidOptionError);
    await expect(compare([], CASES)).rejects.toThrow(/`models`/);
    expect(b.calls).toBe(0);
    // A Map works like a record; a lone model is named as the mistake it is.
    const viaMap = await compare(new Map([['mine', ranked()]]), CASES, { k: [1] });
    expect(viaMap.map((r) => r.name)).toEqual(['mine']);
    const lone = await compare(ranked() as never, CASES).catch((e: unknown) => e);
    expect((lone as Error).message).toMatch(/one model: \[model\].*a lone fixed model/);
  });

  it('formatTable aligns columns: text left, numbers right', () => {
    const text = formatTable(
      [{ key: 'model' }, { key: 'hr', header: 'HR@10' }, { key: 'n', header: 'users' }],
      [
        { model: 'popularity', hr: 0.05, n: 500 },
        { model: 'sasrec', hr: Number.NaN, n: 7 },
      ],
    );
    expect(text).toBe(
      [
        'model        HR@10  users',
        '----------  ------  -----',
        'popularity  0.0500    500',
        'sasrec           -      7',
      ].join('\n'),
    );
  });
});

describe('evaluateExpected: accuracy in expectation over a generated world', () => {
  const world = generateWorld({ seed: 5, users: 60, artists: 80 });
  const cases = truthCases(world, 'test');
  const { train } = leaveOneOut(Dataset.fromListens(world.listens));

  it('stays under the ceiling on both protocols, and a better model scores higher', async () => {
    const markov = await ItemTransition.fit(train);
    const pop = await Popularity.fit(train);
    for (const excludeHistory of [true, false]) {
      const ceiling = bestAchievableHitRate(world.truth, cases, 10, { excludeHistory });
      const m = await evaluateExpected(markov, world.truth, cases, { k: 10, excludeHistory });
      const p = await evaluateExpected(pop, world.truth, cases, { k: 10, excludeHistory });
      expect(m.hr).toBeGreaterThan(0);
      expect(m.hr).toBeLessThanOrEqual(ceiling + 1e-9);
      expect(p.hr).toBeLessThan(m.hr); // this world is strongly first-order
      expect(m.ndcg).toBeLessThanOrEqual(m.hr); // each hit is worth at most its probability
      expect(m.ndcg).toBeGreaterThan(m.hr / Math.log2(11));
    }
    // The default protocol is evaluate()'s: history excluded.
    expect(await evaluateExpected(markov, world.truth, cases)).toEqual(
      await evaluateExpected(markov, world.truth, cases, { k: 10, excludeHistory: true }),
    );
  });

  it('counts ties against the model: a constant scorer earns nothing', async () => {
    const ids = world.tracks.map((t) => t.trackId);
    const flat = new FixedScorer(ids, () => new Float32Array(ids.length));
    expect(await evaluateExpected(flat, world.truth, cases, { excludeHistory: false })).toEqual({
      hr: 0,
      ndcg: 0,
    });
  });

  it('names the bad option, and rejects a case that is not a full listening prefix', async () => {
    const pop = await Popularity.fit(train);
    for (const [options, name] of [
      [{ k: 0 }, 'k'],
      [{ k: 2.5 }, 'k'],
      [{ excludeHistory: 'yes' as never }, 'excludeHistory'],
    ] as const) {
      const err = await evaluateExpected(pop, world.truth, cases, options).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidOptionError);
      expect((err as InvalidOptionError).option).toBe(name);
    }
    await expect(evaluateExpected(pop, world.truth, [])).rejects.toThrow(InvalidOptionError);
    const cut = { ...cases[0]!, history: cases[0]!.history.slice(1) };
    await expect(evaluateExpected(pop, world.truth, [cut])).rejects.toThrow(InvalidDataError);
  });
});

describe('expectedAtK', () => {
  it('ranks a NaN score last, as evaluate does', () => {
    // Columns 1..4 score NaN, 3, 2, 1: the truth's tracks 2 and 3 rank first and second.
    const scores = Float32Array.of(0, Number.NaN, 3, 2, 1);
    const truth: [number, number][] = [
      [2, 0.5],
      [3, 0.5],
    ];
    expect(expectedAtK(scores, truth, 2, new Set(), 1)).toEqual({ hr: 1, ndcg: 0.5 + 0.5 / Math.log2(3) });
    // The NaN track itself is a miss even at k = 4 (rank 4 of 4, tied with nothing: it sits below all).
    expect(expectedAtK(scores, [[1, 1]], 3, new Set(), 1).hr).toBe(0);
  });
});

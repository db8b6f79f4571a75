// Tests of RewardModel (learns completion, no tensor leaks, JS path matches TF) and multi-objective rerank.
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../src/backend.js';
import { Dataset } from '../src/data/dataset.js';
import type { Track } from '../src/data/types.js';
import { InvalidOptionError } from '../src/errors.js';
import type { Recommendation } from '../src/models/recommender.js';
import { rewards } from '../src/rewards/hooks.js';
import { rerank, type Scorer, scorers } from '../src/rewards/rerank.js';
import { RewardModel } from '../src/rewards/reward-model.js';
import { createSimWorld } from '../src/sim/simulator.js';

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});

function auc(scores: number[], labels: number[]): number {
  const pos = scores.filter((_, i) => labels[i] === 1);
  const neg = scores.filter((_, i) => labels[i] === 0);
  let wins = 0;
  for (const p of pos) for (const n of neg) wins += p > n ? 1 : p === n ? 0.5 : 0;
  return wins / (pos.length * neg.length);
}

describe('RewardModel', () => {
  const world = createSimWorld({ listeners: 80, tracks: 120, artists: 30, historyDays: 10, seed: 2 });
  const listens = world.listens;
  const cut = Math.floor(listens.length * 0.8);
  const sorted = [...listens].sort((a, b) => a.timestamp - b.timestamp);
  const cutTime = sorted[cut]!.timestamp;
  const train = Dataset.fromListens(listens.filter((l) => l.timestamp < cutTime));

  it('learns completion better than a constant on held-out listens, without leaking tensors', async () => {
    const before = tf.memory().numTensors;
    const model = await RewardModel.fit(train, { target: 'completion', epochs: 4, seed: 1 });
    const byUser = new Map<string, string[]>();
    const preds: number[] = [];
    const labels: number[] = [];
    let sqModel = 0;
    let sqConst = 0;
    for (const l of sorted) {
      const h = byUser.get(l.userId) ?? [];
      if (l.timestamp >= cutTime && train.vocabulary.has(l.trackId)) {
        const [p] = await model.predict(h, [l.trackId]);
        const y = l.skipLevel === 0 ? 1 : 0;
        preds.push(p!);
        labels.push(y);
        const c = Math.min(1, l.msPlayed! / l.durationMs!);
        sqModel += (p! - c) ** 2;
        sqConst += (model.prior - c) ** 2;
      }
      h.push(l.trackId);
      byUser.set(l.userId, h);
    }
    expect(preds.length).toBeGreaterThan(200);
    expect(auc(preds, labels)).toBeGreaterThan(0.6);
    expect(sqModel).toBeLessThan(sqConst);
    // The plain-JS predict matches the TF forward pass.
    const h = train.history(train.users[0]!);
    const ids = train.vocabulary.ids.slice(1, 6);
    const js = await model.predict(h, ids);
    const viaTf = await model.predictWithTf(h, ids);
    for (const [i, v] of js.entries()) expect(v).toBeCloseTo(viaTf[i]!, 4);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
    await expect(model.predict(h, ids)).rejects.toThrow(/disposed/);
  });

  it('fits a reward hook by regression, and skip probabilities; no leaks', async () => {
    const before = tf.memory().numTensors;
    const hook = rewards.combine([
      [rewards.saveBonus(), 2],
      [rewards.skipPenalty(), 1],
    ]);
    const m = await RewardModel.fit(train, { target: hook, epochs: 2, dim: 8, seed: 3 });
    const p = await m.predict(train.history(train.users[0]!), ['s0', 'nope']);
    expect(p[0]).toBeGreaterThan(-1.5);
    expect(p[0]).toBeLessThan(2.5);
    expect(p[1]).toBeCloseTo(m.prior);
    m.dispose();
    const s = await RewardModel.fit(train, { target: 'skip', epochs: 1, dim: 4, seed: 3 });
    const [q] = await s.predict([], ['s1']);
    expect(q).toBeGreaterThan(0);
    expect(q).toBeLessThan(1);
    s.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('frees its variables and optimizer and rethrows when training fails', async () => {
    const before = tf.memory().numTensors;
    const stop = new Error('stop');
    await expect(
      RewardModel.fit(train, {
        epochs: 3,
        dim: 4,
        seed: 1,
        onEpoch: () => {
          throw stop;
        },
      }),
    ).rejects.toBe(stop);
    expect(tf.memory().numTensors).toBe(before);
    // A hook that throws while labels are computed, before any tensor exists: still nothing left.
    const bad = () => {
      throw new Error('bad label');
    };
    await expect(RewardModel.fit(train, { target: bad, epochs: 1 })).rejects.toThrow(/bad label/);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('validates options before training', async () => {
    await expect(RewardModel.fit(train, { epochs: 0 })).rejects.toThrow(/`epochs`/);
    await expect(RewardModel.fit(train, { target: 'clicks' as never })).rejects.toThrow(/`target`/);
    await expect(RewardModel.fit(train, { learningRate: -1 })).rejects.toThrow(InvalidOptionError);
  });
});

describe('rerank', () => {
  const tracks: Track[] = Array.from({ length: 20 }, (_, i) => ({
    trackId: `t${i}`,
    title: `T${i}`,
    artistId: `a${i % 4}`,
    artist: `A${i % 4}`,
    genre: `g${i % 2}`,
  }));
  // Relevance favours artist a0: t0, t4, t8, ... come first.
  const recs: Recommendation[] = tracks
    .map((t, i) => ({ trackId: t.trackId, score: (i % 4 === 0 ? 10 : 0) + (20 - i) / 20 }))
    .sort((a, b) => b.score - a.score);
  const sameArtist = (list: { trackId: string }[]) => {
    const artists = list.map((r) => tracks.find((t) => t.trackId === r.trackId)!.artistId);
    return artists.length - new Set(artists).size;
  };

  it('ranks a track the model could not score (NaN, -Infinity) last, under both normalisations', async () => {
    const objectives: [Scorer, number][] = [[scorers.relevance(), 1]];
    for (const normalize of ['minmax', 'zscore'] as const)
      for (const bad of [Number.NaN, Number.NEGATIVE_INFINITY]) {
        const one = await rerank(
          [
            { trackId: 'x', score: bad },
            { trackId: 'b', score: 1 },
          ],
          { objectives, normalize },
        );
        expect(one.map((r) => r.trackId)).toEqual(['b', 'x']);
        const many = await rerank(
          [
            { trackId: 'x', score: bad },
            { trackId: 'b', score: 1 },
            { trackId: 'c', score: 0 },
          ],
          { objectives, normalize },
        );
        expect(many.map((r) => r.trackId)).toEqual(['b', 'c', 'x']);
      }
    // An empty candidate list (every track excluded, say) gives an empty list, with or without k.
    expect(await rerank([], { objectives })).toEqual([]);
    await expect(
      rerank([{ trackId: 'a', score: 1 }], { objectives: [[() => ['high'] as never, 1]] }),
    ).rejects.toThrow(/objectives\[0\]/);
  });

  it('relevance alone keeps the order; a high diversity weight spreads artists', async () => {
    const plain = await rerank(recs, { objectives: [[scorers.relevance(), 1]], k: 5 });
    expect(plain.map((r) => r.trackId)).toEqual(recs.slice(0, 5).map((r) => r.trackId));
    const low = await rerank(recs, {
      objectives: [
        [scorers.relevance(), 1],
        [scorers.diversity({ tracks }), 0.01],
      ],
      k: 5,
    });
    const high = await rerank(recs, {
      objectives: [
        [scorers.relevance(), 1],
        [scorers.diversity({ tracks }), 5],
      ],
      k: 5,
    });
    expect(sameArtist(high)).toBeLessThan(sameArtist(low));
    expect(sameArtist(high)).toBe(1); // 4 artists, 5 picks
    expect(high[0]!.trackId).toBe('t0');
    expect(high[0]!.objectives).toHaveLength(2);
    expect(high[0]!.relevance).toBe(recs[0]!.score);
  });

  it('reward and freshness objectives follow their weights', async () => {
    const predictor = {
      predict: (_h: readonly string[], ids: readonly string[]) => ids.map((id) => (id === 't19' ? 1 : 0)),
    };
    const top = await rerank(recs, {
      objectives: [
        [scorers.relevance(), 0.1],
        [scorers.reward(predictor), 1],
      ],
      k: 1,
    });
    expect(top[0]!.trackId).toBe('t19');
    const fresh = await rerank(recs, {
      history: ['t0', 't4'],
      objectives: [
        [scorers.relevance(), 0.1],
        [scorers.freshness(), 1],
      ],
      k: 3,
    });
    expect(fresh.map((r) => r.trackId)).not.toContain('t0');
    expect(fresh.map((r) => r.trackId)).not.toContain('t4');
  });

  it('validates its options', async () => {
    await expect(rerank(recs, { objectives: [] })).rejects.toThrow(/`objectives`/);
    await expect(rerank(recs, { objectives: [[scorers.relevance(), Number.NaN]] })).rejects.toThrow(/weight/);
    await expect(rerank(recs, { objectives: [[() => [1], 1]] })).rejects.toThrow(/one number per candidate/);
    await expect(rerank(recs, { objectives: [[scorers.relevance(), 1]], k: 0 })).rejects.toThrow(/`k`/);
    expect(() => scorers.diversity({ tracks: undefined as never })).toThrow(/`tracks`/);
  });
});

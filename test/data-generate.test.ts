// Tests of the generated music world (determinism, realism, ground truth) and the shipped data set's recipe.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Dataset } from '../src/data/dataset.js';
import {
  bestAchievableHitRate,
  type GenerateOptions,
  generateWorld,
  generatorAwareHitRate,
  tracksOnlyHitRate,
  truthCases,
} from '../src/data/generate.js';
import { writeShippedData } from '../src/data/make-data.js';
import { InvalidDataError, InvalidOptionError } from '../src/errors.js';
import { expectedFromScores } from '../src/eval/expected.js';

const SMALL: GenerateOptions = { seed: 7, users: 50, artists: 60, genres: 6, tracksPerArtist: 8 };
const world = generateWorld({ ...SMALL, truthFor: 'all', truthMass: 1 });

describe('generateWorld', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    const a = generateWorld({ ...SMALL, users: 20 });
    const b = generateWorld({ ...SMALL, users: 20 });
    const c = generateWorld({ ...SMALL, users: 20, seed: 8 });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(JSON.stringify(a.listens)).not.toBe(JSON.stringify(c.listens));
  });

  it('builds the catalogue and listens with the requested sizes', () => {
    expect(world.tracks).toHaveLength(60 * 8);
    expect(world.genres).toHaveLength(6);
    expect(world.users).toHaveLength(50);
    expect(new Set(world.listens.map((l) => l.userId)).size).toBe(50);
    const mean = world.listens.length / 50;
    expect(mean).toBeGreaterThan(100);
    expect(mean).toBeLessThan(350);
    for (const u of world.users) {
      expect(u.taste.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 4);
      expect(u.favouriteGenres.length).toBeGreaterThanOrEqual(2);
      expect(u.favouriteGenres.length).toBeLessThanOrEqual(4);
    }
  });

  it('has MSSD-like skips with consistent play time and end reasons', () => {
    const n = world.listens.length;
    const levels = [0, 0, 0, 0];
    for (const l of world.listens) {
      levels[l.skipLevel!]!++;
      const d = l.durationMs!;
      if (l.skipLevel === 0) {
        expect(l.msPlayed).toBe(d);
        expect(l.reasonEnd).toBe('trackdone');
      } else {
        expect(l.reasonEnd).not.toBe('trackdone');
        expect(l.saved).toBe(false);
      }
      if (l.skipLevel === 1) expect(l.msPlayed!).toBeLessThanOrEqual(Math.min(10_400, 0.06 * d + 400));
      if (l.skipLevel === 2) expect(l.msPlayed!).toBeLessThanOrEqual(0.4 * d + 1);
      if (l.skipLevel === 3) expect(l.msPlayed!).toBeGreaterThanOrEqual(0.4 * d - 1);
    }
    const skipRate = 1 - levels[0]! / n;
    expect(skipRate).toBeGreaterThan(0.2);
    expect(skipRate).toBeLessThan(0.5);
    expect(levels[1]! / n).toBeGreaterThan(0.15);
    expect(levels[1]! / n).toBeLessThan(0.35);
    const saved = world.listens.filter((l) => l.saved).length / n;
    expect(saved).toBeGreaterThan(0.002);
    expect(saved).toBeLessThan(0.08);
  });

  it('makes replaying a track too recently more likely to be skipped (satiation)', () => {
    const byUser = new Map<string, { trackId: string; skip: number }[]>();
    for (const l of world.listens) {
      const arr = byUser.get(l.userId) ?? [];
      arr.push({ trackId: l.trackId, skip: l.skipLevel! });
      byUser.set(l.userId, arr);
    }
    let recent = 0;
    let recentSkips = 0;
    let other = 0;
    let otherSkips = 0;
    for (const seq of byUser.values()) {
      seq.forEach((x, i) => {
        const isRecent = seq.slice(Math.max(0, i - 10), i).some((y) => y.trackId === x.trackId);
        if (isRecent) {
          recent++;
          if (x.skip > 0) recentSkips++;
        } else {
          other++;
          if (x.skip > 0) otherSkips++;
        }
      });
    }
    expect(recent).toBeGreaterThan(50);
    expect(recentSkips / recent).toBeGreaterThan(otherSkips / other + 0.1);
  });

  it('has heavy-tailed popularity with (nearly) every track played', () => {
    const stats = Dataset.fromListens(world.listens).stats();
    expect(stats.tracks).toBeGreaterThanOrEqual(0.95 * world.tracks.length);
    expect(stats.top1PercentShare).toBeGreaterThan(0.05);
    const counts = new Map<string, number>();
    for (const l of world.listens) counts.set(l.trackId, (counts.get(l.trackId) ?? 0) + 1);
    const sorted = [...counts.values()].sort((a, b) => b - a);
    const top10 = sorted.slice(0, Math.ceil(sorted.length / 10)).reduce((s, x) => s + x, 0);
    expect(top10 / world.listens.length).toBeGreaterThan(0.3);
  });

  it('heavy-tails popularity at the shipped size: top 1% of tracks get well over 1% of plays', () => {
    const big = generateWorld({ users: 100, seed: 3 });
    const stats = Dataset.fromListens(big.listens).stats();
    expect(stats.top1PercentShare).toBeGreaterThan(0.08);
  });

  it('plays in sessions of 5-35 tracks with persistent moods', () => {
    const sessions = new Map<string, number>();
    for (const l of world.listens) sessions.set(l.sessionId!, (sessions.get(l.sessionId!) ?? 0) + 1);
    for (const len of sessions.values()) {
      expect(len).toBeGreaterThanOrEqual(5);
      expect(len).toBeLessThanOrEqual(35);
    }
    // Sessions are separated by more than 30 minutes, so the Dataset recovers them exactly.
    const ds = Dataset.fromListens(world.listens);
    expect(ds.stats().sessions).toBe(sessions.size);
    // Consecutive same-genre plays far above what independent draws would give.
    const genre = new Map(world.tracks.map((t) => [t.trackId, t.genre!]));
    let same = 0;
    let pairs = 0;
    const share = new Map<string, number>();
    for (const u of ds.users) {
      const h = ds.history(u);
      h.forEach((t, i) => {
        share.set(genre.get(t)!, (share.get(genre.get(t)!) ?? 0) + 1);
        if (i > 0) {
          pairs++;
          if (genre.get(h[i - 1]!) === genre.get(t)) same++;
        }
      });
    }
    const base = [...share.values()].reduce((s, c) => s + (c / world.listens.length) ** 2, 0);
    expect(same / pairs).toBeGreaterThan(Math.min(0.9, 2.5 * base));
    // Album-order continuation: the next track of the same artist follows often.
    const order = new Map(world.tracks.map((t, i) => [t.trackId, i]));
    let albumNext = 0;
    for (const u of ds.users) {
      const h = ds.history(u);
      for (let i = 1; i < h.length; i++) {
        if (
          order.get(h[i]!) === order.get(h[i - 1]!)! + 1 &&
          world.tracks[order.get(h[i]!)!]!.artistId === world.tracks[order.get(h[i - 1]!)!]!.artistId
        )
          albumNext++;
      }
    }
    expect(albumNext / pairs).toBeGreaterThan(0.05);
  });

  it('keeps each user in time order and honours churn', () => {
    const last = new Map<string, number>();
    for (const l of world.listens) {
      expect(l.timestamp).toBeGreaterThan(last.get(l.userId) ?? Number.NEGATIVE_INFINITY);
      last.set(l.userId, l.timestamp);
    }
    const churned = world.users.filter((u) => u.churnDay !== undefined);
    expect(churned.length).toBeGreaterThan(0);
    const start = Date.UTC(2024, 0, 1);
    for (const u of churned) {
      const gapEnd = u.returnDay ?? 60;
      const inGap = world.listens.filter((l) => {
        if (l.userId !== u.userId) return false;
        // A session may run past midnight; only session starts must respect the churn window.
        const day = Math.floor((l.timestamp - start) / 86_400_000);
        return day > u.churnDay! && day < gapEnd;
      });
      expect(inGap).toHaveLength(0);
    }
  });

  it('rejects invalid options naming the option', () => {
    expect(() => generateWorld({ users: 0 })).toThrow(InvalidOptionError);
    expect(() => generateWorld({ users: 0 })).toThrow(/`users`/);
    expect(() => generateWorld({ artists: 10, genres: 12 })).toThrow(/`artists`/);
    expect(() => generateWorld({ truthFor: 'some' as 'all' })).toThrow(/`truthFor`/);
    expect(() => generateWorld({ tracksPerArtist: 1 })).toThrow(/`tracksPerArtist`/);
  });
});

describe('ground truth', () => {
  it('gives a normalised distribution per listen in which the played track has positive probability', () => {
    expect(world.truth.steps).toHaveLength(world.listens.length);
    let worstSum = 0;
    let missing = 0;
    let unsorted = 0;
    for (const s of world.truth.steps) {
      const sum = s.probs.reduce((a, b) => a + b, 0);
      worstSum = Math.max(worstSum, Math.abs(sum - 1));
      const j = s.tracks.indexOf(s.trackId);
      if (j < 0 || !(s.probs[j]! > 0)) missing++;
      for (let k = 1; k < s.probs.length; k++) if (s.probs[k]! > s.probs[k - 1]!) unsorted++;
    }
    expect(worstSum).toBeLessThan(1e-9);
    expect(missing).toBe(0);
    expect(unsorted).toBe(0);
  });

  it('is the distribution the sampler really used (calibration: E[p(played)] = E[sum p^2])', () => {
    let observed = 0;
    let expected = 0;
    for (const s of world.truth.steps) {
      observed += s.probs[s.tracks.indexOf(s.trackId)]!;
      expected += s.probs.reduce((a, p) => a + p * p, 0);
    }
    const n = world.truth.steps.length;
    expect(Math.abs(observed / n - expected / n)).toBeLessThan(0.05 * (expected / n));
  });

  it('keeps only the last two listens per user by default, truncated to the requested mass', () => {
    const w = generateWorld({ ...SMALL, users: 10 });
    expect(w.truth.truthFor).toBe('last2');
    expect(w.truth.steps).toHaveLength(20);
    for (const s of w.truth.steps)
      expect(s.probs.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(0.999 - 1e-12);
  });

  it('filters the hidden mood from the log: equal to the truth at session starts, consistent everywhere', () => {
    const dense = (tracks: string[], probs: number[]) => new Map(tracks.map((t, j) => [t, probs[j]!]));
    let cross = 0;
    let self = 0;
    let llMood = 0;
    let llHistory = 0;
    let starts = 0;
    for (const s of world.truth.steps) {
      const f = dense(s.filtered.tracks, s.filtered.probs);
      expect(s.filtered.probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
      if (s.sessionStart) {
        // A session opens with a fresh mood: the observer knows as much as the sampler.
        starts++;
        s.tracks.forEach((t, j) => {
          expect(f.get(t)).toBeCloseTo(s.probs[j]!, 12);
        });
      }
      // If the filter is the posterior predictive, E[sum_x p_f(x) p_mood(x)] = E[sum_x p_f(x)^2].
      s.tracks.forEach((t, j) => {
        cross += (f.get(t) ?? 0) * s.probs[j]!;
      });
      for (const p of s.filtered.probs) self += p * p;
      llMood += Math.log(s.probs[s.tracks.indexOf(s.trackId)]!);
      llHistory += Math.log(f.get(s.trackId)!);
    }
    expect(starts).toBeGreaterThan(50);
    expect(Math.abs(cross / self - 1)).toBeLessThan(0.02);
    // Knowing the mood predicts the played tracks better than inferring it, which beats nothing.
    expect(llMood).toBeGreaterThan(llHistory);
    const cases = truthCases(world, 'test');
    expect(bestAchievableHitRate(world.truth, cases, 10)).toBeLessThanOrEqual(
      bestAchievableHitRate(world.truth, cases, 10, { knows: 'mood' }),
    );
  });

  it('a generator-aware learner that must estimate profiles stays below the ceiling that knows them', () => {
    const options = { ...SMALL, users: 80 };
    const w = generateWorld(options);
    const cases = truthCases(w, 'test');
    const ceiling = bestAchievableHitRate(w.truth, cases, 10, { excludeHistory: false });
    const learner = generatorAwareHitRate(options, 10, { excludeHistory: false });
    expect(learner).toBeGreaterThan(0.5 * ceiling);
    expect(learner).toBeLessThan(ceiling + 0.01);
    expect(() => generatorAwareHitRate(options, 0)).toThrow(/`k`/);
    // With the history excluded, a replay is a miss for the learner too: it stays under that ceiling.
    expect(generatorAwareHitRate(options, 10)).toBeLessThan(bestAchievableHitRate(w.truth, cases, 10) + 0.01);
  });

  it('an observer of track ids alone (no skips, no session starts) lands just under the ceiling', () => {
    const options = { ...SMALL, users: 80 };
    const w = generateWorld(options);
    const ceiling = bestAchievableHitRate(w.truth, truthCases(w, 'test'), 10, { excludeHistory: false });
    const tracksOnly = tracksOnlyHitRate(options, 10, { excludeHistory: false });
    expect(tracksOnly).toBe(tracksOnlyHitRate(options, 10, { excludeHistory: false })); // deterministic
    expect(tracksOnly).toBeGreaterThan(0.8 * ceiling);
    expect(tracksOnly).toBeLessThan(ceiling + 0.02);
    expect(() => tracksOnlyHitRate(options, 0)).toThrow(/`k`/);
    expect(tracksOnlyHitRate(options, 10)).toBeLessThan(
      bestAchievableHitRate(w.truth, truthCases(w, 'test'), 10) + 0.02,
    );
  });

  it('bounds hit rate: bestAchievableHitRate is in (0, 1] and grows with k', () => {
    const cases = truthCases(world, 'test');
    expect(cases).toHaveLength(50);
    const h1 = bestAchievableHitRate(world.truth, cases, 1);
    const h10 = bestAchievableHitRate(world.truth, cases, 10);
    const h10all = bestAchievableHitRate(world.truth, cases, 10, { excludeHistory: false });
    expect(h1).toBeGreaterThan(0);
    expect(h10).toBeGreaterThan(h1);
    expect(h10).toBeLessThanOrEqual(1);
    // The old leaky protocol (a replayed target ranked against new tracks only) is above both.
    const h10rankable = bestAchievableHitRate(world.truth, cases, 10, { historyTargets: 'rankable' });
    expect(h10rankable).toBeGreaterThan(h10);
    expect(h10).toBeLessThanOrEqual(h10all);
    expect(
      bestAchievableHitRate(world.truth, cases, world.tracks.length, { excludeHistory: false }),
    ).toBeCloseTo(1, 9);
    const val = truthCases(world, 'validation');
    expect(bestAchievableHitRate(world.truth, val, 10)).toBeGreaterThan(0);
  });

  it("matches the evaluate() protocol on a known answer (history left out, a replayed target a miss; a tie at rank k is the predictor's to break)", () => {
    const truth = {
      truthFor: 'all' as const,
      mass: 1,
      steps: [
        {
          userId: 'u',
          index: 1,
          trackId: 'c',
          sessionStart: false,
          tracks: ['a', 'b', 'c', 'd'],
          probs: [0.4, 0.3, 0.2, 0.1],
          filtered: { tracks: ['d', 'c', 'b', 'a'], probs: [0.4, 0.3, 0.2, 0.1] },
        },
        {
          userId: 'v',
          index: 0,
          trackId: 'x',
          sessionStart: true,
          tracks: ['x', 'y', 'z'],
          probs: [0.5, 0.25, 0.25],
          filtered: { tracks: ['x', 'y', 'z'], probs: [0.5, 0.25, 0.25] },
        },
      ],
    };
    const cases = [{ userId: 'u', history: ['b'], target: 'c' }];
    const mood = { knows: 'mood' as const };
    expect(bestAchievableHitRate(truth, cases, 1, mood)).toBeCloseTo(0.4, 12);
    expect(bestAchievableHitRate(truth, cases, 2, mood)).toBeCloseTo(0.6, 12); // a, c; b is in the history
    expect(bestAchievableHitRate(truth, cases, 2, { ...mood, historyTargets: 'rankable' })).toBeCloseTo(
      0.9,
      12,
    );
    expect(bestAchievableHitRate(truth, cases, 2, { ...mood, excludeHistory: false })).toBeCloseTo(0.7, 12);
    // The default reference is the filtered (history-only) distribution: d, then c; b is in the history.
    expect(bestAchievableHitRate(truth, cases, 1)).toBeCloseTo(0.4, 12);
    expect(bestAchievableHitRate(truth, cases, 2)).toBeCloseTo(0.7, 12);
    expect(bestAchievableHitRate(truth, cases, 2, { excludeHistory: false })).toBeCloseTo(0.7, 12);
    // y and z tie for rank 2: the best predictor takes one of them (the model that breaks the tie gets 0.75,
    // so counting the tie against the ceiling made it beatable).
    expect(bestAchievableHitRate(truth, [{ userId: 'v', history: [], target: 'x' }], 2)).toBeCloseTo(
      0.75,
      12,
    );
    expect(bestAchievableHitRate(truth, [{ userId: 'v', history: [], target: 'x' }], 3)).toBeCloseTo(1, 12);
    const v = [{ userId: 'v', history: [], target: 'x' }];
    const breaksTie = [Float32Array.from([0, 3, 2, 1])]; // x > y > z
    const index = (t: string) => ({ x: 1, y: 2, z: 3 })[t];
    expect(expectedFromScores(truth, v, breaksTie, index, { k: 2, excludeHistory: false }).hr).toBeCloseTo(
      bestAchievableHitRate(truth, v, 2, { excludeHistory: false }),
      12,
    );
  });

  it('rejects a bad k and cases without a truth step', () => {
    const cases = truthCases(world, 'test');
    expect(() => bestAchievableHitRate(world.truth, cases, 0)).toThrow(InvalidOptionError);
    expect(() => bestAchievableHitRate(world.truth, cases, 10, { historyTargets: 'x' as 'miss' })).toThrow(
      /`historyTargets`/,
    );
    expect(() => bestAchievableHitRate(world.truth, cases, 10, { knows: 'all' as 'mood' })).toThrow(
      /`knows`/,
    );
    const wrong = [{ ...cases[0]!, history: cases[0]!.history.slice(1) }];
    expect(() => bestAchievableHitRate(world.truth, wrong, 10)).toThrow(InvalidDataError);
  });
});

describe('shipped data', () => {
  it('regenerates data/tracks.csv and data/listens.csv byte for byte', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'encore-data-'));
    try {
      const out = await writeShippedData(dir);
      expect(out.tracks).toBe(2000);
      for (const f of ['tracks.csv', 'listens.csv']) {
        const [fresh, shipped] = await Promise.all([readFile(join(dir, f)), readFile(join('data', f))]);
        expect(fresh.equals(shipped), `${f} differs from a fresh regeneration; run npm run data`).toBe(true);
      }
      // Every shipped track has at least a few listens.
      const text = await readFile(join('data', 'listens.csv'), 'utf8');
      const counts = new Map<string, number>();
      for (const line of text.split('\n').slice(1)) {
        if (line) counts.set(line.split(',')[1]!, (counts.get(line.split(',')[1]!) ?? 0) + 1);
      }
      expect(counts.size).toBe(2000);
      expect(Math.min(...counts.values())).toBeGreaterThanOrEqual(3);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

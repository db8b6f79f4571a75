// Benchmark tooling: README section replacement, the run-all subset option and the ground-truth gap tools.
import { describe, expect, it } from 'vitest';
import { selectBenches } from '../bench/run-all.js';
import { expectedMetrics, gapDecomposition, targetKinds } from '../bench/truth-gap.js';
import { replaceSections } from '../bench/update-readme.js';
import { bestAchievableHitRate, generateWorld, truthCases } from '../src/data/generate.js';

describe('replaceSections', () => {
  const readme = [
    '# t',
    '<!-- bench:perf:start -->',
    'old perf',
    '<!-- bench:perf:end -->',
    'middle',
    '<!-- bench:blend:start -->',
    'old blend',
    '<!-- bench:blend:end -->',
    'end',
  ].join('\n');

  it('replaces sections with results and keeps the others and everything outside the markers', () => {
    const { text, replaced } = replaceSections(readme, {
      perf: '| new |\n',
      blend: undefined,
      'long-term': 'x',
    });
    expect(replaced).toEqual(['perf']);
    expect(text).toContain('<!-- bench:perf:start -->\n| new |\n<!-- bench:perf:end -->');
    expect(text).toContain('old blend');
    expect(text).not.toContain('old perf');
    expect(text.startsWith('# t\n')).toBe(true);
    expect(
      text.endsWith('middle\n<!-- bench:blend:start -->\nold blend\n<!-- bench:blend:end -->\nend'),
    ).toBe(true);
    // Idempotent.
    expect(replaceSections(text, { perf: '| new |\n' }).text).toBe(text);
  });
});

describe('selectBenches', () => {
  it('runs everything by default and a subset in run order with --only', () => {
    expect(selectBenches([])).toEqual([
      'next-track',
      'sparse',
      'perf',
      'scale',
      'mpd',
      'blend',
      'long-term',
      'reward-training',
    ]);
    expect(selectBenches(['--only', 'blend,scale,perf'])).toEqual(['perf', 'scale', 'blend']);
    expect(selectBenches(['--only=long-term'])).toEqual(['long-term']);
    expect(() => selectBenches(['--only', 'perf,nope'])).toThrow(/nope/);
  });
});

describe('gapDecomposition', () => {
  const world = generateWorld({ seed: 3, users: 40, artists: 60 });
  const cases = truthCases(world, 'test');
  const ids = world.tracks.map((t) => t.trackId);
  const index = (t: string) => {
    const i = ids.indexOf(t);
    return i < 0 ? undefined : i + 1;
  };
  const steps = new Map(world.truth.steps.map((s) => [`${s.userId}|${s.index}`, s]));
  /** The ceiling as a model: each case's row holds the log of its filtered next-track probabilities. */
  const ceilingLogScores = () =>
    cases.map((c) => {
      const row = new Float32Array(ids.length + 1).fill(-1e9);
      const step = steps.get(`${c.userId}|${c.history.length}`)!;
      step.filtered.tracks.forEach((t, m) => {
        row[index(t)!] = Math.log(step.filtered.probs[m]!);
      });
      return row;
    });

  it('gives the ceiling every row when the model is the ceiling, and a constant scorer nothing', () => {
    const ceilingScores = ceilingLogScores();
    const d = gapDecomposition(world, cases, { scores: ceilingScores, index }, 10);
    const hr = (s: string) => d.rows.find((r) => r.swapped === s)!.hr;
    expect(hr('g, r, q')).toBeGreaterThan(0);
    for (const r of d.rows) expect(r.hr).toBeCloseTo(hr('g, r, q'), 10);
    expect(d.hits.model).toEqual(d.hits.ceiling);

    const flat = cases.map(() => new Float32Array(ids.length + 1));
    const f = gapDecomposition(world, cases, { scores: flat, index }, 10);
    expect(f.rows.find((r) => r.swapped === 'none')!.hr).toBe(0); // ties count against the model
    expect(f.rows.find((r) => r.swapped === 'g, r, q')!.hr).toBeCloseTo(hr('g, r, q'), 10);
    expect(f.rows.find((r) => r.swapped === 'q')!.hr).toBeGreaterThan(0);
  });

  it('classifies targets by the catalogue and the listener profile', () => {
    const kinds = targetKinds(world, cases);
    expect(kinds).toHaveLength(cases.length);
    expect(kinds.map((k) => k.replay)).toEqual(cases.map((c) => c.history.includes(c.target)));
    const artist = new Map(world.tracks.map((t) => [t.trackId, t.artistId]));
    kinds.forEach((k, i) => {
      const c = cases[i]!;
      const sameArtist = artist.get(c.history.at(-1)!) === artist.get(c.target);
      if (k.kind === 'album next' || k.kind === 'same artist') expect(sameArtist).toBe(true);
      else expect(sameArtist).toBe(false);
    });
    expect(new Set(kinds.map((k) => k.kind)).size).toBeGreaterThan(1);
  });

  it('expectedMetrics: the ceiling scores its own reference under both protocols, ties count against', () => {
    const ceilingScores = ceilingLogScores();
    const source = { scores: ceilingScores, index };
    expect(expectedMetrics(world, cases, source, 10).hr).toBeCloseTo(
      bestAchievableHitRate(world.truth, cases, 10, { excludeHistory: false }),
      5,
    );
    expect(expectedMetrics(world, cases, source, 10, { excludeHistory: true }).hr).toBeCloseTo(
      bestAchievableHitRate(world.truth, cases, 10),
      5,
    );
    // A constant scorer ties every track with every other: nothing is in its top 10.
    const flat = cases.map(() => new Float32Array(ids.length + 1));
    expect(expectedMetrics(world, cases, { scores: flat, index }, 10)).toEqual({ hr: 0, ndcg: 0 });
    // One track scored on top of a flat row is a hit exactly when k >= 1, worth its true probability.
    const c = cases[0]!;
    const step = steps.get(`${c.userId}|${c.history.length}`)!;
    const best = step.filtered.probs.indexOf(Math.max(...step.filtered.probs));
    const row = new Float32Array(ids.length + 1);
    row[index(step.filtered.tracks[best]!)!] = 1;
    const p = step.filtered.probs[best]!;
    expect(expectedMetrics(world, [c], { scores: [row], index }, 1).hr).toBeCloseTo(p, 10);
    // A second track tied with it: both at rank 2 (ties against), a miss at k = 1, NDCG 1/log2(3) at k = 2.
    const second = step.filtered.probs.findIndex((_, m) => m !== best);
    row[index(step.filtered.tracks[second]!)!] = 1;
    expect(expectedMetrics(world, [c], { scores: [row], index }, 1).hr).toBe(0);
    const both = expectedMetrics(world, [c], { scores: [row], index }, 2);
    expect(both.hr).toBeCloseTo(p + step.filtered.probs[second]!, 10);
    expect(both.ndcg).toBeCloseTo(both.hr / Math.log2(3), 10);
  });
});

// Tests for Blend: strategies, attribution, daily refresh, coherence, validation, taste match, Discover Weekly and group evaluation.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { initBackend, tf } from '../src/backend.js';
import { type BlendMember, blend } from '../src/blend/blend.js';
import { rotateSelection, toDay, toIsoWeek } from '../src/blend/calendar.js';
import { discoverWeekly } from '../src/blend/discover-weekly.js';
import { evaluateBlend, jainIndex } from '../src/blend/evaluate-blend.js';
import { type BlendStrategy, type BlendStrategyName, strategies } from '../src/blend/strategies.js';
import { tasteMatch } from '../src/blend/taste-match.js';
import { Vocabulary } from '../src/data/dataset.js';
import type { Track } from '../src/data/types.js';
import { InvalidOptionError } from '../src/errors.js';
import { BaseRecommender } from '../src/models/recommender.js';
import { createRng } from '../src/util/random.js';

/** Test double: score(j | history) = Σ_h affinity[h][j], from a dense matrix. */
class AffinityModel extends BaseRecommender {
  readonly type = 'affinity';
  constructor(
    vocabulary: Vocabulary,
    private readonly affinity: Float32Array,
  ) {
    super(vocabulary);
  }
  async scoreAll(histories: readonly (readonly string[])[]): Promise<Float32Array[]> {
    const n = this.vocabulary.size + 1;
    return histories.map((h) => {
      const s = new Float32Array(n);
      for (const i of this.indices(h)) for (let j = 1; j < n; j++) s[j]! += this.affinity[i * n + j]!;
      return s;
    });
  }
  async save(): Promise<void> {}
  dispose(): void {}
}

/** `genres × perGenre` tracks; 5 tracks per artist; same genre = strong affinity, plus deterministic noise. */
function world(genres: number, perGenre: number) {
  const tracks: Track[] = [];
  for (let i = 0; i < genres * perGenre; i++) {
    const g = Math.floor(i / perGenre);
    tracks.push({
      trackId: `t${i}`,
      title: `Song ${i}`,
      artistId: `a${Math.floor(i / 5)}`,
      artist: `Artist ${Math.floor(i / 5)}`,
      genre: `g${g}`,
    });
  }
  const vocab = Vocabulary.from(tracks.map((t) => t.trackId));
  const n = vocab.size + 1;
  const aff = new Float32Array(n * n);
  const rng = createRng(7);
  for (let a = 1; a < n; a++) {
    for (let b = 1; b < n; b++) {
      const same = tracks[a - 1]!.genre === tracks[b - 1]!.genre;
      aff[a * n + b] = (same ? 1 : 0) + 0.3 * rng.next();
    }
  }
  return { tracks, model: new AffinityModel(vocab, aff) };
}

const genreHistory = (g: number, perGenre: number, len: number, seed: number) => {
  const rng = createRng(seed);
  return Array.from({ length: len }, () => `t${g * perGenre + rng.int(perGenre)}`);
};

// blend() defaults to today's date, which seeds the daily rotation: freeze the clock so every run of this
// file sees the same day (tests that are about dates pass one explicitly).
beforeAll(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(new Date('2024-03-01T12:00:00Z'));
});
afterAll(() => {
  vi.useRealTimers();
});

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});

describe('validation', () => {
  const { model } = world(2, 10);
  const ok: BlendMember[] = [
    { id: 'a', history: ['t1'] },
    { id: 'b', history: ['t12'] },
  ];
  const option = async (p: Promise<unknown>) => {
    try {
      await p;
    } catch (e) {
      expect(e).toBeInstanceOf(InvalidOptionError);
      return (e as InvalidOptionError).option;
    }
    throw new Error('expected an InvalidOptionError');
  };
  it('names the offending option', async () => {
    expect(await option(blend([ok[0]!], { model }))).toBe('members');
    const eleven = Array.from({ length: 11 }, (_, i) => ({ id: `m${i}`, history: ['t1'] }));
    expect(await option(blend(eleven, { model }))).toBe('members');
    expect(await option(blend([...ok, { id: 'a', history: ['t2'] }], { model }))).toBe('members[2].id');
    expect(await option(blend([...ok, { id: 'c', history: [] }], { model }))).toBe('members[2].history');
    expect(await option(blend(ok, { model, size: 0 }))).toBe('size');
    expect(await option(blend(ok, { model, size: 501 }))).toBe('size');
    expect(await option(blend(ok, { model, size: 2.5 }))).toBe('size');
    expect(await option(blend(ok, { model, strategy: 'dictatorship' as BlendStrategyName }))).toBe(
      'strategy',
    );
    expect(await option(blend(ok, { model, coherence: 2 }))).toBe('coherence');
    expect(await option(blend(ok, { model, date: '2024-13-01' }))).toBe('date');
    expect(await option(blend([{ ...ok[0]!, weight: 0 }, ok[1]!], { model }))).toBe('members[0].weight');
    expect(await option(discoverWeekly(model, ['t1'], { week: '2024-W60' }))).toBe('week');
    expect(await option(discoverWeekly(model, ['t1'], { size: 0 }))).toBe('size');
    expect(await option(discoverWeekly(model, ['t1'], { maxPerArtist: 1 }))).toBe('tracks');
  });
  it('validates before scoring', async () => {
    let calls = 0;
    const spy = Object.create(model) as AffinityModel;
    spy.scoreAll = async (h) => {
      calls++;
      return model.scoreAll(h);
    };
    await expect(blend(ok, { model: spy, size: 0 })).rejects.toThrow(/`size`/);
    expect(calls).toBe(0);
  });
  it('names the option for a bad representEveryone, tracks entry, model, history hole or strategy result', async () => {
    const bad = <T>(v: unknown) => v as T;
    expect(await option(blend(ok, { model, representEveryone: bad('no') }))).toBe('representEveryone');
    expect(await option(blend(ok, { model, tracks: bad([null]) }))).toBe('tracks[0]');
    expect(await option(blend(ok, { model, tracks: bad([1, 2]) }))).toBe('tracks[0]');
    const { tracks } = world(2, 10);
    expect(await option(blend(ok, { model, tracks: bad([tracks[0], { title: 'no id' }]) }))).toBe(
      'tracks[1]',
    );
    // A model must have a vocabulary, not only scoreAll (a raw TypeError before).
    expect(await option(blend(ok, { model: bad({ type: 'x', scoreAll: async () => [] }) }))).toBe('model');
    // Holes in a history are not track ids, with a model or without one.
    const holes = new Array<string>(3);
    holes[2] = 't1';
    for (const m of [model, undefined]) {
      expect(await option(blend([{ id: 'a', history: holes }, ok[1]!], { model: m }))).toBe(
        'members[0].history[0]',
      );
    }
    expect(await option(blend([ok[0]!, { id: 'b', history: ['t1', bad(7)] }], { model }))).toBe(
      'members[1].history[1]',
    );
    // A custom strategy must return an iterable (a generator, an array, ...).
    const notIterable = bad<BlendStrategy>(() => undefined);
    expect(await option(blend(ok, { model, strategy: notIterable }))).toBe('strategy');
    expect(await option(blend(ok, { model, strategy: bad(() => 5) }))).toBe('strategy');
    // ... of candidate positions: one outside the pool is an error, not a silently shorter playlist.
    for (const p of [-1, 1.5, 1e6, Number.NaN, 'c0' as unknown as number])
      expect(await option(blend(ok, { model, strategy: () => [0, p] }))).toBe('strategy');
  });
  it('refuses dates outside years 0001-9999 rather than mangling them', async () => {
    for (const d of ['+010000-03-01T00:00:00Z', '-000001-06-15T00:00:00Z', '0000-06-15T00:00:00Z']) {
      expect(await option(blend(ok, { model, date: new Date(d) }))).toBe('date');
      expect(() => toDay(new Date(d))).toThrow(InvalidOptionError);
      expect(() => toIsoWeek(new Date(d))).toThrow(/`week`/);
    }
    expect(() => toDay('0000-01-01')).toThrow(/`date`/);
    expect(() => toIsoWeek('0000-W01')).toThrow(/`week`/);
    // The edges of the range are fine.
    expect(toDay(new Date('0001-01-01T00:00:00Z'))).toBe('0001-01-01');
    expect(toDay(new Date('9999-12-31T23:59:59Z'))).toBe('9999-12-31');
    expect(toIsoWeek(new Date('0001-01-01T00:00:00Z'))).toBe('0001-W01');
    expect(toIsoWeek(new Date('9999-12-31T00:00:00Z'))).toBe('9999-W52');
  });
});

describe('known answers', () => {
  it('uses GFAR by default, which serves two members with disjoint tastes about equally', async () => {
    const { model } = world(2, 20);
    const members = [
      { id: 'ana', history: genreHistory(0, 20, 10, 1) },
      { id: 'ben', history: genreHistory(1, 20, 10, 2) },
    ];
    const r = await blend(members, { model, size: 10, coherence: 0, rotation: 0, familiar: 0 });
    expect(r.strategy).toBe('gfar');
    const ana = r.tracks.filter((t) => t.attributedTo.includes('ana')).length;
    const ben = r.tracks.filter((t) => t.attributedTo.includes('ben')).length;
    // GFAR balances relevance, not turns: each member gets close to half of the playlist.
    expect(Math.min(ana, ben)).toBeGreaterThanOrEqual(4);
    expect(r.tracks).toHaveLength(10);
  });

  it('refuses candidates of which none can be ranked, as it refuses no candidates', async () => {
    const { model } = world(2, 20);
    const members = [
      { id: 'ana', history: genreHistory(0, 20, 10, 1) },
      { id: 'ben', history: genreHistory(1, 20, 10, 2) },
    ];
    await expect(blend(members, { model, candidates: ['nope', 'nada'] })).rejects.toThrow(
      /`candidates`.*model knows/,
    );
    await expect(blend(members, { candidates: ['zzz'] })).rejects.toThrow(/`candidates`.*member has played/);
  });

  it('fills a Blend longer than 50 from a larger catalogue (each list grows to size)', async () => {
    const { model } = world(2, 150);
    const members = [
      { id: 'ana', history: genreHistory(0, 150, 10, 1) },
      { id: 'ben', history: genreHistory(1, 150, 10, 2) },
    ];
    for (const size of [100, 200]) {
      const r = await blend(members, { model, size });
      expect(r.tracks).toHaveLength(size);
    }
    // An explicit perMember still bounds the pool: two lists of 40 cannot fill 100.
    const capped = await blend(members, { model, size: 100, perMember: 40 });
    expect(capped.tracks.length).toBeLessThanOrEqual(80);
  });

  it('takes any member id and huge weights: "__proto__" keeps its relevance, 1e308 twice is equal say', async () => {
    const { model } = world(2, 20);
    const history = (g: number, seed: number) => genreHistory(g, 20, 10, seed);
    const proto = await blend(
      [
        { id: '__proto__', history: history(0, 1) },
        { id: 'ben', history: history(1, 2) },
      ],
      { model, size: 10 },
    );
    expect(Object.keys(proto.tracks[0]!.relevance)).toEqual(['__proto__', 'ben']);
    for (const m of proto.members) expect(Number.isFinite(m.meanRelevance)).toBe(true);
    const huge = await blend(
      [
        { id: 'ana', history: history(0, 1), weight: 1e308 },
        { id: 'ben', history: history(1, 2), weight: 1e308 },
      ],
      { model, size: 10 },
    );
    const plain = await blend(
      [
        { id: 'ana', history: history(0, 1) },
        { id: 'ben', history: history(1, 2) },
      ],
      { model, size: 10 },
    );
    expect(huge.tracks.map((t) => [t.trackId, t.score])).toEqual(
      plain.tracks.map((t) => [t.trackId, t.score]),
    );
  });

  it('round-robin alternates two members with disjoint tastes', async () => {
    const { model } = world(2, 20);
    const members = [
      { id: 'ana', history: genreHistory(0, 20, 10, 1) },
      { id: 'ben', history: genreHistory(1, 20, 10, 2) },
    ];
    const r = await blend(members, {
      model,
      size: 10,
      strategy: 'round-robin',
      coherence: 0,
      rotation: 0,
      familiar: 0,
    });
    expect(r.tracks.map((t) => t.attributedTo.join('+'))).toEqual(
      Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? 'ana' : 'ben')),
    );
    for (const t of r.tracks) {
      const g = Number(t.trackId.slice(1)) < 20 ? 'ana' : 'ben';
      expect(t.attributedTo).toEqual([g]);
    }
  });

  it('least misery picks the compromise track; average does not', async () => {
    // Ana ranks a1 > a2 > c > b1 > b2, Ben ranks b1 > b2 > c > a1 > a2: c is nobody's favourite but nobody's misery.
    const vocab = Vocabulary.from(['ha', 'hb', 'a1', 'a2', 'b1', 'b2', 'c']);
    const pref: Record<string, number[]> = { ha: [0, 0, 5, 4, 2, 1, 3], hb: [0, 0, 2, 1, 5, 4, 3] };
    const model = new (class extends AffinityModel {
      override async scoreAll(h: readonly (readonly string[])[]) {
        return h.map((x) => Float32Array.from([0, ...(pref[x[0]!] ?? [0, 0, 0, 0, 0, 0, 0])]));
      }
    })(vocab, new Float32Array(64));
    const members = [
      { id: 'ana', history: ['ha'] },
      { id: 'ben', history: ['hb'] },
    ];
    const opts = { model, size: 1, coherence: 0, rotation: 0, familiar: 0 } as const;
    const lm = await blend(members, { ...opts, strategy: 'least-misery' });
    expect(lm.tracks.map((t) => t.trackId)).toEqual(['c']);
    expect(lm.tracks[0]!.attributedTo).toEqual(['ana', 'ben']);
    const avg = await blend(members, { ...opts, strategy: 'average' });
    expect(avg.tracks[0]!.trackId).not.toBe('c');
    const mp = await blend(members, { ...opts, strategy: 'most-pleasure' });
    expect(['a1', 'b1']).toContain(mp.tracks[0]!.trackId);
    // The compromise is what brings them together.
    const all = await blend(members, { ...opts, size: 5, strategy: 'gfar' });
    expect(all.bondingTrack?.trackId).toBe('c');
  });

  it("weights give proportional round-robin turns (D'Hondt)", async () => {
    const { model } = world(2, 20);
    const members = [
      { id: 'ana', history: genreHistory(0, 20, 10, 1), weight: 2 },
      { id: 'ben', history: genreHistory(1, 20, 10, 2), weight: 1 },
    ];
    const r = await blend(members, { model, size: 12, strategy: 'round-robin', coherence: 0, rotation: 0 });
    const ana = r.tracks.filter((t) => t.attributedTo.includes('ana')).length;
    expect(ana).toBe(8);
    expect(r.members.find((m) => m.id === 'ana')!.share).toBeCloseTo(8 / 12, 5);
  });

  it('weights: GFAR ignores them here, so unequal weights default to round-robin', async () => {
    const { model } = world(2, 20);
    const run = async (w: number, strategy?: 'gfar') => {
      const members = [
        { id: 'ana', history: genreHistory(0, 20, 10, 1), weight: w },
        { id: 'ben', history: genreHistory(1, 20, 10, 2), weight: 1 },
      ];
      const r = await blend(members, {
        model,
        size: 12,
        coherence: 0,
        rotation: 0,
        ...(strategy ? { strategy } : {}),
      });
      return { strategy: r.strategy, share: r.members.find((m) => m.id === 'ana')!.share };
    };
    // GFAR: a member's top track has relevance 1, which zeroes their factor at once; weight changes nothing.
    expect((await run(3, 'gfar')).share).toBe((await run(1, 'gfar')).share);
    const even = await run(1);
    const heavy = await run(3);
    expect(even.strategy).toBe('gfar');
    expect(heavy.strategy).toBe('round-robin');
    expect(heavy.share).toBeGreaterThan(even.share);
  });

  it('taste match: 100 for identical histories, lower as tastes diverge', async () => {
    const { model } = world(3, 20);
    const a = genreHistory(0, 20, 15, 1);
    expect(tasteMatch([a, [...a].reverse()])).toBe(100);
    const similar = tasteMatch([a, genreHistory(0, 20, 15, 9)]);
    const disjoint = tasteMatch([a, genreHistory(2, 20, 15, 3)]);
    expect(similar).toBeLessThan(100);
    expect(similar).toBeGreaterThan(50);
    expect(disjoint).toBe(0);
    // Same artists, different tracks: closer by artist than by track.
    const { tracks } = world(3, 20);
    const b = ['t0', 't1', 't2', 't5'];
    const c = ['t3', 't4', 't6', 't7'];
    expect(tasteMatch([b, c])).toBe(0);
    expect(tasteMatch([b, c], { tracks })).toBeGreaterThan(80);
    // Groups: mean over pairs (100, 0, 0).
    expect(tasteMatch([b, b, c])).toBe(33);
    expect(() => tasteMatch([b])).toThrow(/`histories`/);
    const r = await blend(
      [
        { id: 'x', history: a },
        { id: 'y', history: [...a] },
      ],
      { model },
    );
    expect(r.tasteMatch).toBe(100);
  });

  it('custom strategies plug in', async () => {
    const { model } = world(2, 20);
    const dictator: BlendStrategy = function* dictator(ctx) {
      yield* ctx.lists[1]!;
    };
    const r = await blend(
      [
        { id: 'ana', history: genreHistory(0, 20, 10, 1) },
        { id: 'ben', history: genreHistory(1, 20, 10, 2) },
      ],
      { model, size: 8, strategy: dictator, rotation: 0, representEveryone: false },
    );
    expect(r.strategy).toBe('dictator');
    expect(r.tracks.every((t) => t.attributedTo.includes('ben'))).toBe(true);
    // By default a custom strategy's Blend still represents everyone: Ana's best track is swapped in.
    const fair = await blend(
      r.members.map((m, i) => ({ id: m.id, history: genreHistory(i, 20, 10, i + 1) })),
      { model, size: 8, strategy: dictator, rotation: 0 },
    );
    const forAna = fair.tracks.filter((t) => t.attributedTo.includes('ana'));
    expect(forAna).toHaveLength(1);
    expect(forAna[0]!.relevance.ana).toBe(1);
    expect(fair.tracks.filter((t) => t.attributedTo.includes('ben'))).toHaveLength(7);
  });

  it("explains tracks with the member's own plays and titles", async () => {
    const { model, tracks } = world(2, 20);
    const ana = genreHistory(0, 20, 10, 1);
    const r = await blend(
      [
        { id: 'ana', history: ana },
        { id: 'ben', history: genreHistory(1, 20, 10, 2) },
      ],
      { model, tracks, size: 10 },
    );
    const titles = new Set(ana.map((id) => `Song ${id.slice(1)}`));
    const forAna = r.tracks.filter(
      (t) => t.attributedTo[0] === 'ana' && t.relevance.ana! >= t.relevance.ben!,
    );
    expect(forAna.length).toBeGreaterThan(0);
    for (const t of forAna) {
      expect(t.because).toMatch(/^because ana plays "Song \d+"$/);
      expect(titles.has(t.because!.slice('because ana plays "'.length, -1))).toBe(true);
      expect(t.title).toBe(`Song ${t.trackId.slice(1)}`);
    }
  });

  it('familiar: 0 gives each member only tracks they never played; candidates restricts the pool', async () => {
    const { model } = world(2, 20);
    const members = [
      { id: 'ana', history: genreHistory(0, 20, 10, 1) },
      { id: 'ben', history: genreHistory(1, 20, 10, 2) },
    ];
    const playedBy = new Map(members.map((m) => [m.id, new Set(m.history)]));
    // On every day: a track attributed to a member is new to that member (another member may know it).
    for (const date of ['2024-03-01', '2024-03-02', '2026-11-25', '2026-11-26']) {
      const fresh = await blend(members, { model, size: 10, familiar: 0, date });
      for (const t of fresh.tracks) {
        expect(t.attributedTo.length).toBeGreaterThan(0);
        for (const who of t.attributedTo) expect(playedBy.get(who)!.has(t.trackId)).toBe(false);
      }
    }
    const played = new Set(members.flatMap((m) => m.history));
    const withFavs = await blend(members, { model, size: 10 });
    expect(withFavs.tracks.some((t) => played.has(t.trackId))).toBe(true);
    const allowed = ['t3', 't5', 't25', 't30', 't31'];
    const r = await blend(members, { model, size: 10, candidates: allowed });
    expect(r.tracks.map((t) => t.trackId).sort()).toEqual([...allowed].sort());
  });

  it('familiar: 0 never falls back on favourites when the model runs short (candidates)', async () => {
    const { model } = world(2, 20);
    const ana = genreHistory(0, 20, 10, 1);
    const ben = genreHistory(1, 20, 10, 2);
    // Six tracks Ana plays plus two nobody plays: Ana's model list runs out after the two.
    const fresh = ['t0', 't1', 't2', 't3', 't4', 't5', 't6'].filter((id) => !ana.includes(id)).slice(0, 2);
    const candidates = [...new Set(ana)].slice(0, 6).concat(fresh);
    expect(candidates).toHaveLength(8);
    const r = await blend(
      [
        { id: 'ana', history: ana },
        { id: 'ben', history: ben },
      ],
      { model, size: 8, familiar: 0, candidates, date: '2024-03-01' },
    );
    // Ben has never played any of them, so the Blend is still full; Ana's list holds only the new two.
    expect(r.tracks).toHaveLength(8);
    const forAna = r.tracks.filter((t) => t.relevance.ana! > 0).map((t) => t.trackId);
    expect(forAna.sort()).toEqual([...fresh].sort());
    for (const t of r.tracks) if (ana.includes(t.trackId)) expect(t.attributedTo).toEqual(['ben']);
  });

  it('attributes a track to a member exactly 0.2 below the best, whatever the float32 rounding', async () => {
    // No model: each list is the member's favourites (most recent first here), 50 long. Ben ranks Ana's
    // tracks 0-39 ten places lower, so each is exactly 10/50 = 0.2 below Ana's (e.g. 0.66 vs 0.46, 0.56 vs 0.36).
    const ids = Array.from({ length: 50 }, (_, i) => `s${i}`);
    const anaList = ids;
    const benList = [...ids.slice(40), ...ids.slice(0, 40)];
    const r = await blend(
      [
        { id: 'ana', history: [...anaList].reverse() },
        { id: 'ben', history: [...benList].reverse() },
      ],
      { size: 50, rotation: 0, coherence: 0, strategy: 'average', date: '2024-03-01' },
    );
    const byId = new Map(r.tracks.map((t) => [t.trackId, t]));
    expect(byId.get('s17')!.relevance).toEqual({ ana: Math.fround(0.66), ben: Math.fround(0.46) });
    expect(byId.get('s22')!.relevance).toEqual({ ana: Math.fround(0.56), ben: Math.fround(0.36) });
    for (const id of ids.slice(0, 40)) expect(byId.get(id)!.attributedTo).toEqual(['ana', 'ben']);
    for (const id of ids.slice(40)) expect(byId.get(id)!.attributedTo).toEqual(['ben']);
  });

  it('GFAR serves the minority member early; average serves only the majority', async () => {
    // Ana and Ben rank x1 > … > x5 > y1 > y2 > y3; Chloe ranks y1 > y2 > y3 > x1 > … > x5.
    const xs = ['x1', 'x2', 'x3', 'x4', 'x5'];
    const ys = ['y1', 'y2', 'y3'];
    const vocab = Vocabulary.from(['hx', 'hy', ...xs, ...ys]);
    const pref: Record<string, number[]> = {
      hx: [0, 0, 10, 9, 8, 7, 6, 5, 4, 3],
      hy: [0, 0, 7, 6, 5, 4, 3, 10, 9, 8],
    };
    const model = new (class extends AffinityModel {
      override async scoreAll(h: readonly (readonly string[])[]) {
        return h.map((x) => Float32Array.from([0, ...pref[x[0]!]!]));
      }
    })(vocab, new Float32Array(0));
    const members = [
      { id: 'ana', history: ['hx'] },
      { id: 'ben', history: ['hx'] },
      { id: 'chloe', history: ['hy'] },
    ];
    const opts = {
      model,
      size: 3,
      coherence: 0,
      rotation: 0,
      familiar: 0,
      representEveryone: false,
    } as const;
    const avg = await blend(members, { ...opts, strategy: 'average' });
    expect(avg.tracks.map((t) => t.trackId)).toEqual(['x1', 'x2', 'x3']);
    expect(avg.members.find((m) => m.id === 'chloe')!.tracks).toBe(0);
    const g = await blend(members, { ...opts, strategy: 'gfar' });
    // x1 has relevance 1 for Ana and Ben, so R(ana) = R(ben) = 0 and Chloe's y1 comes next.
    expect(g.tracks.map((t) => t.trackId)).toEqual(['x1', 'y1', 'x2']);
    expect(g.tracks[1]!.attributedTo).toEqual(['chloe']);
  });

  it("without a model, uses only the members' own plays", async () => {
    const members = [
      { id: 'ana', history: ['x1', 'x2', 'x1', 'x3'] },
      { id: 'ben', history: ['y1', 'y1', 'y2'] },
    ];
    const r = await blend(members, { size: 5, date: '2024-03-01' });
    const played = new Set(members.flatMap((m) => m.history));
    expect(r.tracks).toHaveLength(5);
    expect(r.tracks.every((t) => played.has(t.trackId))).toBe(true);
    expect(new Set(r.tracks.flatMap((t) => t.attributedTo))).toEqual(new Set(['ana', 'ben']));
  });
});

describe('properties', () => {
  const { model, tracks } = world(4, 30);
  const strategyNames: BlendStrategyName[] = [
    'average',
    'least-misery',
    'most-pleasure',
    'borda',
    'round-robin',
    'gfar',
  ];
  it('no duplicates, everyone attributed, artist cap, deterministic, everyone represented', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.integer({ min: 0, max: 119 }), { minLength: 1, maxLength: 25 }), {
          minLength: 2,
          maxLength: 6,
        }),
        fc.constantFrom(...strategyNames),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 1, max: 4 }),
        async (hists, strategy, size, day, maxPerArtist) => {
          const members = hists.map((h, i) => ({ id: `m${i}`, history: h.map((x) => `t${x}`) }));
          const date = new Date(Date.UTC(2024, 0, 1 + day));
          const opts = { model, tracks, size, strategy, date, maxPerArtist, perMember: 120 };
          const r = await blend(members, opts);
          const ids = r.tracks.map((t) => t.trackId);
          expect(new Set(ids).size).toBe(ids.length);
          expect(ids.length).toBeLessThanOrEqual(size);
          if (maxPerArtist * 24 >= size) expect(ids.length).toBe(size);
          for (const t of r.tracks) expect(t.attributedTo.length).toBeGreaterThan(0);
          const perArtist = new Map<string, number>();
          for (const id of ids) {
            const a = tracks[Number(id.slice(1))]!.artistId;
            perArtist.set(a, (perArtist.get(a) ?? 0) + 1);
          }
          expect(Math.max(...perArtist.values())).toBeLessThanOrEqual(maxPerArtist);
          const again = await blend(members, { ...opts, date: toDay(date) });
          expect(again.tracks.map((t) => t.trackId)).toEqual(ids);
          if ((strategy === 'gfar' || strategy === 'round-robin') && size >= members.length) {
            const represented = new Set(r.tracks.flatMap((t) => t.attributedTo));
            expect(represented.size).toBe(members.length);
          }
          const shares = r.members.reduce((s, m) => s + m.share, 0);
          expect(shares).toBeCloseTo(1, 6);
        },
      ),
      { numRuns: 40, seed: 11 },
    );
  });

  it('the order members are listed in does not change the Blend, for every strategy', async () => {
    const members: BlendMember[] = [
      { id: 'cat', history: genreHistory(2, 30, 30, 3) },
      { id: 'ana', history: genreHistory(0, 30, 30, 1) },
      { id: 'ben', history: [...genreHistory(0, 30, 15, 2), ...genreHistory(1, 30, 15, 4)] },
      { id: 'dan', history: genreHistory(3, 30, 30, 5) },
    ];
    const orders = [
      [0, 1, 2, 3],
      [3, 2, 1, 0],
      [1, 3, 0, 2],
    ];
    // The playlist as seen by member id: tracks in order, each with its attribution and relevances.
    const view = (r: Awaited<ReturnType<typeof blend>>) => ({
      tracks: r.tracks.map((t) => ({
        ...t,
        attributedTo: [...t.attributedTo].sort(),
        relevance: Object.entries(t.relevance).sort(),
      })),
      members: [...r.members].sort((a, b) => (a.id < b.id ? -1 : 1)),
      bonding: r.bondingTrack?.trackId,
      tasteMatch: r.tasteMatch,
    });
    const weighted = members.map((m, i) => ({ ...m, weight: i + 1 }));
    for (const [group, strategy] of [
      ...strategyNames.map((s) => [members, s] as const),
      [weighted, undefined] as const,
    ]) {
      const results = [];
      for (const order of orders) {
        const listed = order.map((i) => group[i]!);
        const r = await blend(listed, { model, tracks, size: 20, date: '2024-06-01', strategy });
        // Per-member results follow the order given.
        expect(r.members.map((m) => m.id)).toEqual(listed.map((m) => m.id));
        expect(Object.keys(r.tracks[0]!.relevance)).toEqual(listed.map((m) => m.id));
        results.push(view(r));
      }
      expect(results[0]!.tracks).toHaveLength(20);
      for (const other of results.slice(1)) expect(other).toEqual(results[0]);
    }
  });

  it('weights are summed in id order: rounding cannot make the listing order matter', async () => {
    // These weights normalise to different last bits when summed in different orders (5 + 0.7 + 2 is not
    // 5 + 2 + 0.7 in floating point); the strategy must see the same weights whatever the order.
    const trio = [
      { id: 'u324', history: genreHistory(0, 30, 30, 21), weight: 2 },
      { id: 'u404', history: genreHistory(1, 30, 30, 22), weight: 0.7 },
      { id: 'u193', history: [...genreHistory(2, 30, 15, 23), ...genreHistory(0, 30, 15, 24)], weight: 5 },
    ];
    const seen = new Set<string>();
    const spy: BlendStrategy = (ctx) => {
      seen.add(Array.from(ctx.weights).join());
      return strategies['round-robin'](ctx);
    };
    const playlists = new Set<string>();
    for (const order of [
      [0, 1, 2],
      [0, 2, 1],
      [1, 0, 2],
      [1, 2, 0],
      [2, 0, 1],
      [2, 1, 0],
    ]) {
      const listed = order.map((i) => trio[i]!);
      await blend(listed, { model, tracks, size: 20, date: '2024-03-01', strategy: spy });
      const r = await blend(listed, { model, tracks, size: 20, date: '2024-03-01' });
      playlists.add(r.tracks.map((t) => t.trackId).join());
    }
    expect(seen.size).toBe(1);
    expect(playlists.size).toBe(1);
    // Random weighted groups, listed in random orders.
    const rng = createRng(3);
    const W = [0.1, 0.2, 0.3, 0.7, 1, 2, 3, 5, 7, 1 / 3];
    for (let trial = 0; trial < 15; trial++) {
      const group = Array.from({ length: 3 + rng.int(6) }, (_, i) => ({
        id: `m${i}`,
        history: genreHistory(rng.int(4), 30, 20, 100 * trial + i),
        weight: W[rng.int(W.length)]!,
      }));
      const opts = { model, tracks, size: 20, date: '2024-03-01' };
      const first = (await blend(group, opts)).tracks.map((t) => t.trackId);
      for (let k = 0; k < 3; k++) {
        const again = await blend(rng.shuffle([...group]), opts);
        expect(again.tracks.map((t) => t.trackId)).toEqual(first);
      }
    }
  });

  it("round-robin: D'Hondt quotients equal up to rounding are a tie, which goes to the first member by id", async () => {
    // Weights 5 : 1 : 1 normalise to 1/1.4, 0.2/1.4, 0.2/1.4, and (1/1.4) / 5 rounds below 0.2/1.4: exact
    // ties (ana's fifth turn against ben's first) must still go to ana, as exact arithmetic says.
    const weight = [5, 1, 1];
    const turns: number[] = [];
    const spy: BlendStrategy = function* (ctx) {
      for (const c of strategies['round-robin'](ctx)) {
        // Disjoint tastes: the member whose turn it was is the one who ranks the track highest.
        let who = 0;
        for (let u = 1; u < ctx.members; u++) if (ctx.relevance[u]![c]! > ctx.relevance[who]![c]!) who = u;
        turns.push(who);
        yield c;
      }
    };
    const group = ['ana', 'ben', 'cat'].map((id, g) => ({
      id,
      history: genreHistory(g, 30, 30, g + 31),
      weight: weight[g]!,
    }));
    await blend(group, { model, size: 14, strategy: spy, rotation: 0, familiar: 0, date: '2024-03-01' });
    // D'Hondt in exact integer arithmetic: w_u / (t_u + 1) > w_v / (t_v + 1), ties to the lowest u.
    const taken = [0, 0, 0];
    const exact: number[] = [];
    for (let turn = 0; turn < 14; turn++) {
      let best = 0;
      for (let u = 1; u < 3; u++)
        if (weight[u]! * (taken[best]! + 1) > weight[best]! * (taken[u]! + 1)) best = u;
      taken[best]!++;
      exact.push(best);
    }
    expect(exact.slice(0, 7)).toEqual([0, 0, 0, 0, 0, 1, 2]);
    expect(turns.slice(0, 14)).toEqual(exact);
  });

  it('no member has more than two tracks in a row unless the counts force it', async () => {
    const rng = createRng(5);
    let checked = 0;
    for (let trial = 0; trial < 60; trial++) {
      const M = 2 + rng.int(4);
      const group = Array.from({ length: M }, (_, i) => ({
        id: `m${i}`,
        history: genreHistory(rng.int(4), 30, 5 + rng.int(30), 50 * trial + i),
      }));
      const strategy = (['gfar', 'round-robin', 'average'] as const)[rng.int(3)]!;
      const coherence = [0, 0.5, 1][rng.int(3)]!;
      const size = [6, 10, 20][rng.int(3)]!;
      const r = await blend(group, { model, tracks, size, strategy, coherence, date: '2024-05-01' });
      // Each track's main member: the highest relevance, ties to the first by id.
      const main = r.tracks.map((t) =>
        group.reduce((b, m) => (t.relevance[m.id]! > t.relevance[b]! ? m.id : b), 'm0'),
      );
      const counts = new Map<string, number>();
      for (const m of main) counts.set(m, (counts.get(m) ?? 0) + 1);
      const most = Math.max(...counts.values());
      const others = main.length - most;
      let run = 1;
      let longest = 1;
      for (let i = 1; i < main.length; i++) {
        run = main[i] === main[i - 1] ? run + 1 : 1;
        longest = Math.max(longest, run);
      }
      // Avoidable unless one member has more than two per gap around the others' tracks; then runs are as short as that allows.
      expect(longest).toBeLessThanOrEqual(Math.max(2, Math.ceil(most / (others + 1))));
      if (most <= 2 * (others + 1)) checked++;
    }
    expect(checked).toBeGreaterThan(30);
  });

  it('a custom strategy that never stops is cut off when count cannot be reached', async () => {
    // 24 artists, one track each allowed: 100 tracks can never be taken, and the strategy cycles forever.
    let pulled = 0;
    let pool = 0;
    const cycle: BlendStrategy = function* cycle(ctx) {
      pool = ctx.candidates;
      for (let i = 0; ; i++) {
        pulled++;
        yield i % ctx.candidates;
      }
    };
    const group = [0, 1, 2, 3].map((g) => ({ id: `m${g}`, history: genreHistory(g, 30, 30, g + 41) }));
    const r = await blend(group, {
      model,
      tracks,
      size: 100,
      maxPerArtist: 1,
      strategy: cycle,
      perMember: 120,
    });
    const artists = new Set(r.tracks.map((t) => t.artist));
    expect(artists.size).toBe(r.tracks.length);
    expect(r.tracks.length).toBe(24);
    // It stopped after a bounded number of yields, not at some timeout: one pass over the pool takes what
    // can be taken, then (members + 1) × pool yields in a row take nothing.
    expect(pool).toBeGreaterThan(0);
    expect(pulled).toBeLessThanOrEqual(pool + 5 * pool + 1);
    // A strategy that yields one position over and over takes it once, then is cut off the same way.
    const same: BlendStrategy = function* () {
      for (;;) yield 0;
    };
    const one = await blend(group, { model, size: 10, strategy: same, representEveryone: false });
    expect(one.tracks).toHaveLength(1);
    // A position outside the pool (-1 for "none") is a bug in the strategy, and says so.
    const nothing: BlendStrategy = function* () {
      for (;;) yield -1;
    };
    await expect(blend(group, { model, size: 10, strategy: nothing })).rejects.toMatchObject({
      option: 'strategy',
    });
  });

  it('daily refresh: a stable core, about 70% of tracks stay from one day to the next', async () => {
    const members = [0, 1, 2].map((g) => ({ id: `m${g}`, history: genreHistory(g, 30, 30, g + 1) }));
    const days = Array.from({ length: 8 }, (_, d) => toDay(new Date(Date.UTC(2024, 4, 1 + d))));
    const lists: string[][] = [];
    for (const date of days)
      lists.push((await blend(members, { model, tracks, size: 20, date })).tracks.map((t) => t.trackId));
    const overlaps = lists.slice(1).map((l, i) => l.filter((id) => lists[i]!.includes(id)).length / l.length);
    for (const o of overlaps) {
      expect(o).toBeGreaterThanOrEqual(0.6);
      expect(o).toBeLessThan(1);
    }
    const mean = overlaps.reduce((s, x) => s + x, 0) / overlaps.length;
    expect(mean).toBeGreaterThan(0.6);
    expect(mean).toBeLessThan(0.85);
  });

  it('daily refresh also rotates a short Blend for a large group (10 members, size 5)', async () => {
    const group = Array.from({ length: 10 }, (_, i) => ({
      id: `m${i}`,
      history: genreHistory(i % 4, 30, 20, i + 61),
    }));
    for (const strategy of ['round-robin', 'gfar'] as const) {
      const lists: string[][] = [];
      for (let d = 1; d <= 14; d++) {
        const date = `2024-06-${String(d).padStart(2, '0')}`;
        lists.push(
          (await blend(group, { model, tracks, size: 5, strategy, date })).tracks.map((t) => t.trackId),
        );
      }
      const overlaps = lists
        .slice(1)
        .map((l, i) => l.filter((id) => lists[i]!.includes(id)).length / l.length);
      // Two rotating slots from a band of eight: a day repeats the day before with probability 1/28.
      expect(overlaps.filter((o) => o < 1).length).toBeGreaterThanOrEqual(10);
      // The core (3 of 5) stays.
      for (const o of overlaps) expect(o).toBeGreaterThanOrEqual(0.6);
      const mean = overlaps.reduce((s, x) => s + x, 0) / overlaps.length;
      expect(mean).toBeLessThan(0.85);
    }
  });

  it('a 1-track Blend is all core at rotation 0.4 (round(0.6) = 1) and rotates above 0.5', async () => {
    const group = [0, 1, 2].map((g) => ({ id: `m${g}`, history: genreHistory(g, 30, 30, g + 1) }));
    const day = async (d: number, rotation?: number) =>
      (
        await blend(group, {
          model,
          tracks,
          size: 1,
          date: `2024-06-0${d}`,
          ...(rotation ? { rotation } : {}),
        })
      ).tracks[0]!.trackId;
    const fixed = new Set<string>();
    const rotating = new Set<string>();
    for (let d = 1; d <= 8; d++) {
      fixed.add(await day(d));
      rotating.add(await day(d, 1));
    }
    expect(fixed.size).toBe(1);
    expect(rotating.size).toBeGreaterThan(1);
  });

  it('rotateSelection: a stratum with no alternative draws from the whole band; others keep their slots', () => {
    // Keys in round-robin order over 10 members, 5 of 11: ranks 3 and 4 are the only band items of their keys.
    const draws = new Set<string>();
    for (let s = 0; s < 50; s++) {
      const sel = rotateSelection(11, 5, 0.4, createRng(s), (p) => p % 10);
      expect(sel.slice(0, 3)).toEqual([0, 1, 2]);
      expect(sel).toHaveLength(5);
      expect(new Set(sel).size).toBe(5);
      draws.add(sel.join());
    }
    expect(draws.size).toBeGreaterThan(10);
    // Three keys with alternatives: each keeps its 2 of the 6 rotating slots on every draw.
    for (let s = 0; s < 50; s++) {
      const sel = rotateSelection(33, 15, 0.4, createRng(s), (p) => p % 3);
      const fresh = sel.slice(9);
      for (const k of [0, 1, 2]) expect(fresh.filter((p) => p % 3 === k)).toHaveLength(2);
    }
  });

  it('the daily rotation keeps round-robin shares equal', async () => {
    const members = [0, 1, 2].map((g) => ({ id: `m${g}`, history: genreHistory(g, 30, 30, g + 11) }));
    for (let d = 1; d <= 5; d++) {
      const r = await blend(members, {
        model,
        tracks,
        size: 15,
        date: `2024-07-0${d}`,
        strategy: 'round-robin',
      });
      expect(r.strategy).toBe('round-robin');
      for (const m of members) expect(r.tracks.filter((t) => t.attributedTo.includes(m.id))).toHaveLength(5);
    }
  });

  it('orders coherently and interleaves members', async () => {
    const members = [0, 1].map((g) => ({ id: `m${g}`, history: genreHistory(g, 30, 30, g + 5) }));
    const base = { model, tracks, size: 20, date: '2024-05-05', strategy: 'round-robin' as const };
    const loose = await blend(members, { ...base, coherence: 0 });
    const tight = await blend(members, { ...base, coherence: 1 });
    expect(new Set(tight.tracks.map((t) => t.trackId))).toEqual(new Set(loose.tracks.map((t) => t.trackId)));
    const sameGenre = (ts: typeof tight.tracks) =>
      ts
        .slice(1)
        .filter(
          (t, i) =>
            tracks[Number(t.trackId.slice(1))]!.genre === tracks[Number(ts[i]!.trackId.slice(1))]!.genre,
        ).length;
    expect(sameGenre(tight.tracks)).toBeGreaterThan(sameGenre(loose.tracks));
    // Never three in a row for one member while the other still has tracks left.
    const main = tight.tracks.map((t) => (t.relevance.m0! >= t.relevance.m1! ? 0 : 1));
    let run = 1;
    for (let i = 1; i < main.length; i++) {
      run = main[i] === main[i - 1] ? run + 1 : 1;
      if (run > 2) expect(main.slice(i).every((m) => m === main[i])).toBe(true);
    }
  });
});

describe('discoverWeekly', () => {
  const { model, tracks } = world(3, 40);
  const history = genreHistory(0, 40, 30, 3);
  it('only unplayed tracks, at most N per artist, fixed within a week', async () => {
    const a = await discoverWeekly(model, history, { week: '2024-W05', tracks, size: 20 });
    expect(a.week).toBe('2024-W05');
    expect(a.tracks).toHaveLength(20);
    const played = new Set(history);
    expect(a.tracks.some((t) => played.has(t.trackId))).toBe(false);
    const perArtist = new Map<string, number>();
    for (const t of a.tracks) perArtist.set(t.artist!, (perArtist.get(t.artist!) ?? 0) + 1);
    expect(Math.max(...perArtist.values())).toBeLessThanOrEqual(2);
    const sameWeek = await discoverWeekly(model, history, {
      week: new Date('2024-01-31T10:00:00Z'),
      tracks,
      size: 20,
    });
    expect(sameWeek.tracks).toEqual(a.tracks);
    const next = await discoverWeekly(model, history, { week: '2024-W06', tracks, size: 20 });
    const overlap = next.tracks.filter((t) => a.tracks.some((x) => x.trackId === t.trackId)).length;
    expect(overlap).toBeGreaterThanOrEqual(10);
    expect(overlap).toBeLessThan(20);
  });
  it('ISO weeks', () => {
    expect(toIsoWeek(new Date('2024-01-31T12:00:00Z'))).toBe('2024-W05');
    expect(toIsoWeek(new Date('2021-01-03T12:00:00Z'))).toBe('2020-W53');
    expect(toIsoWeek(new Date('2024-12-30T12:00:00Z'))).toBe('2025-W01');
    expect(toIsoWeek('2020-W53')).toBe('2020-W53');
    expect(() => toIsoWeek('2021-W53')).toThrow(/52 weeks/);
  });
  it('ISO weeks of years before 1000: four digits, and years 0-99 are not read as 1900-1999', () => {
    // The Gregorian calendar repeats every 400 years, so year y has the weeks of year y + 2000.
    for (const [early, late] of [
      ['0050-06-15', '2050-06-15'],
      ['0099-12-31', '2099-12-31'],
      ['0100-06-15', '2100-06-15'],
      ['0004-12-28', '2004-12-28'],
    ] as const) {
      const want = toIsoWeek(new Date(`${late}T00:00:00Z`));
      const year = String(Number(want.slice(0, 4)) - 2000).padStart(4, '0');
      expect(toIsoWeek(new Date(`${early}T12:00:00Z`))).toBe(`${year}${want.slice(4)}`);
    }
    expect(toIsoWeek(new Date('0050-06-15T00:00:00Z'))).toBe('0050-W24');
    // 2004 has a week 53, and so has 0004 (checked against 0004, not 1904).
    expect(toIsoWeek('0004-W53')).toBe('0004-W53');
    expect(() => toIsoWeek('0005-W53')).toThrow(/52 weeks/);
  });

  it('checks its arguments: seed, tracks, a model with a vocabulary', async () => {
    const bad = <T>(v: unknown) => v as T;
    await expect(discoverWeekly(model, history, bad({ seed: {} }))).rejects.toThrow(/`seed`/);
    await expect(discoverWeekly(model, history, bad({ tracks: 'tracks.csv' }))).rejects.toThrow(/`tracks`/);
    await expect(discoverWeekly(bad({ scoreAll: async () => [] }), history)).rejects.toThrow(/`model`/);
  });
});

describe('evaluateBlend', () => {
  it('hand-computed NDCG, recall and fairness', () => {
    const ev = evaluateBlend(['x', 'a', 'y', 'b'], { ana: ['a', 'z'], ben: ['q'] }, { k: 3 });
    const ndcgAna = 1 / Math.log2(3) / (1 + 1 / Math.log2(3));
    expect(ev.members[0]).toMatchObject({ id: 'ana', hits: 1, relevant: 2, recall: 0.5 });
    expect(ev.members[0]!.ndcg).toBeCloseTo(ndcgAna, 10);
    expect(ev.members[1]).toMatchObject({ id: 'ben', ndcg: 0, recall: 0 });
    expect(ev.meanNdcg).toBeCloseTo(ndcgAna / 2, 10);
    expect(ev.minNdcg).toBe(0);
    expect(ev.minMaxRatio).toBe(0);
    expect(ev.zeroRecall).toBe(0.5);
    expect(ev.jain).toBeCloseTo(0.5, 10);
    // b is outside k = 3 but inside k = 4.
    const ev4 = evaluateBlend(['x', 'a', 'y', 'b'], { ana: ['b'] }, { k: 4 });
    expect(ev4.members[0]!.ndcg).toBeCloseTo(1 / Math.log2(5), 10);
  });
  it('edge cases: 0/0 ratio is 1, Jain of equal values is 1', () => {
    const ev = evaluateBlend(['x'], { ana: ['a'], ben: ['b'] }, { k: 5 });
    expect(ev.minMaxRatio).toBe(1);
    expect(ev.jain).toBe(1);
    expect(jainIndex([0.4, 0.4, 0.4])).toBeCloseTo(1, 12);
    expect(jainIndex([1, 0, 0, 0])).toBeCloseTo(0.25, 12);
    expect(() => evaluateBlend(['x'], { ana: [] })).toThrow(/heldOut\.ana/);
    expect(() => evaluateBlend(['x'], { ana: ['x'] }, { k: 0 })).toThrow(/`k`/);
    // A repeated track would count as a hit twice (recall 3 of 1 before this was checked).
    expect(() => evaluateBlend(['t1', 't1', 't1'], { a: ['t1'] }, { k: 3 })).toThrow(/`result\[1\]`/);
  });
  it('evaluates a BlendResult per member', async () => {
    const { model } = world(2, 20);
    const r = await blend(
      [
        { id: 'ana', history: genreHistory(0, 20, 10, 1) },
        { id: 'ben', history: genreHistory(1, 20, 10, 2) },
      ],
      { model, size: 10 },
    );
    const ev = evaluateBlend(
      r,
      { ana: r.tracks.slice(0, 2).map((t) => t.trackId), ben: ['nope'] },
      { k: 10 },
    );
    expect(ev.members.map((m) => m.id)).toEqual(['ana', 'ben']);
    expect(ev.members[0]!.ndcg).toBeCloseTo(1, 10);
    expect(ev.zeroRecall).toBe(0.5);
  });
});

describe('performance and memory', () => {
  it('a 10-member, 50-track Blend over 2,000 tracks is fast once scores exist', async () => {
    const n = 2000;
    const vocab = Vocabulary.from(Array.from({ length: n }, (_, i) => `t${i}`));
    // Embedding-dot model in tf: scores = mean(history embeddings) · E^T.
    const emb = tf.randomNormal([n + 1, 64], 0, 1, 'float32', 3);
    const model = new (class extends AffinityModel {
      override async scoreAll(h: readonly (readonly string[])[]) {
        const ids = h.map((x) => this.indices(x));
        const out = tf.tidy(() => {
          const users = tf.stack(ids.map((x) => tf.gather(emb, x).mean(0))); // [batch, 64]
          return tf.matMul(users, emb, false, true); // [batch, n + 1]
        });
        const data = (await out.data()) as Float32Array;
        out.dispose();
        return ids.map((_, b) => data.slice(b * (n + 1), (b + 1) * (n + 1)));
      }
    })(vocab, new Float32Array(0));
    const rng = createRng(5);
    const members = Array.from({ length: 10 }, (_, i) => ({
      id: `m${i}`,
      history: Array.from({ length: 50 }, () => `t${rng.int(n)}`),
    }));
    const tracks: Track[] = vocab.ids
      .slice(1)
      .map((id, i) => ({ trackId: id, title: id, artistId: `a${i % 400}`, artist: '' }));
    await blend(members, { model, tracks, size: 50 }); // warm-up
    const before = tf.memory().numTensors;
    const t0 = performance.now();
    const r = await blend(members, { model, tracks, size: 50, date: '2024-06-01' });
    const ms = performance.now() - t0;
    expect(tf.memory().numTensors).toBe(before);
    expect(r.tracks).toHaveLength(50);
    expect(new Set(r.tracks.flatMap((t) => t.attributedTo)).size).toBe(10);
    expect(ms).toBeLessThan(1000); // the bench measures the real number (< 200 ms target) on an idle machine
    emb.dispose();
  });
});

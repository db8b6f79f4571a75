// Tests of Dataset: stable vocabulary, time order, iterative k-core filtering, sessions and stats.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Dataset, Vocabulary } from '../src/data/dataset.js';
import type { Listen } from '../src/data/types.js';
import { InvalidDataError, InvalidOptionError } from '../src/errors.js';

const MIN = 60_000;
const L = (userId: string, trackId: string, timestamp: number, extra: Partial<Listen> = {}): Listen => ({
  userId,
  trackId,
  timestamp,
  ...extra,
});

/** The InvalidDataError Dataset.fromListens throws for `listens` (fails the test when it throws none). */
function fromListensError(listens: readonly Listen[]): InvalidDataError {
  try {
    Dataset.fromListens(listens);
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidDataError);
    return e as InvalidDataError;
  }
  throw new Error('Dataset.fromListens accepted the listens');
}

describe('Vocabulary', () => {
  it('reserves 0 for padding and numbers tracks in first-seen order', () => {
    const v = Vocabulary.from(['b', 'a', 'b', 'c']);
    expect(v.ids).toEqual(['', 'b', 'a', 'c']);
    expect(v.size).toBe(3);
    expect(v.index('a')).toBe(2);
    expect(v.index('')).toBeUndefined();
    expect(v.id(3)).toBe('c');
    expect(() => v.id(0)).toThrow(RangeError);
    expect(Vocabulary.fromIds(v.ids).index('c')).toBe(3);
  });

  it('refuses ids that would make a second padding entry or an unreachable index', () => {
    for (const bad of [['', 'a'], [1, 'a'], 'abc', null] as unknown[])
      expect(() => Vocabulary.from(bad as never)).toThrow(InvalidOptionError);
    expect(() => Vocabulary.fromIds(['', 'a', 'a'])).toThrow(InvalidDataError);
    expect(() => Vocabulary.fromIds(['', 'a', ''])).toThrow(/entry 2 is ""/);
    expect(() => Vocabulary.fromIds(['a'])).toThrow(/padding entry/);
  });
});

describe('Dataset', () => {
  it('sorts each user by time, keeping input order for equal timestamps', () => {
    const ds = Dataset.fromListens([
      L('u1', 'c', 30),
      L('u2', 'x', 5),
      L('u1', 'a', 10),
      L('u1', 'b2', 20),
      L('u1', 'b1', 20),
      L('u1', 'b3', 20),
    ]);
    expect(ds.users).toEqual(['u1', 'u2']);
    expect(ds.history('u1')).toEqual(['a', 'b2', 'b1', 'b3', 'c']);
    // vocabulary follows users in first-seen order, each in time order
    expect(ds.vocabulary.ids).toEqual(['', 'a', 'b2', 'b1', 'b3', 'c', 'x']);
    expect([...ds.sequence('u1')]).toEqual([1, 2, 3, 4, 5]);
    expect([...ds.sequence('nobody')]).toEqual([]);
  });

  it('builds the same vocabulary and sequences for the same input', () => {
    const listens = Array.from({ length: 50 }, (_, i) => L(`u${i % 7}`, `t${(i * 13) % 11}`, (i * 37) % 17));
    const a = Dataset.fromListens(listens);
    const b = Dataset.fromListens([...listens]);
    expect(a.vocabulary.ids).toEqual(b.vocabulary.ids);
    for (const u of a.users) expect([...a.sequence(u)]).toEqual([...b.sequence(u)]);
    expect(a.numListens).toBe(50);
    expect(a.itemCounts.reduce((s, x) => s + x, 0)).toBe(50);
    expect(a.itemCounts[0]).toBe(0);
  });

  it('reuses a given vocabulary and rejects unknown tracks', () => {
    const train = Dataset.fromListens([L('u', 'a', 1), L('u', 'b', 2)]);
    const other = Dataset.fromListens([L('v', 'b', 1)], { vocabulary: train.vocabulary });
    expect([...other.sequence('v')]).toEqual([2]);
    expect(() => Dataset.fromListens([L('v', 'zzz', 1)], { vocabulary: train.vocabulary })).toThrow(
      /not in the vocabulary/,
    );
  });

  it('filters iteratively to the k-core (removals cascade)', () => {
    // min 2 per user and per track. Round 1 removes track 'rare' (1 listen) -> u3 has 1 listen; round 2 removes
    // u3 -> 'y' has 1; round 3 removes 'y' -> u2 has 1; round 4 removes u2 -> 'x' has 1; round 5 removes 'x'
    // -> u5 has 1; round 6 removes u5. A single pass would have kept u2, u5, x and y.
    const listens = [
      L('u1', 'a', 1),
      L('u1', 'b', 2),
      L('u4', 'a', 1),
      L('u4', 'b', 2),
      L('u2', 'x', 1),
      L('u2', 'y', 2),
      L('u3', 'y', 1),
      L('u3', 'rare', 2),
      L('u5', 'x', 3),
      L('u5', 'a', 4),
    ];
    const ds = Dataset.fromListens(listens, { minUserListens: 2, minTrackListens: 2 });
    expect(ds.users).toEqual(['u1', 'u4']);
    expect(ds.vocabulary.ids).toEqual(['', 'a', 'b']);
    expect(ds.stats().filteredListens).toBe(6);
  });

  it('k-core result satisfies both thresholds and is the largest such subset (property)', () => {
    const listenArb = fc.array(
      fc.record({ u: fc.integer({ min: 0, max: 6 }), t: fc.integer({ min: 0, max: 6 }), ts: fc.nat(100) }),
      { maxLength: 60 },
    );
    fc.assert(
      fc.property(
        listenArb,
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        (rows, ku, kt) => {
          const listens = rows.map((r) => L(`u${r.u}`, `t${r.t}`, r.ts));
          const ds = Dataset.fromListens(listens, { minUserListens: ku, minTrackListens: kt });
          const kept = ds.listens();
          // reference: repeatedly remove any listen whose user or track is below threshold
          let ref = listens;
          for (;;) {
            const uc = new Map<string, number>();
            const tc = new Map<string, number>();
            for (const l of ref) {
              uc.set(l.userId, (uc.get(l.userId) ?? 0) + 1);
              tc.set(l.trackId, (tc.get(l.trackId) ?? 0) + 1);
            }
            const next = ref.filter((l) => uc.get(l.userId)! >= ku && tc.get(l.trackId)! >= kt);
            if (next.length === ref.length) break;
            ref = next;
          }
          expect(new Set(kept)).toEqual(new Set(ref));
          for (const u of ds.users) expect(ds.sequence(u).length).toBeGreaterThanOrEqual(ku);
          for (let i = 1; i < ds.itemCounts.length; i++) expect(ds.itemCounts[i]).toBeGreaterThanOrEqual(kt);
          expect(ds.stats().filteredListens).toBe(listens.length - kept.length);
        },
      ),
      { numRuns: 200, seed: 7 },
    );
  });

  it('splits sessions on gaps longer than sessionGapMinutes', () => {
    const ds = Dataset.fromListens(
      [
        L('u', 'a', 0),
        L('u', 'b', 10 * MIN),
        L('u', 'c', 40 * MIN),
        L('u', 'd', 71 * MIN),
        L('u', 'e', 72 * MIN),
      ],
      { sessionGapMinutes: 30 },
    );
    // 10 -> 40 is exactly 30 minutes: same session; 40 -> 71 is 31 minutes: new session
    expect(ds.sessions('u').map((s) => s.map((l) => l.trackId))).toEqual([
      ['a', 'b', 'c'],
      ['d', 'e'],
    ]);
    const tight = Dataset.fromListens(ds.listens(), { sessionGapMinutes: 5 });
    expect(tight.sessions('u')).toHaveLength(4);
    expect(ds.sessions('nobody')).toEqual([]);
  });

  it('computes stats', () => {
    const ds = Dataset.fromListens([
      L('u1', 'a', 1000, { skipLevel: 0 }),
      L('u1', 'b', 2000, { skipLevel: 1 }),
      L('u1', 'a', 3000, { skipLevel: 3 }),
      L('u2', 'a', 500),
      L('u2', 'c', 999_999_999, { skipLevel: 0 }),
      L('u3', 'c', 4000),
    ]);
    const s = ds.stats();
    expect(s).toMatchObject({
      users: 3,
      tracks: 3,
      listens: 6,
      sessions: 4,
      density: 6 / 9,
      meanSequenceLength: 2,
      medianSequenceLength: 2,
      minSequenceLength: 1,
      maxSequenceLength: 3,
      skipRate: 2 / 4,
      top1PercentShare: 3 / 6,
      filteredListens: 0,
      firstTimestamp: 500,
      lastTimestamp: 999_999_999,
    });
    expect(Number.isNaN(Dataset.fromListens([L('u', 't', 1)]).stats().skipRate)).toBe(true);
  });

  it("knows each track's artist from the listens that name one, the first when they disagree", async () => {
    const ds = Dataset.fromListens([
      L('u2', 'x', 5, { artistId: 'late' }), // u2 is first seen, so its listens come first
      L('u1', 'x', 1, { artistId: 'early' }),
      L('u1', 'y', 2, { artistId: 'b' }),
      L('u2', 'y', 6, { artistId: 'b' }),
      L('u1', 'z', 3),
    ]);
    expect(ds.artists()).toEqual(
      new Map([
        ['x', 'late'],
        ['y', 'b'],
      ]),
    );
    expect(ds.stats()).toMatchObject({ tracksWithArtist: 2, tracksWithSeveralArtists: 1 });
    expect(Dataset.fromListens([L('u', 't', 1)]).artists()).toBeUndefined();
    // The splits keep them: a training set built from these listens knows the same artists.
    const { leaveOneOut } = await import('../src/data/splits.js');
    const three = Dataset.fromListens([1, 2, 3].map((t) => L('u', `t${t}`, t, { artistId: `a${t}` })));
    expect(leaveOneOut(three).train.artists()).toEqual(new Map([['t1', 'a1']]));
    const e = fromListensError([L('u', 't', 1, { artistId: 7 as never })]);
    expect(e.issues[0]).toMatchObject({ column: 'listens[0].artistId', value: '7' });
    const text = fromListensError([L('u', 't', 1, { context: 3 as never, sessionId: {} as never })]);
    expect(text.issues.map((i) => i.column)).toEqual(['listens[0].context', 'listens[0].sessionId']);
    // A misspelt field is named, not dropped (a skip_level would otherwise never reach the reward hooks).
    const misspelt = fromListensError([L('u', 't', 1, { skip_level: 1 } as never)]);
    expect(misspelt.issues[0]).toMatchObject({ column: 'listens[0].skip_level', value: '1' });
    expect(fromListensError([L('u', 't', 1, { context: '' })]).issues[0]!.column).toBe('listens[0].context');
  });

  it('rejects bad options', () => {
    expect(() => Dataset.fromListens([], { minUserListens: 0 })).toThrow(InvalidOptionError);
    expect(() => Dataset.fromListens([], { minTrackListens: 1.5 })).toThrow(/minTrackListens/);
    expect(() => Dataset.fromListens([], { sessionGapMinutes: -1 })).toThrow(/sessionGapMinutes/);
    const bad = <T>(v: unknown) => v as T;
    expect(() => Dataset.fromListens([], bad({ sessionGapMinutes: '30' }))).toThrow(/sessionGapMinutes/);
    expect(() => Dataset.fromListens([], bad({ vocabulary: 'x' }))).toThrow(/`vocabulary`/);
    expect(() => Dataset.fromListens([], bad({ minUserListen: 5 }))).toThrow(
      /`minUserListen` option must be a known Dataset option/,
    );
    expect(() => Dataset.fromListens(bad('listens.csv'))).toThrow(/`listens`/);
  });

  it('rejects listens it cannot order or identify, naming each one, and builds nothing from them', () => {
    const bad = <T>(v: unknown) => v as T;
    const listens = bad<Listen[]>([
      L('u', 'a', 3),
      L('u', 'b', Number.NaN),
      { userId: 'u', timestamp: 1 },
      { userId: 1, trackId: '7', timestamp: 2 },
      null,
      L('v', 'c', bad('2024-01-01')),
      L('v', 'd', 5),
    ]);
    const e = fromListensError(listens);
    expect(e.message).toMatch(/5 of 7 listens are invalid/);
    expect(e.issues.map((i) => i.column)).toEqual([
      'listens[1].timestamp',
      'listens[2].trackId',
      'listens[3].userId',
      'listens[4]',
      'listens[5].timestamp',
    ]);
    expect(e.issues[0]!.value).toBe('NaN');
  });

  it('checks in-memory listens like a loaded file: integer times from 1970, skip levels 0-3, play times', () => {
    const bad = <T>(v: unknown) => v as T;
    const listens = bad<Listen[]>([
      L('u', 'a', 1.5),
      L('u', 'b', -1),
      { ...L('u', 'c', 3), skipLevel: 7 },
      { ...L('u', 'd', 4), msPlayed: -5 },
      { ...L('u', 'e', 5), saved: 'yes' },
      { ...L('u', 'f', 6), durationMs: 180_000, skipLevel: 0, saved: true },
    ]);
    expect(fromListensError(listens).issues.map((i) => i.column)).toEqual([
      'listens[0].timestamp',
      'listens[1].timestamp',
      'listens[2].skipLevel',
      'listens[3].msPlayed',
      'listens[4].saved',
    ]);
  });
});

// Tests of leave-one-out and temporal splits: known answers plus partition properties over random data.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Dataset } from '../src/data/dataset.js';
import { holdOutRecent, leaveOneOut, temporalSplit } from '../src/data/splits.js';
import type { Listen } from '../src/data/types.js';
import { InvalidOptionError } from '../src/errors.js';

const L = (userId: string, trackId: string, timestamp: number): Listen => ({ userId, trackId, timestamp });

/** Multiset of listens as "user|track|time" keys with counts. */
function bag(keys: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1);
  return m;
}
const key = (l: Listen) => `${l.userId}|${l.trackId}|${l.timestamp}`;

const listensArb = fc
  .array(
    fc.record({ u: fc.integer({ min: 0, max: 5 }), t: fc.integer({ min: 0, max: 8 }), ts: fc.nat(50) }),
    {
      maxLength: 80,
    },
  )
  .map((rows) => rows.map((r) => L(`u${r.u}`, `t${r.t}`, r.ts)));

describe('leaveOneOut', () => {
  const ds = Dataset.fromListens(
    [
      L('a', 'x1', 1),
      L('a', 'x2', 2),
      L('a', 'x3', 3),
      L('a', 'x4', 4),
      L('b', 'y1', 1),
      L('b', 'y2', 2),
      L('c', 'z1', 1),
      L('c', 'z2', 2),
      L('c', 'x9', 3),
    ],
    { sessionGapMinutes: 7 },
  );

  it('holds out the last listen for test and the second-to-last for validation', () => {
    const { train, validation, test } = leaveOneOut(ds);
    expect(validation).toEqual([
      { userId: 'a', history: ['x1', 'x2'], target: 'x3' },
      { userId: 'c', history: ['z1'], target: 'z2' },
    ]);
    expect(test).toEqual([
      { userId: 'a', history: ['x1', 'x2', 'x3'], target: 'x4' },
      { userId: 'c', history: ['z1', 'z2'], target: 'x9' },
    ]);
    // users with < 3 listens stay whole in train
    expect(train.history('b')).toEqual(['y1', 'y2']);
    expect(train.history('a')).toEqual(['x1', 'x2']);
    expect(train.history('c')).toEqual(['z1']);
    // vocabulary from train only
    expect(train.vocabulary.ids).toEqual(['', 'x1', 'x2', 'y1', 'y2', 'z1']);
    expect(train.vocabulary.has('x4')).toBe(false);
    expect(train.sessionGapMinutes).toBe(7);
  });

  it('partitions all listens exactly, keeps targets out of their histories, and is deterministic (property)', () => {
    fc.assert(
      fc.property(listensArb, (listens) => {
        const full = Dataset.fromListens(listens);
        const s = leaveOneOut(full);
        expect(s.train.numListens + s.validation.length + s.test.length).toBe(listens.length);
        // rebuild the held-out listens from each user's sorted sequence and compare multisets
        const held: string[] = [];
        for (const c of s.test) {
          const ls = full.userListens.get(c.userId)!;
          const n = ls.length;
          expect(n).toBeGreaterThanOrEqual(3);
          expect(c.target).toBe(ls[n - 1]!.trackId);
          expect(c.history).toHaveLength(n - 1);
          held.push(key(ls[n - 1]!), key(ls[n - 2]!));
        }
        for (const c of s.validation) {
          const n = full.userListens.get(c.userId)!.length;
          expect(c.history).toHaveLength(n - 2);
          // validation history is a prefix of the train sequence, the test history = train + validation target
          expect(c.history).toEqual(s.train.history(c.userId));
          const t = s.test.find((x) => x.userId === c.userId)!;
          expect(t.history).toEqual([...c.history, c.target]);
        }
        expect(bag([...s.train.listens().map(key), ...held])).toEqual(bag(listens.map(key)));
        const again = leaveOneOut(Dataset.fromListens(listens));
        expect(again.test).toEqual(s.test);
        expect(again.validation).toEqual(s.validation);
        expect(again.train.vocabulary.ids).toEqual(s.train.vocabulary.ids);
      }),
      { numRuns: 150, seed: 11 },
    );
  });
});

describe('temporalSplit', () => {
  const ds = Dataset.fromListens([
    L('a', 'x1', 10),
    L('a', 'x2', 20),
    L('a', 'x3', 30),
    L('a', 'x4', 40),
    L('b', 'y1', 5),
    L('c', 'z1', 25),
    L('c', 'z2', 35),
  ]);

  it('trains on listens before the cut and tests the first listen after it', () => {
    const { train, test, testListens } = temporalSplit(ds, { at: 25 });
    expect(train.listens().map((l) => l.trackId)).toEqual(['x1', 'x2', 'y1']);
    expect(test).toEqual([{ userId: 'a', history: ['x1', 'x2'], target: 'x3' }]);
    // c has nothing before the cut: its listens are held out but form no case
    expect(testListens.map((l) => l.trackId)).toEqual(['x3', 'x4', 'z1', 'z2']);
    expect(train.vocabulary.has('x3')).toBe(false);
    const viaDate = temporalSplit(ds, { at: new Date(25) });
    expect(viaDate.test).toEqual(test);
  });

  it('validates `at`', () => {
    for (const at of [Number.NaN, Number.POSITIVE_INFINITY, '25', new Date('nope')] as never[]) {
      const e = (() => {
        try {
          temporalSplit(ds, { at });
        } catch (err) {
          return err;
        }
      })();
      expect(e).toBeInstanceOf(InvalidOptionError);
      expect((e as InvalidOptionError).option).toBe('at');
    }
    expect(() => temporalSplit(ds, { at: 5 })).toThrow(/No listen is before the cut/);
    expect(() => temporalSplit(ds, { at: 41 })).toThrow(/No listen is at or after the cut/);
  });

  it('partitions all listens exactly and never puts a target in its history (property)', () => {
    fc.assert(
      fc.property(listensArb, fc.integer({ min: 1, max: 50 }), (listens, at) => {
        const full = Dataset.fromListens(listens);
        const before = listens.filter((l) => l.timestamp < at).length;
        if (before === 0 || before === listens.length) {
          expect(() => temporalSplit(full, { at })).toThrow(InvalidOptionError);
          return;
        }
        const s = temporalSplit(full, { at });
        expect(s.train.numListens + s.testListens.length).toBe(listens.length);
        expect(bag([...s.train.listens().map(key), ...s.testListens.map(key)])).toEqual(
          bag(listens.map(key)),
        );
        expect(s.train.listens().every((l) => l.timestamp < at)).toBe(true);
        expect(s.testListens.every((l) => l.timestamp >= at)).toBe(true);
        for (const c of s.test) {
          expect(c.history).toEqual(s.train.history(c.userId));
          const first = s.testListens.find((l) => l.userId === c.userId)!;
          expect(c.target).toBe(first.trackId);
        }
      }),
      { numRuns: 150, seed: 5 },
    );
  });
});

describe('holdOutRecent', () => {
  it('holds out the most recent share per user and keeps every listen', () => {
    const listens = [
      ...Array.from({ length: 10 }, (_, i) => L('a', `t${i}`, i)),
      L('b', 'x', 1),
      ...Array.from({ length: 5 }, (_, i) => L('c', `s${i}`, 100 - i)),
    ];
    const { train, history, heldOut } = holdOutRecent(Dataset.fromListens(listens), { fraction: 0.2 });
    expect(history.get('a')).toEqual(['t0', 't1', 't2', 't3', 't4', 't5', 't6', 't7']);
    expect(heldOut.get('a')).toEqual(['t8', 't9']);
    expect(heldOut.get('c')).toEqual(['s0']); // newest by timestamp, not file order
    expect(history.has('b')).toBe(false); // one listen: cannot be split, stays in train
    expect(train.numListens + [...heldOut.values()].reduce((n, h) => n + h.length, 0)).toBe(listens.length);
    expect(() => holdOutRecent(Dataset.fromListens(listens), { fraction: 1 })).toThrow(InvalidOptionError);
  });

  it('holds out ceil(n * fraction) listens, whatever the float rounding', () => {
    for (const [n, fraction, held] of [
      [5, 0.8, 4], // 5 * (1 - 0.8) is 0.99999...: the user was kept whole
      [10, 0.9, 9],
      [10, 0.2, 2],
      [7, 0.2, 2],
      [3, 0.1, 1],
    ] as const) {
      const listens = Array.from({ length: n }, (_, i) => L('a', `t${i}`, i));
      expect(holdOutRecent(Dataset.fromListens(listens), { fraction }).heldOut.get('a')).toHaveLength(held);
    }
  });
});

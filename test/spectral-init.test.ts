import { describe, expect, it } from 'vitest';
import { countCooccurrences, csrRow } from '../src/models/csr.js';
import { cooccurrenceEmbeddings, symmetricEigen } from '../src/models/spectral-init.js';
import { createRng } from '../src/util/random.js';

describe('symmetricEigen', () => {
  it('returns eigenpairs of a random symmetric matrix (A v = lambda v, orthonormal v)', () => {
    const m = 25;
    const rng = createRng(1);
    const a = new Float64Array(m * m);
    for (let i = 0; i < m; i++)
      for (let j = i; j < m; j++) {
        const v = rng.normal();
        a[i * m + j] = v;
        a[j * m + i] = v;
      }
    const { values, vectors } = symmetricEigen(a, m);
    let trace = 0;
    for (let i = 0; i < m; i++) trace += a[i * m + i]!;
    expect(values.reduce((s, v) => s + v, 0)).toBeCloseTo(trace, 9);
    for (let e = 0; e < m; e++) {
      for (let i = 0; i < m; i++) {
        let av = 0;
        for (let k = 0; k < m; k++) av += a[i * m + k]! * vectors[k * m + e]!;
        expect(Math.abs(av - values[e]! * vectors[i * m + e]!)).toBeLessThan(1e-9);
      }
      for (let f = 0; f <= e; f++) {
        let dot = 0;
        for (let k = 0; k < m; k++) dot += vectors[k * m + e]! * vectors[k * m + f]!;
        expect(dot).toBeCloseTo(e === f ? 1 : 0, 9);
      }
    }
  });
});

describe('countCooccurrences', () => {
  it('counts distinct tracks within the window, both ways, and never a track with itself', () => {
    const co = countCooccurrences([Int32Array.of(1, 2, 2, 3)], 3, 1);
    expect([...csrRow(co, 1).cols]).toEqual([2]);
    expect([...csrRow(co, 2).cols]).toEqual([1, 3]);
    expect([...csrRow(co, 2).vals]).toEqual([1, 1]);
    const wide = countCooccurrences([Int32Array.of(1, 2, 3)], 3, 2);
    expect([...csrRow(wide, 1).cols]).toEqual([2, 3]);
  });
});

describe('cooccurrenceEmbeddings', () => {
  // Two groups of ten tracks that are only ever heard within their group; track 21 is heard alone.
  const rng = createRng(7);
  const sequences: Int32Array[] = [];
  for (let s = 0; s < 200; s++) {
    const base = s % 2 === 0 ? 0 : 10;
    sequences.push(Int32Array.from({ length: 8 }, () => base + 1 + rng.int(10)));
  }
  sequences.push(Int32Array.of(21));
  const V = 21;
  const d = 4;
  // A small random fallback (the random start's role), and 0.5 everywhere on track 21's row to spot it.
  const noise = createRng(11);
  const fallback = Float32Array.from({ length: (V + 1) * d }, (_, i) =>
    i < d ? 0 : i >= 21 * d ? 0.5 : 0.001 * noise.normal(),
  );
  const e = cooccurrenceEmbeddings(sequences, V, d, 0.1, fallback, createRng(3));
  const dot = (x: number, y: number) => {
    let s = 0;
    for (let c = 0; c < d; c++) s += e[x * d + c]! * e[y * d + c]!;
    return s;
  };

  it('places tracks heard together close and tracks never heard together apart', () => {
    for (const [a, b] of [
      [1, 2],
      [3, 9],
      [11, 12],
      [15, 20],
    ])
      expect(dot(a!, b!)).toBeGreaterThan(10 * Math.abs(dot(1, 11)) + 1e-4);
  });

  it('scales the table to the given spread, keeps the fallback row of a track with no co-occurrence and row 0 zero', () => {
    expect([...e.subarray(21 * d, 22 * d)]).toEqual([0.5, 0.5, 0.5, 0.5]);
    expect([...e.subarray(0, d)]).toEqual([0, 0, 0, 0]);
    // The spectral values (every value of rows 1-20 but columns the eigensolver could not fill, which keep
    // the fallback's) have exactly the given spread.
    let sumSq = 0;
    let n = 0;
    for (let i = d; i < 21 * d; i++)
      if (e[i] !== fallback[i]) {
        sumSq += e[i]! ** 2;
        n++;
      }
    expect(n).toBeGreaterThanOrEqual(2 * 20);
    expect(Math.sqrt(sumSq / n)).toBeCloseTo(0.1, 5);
  });

  it('fills the columns a tiny catalogue has no eigenpairs for from the fallback, not with zeros', () => {
    const two = cooccurrenceEmbeddings(
      [Int32Array.of(1, 2, 1, 2)],
      2,
      8,
      0.1,
      Float32Array.from({ length: 24 }, (_, i) => (i < 8 ? 0 : i)),
      createRng(1),
    );
    for (let a = 1; a <= 2; a++) {
      const row = [...two.subarray(a * 8, (a + 1) * 8)];
      expect(row.filter((v) => v === 0).length).toBe(0);
      expect(row.slice(1)).toEqual(Array.from({ length: 7 }, (_, c) => a * 8 + c + 1)); // one positive eigenpair
    }
  });

  it('is deterministic for a seed', () => {
    const again = cooccurrenceEmbeddings(sequences, V, d, 0.1, fallback, createRng(3));
    expect([...again]).toEqual([...e]);
  });
});

// The one place that turns a score row and a true next-track distribution into expected HR@k and NDCG@k.
// Shared by evaluateExpected (a model on a generated world's cases) and the generator's own diagnostics
// (generatorAwareHitRate, tracksOnlyHitRate), so every expected metric counts ranks and ties the same way.

/**
 * HR@k and NDCG@k in expectation when tracks are ranked by `scores` (columns `from..scores.length - 1`;
 * columns in `skip` are left out of the ranking) and the next track is `j` with probability `p` for each
 * `[j, p]` of `truth`. A track scoring s sits at rank r = the number of ranked tracks scoring >= s, itself
 * included, so ties count against it (as `evaluate()` counts them); it adds p to HR and p / log2(r + 1) to
 * NDCG when r <= k. A NaN score counts as -Infinity, as in `evaluate()`. A truth entry that is skipped or
 * undefined is a miss.
 *
 * @example
 * ```ts
 * const { hr, ndcg } = expectedAtK(Float32Array.of(0, 3, 2, 1), [[1, 0.5], [3, 0.5]], 2, new Set(), 1); // hr 0.5
 * ```
 */
export function expectedAtK(
  scores: ArrayLike<number>,
  truth: Iterable<readonly [number | undefined, number]>,
  k: number,
  skip: ReadonlySet<number>,
  from = 0,
): { hr: number; ndcg: number } {
  // The k + 1 best ranked scores, descending: r <= k needs s >= top[k - 1], and r is found by a short scan.
  // A NaN score ranks last, as in evaluate() (a NaN in the sort would scramble the order).
  const clean = (x: number) => (Number.isNaN(x) ? Number.NEGATIVE_INFINITY : x);
  const top: number[] = [];
  for (let j = from; j < scores.length; j++) if (!skip.has(j)) top.push(clean(scores[j]!));
  top.sort((a, b) => b - a);
  top.length = Math.min(top.length, k + 1);
  let hr = 0;
  let ndcg = 0;
  for (const [j, p] of truth) {
    if (j === undefined || skip.has(j) || !(p > 0)) continue;
    const s = clean(scores[j]!);
    let r = 0;
    while (r < top.length && top[r]! >= s) r++;
    if (r === 0 || r > k) continue;
    hr += p;
    ndcg += p / Math.log2(r + 1);
  }
  return { hr, ndcg };
}

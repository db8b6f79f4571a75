// Shared pieces of the benchmarks that write synthetic logs at scale (bench/scale.ts, bench/mpd.ts).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getHeapStatistics } from 'node:v8';
import { writeFileAtomic } from '../src/util/fs.js';
import type { Rng } from '../src/util/random.js';

/**
 * A sampler of track indices `0..n-1` with Zipf-like weights `1 / (i + offset)^exponent` (inverse CDF by binary
 * search; the offset flattens the head the way real catalogues' top tracks are flatter than a pure Zipf law).
 *
 * @example
 * ```ts
 * const draw = zipfSampler(createRng(1), 1_000_000, 10, 0.9);
 * const track = draw(); // mostly small indices
 * ```
 */
export function zipfSampler(rng: Rng, n: number, offset: number, exponent: number): () => number {
  const cdf = new Float64Array(n);
  let acc = 0;
  for (let i = 0; i < n; i++) cdf[i] = acc += 1 / (i + offset) ** exponent;
  return () => {
    const r = rng.next() * acc;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < r) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

/**
 * Small measuring helpers: mebibytes of a byte count, the heap in use (MiB), a clock in seconds, two
 * decimals, and Node's old-space limit (MiB): what a plain `node script.js` may hold.
 *
 * @example
 * ```ts
 * const t = measure.clock();
 * console.log(measure.round(measure.clock() - t), 's,', measure.heapMB(), 'MB of', measure.heapLimitMB);
 * ```
 */
export const measure = {
  mb: (bytes: number) => Math.round(bytes / 2 ** 20),
  heapMB: () => Math.round(process.memoryUsage().heapUsed / 2 ** 20),
  clock: () => performance.now() / 1000,
  round: (x: number) => Math.round(x * 100) / 100,
  heapLimitMB: getHeapStatistics().heap_size_limit / 2 ** 20,
};

/**
 * Writes `bench/results/<name>.json` (the results, with the process's peak RSS added) and `<name>.md` (the
 * README section), atomically, after printing the JSON.
 *
 * @example
 * ```ts
 * await saveResults('scale', results, (r) => stepTable([['tracks', String(r.tracks)]]));
 * ```
 */
export async function saveResults(
  name: string,
  results: Record<string, unknown>,
  markdown: (r: Record<string, unknown>) => string,
): Promise<void> {
  results.peakRssMB = Math.round(process.resourceUsage().maxRSS / 1024); // the kernel's high-water mark
  console.log(JSON.stringify(results, null, 2));
  const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');
  await writeFileAtomic(path.join(dir, `${name}.json`), `${JSON.stringify(results, null, 2)}\n`);
  await writeFileAtomic(path.join(dir, `${name}.md`), markdown(results));
}

/**
 * A two-column markdown table of measured steps.
 *
 * @example
 * ```ts
 * stepTable([['load', '24.9 s']]); // '| step | measured |\n| --- | ---: |\n| load | 24.9 s |'
 * ```
 */
export function stepTable(lines: readonly (readonly [string, string])[]): string {
  return ['| step | measured |', '| --- | ---: |', ...lines.map(([k, v]) => `| ${k} | ${v} |`)].join('\n');
}

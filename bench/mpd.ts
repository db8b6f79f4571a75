// Benchmark: the Spotify Million Playlist Dataset's format at scale: load slices, split, fit, evaluate.
//
// Run: npx tsx bench/mpd.ts [--slices 50] [--seconds 60] [--cases 200]
// Writes `--slices` JSON slices shaped like the real ones (1,000 playlists each, pretty-printed, every field the
// real files have; playlist lengths 5 to 250 around the real mean of 66; track draws from a Zipf law over
// 2.26 million tracks, half of each playlist from its own three artists) to a temporary folder, then measures
// what a user of the dataset meets: `loadListens(dir, { format: 'mpd' })` time and heap, `Dataset` plus
// `leaveOneOut`, ItemTransition, SASRec with its defaults under `maxSeconds`, and full-ranking evaluation. The
// playlists are random draws, so this measures scale, not accuracy. The full dataset is 1,000 slices; the
// table projects its load time and heap linearly from the slices measured.
// Writes bench/results/mpd.json and bench/results/mpd.md (atomically).

import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { initBackend } from '../src/backend.js';
import { Dataset } from '../src/data/dataset.js';
import { loadListens } from '../src/data/loaders.js';
import { leaveOneOut } from '../src/data/splits.js';
import { evaluate } from '../src/eval/metrics.js';
import { ItemTransition } from '../src/models/baselines.js';
import { SASRec } from '../src/models/sasrec.js';
import { createRng } from '../src/util/random.js';
import { measure, saveResults, stepTable, zipfSampler } from './synthetic.js';

const { values } = parseArgs({
  options: {
    slices: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '60' },
    cases: { type: 'string', default: '200' },
  },
});
const SLICES = Number(values.slices);
const SECONDS = Number(values.seconds);
const CASES = Number(values.cases);
const FULL_SLICES = 1000;
const TRACKS = 2_262_292; // unique tracks in the real dataset
const ARTISTS = 295_860;
const HEAP_LIMIT_MB = measure.heapLimitMB;
// A full collection before each heap reading, so garbage from parsing is not counted as the data's.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const _repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const backend = await initBackend({ verbose: false });
const { mb, heapMB, clock, round } = measure;
const b62 = (n: number) => n.toString(36).padStart(22, '0');

/** Writes the slices; returns their total size in bytes. */
async function writeSlices(dir: string): Promise<number> {
  const rng = createRng(7);
  const draw = zipfSampler(rng, TRACKS, 20, 0.95);
  const perArtist = Math.ceil(TRACKS / ARTISTS);
  const track = (pos: number, t: number) => {
    const a = t % ARTISTS;
    return {
      pos,
      artist_name: `Artist ${a}`,
      track_uri: `spotify:track:${b62(t)}`,
      artist_uri: `spotify:artist:${b62(a)}`,
      track_name: `Track ${t}`,
      album_uri: `spotify:album:${b62(Math.floor(t / 12))}`,
      duration_ms: 150_000 + (t % 150_000),
      album_name: `Album ${Math.floor(t / 12)}`,
    };
  };
  let bytes = 0;
  for (let s = 0; s < SLICES; s++) {
    const playlists = [];
    for (let p = 0; p < 1000; p++) {
      const pid = s * 1000 + p;
      const n = Math.min(250, 5 + Math.floor(-Math.log(1 - rng.next()) * 61));
      const own = [draw(), draw(), draw()].map((t) => t % ARTISTS);
      const tracks = [];
      for (let pos = 0; pos < n; pos++) {
        const t = rng.next() < 0.5 ? (own[rng.int(3)]! + ARTISTS * rng.int(perArtist)) % TRACKS : draw();
        tracks.push(track(pos, t));
      }
      playlists.push({
        name: `playlist ${pid}`,
        collaborative: 'false',
        pid,
        modified_at: 1_400_000_000 + rng.int(100_000_000),
        num_tracks: n,
        num_albums: n,
        num_followers: 1,
        tracks,
        num_edits: 1 + rng.int(20),
        duration_ms: tracks.reduce((sum, t) => sum + t.duration_ms, 0),
        num_artists: n,
      });
    }
    const name = `mpd.slice.${s * 1000}-${s * 1000 + 999}.json`;
    const text = JSON.stringify(
      { info: { slice: `${s * 1000}-${s * 1000 + 999}`, version: 'v1' }, playlists },
      null,
      4,
    );
    await writeFile(path.join(dir, name), text);
    bytes += (await stat(path.join(dir, name))).size;
  }
  return bytes;
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'encore-mpd-'));
const results: Record<string, unknown> = {
  bench: 'mpd',
  backend: backend.name,
  cores: os.availableParallelism(),
  heapLimitMB: Math.round(HEAP_LIMIT_MB),
  settings: { slices: SLICES, seconds: SECONDS, cases: CASES },
};
try {
  let t = clock();
  const bytes = await writeSlices(dir);
  console.log(`wrote ${SLICES} slices (${mb(bytes)} MB) in ${(clock() - t).toFixed(0)} s`);

  gc();
  const heap0 = heapMB();
  t = clock();
  const loaded = await loadListens(dir, { format: 'mpd' });
  const loadSeconds = clock() - t;
  gc();
  const loadHeap = heapMB();
  console.log(`loaded ${loaded.listens.length} entries in ${loadSeconds.toFixed(1)} s, heap ${loadHeap} MB`);
  t = clock();
  const ds = Dataset.fromListens(loaded.listens);
  const { train, test } = leaveOneOut(ds);
  const splitSeconds = clock() - t;
  const splitHeap = heapMB();
  const bytesPerEntry = ((loadHeap - heap0) * 2 ** 20) / loaded.listens.length;
  results.load = {
    fileMB: mb(bytes),
    playlists: ds.users.length,
    entries: loaded.listens.length,
    tracks: ds.numTracks,
    catalogue: loaded.tracks?.length ?? 0,
    seconds: round(loadSeconds),
    entriesPerSecond: Math.round(loaded.listens.length / loadSeconds),
    heapMB: loadHeap,
    bytesPerEntry: Math.round(bytesPerEntry),
    splitSeconds: round(splitSeconds),
    heapAfterSplitMB: splitHeap,
    fullSecondsProjected: Math.round((loadSeconds * FULL_SLICES) / SLICES),
    fullHeapMBProjected: Math.round((loadHeap - heap0) * (FULL_SLICES / SLICES) + heap0),
  };
  console.log(JSON.stringify(results.load));

  const cases = test.slice(0, CASES);
  const rows: Record<string, unknown>[] = [];
  t = clock();
  const it = await ItemTransition.fit(train);
  const itFit = clock() - t;
  t = clock();
  const itEval = await evaluate(it, cases, { k: [10] });
  rows.push({
    model: 'item-transition',
    fitSeconds: round(itFit),
    evalMsPerCase: round((1000 * (clock() - t)) / cases.length),
    ndcg10: itEval.ndcg[10],
  });
  it.dispose();

  let steps = 0;
  t = clock();
  const model = await SASRec.fit(train, {
    maxSeconds: SECONDS,
    progress: false,
    onEpochEnd: (_e, logs) => {
      steps += logs.steps;
    },
  });
  const fitSeconds = clock() - t;
  t = clock();
  const sasEval = await evaluate(model, cases, { k: [10] });
  rows.push({
    model: 'sasrec',
    loss: model.config.loss,
    fitSeconds: round(fitSeconds),
    budgetSeconds: SECONDS,
    steps,
    evalMsPerCase: round((1000 * (clock() - t)) / cases.length),
    ndcg10: sasEval.ndcg[10],
  });
  model.dispose();
  results.models = rows;
  await saveResults('mpd', results, markdown);
} finally {
  await rm(dir, { recursive: true, force: true });
}

function markdown(r: typeof results): string {
  const load = r.load as Record<string, number>;
  const models = r.models as Record<string, number | string>[];
  const sas = models.find((m) => m.model === 'sasrec')!;
  const it = models.find((m) => m.model === 'item-transition')!;
  const lines: [string, string][] = [
    [
      'slices written',
      `${r.settings && (r.settings as Record<string, number>).slices} (${load.fileMB} MB of JSON)`,
    ],
    [
      "`loadListens(dir, { format: 'mpd' })`",
      `${load.seconds} s (${load.entriesPerSecond.toLocaleString('en')} entries/s), ${load.entries.toLocaleString('en')} entries of ${load.playlists.toLocaleString('en')} playlists`,
    ],
    ['heap after loading', `${load.heapMB} MB (${load.bytesPerEntry} bytes an entry)`],
    ['`Dataset` + `leaveOneOut`', `${load.splitSeconds} s, heap ${load.heapAfterSplitMB} MB`],
    ['tracks', load.tracks.toLocaleString('en')],
    [
      `all ${FULL_SLICES} slices, projected linearly`,
      `${load.fullSecondsProjected} s to load, ${load.fullHeapMBProjected.toLocaleString('en')} MB of heap`,
    ],
    ['ItemTransition fit / evaluate', `${it.fitSeconds} s / ${it.evalMsPerCase} ms a case`],
    [
      `SASRec fit, \`maxSeconds: ${sas.budgetSeconds}\``,
      `${sas.fitSeconds} s (loss ${sas.loss}, ${sas.steps} steps)`,
    ],
    ['SASRec evaluate (full ranking)', `${sas.evalMsPerCase} ms a case`],
    ['peak RSS', `${r.peakRssMB} MB`],
  ];
  const table = stepTable(lines);
  return `${table}

Node's default heap here is ${r.heapLimitMB} MB: ${load.fullHeapMBProjected > (r.heapLimitMB as number) ? `the full dataset needs \`node --max-old-space-size=${Math.ceil((load.fullHeapMBProjected * 1.5) / 1024) * 1024}\` or a subset of slices` : 'the full dataset fits it'}. Measured ${new Date().toISOString().slice(0, 10)}, backend ${r.backend}, ${r.cores} cores; \`npx tsx bench/mpd.ts\`. Random playlists: scale only, not accuracy.
`;
}

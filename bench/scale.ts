// Benchmark: a Last.fm 1K-sized log end to end on this machine: load, split, fit under a time budget, evaluate.
//
// Run: npx tsx bench/scale.ts [--rows 19150000] [--users 992] [--tracks 1000000] [--seconds 120] [--cases 200]
// Writes a Last.fm 1K-shaped TSV (userid, ISO timestamp, artist MBID, artist, track MBID, track; newest first per
// listener; one track in nine and one artist in thirteen without an MBID, as in the real file) to a temporary
// folder, then measures what a user of that file meets: `loadListens` time and heap, `Dataset` plus
// `leaveOneOut`, SASRec with its defaults under `maxSeconds` (its loss, workers and seconds per step), and
// full-ranking evaluation. The listens are random draws (a Zipf law over the catalogue plus each listener's own
// rotation), so this measures scale, not accuracy: accuracy is bench/next-track.ts and bench/sparse.ts.
// Writes bench/results/scale.json and bench/results/scale.md (atomically).

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
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
    rows: { type: 'string', default: '19150000' },
    users: { type: 'string', default: '992' },
    tracks: { type: 'string', default: '1000000' },
    seconds: { type: 'string', default: '120' },
    cases: { type: 'string', default: '200' },
  },
});
const ROWS = Number(values.rows);
const USERS = Number(values.users);
const TRACKS = Number(values.tracks);
const SECONDS = Number(values.seconds);
const CASES = Number(values.cases);
const HEAP_LIMIT_MB = measure.heapLimitMB;

const _repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const backend = await initBackend({ verbose: false });
const { mb, heapMB, clock, round } = measure;

/** A fixed-width MBID-looking id from a number. */
const mbid = (n: number, salt: number) => {
  const h = ((n + 1) * 2654435761 + salt * 40503) >>> 0;
  const hex = (h.toString(16) + n.toString(16)).padStart(20, '0').slice(-20);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${(salt * 1e6 + n).toString(16).padStart(12, '0')}`;
};

async function writeLog(file: string): Promise<void> {
  const rng = createRng(1);
  const artists = Math.max(1, Math.floor(TRACKS / 6));
  const draw = zipfSampler(rng, TRACKS, 10, 0.9);
  const weights = Array.from({ length: USERS }, () => Math.exp(rng.normal()));
  const total = weights.reduce((s, w) => s + w, 0);
  const out = createWriteStream(file, { encoding: 'utf8' });
  let written = 0;
  for (let u = 0; u < USERS; u++) {
    const n = u === USERS - 1 ? ROWS - written : Math.max(2, Math.round((ROWS * weights[u]!) / total));
    written += n;
    const rotation = Array.from({ length: 200 }, draw);
    let t = Date.UTC(2009, 4, 4) - rng.int(200) * 86_400_000;
    const user = `user_${String(u + 1).padStart(6, '0')}`;
    let chunk = '';
    for (let k = 0; k < n; k++) {
      const i = rng.next() < 0.5 ? rotation[Math.floor(rng.next() ** 2 * 200)]! : draw();
      const a = i % artists;
      const stamp = new Date(t).toISOString().slice(0, 19);
      chunk += `${user}\t${stamp}Z\t${a % 13 === 0 ? '' : mbid(a, 3)}\tArtist ${a}\t${i % 9 === 0 ? '' : mbid(i, 7)}\tTrack number ${i}\n`;
      t -= (150 + rng.int(250)) * 1000 + (rng.next() < 0.05 ? (3600 + rng.int(82_800)) * 1000 : 0);
      if (chunk.length > 1 << 20) {
        if (!out.write(chunk)) await once(out, 'drain');
        chunk = '';
      }
    }
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'encore-scale-'));
const file = path.join(dir, 'userid-timestamp-artid-artname-traid-traname.tsv');
const results: Record<string, unknown> = {
  bench: 'scale',
  backend: backend.name,
  cores: os.availableParallelism(),
  heapLimitMB: Math.round(HEAP_LIMIT_MB),
  settings: { rows: ROWS, users: USERS, tracks: TRACKS, seconds: SECONDS, cases: CASES },
};
try {
  let t = clock();
  await writeLog(file);
  const fileMB = mb((await stat(file)).size);
  console.log(`wrote ${ROWS} rows (${fileMB} MB) in ${(clock() - t).toFixed(0)} s`);

  const heap0 = heapMB();
  t = clock();
  const loaded = await loadListens(file, { format: 'lastfm-1k' });
  const loadSeconds = clock() - t;
  const loadHeap = heapMB();
  console.log(`loaded ${loaded.listens.length} listens in ${loadSeconds.toFixed(0)} s, heap ${loadHeap} MB`);
  t = clock();
  const ds = Dataset.fromListens(loaded.listens);
  const { train, test } = leaveOneOut(ds);
  const splitSeconds = clock() - t;
  const splitHeap = heapMB();
  console.log(
    `dataset + split in ${splitSeconds.toFixed(0)} s: ${ds.users.length} listeners, ${ds.numTracks} tracks`,
  );
  results.load = {
    fileMB,
    listens: loaded.listens.length,
    tracks: ds.numTracks,
    artistsKnown: loaded.tracks?.length ?? 0,
    seconds: round(loadSeconds),
    rowsPerSecond: Math.round(loaded.listens.length / loadSeconds),
    heapMB: loadHeap,
    bytesPerListen: Math.round(((loadHeap - heap0) * 2 ** 20) / loaded.listens.length),
    splitSeconds: round(splitSeconds),
    heapAfterSplitMB: splitHeap,
  };

  const cases = test.slice(0, CASES);
  const rows: Record<string, unknown>[] = [];
  t = clock();
  const it = await ItemTransition.fit(train);
  const itFit = clock() - t;
  t = clock();
  await evaluate(it, cases, { k: [10] });
  rows.push({
    model: 'item-transition',
    fitSeconds: round(itFit),
    evalMsPerCase: round((1000 * (clock() - t)) / cases.length),
  });
  it.dispose();

  const epochs: { steps: number; seconds: number }[] = [];
  let lastEpochEnd = 0;
  t = clock();
  const model = await SASRec.fit(train, {
    maxSeconds: SECONDS,
    progress: false,
    onEpochEnd: (_e, logs) => {
      epochs.push({ steps: logs.steps, seconds: logs.seconds });
      lastEpochEnd = clock();
    },
  });
  const fitSeconds = clock() - t;
  // After the last epoch: the best weights restored and the post-hoc heads fitted.
  const headsSeconds = t + fitSeconds - lastEpochEnd;
  t = clock();
  await evaluate(model, cases, { k: [10] });
  const steps = epochs.reduce((s, e) => s + e.steps, 0);
  rows.push({
    model: 'sasrec',
    loss: model.config.loss,
    fitSeconds: round(fitSeconds),
    budgetSeconds: SECONDS,
    steps,
    epochSeconds: round(epochs.reduce((s, e) => s + e.seconds, 0)),
    headsSeconds: round(headsSeconds),
    evalMsPerCase: round((1000 * (clock() - t)) / cases.length),
  });
  model.dispose();
  results.models = rows;
  await saveResults('scale', results, markdown);
} finally {
  await rm(dir, { recursive: true, force: true });
}

function markdown(r: typeof results): string {
  const load = r.load as Record<string, number>;
  const models = r.models as Record<string, number | string>[];
  const heapOk = load.heapAfterSplitMB! < (r.heapLimitMB as number);
  const sas = models.find((m) => m.model === 'sasrec')!;
  const lines: [string, string][] = [
    ['write the TSV', `${load.fileMB} MB, ${load.listens.toLocaleString('en')} rows`],
    ['`loadListens` (lastfm-1k)', `${load.seconds} s (${load.rowsPerSecond.toLocaleString('en')} rows/s)`],
    ['heap after loading', `${load.heapMB} MB (${load.bytesPerListen} bytes a listen)`],
    ['`Dataset` + `leaveOneOut`', `${load.splitSeconds} s, heap ${load.heapAfterSplitMB} MB`],
    ['tracks', load.tracks.toLocaleString('en')],
    ['ItemTransition fit / evaluate', `${models[0]!.fitSeconds} s / ${models[0]!.evalMsPerCase} ms a case`],
    [
      `SASRec fit, \`maxSeconds: ${sas.budgetSeconds}\``,
      `${sas.fitSeconds} s (loss ${sas.loss}; ${sas.steps} steps, ${round(Number(sas.epochSeconds) / Number(sas.steps))} s a step with validation)`,
    ],
    [
      'of which: epochs (steps and validation) / post-hoc heads / the rest (windows, counts)',
      `${sas.epochSeconds} s / ${sas.headsSeconds} s / ${round(Number(sas.fitSeconds) - Number(sas.epochSeconds) - Number(sas.headsSeconds))} s`,
    ],
    ['SASRec evaluate (full ranking)', `${sas.evalMsPerCase} ms a case`],
    ['peak RSS', `${r.peakRssMB} MB`],
  ];
  const table = stepTable(lines);
  return `${table}

Target: a Last.fm 1K-sized log loads within Node's default heap (${r.heapLimitMB} MB here): ${heapOk ? 'met' : 'not met'} (${load.heapAfterSplitMB} MB after the split). Measured ${new Date().toISOString().slice(0, 10)}, backend ${r.backend}, ${r.cores} cores; \`npx tsx bench/scale.ts\`. Random listens: scale only, not accuracy.
`;
}

// The work behind each `encore` subcommand: load, train, evaluate, recommend, blend, simulate, report.
import fs from 'node:fs/promises';
import path from 'node:path';
import { initBackend } from '../backend.js';
import { type BlendMember, type BlendResult, blend } from '../blend/blend.js';
import type { BlendStrategyName } from '../blend/strategies.js';
import { Dataset } from '../data/dataset.js';
import { generateWorld } from '../data/generate.js';
import {
  type InvalidRowPolicy,
  type ListenFormat,
  type LoadListensResult,
  loadListens,
  loadTracks,
  saveListensAndTracks,
} from '../data/loaders.js';
import { leaveOneOut } from '../data/splits.js';
import type { EvalCase, Track } from '../data/types.js';
import { type DataIssue, formatIssue } from '../errors.js';
import { compare } from '../eval/compare.js';
import { type EvaluationResult, evaluate } from '../eval/metrics.js';
import { formatTable } from '../eval/table.js';
import { ItemKNN, ItemTransition, Popularity } from '../models/baselines.js';
import { loadModel } from '../models/persist.js';
import type { Recommender } from '../models/recommender.js';
import { SASRec } from '../models/sasrec.js';
import {
  blendCompositionChart,
  modelComparisonChart,
  simulationChart,
  trainingCurveChart,
  writeChart,
} from '../report/charts.js';
import { type ReportSection, writeReport } from '../report/report.js';
import { rerank, scorers } from '../rewards/rerank.js';
import { createSimWorld, type SimPolicy, type SimResult, simulate } from '../sim/simulator.js';
import { type CliIo, emit, info, startProgress } from './io.js';
import { CliError, type MemberSpec, requireDir, requireFile, requireOutDir } from './options.js';

/** A word as a shell reads it back: as it is when plain, else single-quoted (a path with spaces, say). */
const shellWord = (word: string): string =>
  /^[\w@%+=:,./#-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;

const DATA_FIX = 'pass the path of a listens CSV (see data/README.md), or run `encore generate` to make one';
const MODEL_FIX = 'pass a directory written by `encore train --out <dir>`';

type Backend = 'tensorflow' | 'wasm' | 'cpu';

/** How many skipped rows `--on-invalid-row skip` lists on stderr (the count covers all of them). */
const SHOWN_ISSUES = 3;

/** With `--on-invalid-row skip`: tells on stderr how many rows of `file` were left out, and the first few. */
function reportSkipped(io: CliIo, option: string, file: string, issues: readonly DataIssue[], rows: number) {
  if (issues.length === 0) return;
  const lines = [
    `note: ${option} ${file}: skipped ${issues.length} invalid row${issues.length === 1 ? '' : 's'} of ${rows} (--on-invalid-row skip)`,
    ...issues.slice(0, SHOWN_ISSUES).map((i) => `  - ${formatIssue(i)}`),
    ...(issues.length > SHOWN_ISSUES ? [`  … and ${issues.length - SHOWN_ISSUES} more`] : []),
  ];
  info(io, lines.join('\n'));
}

/** `loadListens` under the `--on-invalid-row` policy, reporting skipped rows on stderr. */
async function readListens(
  io: CliIo,
  option: string,
  file: string,
  format: ListenFormat,
  onInvalidRow: InvalidRowPolicy,
): Promise<LoadListensResult> {
  const loaded = await loadListens(file, { format, onInvalidRow });
  reportSkipped(io, option, file, loaded.issues, loaded.rows);
  return loaded;
}

/** `loadTracks` under the `--on-invalid-row` policy, reporting skipped rows on stderr. */
async function readTracks(io: CliIo, file: string, onInvalidRow: InvalidRowPolicy): Promise<Track[]> {
  const loaded = await loadTracks(file, { onInvalidRow });
  reportSkipped(io, '--tracks', file, loaded.issues, loaded.rows);
  return loaded.tracks;
}

/** The end of a "has no listens" error when every row was invalid and skipped. */
function allSkipped(loaded: LoadListensResult): string {
  return loaded.issues.length > 0 ? ` (all ${loaded.issues.length} rows were invalid and skipped)` : '';
}

/** Loads a listens file into a Dataset, with CLI-friendly errors. */
async function loadDataset(
  io: CliIo,
  file: string,
  format: ListenFormat,
  onInvalidRow: InvalidRowPolicy,
): Promise<Dataset> {
  return (await loadData(io, file, format, onInvalidRow)).dataset;
}

/**
 * Loads a listens file into a Dataset, with the catalogue for SASRec's artist embeddings: the `tracksFile`
 * CSV (`--tracks`) when given, else the tracks a Last.fm 1K file names, else none.
 */
async function loadData(
  io: CliIo,
  file: string,
  format: ListenFormat,
  onInvalidRow: InvalidRowPolicy,
  tracksFile?: string,
): Promise<{ dataset: Dataset; tracks: Track[] | undefined }> {
  const option = '--data';
  // A folder of MPD slices or of a Spotify export is a data set too.
  const folders = format === 'mpd' || format === 'spotify-history';
  if (!folders || !(await isDirectory(file))) await requireFile(option, file, DATA_FIX);
  if (tracksFile !== undefined)
    await requireFile('--tracks', tracksFile, 'pass a tracks CSV (see data/README.md)');
  const loaded = await readListens(io, option, file, format, onInvalidRow);
  if (loaded.listens.length === 0)
    throw new CliError(`${option} file has no listens${allSkipped(loaded)}: ${file}`, DATA_FIX);
  const tracks = tracksFile !== undefined ? await readTracks(io, tracksFile, onInvalidRow) : loaded.tracks;
  return { dataset: Dataset.fromListens(loaded.listens), tracks };
}

async function isDirectory(p: string): Promise<boolean> {
  return (await fs.stat(p).catch(() => undefined))?.isDirectory() ?? false;
}

async function isFile(p: string): Promise<boolean> {
  return (await fs.stat(p).catch(() => undefined))?.isFile() ?? false;
}

async function openModel(dir: string): Promise<Recommender> {
  await requireDir('--model', dir, MODEL_FIX);
  return loadModel(dir);
}

/** The evaluation numbers the CLI prints, keyed by cut-off. */
function metricsJson(r: EvaluationResult) {
  return {
    protocol: r.protocol,
    cases: r.users,
    unknownTargets: r.unknownTargets,
    historyTargets: r.historyTargets,
    mrr: r.mrr,
    hr: r.hr,
    ndcg: r.ndcg,
    coverage: r.coverage,
    novelty: r.novelty,
  };
}

function metricsTable(r: EvaluationResult, ks: readonly number[]): string {
  const rows = ks.map((k) => ({
    k,
    hr: r.hr[k],
    ndcg: r.ndcg[k],
    coverage: r.coverage[k],
    novelty: r.novelty[k],
  }));
  const table = formatTable(
    [
      { key: 'k' },
      { key: 'hr', header: 'HR@k' },
      { key: 'ndcg', header: 'NDCG@k' },
      { key: 'coverage', header: 'Coverage@k' },
      { key: 'novelty', header: 'Novelty@k', digits: 2 },
    ],
    rows,
  );
  return `${table}\nMRR ${r.mrr.toFixed(4)}  (${r.users} cases, ${r.protocol} ranking${
    r.unknownTargets ? `, ${r.unknownTargets} targets unknown to the model` : ''
  }${r.historyTargets ? `, ${r.historyTargets} replayed targets excluded with the history (misses)` : ''})`;
}

// ---------------------------------------------------------------------------------------------------------

/** Genres of the world `encore generate` writes (the library default). */
export const GENERATE_GENRES = 12;
/** Sub-styles per genre of that world (the library default). */
export const GENERATE_STYLES_PER_GENRE = 3;
/** Fewest `--artists`: every (genre, sub-style) cluster needs one. */
export const MIN_ARTISTS = GENERATE_GENRES * GENERATE_STYLES_PER_GENRE;
/** First day of the world `encore generate` writes: 2024-01-01 (the library default). */
export const GENERATE_START = Date.UTC(2024, 0, 1);
const DAY_MS = 86_400_000;

/**
 * The most `--days` that `encore generate` accepts at `now`: every listen falls before
 * `GENERATE_START + days` days, so none is in the future (which every loader refuses).
 *
 * @example
 * ```ts
 * maxGenerateDays(Date.UTC(2024, 2, 1)); // 60
 * ```
 */
export function maxGenerateDays(now = Date.now()): number {
  return Math.floor((now - GENERATE_START) / DAY_MS);
}

/** Options of `encore generate`. */
export interface GenerateCommandOptions {
  out: string;
  seed: number;
  users?: number;
  artists?: number;
  days?: number;
  json?: boolean;
}

/**
 * `encore generate`: writes a generated world to `out/tracks.csv` and `out/listens.csv`.
 *
 * @example
 * ```ts
 * await runGenerate(defaultIo(), { out: 'data', seed: 42, users: 200 });
 * ```
 */
export async function runGenerate(io: CliIo, opts: GenerateCommandOptions): Promise<void> {
  const maxDays = maxGenerateDays();
  if (opts.days !== undefined && opts.days > maxDays) {
    const last = new Date(GENERATE_START + (opts.days - 1) * DAY_MS).toISOString().slice(0, 10);
    throw new CliError(
      `--days ${opts.days} would date listens up to ${last}, in the future: the generated world starts on ${new Date(GENERATE_START).toISOString().slice(0, 10)}, and today allows at most ${maxDays} days`,
      `pass --days ${maxDays} or fewer (every command refuses listens dated in the future)`,
      2,
    );
  }
  if (opts.artists !== undefined && opts.artists < MIN_ARTISTS)
    throw new CliError(
      `--artists must be at least ${MIN_ARTISTS} (one per genre and sub-style: ${GENERATE_GENRES} x ${GENERATE_STYLES_PER_GENRE}), got ${opts.artists}`,
      `pass --artists ${MIN_ARTISTS} or more`,
      2,
    );
  await requireOutDir(opts.out, { files: ['tracks.csv', 'listens.csv'] });
  const world = generateWorld({
    seed: opts.seed,
    truthFor: 'none', // the files hold the log only; the distributions would be most of the memory
    genres: GENERATE_GENRES,
    stylesPerGenre: GENERATE_STYLES_PER_GENRE,
    start: GENERATE_START,
    ...(opts.users !== undefined ? { users: opts.users } : {}),
    ...(opts.artists !== undefined ? { artists: opts.artists } : {}),
    ...(opts.days !== undefined ? { days: opts.days } : {}),
  });
  const tracksFile = path.join(opts.out, 'tracks.csv');
  const listensFile = path.join(opts.out, 'listens.csv');
  await saveListensAndTracks(listensFile, world.listens, tracksFile, world.tracks);
  const users = new Set(world.listens.map((l) => l.userId)).size;
  const result = {
    tracksFile,
    listensFile,
    tracks: world.tracks.length,
    listens: world.listens.length,
    users,
    seed: opts.seed,
  };
  emit(io, opts.json, result, () =>
    [
      `wrote ${tracksFile} (${result.tracks} tracks)`,
      `wrote ${listensFile} (${result.listens} listens by ${users} listeners)`,
      `next: encore train --data ${shellWord(listensFile)} --tracks ${shellWord(tracksFile)} --model sasrec --out models/sasrec`,
    ].join('\n'),
  );
}

// ---------------------------------------------------------------------------------------------------------

/** Options of `encore train`. */
export interface TrainCommandOptions {
  data: string;
  format: ListenFormat;
  /** Tracks CSV whose artists SASRec embeds (a Last.fm 1K `--data` brings its own). */
  tracks?: string;
  model: 'sasrec' | 'popularity' | 'item-transition' | 'item-knn';
  out: string;
  /** `--on-invalid-row`: `'throw'` (default) or `'skip'` invalid rows of `--data` and `--tracks`. */
  onInvalidRow?: InvalidRowPolicy;
  epochs?: number;
  dim?: number;
  seed: number;
  maxSeconds?: number;
  k: number[];
  backend?: Backend;
  json?: boolean;
}

/** One epoch of SASRec training as the CLI records it. */
export interface EpochRecord {
  epoch: number;
  loss: number;
  valNdcg10?: number;
  seconds: number;
}

/**
 * The leave-one-out split `train` and `report` fit on, or a {@link CliError} (a data problem, exit 1) when it
 * has nothing to validate on: no listener with 3 listens, or no validation listen a model can read (its track
 * and an earlier one among the training listens), which SASRec's early stopping needs (`sasrec`).
 */
function trainableSplit(dataset: Dataset, data: string, sasrec: boolean): ReturnType<typeof leaveOneOut> {
  const split = leaveOneOut(dataset);
  if (split.validation.length === 0)
    throw new CliError(
      `--data has no listener with 3 or more listens: ${data}`,
      'leave-one-out needs at least 3 listens per listener (train, validation, test)',
    );
  const vocab = split.train.vocabulary;
  if (sasrec && !split.validation.some((c) => vocab.has(c.target) && c.history.some((t) => vocab.has(t))))
    throw new CliError(
      `--data has no validation listen (a listener's second-to-last) whose track, and an earlier one, are also among the training listens: ${data}`,
      'add listeners, or listens per listener, so that tracks recur between training and validation',
    );
  return split;
}

/** Fits one model type on a training set; SASRec early-stops on `validation` and logs epochs to `history`. */
async function fitModel(
  io: CliIo,
  type: TrainCommandOptions['model'],
  train: Dataset,
  opts: {
    epochs?: number;
    dim?: number;
    seed: number;
    maxSeconds?: number;
    validation: EvalCase[];
    artists?: Track[];
  },
  history: EpochRecord[],
): Promise<Recommender> {
  if (type === 'popularity') return Popularity.fit(train);
  if (type === 'item-transition') return ItemTransition.fit(train);
  if (type === 'item-knn') return ItemKNN.fit(train);
  return SASRec.fit(train, {
    seed: opts.seed,
    validation: opts.validation,
    progress: io.stderrIsTTY,
    ...(opts.epochs !== undefined ? { epochs: opts.epochs } : {}),
    ...(opts.dim !== undefined ? { dim: opts.dim } : {}),
    ...(opts.maxSeconds !== undefined ? { maxSeconds: opts.maxSeconds } : {}),
    ...(opts.artists ? { artists: opts.artists } : {}),
    onEpochEnd: (epoch, logs) => {
      history.push({
        epoch,
        loss: logs.loss,
        seconds: logs.seconds,
        ...(logs.valNdcg10 !== undefined ? { valNdcg10: logs.valNdcg10 } : {}),
      });
    },
  });
}

/**
 * `encore train`: leave-one-out split, fit (SASRec early-stops on validation NDCG@10), save, print
 * validation metrics.
 *
 * @example
 * ```ts
 * await runTrain(defaultIo(), { data: 'data/listens.csv', format: 'listens-csv', model: 'sasrec', out: 'models/s', seed: 42, k: [10] });
 * ```
 */
export async function runTrain(io: CliIo, opts: TrainCommandOptions): Promise<void> {
  // Flags only SASRec reads would be silently ignored by a baseline.
  if (opts.model !== 'sasrec') {
    const given = (
      [
        ['--epochs', opts.epochs],
        ['--dim', opts.dim],
        ['--max-seconds', opts.maxSeconds],
        ['--tracks', opts.tracks],
      ] as const
    ).filter(([, v]) => v !== undefined);
    if (given.length > 0)
      throw new CliError(
        `${given.map(([flag]) => flag).join(', ')} ${given.length > 1 ? 'apply' : 'applies'} to --model sasrec, not --model ${opts.model}`,
        `leave ${given.length > 1 ? 'them' : 'it'} out, or train --model sasrec`,
        2,
      );
  }
  // Before loading and training: a path model.save would refuse must not cost a training run.
  await requireOutDir(opts.out, { model: true });
  const { dataset, tracks } = await loadData(
    io,
    opts.data,
    opts.format,
    opts.onInvalidRow ?? 'throw',
    opts.tracks,
  );
  await initBackend(opts.backend ? { backend: opts.backend } : {});
  const split = trainableSplit(dataset, opts.data, opts.model === 'sasrec');
  const started = Date.now();
  const history: EpochRecord[] = [];
  const fitOpts = {
    seed: opts.seed,
    validation: split.validation,
    ...(opts.epochs !== undefined ? { epochs: opts.epochs } : {}),
    ...(opts.dim !== undefined ? { dim: opts.dim } : {}),
    ...(opts.maxSeconds !== undefined ? { maxSeconds: opts.maxSeconds } : {}),
    ...(tracks ? { artists: tracks } : {}),
  };
  const model = await fitModel(io, opts.model, split.train, fitOpts, history);
  try {
    const fitSeconds = (Date.now() - started) / 1000;
    await model.save(opts.out);
    const result = await evaluate(model, split.validation, { k: opts.k, train: split.train });
    const json = {
      model: opts.model,
      out: opts.out,
      data: { file: opts.data, users: dataset.users.length, tracks: dataset.vocabulary.size },
      // What the model was fitted on (the human output's numbers): the split leaves out held-out targets.
      train: { users: split.train.users.length, tracks: split.train.vocabulary.size },
      fitSeconds,
      epochs: history,
      artists: model instanceof SASRec ? (model.artistInfo ?? null) : null,
      validation: metricsJson(result),
    };
    emit(io, opts.json, json, () =>
      [
        `trained ${opts.model} on ${split.train.users.length} listeners, ${split.train.vocabulary.size} tracks in ${fitSeconds.toFixed(1)} s`,
        `saved to ${opts.out}`,
        '',
        'validation (second-to-last listen of each listener):',
        metricsTable(result, opts.k),
      ].join('\n'),
    );
  } finally {
    model.dispose();
  }
}

// ---------------------------------------------------------------------------------------------------------

/** Options of `encore evaluate`. */
export interface EvaluateCommandOptions {
  model: string;
  data: string;
  format: ListenFormat;
  /** `--on-invalid-row`: `'throw'` (default) or `'skip'` invalid rows of `--data`. */
  onInvalidRow?: InvalidRowPolicy;
  k: number[];
  backend?: Backend;
  json?: boolean;
}

/**
 * `encore evaluate`: a saved model against the last listen of every listener (history = everything
 * before it), ranked against the full catalogue.
 *
 * @example
 * ```ts
 * await runEvaluate(defaultIo(), { model: 'models/s', data: 'data/listens.csv', format: 'listens-csv', k: [5, 10, 20] });
 * ```
 */
export async function runEvaluate(io: CliIo, opts: EvaluateCommandOptions): Promise<void> {
  await requireDir('--model', opts.model, MODEL_FIX);
  const dataset = await loadDataset(io, opts.data, opts.format, opts.onInvalidRow ?? 'throw');
  await initBackend(opts.backend ? { backend: opts.backend } : {});
  const model = await openModel(opts.model);
  try {
    const split = leaveOneOut(dataset);
    if (split.test.length === 0) {
      throw new CliError(`--data has no listener with 3 or more listens: ${opts.data}`, DATA_FIX);
    }
    const left = dataset.users.length - split.test.length;
    if (left > 0)
      info(
        io,
        `note: ${left} listener(s) with fewer than 3 listens are not evaluated (leave-one-out keeps their listens for training)`,
      );
    const bar = startProgress(io, 'evaluating', 1);
    let result: Awaited<ReturnType<typeof evaluate>>;
    try {
      result = await evaluate(model, split.test, { k: opts.k, train: split.train });
    } finally {
      bar.stop();
    }
    emit(
      io,
      opts.json,
      { model: model.type, dir: opts.model, data: opts.data, test: metricsJson(result) },
      () =>
        [
          `${model.type} from ${opts.model} on ${opts.data} (last listen of each listener):`,
          metricsTable(result, opts.k),
        ].join('\n'),
    );
  } finally {
    model.dispose();
  }
}

// ---------------------------------------------------------------------------------------------------------

/** Options of `encore recommend`. */
export interface RecommendCommandOptions {
  model: string;
  history: string[];
  k: number;
  backend?: Backend;
  json?: boolean;
}

/**
 * `encore recommend`: top-k next tracks after a history (a new listener is fine; unknown ids are skipped).
 *
 * @example
 * ```ts
 * await runRecommend(defaultIo(), { model: 'models/s', history: ['t1', 't2'], k: 10 });
 * ```
 */
export async function runRecommend(io: CliIo, opts: RecommendCommandOptions): Promise<void> {
  await requireDir('--model', opts.model, MODEL_FIX);
  await initBackend(opts.backend ? { backend: opts.backend } : {});
  const model = await openModel(opts.model);
  try {
    const before = model.unknownSkipped;
    const recs = await model.recommend(opts.history, { k: opts.k });
    const unknown = model.unknownSkipped - before;
    // Every id unknown: the answer is the cold-start one (popularity), which the note must say.
    const coldStart = opts.history.length > 0 && unknown === opts.history.length;
    if (unknown > 0 && !opts.json)
      info(
        io,
        coldStart
          ? `note: none of the ${unknown} track id(s) in --history is in the model: these are the cold-start recommendations for an empty history (popularity)`
          : `note: ${unknown} track id(s) in --history are not in the model and were skipped`,
      );
    // The history's own tracks are left out, so a long history can leave fewer than -k.
    if (recs.length < opts.k && !opts.json)
      info(
        io,
        `note: ${recs.length} of the ${opts.k} asked for: the model has ${model.vocabulary.size} tracks and the history's own are left out`,
      );
    emit(
      io,
      opts.json,
      { model: model.type, history: opts.history, unknownSkipped: unknown, coldStart, recommendations: recs },
      () =>
        formatTable(
          [{ key: 'rank' }, { key: 'trackId', header: 'track' }, { key: 'score', digits: 4 }],
          recs.map((r, i) => ({ rank: i + 1, ...r })),
        ),
    );
  } finally {
    model.dispose();
  }
}

// ---------------------------------------------------------------------------------------------------------

/** Options of `encore blend`. */
export interface BlendCommandOptions {
  model: string;
  member: MemberSpec[];
  size: number;
  strategy?: string;
  date?: string;
  tracks?: string;
  /** `--on-invalid-row`: `'throw'` (default) or `'skip'` invalid rows of the member files and `--tracks`. */
  onInvalidRow?: InvalidRowPolicy;
  backend?: Backend;
  json?: boolean;
}

/**
 * `encore blend`: one shared playlist for 2 to 10 members, from each member's listens file.
 *
 * @example
 * ```ts
 * await runBlend(defaultIo(), { model: 'models/s', member: [{ id: 'ana', file: 'ana.csv' }, { id: 'ben', file: 'ben.csv' }], size: 50, strategy: 'round-robin' });
 * ```
 */
export async function runBlend(io: CliIo, opts: BlendCommandOptions): Promise<void> {
  await requireDir('--model', opts.model, MODEL_FIX);
  if (opts.member.length < 2 || opts.member.length > 10) {
    throw new CliError(
      `--member must be given 2 to 10 times, got ${opts.member.length}`,
      'pass one --member name=listens.csv per person, e.g. --member ana=ana.csv --member ben=ben.csv',
      2,
    );
  }
  const onInvalidRow = opts.onInvalidRow ?? 'throw';
  const members: BlendMember[] = [];
  for (const m of opts.member) {
    const option = `--member ${m.id}`;
    const fix = 'pass name=path-to-listens.csv for each member';
    if (m.user !== undefined && !(await isFile(m.file)))
      // Neither the whole path nor the part before its last `#` is a file.
      throw new CliError(
        `${option} file not found: ${m.file}#${m.user} (nor ${m.file}, reading ${JSON.stringify(m.user)} after the last # as a user id)`,
        `${fix}, or name=path-to-listens.csv#user_id for one listener of a shared file`,
      );
    await requireFile(option, m.file, fix);
    const read = await readListens(io, option, m.file, 'listens-csv', onInvalidRow);
    const loaded = read.listens;
    const listens = m.user === undefined ? loaded : loaded.filter((l) => l.userId === m.user);
    if (listens.length === 0) {
      // Which users the file does hold, so a typo in `#user_id` is plain to see.
      const held = [...new Set(loaded.map((l) => l.userId))].sort();
      const some = `${held.slice(0, 5).join(', ')}${held.length > 5 ? `, ... (${held.length} in all)` : ''}`;
      throw new CliError(
        m.user === undefined
          ? `--member ${m.id} file has no listens${allSkipped(read)}: ${m.file}`
          : `--member ${m.id}: ${m.file} has no listens of user ${JSON.stringify(m.user)}${held.length > 0 ? `; it holds ${some}` : ''}`,
        'give each member a listens CSV with their plays',
      );
    }
    // One listener's plays per member: a shared file would silently merge everyone into one history.
    const users = [...new Set(listens.map((l) => l.userId))].sort();
    if (users.length > 1) {
      throw new CliError(
        `--member ${m.id}: ${m.file} holds the listens of ${users.length} listeners (${users.slice(0, 3).join(', ')}${users.length > 3 ? ', ...' : ''}), and a member is one listener`,
        `name one of them: --member ${shellWord(`${m.id}=${m.file}#${users[0]}`)}, or give each member a file of their own`,
      );
    }
    const ordered = listens
      .map((l, i) => ({ l, i }))
      .sort((x, y) => x.l.timestamp - y.l.timestamp || x.i - y.i);
    members.push({ id: m.id, history: ordered.map((x) => x.l.trackId) });
  }
  let tracks: Track[] | undefined;
  if (opts.tracks !== undefined) {
    await requireFile(
      '--tracks',
      opts.tracks,
      'pass the tracks CSV (e.g. data/tracks.csv written by `encore generate`)',
    );
    tracks = await readTracks(io, opts.tracks, onInvalidRow);
  }
  await initBackend(opts.backend ? { backend: opts.backend } : {});
  const model = await openModel(opts.model);
  try {
    // A member none of whose tracks the model knows gets the cold-start list (popularity): say so.
    const unknownTracks = members.map(
      (m) => m.history.filter((id) => model.vocabulary.index(id) === undefined).length,
    );
    if (!opts.json)
      members.forEach((m, i) => {
        const n = unknownTracks[i]!;
        if (n === m.history.length)
          info(
            io,
            `note: --member ${m.id}: none of the ${n} tracks is in the model, so their part of the Blend is its cold-start list (popularity)`,
          );
        else if (n > 0)
          info(
            io,
            `note: --member ${m.id}: ${n} of ${m.history.length} tracks are not in the model and were skipped`,
          );
      });
    const result = await blend(members, {
      model,
      size: opts.size,
      ...(opts.strategy !== undefined ? { strategy: opts.strategy as BlendStrategyName } : {}),
      ...(opts.date !== undefined ? { date: opts.date } : {}),
      ...(tracks ? { tracks } : {}),
    });
    emit(
      io,
      opts.json,
      { ...result, unknownTracks: Object.fromEntries(members.map((m, i) => [m.id, unknownTracks[i]!])) },
      () => formatBlend(result),
    );
  } finally {
    model.dispose();
  }
}

/** Human-readable Blend: header, member shares, then the playlist. */
export function formatBlend(result: BlendResult): string {
  const lines: string[] = [];
  lines.push(
    `Blend for ${result.members.map((m) => m.id).join(', ')} on ${result.date} (${result.strategy}, ${result.tracks.length} tracks)`,
  );
  if (result.members.length === 2) lines.push(`taste match: ${Math.round(result.tasteMatch)}%`);
  if (result.bondingTrack) {
    const b = result.bondingTrack;
    lines.push(`the song that brings you together: ${b.title ? `${b.title} (${b.trackId})` : b.trackId}`);
  }
  lines.push('');
  lines.push(
    formatTable(
      [
        { key: 'id', header: 'member' },
        { key: 'share', format: (v) => `${Math.round(Number(v) * 100)}%` },
        { key: 'tracks' },
        { key: 'meanRelevance', header: 'mean relevance', digits: 3 },
      ],
      result.members.map((m) => ({ ...m })),
    ),
  );
  lines.push('');
  lines.push(
    formatTable(
      [{ key: 'n', header: '#' }, { key: 'track' }, { key: 'artist' }, { key: 'for' }, { key: 'because' }],
      result.tracks.map((t, i) => ({
        n: i + 1,
        track: t.title ?? t.trackId,
        artist: t.artist ?? '',
        for: t.attributedTo.join(' + '),
        because: t.because ?? '',
      })),
    ),
  );
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------------------

/** Options of `encore simulate`. */
export interface SimulateCommandOptions {
  days: number;
  listeners: number;
  seed: number;
  json?: boolean;
}

/**
 * `encore simulate`: runs the long-term listener simulator under several policies and prints a summary.
 *
 * @example
 * ```ts
 * await runSimulate(defaultIo(), { days: 60, listeners: 200, seed: 42 });
 * ```
 */
export async function runSimulate(io: CliIo, opts: SimulateCommandOptions): Promise<void> {
  const runs = await simulatePolicies(io, opts);
  emit(
    io,
    opts.json,
    { days: opts.days, listeners: opts.listeners, seed: opts.seed, policies: runs.map(simulationJson) },
    () =>
      [
        `${opts.listeners} simulated listeners over ${opts.days} days (seed ${opts.seed}); models trained on their first two weeks`,
        '',
        formatSimulation(runs),
      ].join('\n'),
  );
}

/** One policy's simulation. */
export interface PolicyRun {
  policy: string;
  description: string;
  result: SimResult;
}

/** The policies `encore simulate` compares, in display order. */
export const SIM_POLICIES = ['popularity', 'item-transition', 'item-knn', 'item-knn+diversity'] as const;

/**
 * Builds a simulated world, trains the baselines on its organic history, and runs each policy for `days`.
 * Shared by `encore simulate` and `encore report`.
 */
export async function simulatePolicies(
  io: CliIo,
  opts: { days: number; listeners: number; seed: number },
): Promise<PolicyRun[]> {
  const world = createSimWorld({ listeners: opts.listeners, seed: opts.seed });
  const train = Dataset.fromListens(world.listens);
  const knn = await ItemKNN.fit(train);
  const policies: { policy: string; description: string; run: Recommender | SimPolicy }[] = [
    { policy: 'popularity', description: 'most played tracks', run: await Popularity.fit(train) },
    {
      policy: 'item-transition',
      description: 'what usually follows the last track',
      run: await ItemTransition.fit(train),
    },
    { policy: 'item-knn', description: 'tracks played near the recent ones', run: knn },
    {
      policy: 'item-knn+diversity',
      description: 'item-knn re-ranked for artist and genre diversity',
      run: {
        model: knn,
        rerank: (recs, ctx) =>
          rerank(recs, {
            history: ctx.history,
            k: 10,
            objectives: [
              [scorers.relevance(), 1],
              [scorers.diversity({ tracks: world.tracks }), 0.6],
            ],
          }),
      },
    },
  ];
  const bar = startProgress(io, 'simulating', policies.length);
  const runs: PolicyRun[] = [];
  try {
    for (const [i, p] of policies.entries()) {
      bar.update(i, p.policy);
      const result = await simulate({ world, policy: p.run, days: opts.days, seed: opts.seed });
      runs.push({ policy: p.policy, description: p.description, result });
    }
    bar.update(policies.length);
  } finally {
    bar.stop();
    for (const p of policies) ('model' in p.run ? p.run.model : p.run).dispose();
  }
  return runs;
}

function simulationJson(run: PolicyRun) {
  const r = run.result;
  return {
    policy: run.policy,
    description: run.description,
    meanActiveDays: r.meanActiveDays,
    retention: r.retention,
    skipRate: r.skipRate,
    sessionLength: r.sessionLength,
    diversity: r.diversity,
    day1CompletionRate: r.day1CompletionRate,
    activeByDay: r.daily.map((d) => d.active),
  };
}

/** Text table of a policy comparison. */
/** One sentence on the simulation, from its results: which policy led on day-1 completion and on active days. */
function simulationSummary(runs: readonly PolicyRun[]): string {
  if (runs.length === 0) return '';
  const top = (key: 'day1CompletionRate' | 'meanActiveDays') =>
    runs.reduce((a, b) => (b.result[key] > a.result[key] ? b : a));
  const shortTerm = top('day1CompletionRate');
  const longTerm = top('meanActiveDays');
  const first = `${shortTerm.policy} had the highest day-1 completion (${shortTerm.result.day1CompletionRate.toFixed(3)})`;
  return shortTerm === longTerm
    ? `${first} and also kept listeners active longest (${longTerm.result.meanActiveDays.toFixed(2)} days).`
    : `${first}, but ${longTerm.policy} kept listeners active longest (${longTerm.result.meanActiveDays.toFixed(2)} days against ${shortTerm.result.meanActiveDays.toFixed(2)}): what wins today is not what keeps listeners coming back.`;
}

function formatSimulation(runs: readonly PolicyRun[]): string {
  return formatTable(
    [
      { key: 'policy' },
      { key: 'meanActiveDays', header: 'active days', digits: 2 },
      { key: 'retention', header: 'retention (last 7 d)', digits: 3 },
      { key: 'day1CompletionRate', header: 'day-1 completion', digits: 3 },
      { key: 'skipRate', header: 'skip rate', digits: 3 },
      { key: 'sessionLength', header: 'plays/day', digits: 2 },
      { key: 'diversity', digits: 3 },
    ],
    runs.map(simulationJson),
  );
}

// ---------------------------------------------------------------------------------------------------------

/** The charts `encore report` writes (`<name>.svg`); typed so the list and the report cannot drift. */
const REPORT_CHARTS = ['training', 'comparison', 'blend', 'simulation'] as const;

/** How a report's training ended, in words (a time cut makes the result depend on the machine's speed). */
const STOPPED_BY: Record<'epochs' | 'patience' | 'maxSeconds', string> = {
  epochs: 'it ran every epoch allowed (--epochs)',
  patience: 'early stopping ended it when validation stopped improving',
  maxSeconds:
    'the time budget (--max-seconds) ended it, so a faster or slower machine trains a different model; raise it for a result that reproduces',
};

/** Options of `encore report`. */
/**
 * Listeners of the generated world `encore report` uses without `--data`.
 *
 * @example
 * ```ts
 * console.log(REPORT_USERS); // 200
 * ```
 */
export const REPORT_USERS = 200;

export interface ReportCommandOptions {
  out: string;
  data?: string;
  format: ListenFormat;
  /** Tracks CSV with `--data`: artists for SASRec and the Blend's track details. */
  tracks?: string;
  /** `--on-invalid-row`: `'throw'` (default) or `'skip'` invalid rows of `--data` and `--tracks`. */
  onInvalidRow?: InvalidRowPolicy;
  epochs: number;
  dim: number;
  /** `--users`: listeners of the generated world (only without `--data`). Default {@link REPORT_USERS}. */
  users?: number;
  days: number;
  listeners: number;
  seed: number;
  maxSeconds?: number;
  backend?: Backend;
  json?: boolean;
}

/**
 * `encore report`: quick training, a model comparison, a Blend and a simulation, written as a
 * self-contained HTML page with charts.
 *
 * @example
 * ```ts
 * await runReport(defaultIo(), { out: 'report', format: 'listens-csv', epochs: 20, dim: 32, users: 200, days: 60, listeners: 200, seed: 42 });
 * ```
 */
export async function runReport(io: CliIo, opts: ReportCommandOptions): Promise<void> {
  const started = Date.now();
  await requireOutDir(opts.out, { files: ['index.html', ...REPORT_CHARTS.map((c) => `${c}.svg`)] });
  if (opts.data === undefined && (opts.tracks !== undefined || opts.format !== 'listens-csv'))
    // Without --data the report runs on a generated world; these would be ignored without a word.
    throw new CliError(
      `${opts.tracks !== undefined ? '--tracks' : '--format'} applies to a --data file, and none was given`,
      'pass --data <listens file> too, or leave these out to report on a generated world',
      2,
    );
  if (opts.data !== undefined && opts.users !== undefined)
    // The reverse: --users sizes the generated world, which a --data file replaces.
    throw new CliError(
      '--users sizes the generated world, and --data replaces it',
      'leave --users out with --data (the report uses every listener of the file)',
      2,
    );
  const say = (text: string) => {
    if (!opts.json) info(io, text);
  };
  // 1. Data: a file, or a generated world with known structure.
  let dataset: Dataset;
  let catalogue: Track[] | undefined;
  let source: string;
  if (opts.data !== undefined) {
    ({ dataset, tracks: catalogue } = await loadData(
      io,
      opts.data,
      opts.format,
      opts.onInvalidRow ?? 'throw',
      opts.tracks,
    ));
    source = opts.data;
  } else {
    const users = opts.users ?? REPORT_USERS;
    const world = generateWorld({ seed: opts.seed, users });
    dataset = Dataset.fromListens(world.listens);
    catalogue = world.tracks;
    source = `generated world (seed ${opts.seed}, ${users} listeners)`;
  }
  await initBackend(opts.backend ? { backend: opts.backend } : {});
  const split = trainableSplit(dataset, opts.data ?? 'the generated world', true);
  const stats = dataset.stats();

  // 2. Training: SASRec with validation early stopping, and the baselines.
  say(
    `training sasrec (up to ${opts.epochs} epochs, dim ${opts.dim}) on ${split.train.users.length} listeners`,
  );
  const history: EpochRecord[] = [];
  const models: Record<string, Recommender> = {};
  try {
    models.sasrec = await fitModel(
      io,
      'sasrec',
      split.train,
      {
        seed: opts.seed,
        validation: split.validation,
        epochs: opts.epochs,
        dim: opts.dim,
        ...(opts.maxSeconds !== undefined ? { maxSeconds: opts.maxSeconds } : {}),
        ...(catalogue ? { artists: catalogue } : {}),
      },
      history,
    );
    models.popularity = await Popularity.fit(split.train);
    models['item-transition'] = await ItemTransition.fit(split.train);
    models['item-knn'] = await ItemKNN.fit(split.train);

    // 3. Comparison on the test targets (full ranking).
    say('evaluating on the last listen of every listener (full ranking)');
    const ks = [10, 20];
    const rows = await compare(models, split.test, { k: ks, train: split.train });
    const chartRows = rows.flatMap((r) =>
      [
        { metric: 'HR@10', value: r.result.hr[10]! },
        { metric: 'NDCG@10', value: r.result.ndcg[10]! },
        { metric: 'HR@20', value: r.result.hr[20]! },
        { metric: 'MRR', value: r.result.mrr },
      ].map((m) => ({ model: r.name, ...m })),
    );

    // 4. A Blend of the first three listeners with SASRec.
    const memberIds = dataset.users.slice(0, Math.min(3, dataset.users.length));
    say(memberIds.length >= 2 ? 'making a Blend' : 'no Blend: it needs 2 listeners and the data has 1');
    const blended =
      memberIds.length >= 2
        ? await blend(
            memberIds.map((id) => ({
              id,
              history: (dataset.userListens.get(id) ?? []).map((l) => l.trackId),
            })),
            {
              model: models.sasrec,
              size: 30,
              date: '2024-03-01',
              ...(catalogue ? { tracks: catalogue } : {}),
            },
          )
        : undefined;

    // 5. The long-term simulation.
    say(
      `simulating ${opts.listeners} listeners over ${opts.days} days under ${SIM_POLICIES.length} policies`,
    );
    const runs = await simulatePolicies(io, { days: opts.days, listeners: opts.listeners, seed: opts.seed });

    // 6. Charts and the page.
    const charts: Record<(typeof REPORT_CHARTS)[number], string> = {
      training: history.length > 0 ? await trainingCurveChart(history, { title: 'SASRec training' }) : '',
      comparison: await modelComparisonChart(chartRows),
      blend: blended ? await blendCompositionChart(blended) : '',
      simulation: await simulationChart(
        Object.fromEntries(runs.map((r) => [r.policy, r.result.daily.map((d) => d.active)])),
        { title: `Active listeners per day (${opts.listeners} simulated listeners)` },
      ),
    };
    const chartFiles: string[] = [];
    for (const [name, svg] of Object.entries(charts)) {
      const file = path.join(opts.out, `${name}.svg`);
      if (!svg) {
        // A chart this run does not make must not survive from an earlier run into this report's folder.
        await fs.rm(file, { force: true });
        continue;
      }
      await writeChart(file, svg);
      chartFiles.push(file);
    }
    const best = history.reduce<EpochRecord | undefined>(
      (b, h) =>
        h.valNdcg10 !== undefined && (b?.valNdcg10 === undefined || h.valNdcg10 > b.valNdcg10) ? h : b,
      undefined,
    );
    const sections: ReportSection[] = [
      {
        heading: 'Data',
        text: `Source: ${source}.\n\n${stats.users} listeners, ${stats.tracks} tracks, ${stats.listens} listens (median ${stats.medianSequenceLength} per listener). Split leave-one-out: each listener's last listen is the test target, the one before it the validation target.`,
      },
      {
        heading: 'Training',
        text: `SASRec (loss ${(models.sasrec as SASRec).config.loss}, dim ${opts.dim}) trained for ${history.length} epoch(s), keeping the epoch with the best validation NDCG@10${
          best?.valNdcg10 !== undefined ? ` (${best.valNdcg10.toFixed(4)} at epoch ${best.epoch})` : ''
        }; ${STOPPED_BY[(models.sasrec as SASRec).trainResult?.stoppedBy ?? 'epochs']}. Validation ranks every track, replays included, so it runs higher than the comparison below, which leaves each listener's history out.`,
        ...(charts.training ? { svg: charts.training } : {}),
      },
      {
        heading: 'Model comparison',
        text: `Every model ranks each listener's held-out last listen against every track they have not played yet (full ranking, no sampled negatives, ties counted against the model). The history is left out of the ranking, so a target that is a replay is a miss for every model: ${rows[0]?.result.historyTargets ?? 0} of the ${rows[0]?.result.users ?? 0} targets here. Popularity and item-transition are the baselines any model must beat.`,
        svg: charts.comparison!,
        table: {
          columns: ['model', 'HR@10', 'NDCG@10', 'HR@20', 'NDCG@20', 'MRR', 'Coverage@10'],
          rows: rows.map((r) => [
            r.name,
            r.result.hr[10]!,
            r.result.ndcg[10]!,
            r.result.hr[20]!,
            r.result.ndcg[20]!,
            r.result.mrr,
            r.result.coverage[10]!,
          ]),
        },
      },
    ];
    if (blended) {
      sections.push({
        heading: 'Blend',
        text: `A ${blended.tracks.length}-track Blend for ${blended.members.map((m) => m.id).join(', ')} (${blended.strategy}). Each track is attributed to the members whose taste it represents; shared tracks count for each of them.`,
        svg: charts.blend!,
        table: {
          columns: ['member', 'share', 'tracks', 'mean relevance'],
          rows: blended.members.map((m) => [
            m.id,
            `${Math.round(m.share * 100)}%`,
            m.tracks,
            m.meanRelevance,
          ]),
        },
      });
    }
    sections.push({
      heading: 'Long-term simulation',
      text: `Simulated listeners with hidden tastes and satisfaction, recommended to daily for ${opts.days} days by each policy. ${simulationSummary(runs)}`,
      svg: charts.simulation!,
      pre: formatSimulation(runs),
    });
    const reportFile = await writeReport(opts.out, { title: 'encore report', sections });
    const seconds = (Date.now() - started) / 1000;
    const json = {
      report: reportFile,
      charts: chartFiles,
      seconds,
      data: { source, users: stats.users, tracks: stats.tracks, listens: stats.listens },
      training: history,
      comparison: rows.map((r) => ({ model: r.name, ...metricsJson(r.result) })),
      blend: blended
        ? { members: blended.members, tasteMatch: blended.tasteMatch, tracks: blended.tracks.length }
        : null,
      simulation: runs.map(simulationJson),
    };
    emit(
      io,
      opts.json,
      json,
      () => `wrote ${reportFile} and ${chartFiles.length} charts in ${seconds.toFixed(1)} s`,
    );
  } finally {
    for (const m of Object.values(models)) m.dispose();
  }
}

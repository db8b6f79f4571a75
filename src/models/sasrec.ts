// SASRec (Kang & McAuley 2018): a causal self-attention next-track model, written with plain tf ops.
import { embeddingLookup, ensureBackend, tf } from '../backend.js';
import { checkDataset, type Dataset, Vocabulary } from '../data/dataset.js';
import type { EvalCase } from '../data/types.js';
import {
  checkKnownOptions,
  EncoreError,
  InvalidDataError,
  InvalidModelFileError,
  InvalidOptionError,
} from '../errors.js';
import { checkCases } from '../eval/metrics.js';
import { computeRewards, type RewardHook } from '../rewards/hook.js';
import {
  batchesPerEpoch,
  batchRows,
  buildWindows,
  distinctRows,
  epochBatches,
  NegativeSampler,
  type NegativeSpec,
  PLAY_COUNT_BUCKETS,
  playCountBuckets,
  type SeqBatch,
} from '../train/batches.js';
import {
  AUTO_SAMPLED_NEGATIVES,
  binaryTerms,
  ceChunkRows,
  DEFAULT_LOGITS_BUDGET_BYTES,
  fullSoftmaxTerms,
  gbceBeta,
  type HistoryBias,
  LOSS_NAMES,
  type LossName,
  type LossOption,
  type LossTerms,
  resolveLoss,
  sampledSoftmaxTerms,
  weightedLoss,
} from '../train/losses.js';
import { matMul2d } from '../train/ops.js';
import {
  type BatchPart,
  type ReplicaSpec,
  resolveWorkers,
  type SeqBatchSlice,
  splitSeqBatch,
  startGradientPool,
} from '../train/parallel.js';
import {
  type EpochLogs,
  type Gradient,
  type TrainableModel,
  type TrainResult,
  train,
} from '../train/trainer.js';
import { createRng, hashSeed, type Rng } from '../util/random.js';
import { type ArtistIndex, type ArtistSource, artistIndex } from './artists.js';
import { CSR_MAX_NONZEROS, type Csr, countTransitions, csrArrays, csrRow, readCsr } from './csr.js';
import { getArray, type ModelContents, registerModelType, writeModelDir } from './persist.js';
import { BaseRecommender, checkHistories } from './recommender.js';
import {
  applyRepeatHead,
  fitRepeatHead,
  HISTORY_BIAS_FEATURES,
  HISTORY_BIAS_TRACKS,
  type HistoryFeatures,
  historyCandidates,
  historyFeatures,
  parseRepeatHead,
  type RepeatCase,
  type RepeatHead,
  rowLogSumExp,
} from './repeat.js';
import {
  COOCCURRENCE_INIT_MAX_BYTES,
  cooccurrenceEmbeddings,
  cooccurrenceInitBytes,
} from './spectral-init.js';
import {
  applyTransitionMix,
  parseTransitionMix,
  type TransitionMix,
  TransitionMixFit,
  type TransitionRow,
  transitionBoost,
} from './transition-mix.js';

// ---------------------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------------------

/** Where layer norm sits in a block: `'pre'` (as in the reference SASRec code) or `'post'`. */
export type NormPosition = 'pre' | 'post';

/** A learning-rate option: a rate, or `'auto'` to pick one by whether artists are embedded ({@link resolveLearningRate}). */
export type LearningRateOption = number | 'auto';

/**
 * The rate `learningRate: 'auto'` trains listens alone with. See {@link SASREC_DEFAULTS} for the runs
 * behind it: long histories and large catalogues gain most over 1e-3, sparse data trains in fewer epochs.
 *
 * @example
 * ```ts
 * resolveLearningRate('auto', false) === AUTO_LEARNING_RATE; // true (2e-3)
 * ```
 */
export const AUTO_LEARNING_RATE = 2e-3;

/**
 * The rate `learningRate: 'auto'` trains with when `artists` are given (and `artistEmbeddings` is on).
 * An artist's vector is shared by all of its tracks, so it gets many gradient updates per step and moves
 * fast at the higher rate: on a sparse catalogue (`bench/sparse.ts`) 2e-3 lowered NDCG@10 with the
 * history excluded from 0.139 to 0.131, and on its short sessions from 0.146 to 0.140, while listens
 * alone gained from it; on the shipped data the two rates were within noise with artists. On a world of
 * long histories with artists (`bench/results/sasrec-tuning.jsonl` lines 166-167) 2e-3 was a little better
 * (NDCG@10 0.0676 against 0.0671 with the history excluded, 0.2155 against 0.2104 with every track ranked),
 * a smaller gain than the sparse-data losses.
 *
 * @example
 * ```ts
 * resolveLearningRate('auto', true) === AUTO_LEARNING_RATE_ARTISTS; // true (1e-3)
 * ```
 */
export const AUTO_LEARNING_RATE_ARTISTS = 1e-3;

/**
 * Resolves a {@link LearningRateOption}: `'auto'` is {@link AUTO_LEARNING_RATE_ARTISTS} when artist
 * embeddings are trained and {@link AUTO_LEARNING_RATE} otherwise; a number is returned as is.
 *
 * @example
 * ```ts
 * resolveLearningRate('auto', false); // 0.002
 * resolveLearningRate('auto', true); // 0.001
 * resolveLearningRate(5e-4, true); // 0.0005
 * ```
 */
export function resolveLearningRate(rate: LearningRateOption, withArtists: boolean): number {
  if (rate !== 'auto' && !(typeof rate === 'number' && rate > 0 && Number.isFinite(rate)))
    throw new InvalidOptionError('learningRate', "'auto' or a finite number > 0", rate);
  if (rate !== 'auto') return rate;
  return withArtists ? AUTO_LEARNING_RATE_ARTISTS : AUTO_LEARNING_RATE;
}

/** The architecture and training hyper-parameters of SASRec (everything that is saved with the model). */
export interface SASRecHyperParams {
  /** Embedding / hidden size. Default 64. */
  dim: number;
  /** Self-attention blocks. Default 2. */
  blocks: number;
  /** Attention heads; must divide `dim`. Default 1. */
  heads: number;
  /** Longest history the model reads (older items are dropped). Default 50. */
  maxlen: number;
  /** Dropout rate in [0, 1). Default 0.3 (see {@link SASREC_DEFAULTS} for why). */
  dropout: number;
  /** Layer norm position. Default `'pre'`. */
  norm: NormPosition;
  /**
   * Training loss. Default `'auto'`: full softmax (`'ce'`, "SASRec+") up to `AUTO_CE_MAX_ITEMS` (20,000)
   * tracks, popularity-sampled softmax with logQ correction and `AUTO_SAMPLED_NEGATIVES` (1,024) negatives
   * beyond (see `resolveLoss`). A trained model's `config.loss` is always the resolved loss.
   */
  loss: LossOption;
  /**
   * Negatives per step for `'sampled-softmax'` and `'gbce'` (shared by the batch). Default 256; 1,024 when
   * `loss: 'auto'` resolves to `'sampled-softmax'` and this option is not given. A step draws at most as
   * many as the catalogue has tracks, and a count whose logits would not fit in memory is an
   * `InvalidOptionError` naming `negatives`.
   */
  negatives: number;
  /** gBCE calibration t in [0, 1]. Default 0.75. */
  gbceT: number;
  /**
   * Adam learning rate, or `'auto'` (the default): {@link AUTO_LEARNING_RATE} (2e-3) for listens alone and
   * {@link AUTO_LEARNING_RATE_ARTISTS} (1e-3) when `artists` are given and embedded (see
   * {@link resolveLearningRate}; 5e-3, then 1e-3, then 2e-3 for all until 2026-11-27; see
   * {@link SASREC_DEFAULTS} for why). A trained model's `config.learningRate` is always the resolved rate.
   */
  learningRate: LearningRateOption;
  /** Steps of linear learning-rate warmup at the start of training. Default 100. */
  warmupSteps: number;
  /**
   * Learning-rate factor applied after every epoch without validation improvement (needs validation);
   * 1 keeps the rate constant. Default 0.5.
   */
  plateauDecay: number;
  /** Training windows per batch. Default 16 (many small steps learn far faster than few large ones). */
  batchSize: number;
  /** Maximum epochs. Default 60 (early stopping usually ends training sooner). */
  epochs: number;
  /**
   * Fewest optimiser steps in an epoch when validating: when one pass over the training windows is
   * shorter, an epoch is as many passes (each reshuffled) as it takes to reach it, so the validation score,
   * the plateau decay and patience act on a comparable amount of training whatever the data size. Without
   * validation an epoch is always one pass; 1 makes every epoch one pass. Default 256 (see
   * {@link SASREC_DEFAULTS} for why).
   */
  minStepsPerEpoch: number;
  /** Seed of initialisation, dropout, batch order and negatives. Default 42. */
  seed: number;
  /** Epochs without validation improvement before stopping. Default 5. */
  patience: number;
  /**
   * Training budget in seconds: the epoch in which it runs out ends at the next batch (at least one step is
   * always taken), is validated, and training stops, so training overruns the budget by at most one step and
   * one validation, even when one pass over a large log takes an hour. The post-hoc heads are fitted after
   * that, outside the budget: one more scoring pass over the validation cases plus the repeat head's fit
   * (on a 912,510-track log, `bench/scale.ts`, 71 to 84 s of a 246 to 268 s fit under a 120 s budget). A
   * budget that ends training makes the model depend on the machine's speed (down to the batch), so leave
   * it at Infinity where the same seed must give the same model. Default Infinity.
   */
  maxSeconds: number;
  /** Decoupled weight decay on weight matrices and embeddings. Default 0. */
  weightDecay: number;
  /**
   * Polyak averaging of the weights: in [0, 1); above 0, training keeps an exponential moving average of
   * the weights with this decay per step and validates, keeps and returns the averaged weights (see
   * `TrainOptions.ema`). 0 turns it off. Default 0.
   */
  ema: number;
  /**
   * Row-sparse training steps for the track and artist tables: with a sampled loss a step touches only the
   * rows of its inputs, targets and negatives, so only those rows are gathered, differentiated and updated,
   * instead of a dense `[tracks + 1, d]` gradient and a dense Adam pass over the whole table every step.
   * Rows a step does not touch still move as dense Adam moves them (their momentum keeps acting): the
   * optimizer adds those moves in closed form when a row is next touched, and to every row before the
   * weights are read (validation, the end of training); each step's gradient is taken at the rows with
   * those moves applied. So the model is the dense one up to Adam's epsilon (left out of the closed form;
   * it matters only for rows with tiny gradients) and float rounding (tested against dense Adam).
   * Default `'auto'`: on when the loss is `'sampled-softmax'`, `'bce'` or `'gbce'` (never with `'ce'`,
   * whose softmax touches every row) and dense gradients would run on one
   * thread anyway: an explicit `workers` above 1, or a job the default spreads over several workers (a small
   * catalogue; see `resolveWorkers`), keeps dense updates, where the second core gains more (bce on the
   * shipped 2,000 tracks: 220 s dense on 2 workers, 519 s row-sparse on one). Large catalogues get one
   * worker and row-sparse updates. `true` with `'ce'` or with `workers` above 1 is an error. A trained
   * model's `config.sparseUpdates` is the resolved choice. `ema` and `weightDecay` act on every row at every
   * step, so with either of them `'auto'` keeps dense updates and `true` is an error (until 2026-11-27 they
   * ran together, and the average or the decay met rows not yet caught up).
   */
  sparseUpdates: boolean | 'auto';
  /**
   * Training windows per user. A history is cut from the end backwards into windows of `maxlen + 1`
   * listens whose targets do not overlap, and the most recent this many are trained on (32 windows of 50:
   * the last 1,600 listens). Default 32 (8 until 2026-11-26; see {@link SASREC_DEFAULTS} for why).
   */
  maxWindowsPerUser: number;
  /** Treat early skips (skip level 1 or 2) as negatives with an unlikelihood term. Default false. */
  skipsAsNegatives: boolean;
  /**
   * After training, fit the repeat-aware mixture `P(x) = g R(x | history) + (1 - g) Q(x)` on the validation
   * cases (see `src/models/repeat.ts`): R spreads a learned share g of the probability over the tracks of
   * the whole history by play count and recency, so favourites heard long before the `maxlen` window
   * still rank. Needs validation cases (not `validation: 'none'`). Default true.
   */
  repeat: boolean;
  /**
   * Add to each input track a learned embedding of how often the listener has played it so far in the
   * whole history (log2 buckets: 1, 2-3, 4-7, ... 64+ plays), so the attention can tell a favourite in heavy
   * rotation from a first listen, and favourite-heavy stretches from exploring ones. Default false: on three
   * generated worlds it moved HR@10 by -1.7 to +1.4 points with every track ranked, and lowered it under the
   * default protocol on the shipped data (`bench/results/sasrec-tuning.jsonl`).
   */
  playCounts: boolean;
  /**
   * Learn, end to end, a bias on the tracks already in the history (the `HISTORY_BIAS_TRACKS` most played):
   * `logit(x) = h · E_x + c(h) · f(x)` with `f` play-count and recency features (`HISTORY_BIAS_FEATURES`)
   * and `c(h) = h W + b`, so how likely a replay is, and which one, depends on what was just played; the
   * base logits are then free to rank new tracks. Needs a softmax loss (asking for it with `'bce'` or
   * `'gbce'` is an error). Default false since 2026-11-26: on a sparse catalogue it is a shortcut that stops
   * the transformer from learning. On `generateWorld({ artists: 800 })` (7,925 tracks, about 12 listens
   * each, no artists given) the transformer alone stayed at popularity level with it (HR@10 0.016 with the
   * history excluded, validation NDCG@10 stuck near 0.08 for 16 epochs, whatever the learning rate or
   * dropout) and learned without it (0.117, validation NDCG@10 rising to 0.113); the whole model's NDCG@10
   * with the history excluded went from 0.092 to 0.101 (ItemTransition 0.091), and 0.165 to 0.179 with
   * every track ranked. On the shipped data with artists (learning rate 5e-3), turning it off left NDCG@10
   * equal (0.127 and 0.242 in expectation), raised HR@10 (0.172 to 0.175, and 0.372 to 0.376 with every
   * track ranked) and trained in 110 s instead of 155 s; on seed 7 it raised HR@10 and lowered NDCG@10
   * (-0.003 and -0.008).
   * Earlier measurements, with it on: in expectation over the true next-track distributions of three
   * generated worlds (dropout 0.25, before the transition term; parallel CPU runs,
   * `bench/results/sasrec-tuning.jsonl`), it made no measurable difference to HR@10 there: with the
   * history excluded 0.158 / 0.153 / 0.157 with it, 0.161 / 0.153 / 0.158 without; with every track ranked
   * 0.347 / 0.366 / 0.341 against 0.345 / 0.367 / 0.342. NDCG@10 with the history excluded was higher with
   * it on the shipped world at dropout 0.25 (0.114 against 0.107 in expectation) and within +-0.004 in
   * paired untied runs on three worlds. It costs 1.1-1.6x the training time. The repeat head, fitted after
   * training, still models replays.
   */
  historyBias: boolean;
  /**
   * Learn one extra logit `b` for the track just played (`logit(last) = h · E_last + b`). A transformer's
   * residual path puts the last input's own embedding into its output, so without it the track just played
   * is the model's top guess (it was on 382 of 500 shipped test cases, where no track ever follows itself);
   * `b` learns from the data how often a track really does. Softmax losses only; `historyBias`, whose
   * features include "is the last listen", replaces it. Default false: the repeat head's `lastWeight` fixes
   * the same fault after training, and on top of it this moved HR@10 with every track ranked by +2.3, -3.5
   * and -6.8 points on three generated worlds (`bench/results/sasrec-tuning.jsonl`).
   */
  lastBias: boolean;
  /**
   * Score the next track with the input item table (`logit(x) = h · E_x`, the SASRec paper's choice) or,
   * when false, with `h · (E_x + O_x)`: a learned per-track output correction `O` (V x d more weights) that
   * starts at zero, so training starts from the tied model. One shared table must place a track close to
   * what follows it *and* to what it follows, so a tied model blurs a track's exact successor (the next song
   * of an album) with its neighbours (the artist's other songs). A fully separate output table, measured on
   * the shipped data, ranked successors first more often but lost HR@10 (0.343 against 0.354 in expectation,
   * every track ranked); the correction keeps most of both. Default true: in expectation over the true
   * next-track distributions of three generated worlds (dropout 0.25, before the transition term) it raised
   * NDCG@10 with every track ranked by 0.014-0.017 but lowered HR@10 with the history excluded by
   * 0.002-0.011, and left NDCG@10 there as it was (`bench/results/sasrec-tuning.jsonl`). With today's
   * defaults the transition term ({@link SASRecHyperParams.transitionMix}) does most of the same job: on
   * the shipped data untied scores about the same NDCG@10 with every track ranked (0.246 against 0.247 in
   * expectation; 0.246 against 0.239 with 8 training windows per listener) and lower HR@10 with the history
   * excluded (0.167 against 0.175; `bench/next-track.ts`).
   */
  tiedEmbeddings: boolean;
  /**
   * A learned per-track output bias: `logit(x) = h · E_x + b_x` (V more weights), started at each track's
   * centred log share of the training listens (at zero it hardly moves in a short training: Adam moves a
   * weight by about one learning rate a step). A track's popularity then has a parameter of its own instead
   * of a direction of the shared item table, which the track's input embedding must use too. Default false:
   * the transformer alone learned more on the shipped data (HR@10 with every track ranked 0.333 -> 0.348 in
   * expectation, against the same fit with the bias started at zero), the whole model with its post-hoc heads
   * did not (docs/next-track.md, "Output bias and co-occurrence start").
   */
  itemBias: boolean;
  /**
   * How the item table starts: `'random'` (Xavier-normal, the SASRec reference's) or `'cooccurrence'`:
   * the top eigenvectors of the positive PMI of tracks heard at most 3 listens apart in the training
   * sequences, scaled to the random table's spread, so a track heard a few times starts near the tracks it
   * was heard with (item2vec's factorisation, computed directly; tracks that co-occur with nothing keep
   * their random row). Default `'random'`: on a sparse catalogue and on short sessions it moved NDCG@10 by
   * +0.5% to +1.3% (HR@10 by up to +1.5%), on the shipped data by -1% to -0.3%, all within the seed-to-seed
   * spread (docs/next-track.md).
   */
  itemInit: 'random' | 'cooccurrence';
  /**
   * After training, add the last listen's first-order transition counts from the training sequences to
   * the model's scores (before the repeat head, which is then fitted on top) as a product of experts:
   * `log P(x) = log P_model(x) + weight * log(1 + c(last -> x) / smoothing) - log Z`, with weight and
   * smoothing chosen on the validation cases by NDCG@10 (with the history left out of the ranking, see
   * {@link SASRecHyperParams.transitionExcludeHistory}; weights up to 1, or 2 to 8 when the counts beat
   * the model, by 5% when every track is ranked, which rescues a transformer that has not learned sparse
   * data; see
   * `src/models/transition-mix.ts`; weight 0 when the counts do not help). The tied item table blurs a
   * track's exact successor with its neighbours; counts are exact where a transition was seen. Needs
   * validation cases (not `validation: 'none'`); cases passed as `validation` should not have their target
   * listens in the training set, or the choice is optimistic (the default `'auto'` holds them out).
   * Default true (`bench/next-track.ts` has the ablation).
   */
  transitionMix: boolean;
  /**
   * Which protocol the transition term's weight is chosen for: true (the default), NDCG@10 with the
   * history left out of the ranking, as `evaluate` and `recommend` do by default; false, every track
   * ranked, replays included. The repeat head (fitted on top) cannot change how new tracks rank among
   * themselves, so with the history left out the term alone decides it. On replay-heavy logs the two
   * choices differ: on a log with 72% replay targets, choosing with every track ranked took weight 1 and
   * gave NDCG@10 0.074 with the history excluded, below ItemTransition's 0.086; choosing with the history
   * left out took weight 8: 0.086, and 0.604 instead of 0.576 with every track ranked. On the shipped data
   * (four training seeds, in expectation) the two agree for seed 42 and differ by -1.3% to +0.8% in
   * NDCG@10 with the history excluded for the others (docs/next-track.md, "Validation score"). With the
   * history left out there is no trust margin (`TRANSITION_TRUST_MARGIN`). Set false when you rank
   * every track (`excludeHistory: false`), a radio that replays. Models saved before the option existed
   * chose with every track ranked and load as false.
   */
  transitionExcludeHistory: boolean;
  /**
   * When `fit` is given `artists` (or the training listens name them), add to every track's embedding a
   * learned embedding of its artist (`E'_x = E_x + A_artist(x)`, in the input and, tied, in the output
   * table), so a track heard a few times borrows what the model learned from the artist's other tracks,
   * and same-artist runs are one vector apart. The artist table starts at zero, so training starts from
   * plain SASRec. Without artists this does nothing. Default true: in paired runs (same seed, in
   * expectation over the true next-track distributions, with the history bias on, the default until 2026-11-26) it raised HR@10 with the
   * history excluded from 0.163 to 0.172 on the shipped data, 0.159 to 0.167 on
   * `generateWorld({ seed: 7 })` and 0.159 to 0.168 on seed 11, NDCG@10 there from 0.123 to 0.127, 0.121
   * to 0.125 and 0.118 to 0.122; with every track ranked NDCG@10 moved by -0.001 to +0.002. With today's
   * defaults on the shipped data, in expectation: HR@10 0.159 to 0.175 with the history excluded and 0.359
   * to 0.370 with every track ranked, NDCG@10 0.122 to 0.129 and 0.245 to 0.247 (0.154 to 0.177 and 0.341
   * to 0.378 in HR@10 with 8 training windows per listener; `bench/next-track.ts`,
   * `bench/results/sasrec-tuning.jsonl`).
   */
  artistEmbeddings: boolean;
}

/**
 * Options of {@link SASRec.fit}: any {@link SASRecHyperParams} plus run-time hooks.
 *
 * @example
 * ```ts
 * const opts: SASRecOptions = { dim: 64, loss: 'ce', epochs: 30, onEpochEnd: (e, l) => console.log(e, l.loss) };
 * ```
 */
export interface SASRecOptions extends Partial<SASRecHyperParams> {
  /**
   * Early-stopping cases. Default `'auto'`: hold out the last listen of up to 1,000 users (seeded choice among
   * users with >= 3 listens; with fewer than 20 such users, one in five of those with 2 listens; with fewer
   * than 20 of those either, none) from training and stop on their NDCG@10.
   * `'none'` (or an empty array) trains all `epochs` on everything. An array uses those cases (and trains on all listens).
   */
  validation?: EvalCase[] | 'auto' | 'none';
  /** Called after every epoch. */
  onEpochEnd?: (epoch: number, logs: EpochLogs) => void | Promise<void>;
  /** Progress bar on stderr (only when it is a TTY). Default true. */
  progress?: boolean;
  /** Multiplies each target's loss by the reward of that listen (negative rewards count as 0). */
  reward?: RewardHook;
  /**
   * Each track's artist, for artist embeddings ({@link SASRecHyperParams.artistEmbeddings}). Training
   * tracks without an artist here get none (counted in `model.artistInfo`); a track listed twice with two
   * different artists is an error. Default: the artists the training listens name
   * (`trainSet.artists()`: Last.fm 1K, MPD and Spotify files, or an `artist_id` column), none when they
   * name none; `artistEmbeddings: false` trains without them.
   */
  artists?: ArtistSource;
  /**
   * Threads that compute gradients (data-parallel: each takes a slice of every batch; same result as one
   * thread up to float rounding). Default: `os.availableParallelism()` for models big enough to gain
   * (see `resolveWorkers`), 1 for tiny ones and with row-sparse updates ({@link SASRecHyperParams.sparseUpdates},
   * on by default for sampled losses where the table is too big to gain from workers: they run on one
   * thread); always 1 on the native `tensorflow` backend.
   * An explicit value above 1 with a sampled loss keeps dense updates (`sparseUpdates: 'auto'`). Since the
   * default follows the machine's cores, pass it explicitly for the same model on machines with different
   * core counts.
   */
  workers?: number;
}

/**
 * Defaults of {@link SASRec.fit}, tuned for sparse, short music listening sequences: full-softmax
 * cross-entropy (converges in few epochs and beats BCE by far) up to 20,000 tracks and 1,024-negative
 * sampled softmax beyond (`loss: 'auto'`), d=64, 2 blocks, maxlen 50, dropout 0.3, Adam at 2e-3 after a
 * 100-step linear warmup, 16 windows per batch (a small data set
 * gives only a few dozen batches of 128 per epoch, far too few updates), the learning rate halved after
 * every epoch without validation improvement, early stopping on validation NDCG@10 (every track ranked).
 *
 * Why learning rate 2e-3, and 1e-3 with artists (5e-3 until 2026-11-26, then 1e-3): at 5e-3 the transformer does not learn sparse data.
 * On short sessions (every session of `generateWorld({ artists: 800, users: 300 })` a sequence of its own:
 * 4,281 sequences of about 12 tracks, 7,541 tracks heard about 7 times each), validation NDCG@10 after 6
 * epochs at a constant rate was 0.029 at 5e-3 and 0.027 at 1e-2 (popularity level, and the training loss
 * hardly fell: 8.6 to 7.9 at 5e-3 with dropout 0), against 0.075 at 2e-3, 0.073 at 1e-3 and 0.060 at 5e-4
 * (loss 8.6 to 6.9 / 7.0 / 7.6). On a 24,071-track world (`generateWorld({ artists: 2500, users: 1000 })`,
 * sampled softmax) the transformer alone stayed at popularity for 14 epochs at 5e-3 (HR@10 0.013 with the
 * history excluded, in expectation). Adam moves every weight by about the rate each step whatever its
 * gradient, and a rarely seen track's gradient is mostly the softmax's push-down, so its embedding drifts
 * faster than it learns. At 1e-3 that world's transformer alone reached HR@10 0.103, and the whole
 * model's NDCG@10 rose from +9% to +22% over ItemTransition's (`bench/sparse.ts` has the sparse and
 * session benchmark). The price is on dense data: on the shipped data with artists (tuning runs, in
 * expectation) HR@10 was 0.177 / 0.176 / 0.175 with the history excluded and 0.378 / 0.377 / 0.376 with
 * every track ranked at 1e-3 / 2e-3 / 5e-3, NDCG@10 0.127 / 0.126 / 0.127 there, and 0.239 / 0.240 / 0.242
 * with every track ranked; listens only (`bench/next-track.ts`) NDCG@10 fell from 0.123 to 0.119 with the
 * history excluded and from 0.242 to 0.237 with every track ranked. On `generateWorld({ seed: 7 })` with
 * artists the lower rate scored higher (NDCG@10 0.122 to 0.125 and 0.251 to 0.256). Real catalogues are
 * sparse, so the default moved to 1e-3, the rate of the SASRec paper. 2e-3 did as well in every run then
 * (24,071-track world NDCG@10 0.100 against 0.099 with the history excluded, in 16 epochs against 23;
 * shipped 0.240 against 0.239 with every track ranked) and was first kept out as closer to the cliff.
 * Paired runs with today's other defaults moved the default to 2e-3 (`bench/sasrec-tuning.ts`, one worker,
 * in expectation, NDCG@10 with the history excluded / with every track ranked, 1e-3 -> 2e-3; lines 142,
 * 144, 149, 153, 160 and 162-165 of `bench/results/sasrec-tuning.jsonl`): on the long-history world (`--users
 * 120 --listens 4000 --days 180 --catalogue 1200`, listens only, 11,980 tracks, about 2,600 listens per
 * listener, the shape of Last.fm 1K) 0.0539 / 0.1975 -> 0.0598 / 0.2040 (seed 42; the transformer alone
 * 0.125 -> 0.155 with every track ranked; the 2e-3 run reached the 2,400 s cap in epoch 15, best 13) and
 * 0.0626 / 0.2070 -> 0.0652 / 0.2117 (seed 7, 9 epochs against 10); on the sparse catalogue
 * (`generateWorld({ artists: 800 })`, listens only; scratch runs on `bench/sparse.ts`'s split) 0.1019 /
 * 0.1778 -> 0.1030 / 0.1797 in 13 epochs against 17; on its short sessions (7,200 cases, sampled targets)
 * 0.130 / 0.145 -> 0.131 / 0.147 in 17 epochs against 27; on the shipped data with artists 0.1292 / 0.2468
 * -> 0.1279 / 0.2477, and listens only 0.1224 / 0.2406 -> 0.1222 / 0.2449 (there HR@10 with every track
 * ranked fell from 0.367 to 0.358: the transformer alone learned less, 0.205 -> 0.185 with every track
 * ranked, and the transition term chose weight 4). The gain is largest where histories are long and the
 * catalogue large, as in real logs, sparse data trains in fewer epochs, and no world showed the cliff.
 * With `artists` on sparse data 1e-3 stayed better (`bench/sparse.ts`, NDCG@10 with the history excluded:
 * sparse catalogue 0.139 at 1e-3 against 0.131, short sessions 0.146 against 0.140): the shared artist
 * vectors move fast at the higher rate. So since 2026-11-27 the default is `'auto'` ({@link resolveLearningRate}):
 * 1e-3 when `artists` are embedded, 2e-3 for listens alone.
 *
 * Why 32 windows per user (8 until 2026-11-26, the most recent ones only): real logs such as Last.fm 1K
 * hold a few hundred listeners with thousands of listens each, and 8 windows of 50 kept each listener's
 * last 400 listens, so the transformer saw a third of the data or less and few steps per epoch. On
 * `generateWorld({ users: 200, meanListensPerUser: 4000, artists: 1500 })` (214,720 listens, median 1,156
 * per listener, 14,869 tracks; listens only, `bench/sasrec-tuning.ts --listens 4000`, one worker) with 8
 * windows (1,590 per epoch) validation NDCG@10 stalled at 0.05 and the transformer alone stayed near
 * popularity (NDCG@10 0.011 with the history excluded, in expectation); the transition counts carried the
 * model to ItemTransition's level (0.066, equal). With every window (4,382 per epoch, what 32 gives there)
 * validation NDCG@10 reached 0.13, the transformer alone 0.050, and the whole model 0.070 (+6%; 0.190
 * against 0.179 with every track ranked; +17% over ItemTransition on the sampled test targets), in 1,819 s
 * (the run's cap) against 726 s. Drawing older windows afresh each epoch at 8 windows did not make up for
 * it (0.069; validation NDCG@10 0.05), nor did learning rate 2e-3 (0.065): the small epochs, not the
 * choice of windows, held it back. Drawing them afresh at 32 windows on a world with longer histories
 * (`--users 120 --listens 4000 --days 180 --catalogue 1200`: median 2,604 listens, 52 windows) was a wash
 * against the most recent 32 (NDCG@10 with every track ranked 0.194 against 0.195; with the history
 * excluded 0.045 against 0.052, ItemTransition 0.047), so the simpler rule stays. The shipped and sparse-catalogue worlds have at most 22 windows per
 * listener, so 32 trains on all of them (about 2,250 windows per epoch on the shipped data against 2,100).
 *
 * Why `minStepsPerEpoch: 256` (an epoch was always one pass until 2026-11-26): with a few hundred
 * listeners a pass is a few dozen steps and the validation set a few hundred cases, so the plateau decay
 * halved the rate, and patience stopped training, on noise before the transformer had learned. Listens
 * only, `bench/sasrec-tuning.ts`, in expectation, NDCG@10 with the history excluded / with every track
 * ranked, one pass per epoch against at least 256 steps: `generateWorld({ users: 200 })` (56 steps a pass)
 * 0.098 / 0.206 against 0.105 / 0.209 (at least 128 steps: 0.104 / 0.211; no decay and patience 10: 0.104 /
 * 0.215; ItemTransition 0.091 / 0.183), the transformer alone 0.054 against 0.092;
 * `generateWorld({ users: 100, artists: 400 })` (26 steps a pass, 3,447 tracks) 0.057 / 0.148 against
 * 0.068 / 0.159 (ItemTransition 0.057 / 0.1315), the transformer alone 0.007 (popularity level) against
 * 0.065; the shipped data (140 steps a pass) 0.121 / 0.242 against 0.122 / 0.241, HR@10 with every track
 * ranked 0.352 against 0.367. With artists the shipped data scored the same either way (its best epoch
 * comes within 8 passes, before the first decay). Worlds with 256 steps a pass or more are unchanged.
 *
 * Why `plateauDecay: 0.5`: with a constant rate the validation score stalls within a few epochs while the
 * steps are still large. Halving on each stall, measured with `bench/sasrec-tuning.ts` (one worker):
 * shipped data test HR@10 0.480 -> 0.492, NDCG@10 0.332 -> 0.343; `generateWorld({ seed: 7 })` 0.456 ->
 * 0.468, 0.318 -> 0.335; training runs a few epochs longer (18 vs 17 and 14 vs 11 epochs). These runs and
 * the maxlen runs below predate the 2026-11-26 fix of the history-excluded protocol (a replayed target
 * leaked), so their absolute numbers are higher than today's; each compares two settings on one protocol.
 *
 * Why dropout 0.3: HR@10 with the history excluded, in expectation over the true next-track distributions
 * (`bench/sasrec-tuning.ts`, `bench/results/sasrec-tuning.jsonl`: runs capped at 470 s, about 14 epochs,
 * on a 16-core host with one thread each, except seed 7 at 0.25 and 0.35 and the shipped data at 0.25 and
 * 0.35, trained to early stopping on the 2-core VM), for dropout 0.25 / 0.3 / 0.35 / 0.4:
 * `generateWorld({ seed: 11 })` 0.157 / 0.157 / 0.158 / 0.161; seed 13 0.168 / 0.171 / 0.173 / 0.143;
 * seed 7 0.153 / 0.157 / 0.155 / 0.145; the shipped data 0.157 / 0.162 / 0.164 / 0.158. NDCG@10 moves the
 * same way. Higher rates delay the point where the transformer starts to learn beyond popularity and the
 * history bias: 0.4 had not reached it within 14 epochs on two of the four worlds, and 0.5 never reached
 * it on the shipped data (19 epochs, HR@10 0.044). 0.3 gains on all four and keeps the most distance from
 * that cliff; it trains a few epochs longer than 0.25.
 *
 * Why maxlen 50 although half of the shipped test targets repeat a track heard more than 50 listens
 * earlier: measured with `bench/sasrec-tuning.ts` (one worker, 2 shared cores) on the shipped data and on
 * `generateWorld({ seed: 7 })`, longer windows cost more per epoch (attention ~ L^2, and fewer, larger steps)
 * and did not pay back. In 90 s: maxlen 100 (batch 8) +0.01 test NDCG@10 on both worlds (within noise, with
 * 10-25 s more time), maxlen 200 -0.04 / -0.01 (batch 4) and -0.10 (batch 16); in 240 s on the shipped data
 * maxlen 50 still led (NDCG@10 0.321 vs 0.306 for maxlen 200, 16 vs 9 epochs). Short windows also keep
 * epochs short enough for the < 30 s time-to-quality target (one epoch: 14-40 s for maxlen 50, 23-60 s for
 * 100 and 200 with one worker, depending on the machine's load).
 *
 * @example
 * ```ts
 * const model = await SASRec.fit(train, { ...SASREC_DEFAULTS, dim: 32 });
 * ```
 */
export const SASREC_DEFAULTS: Readonly<SASRecHyperParams> = Object.freeze({
  dim: 64,
  blocks: 2,
  heads: 1,
  maxlen: 50,
  dropout: 0.3,
  norm: 'pre',
  loss: 'auto',
  negatives: 256,
  gbceT: 0.75,
  learningRate: 'auto',
  warmupSteps: 100,
  plateauDecay: 0.5,
  batchSize: 16,
  epochs: 60,
  minStepsPerEpoch: 256,
  seed: 42,
  patience: 5,
  maxSeconds: Number.POSITIVE_INFINITY,
  weightDecay: 0,
  ema: 0,
  sparseUpdates: 'auto',
  maxWindowsPerUser: 32,
  skipsAsNegatives: false,
  repeat: true,
  playCounts: false,
  historyBias: false,
  lastBias: false,
  tiedEmbeddings: true,
  itemBias: false,
  itemInit: 'random',
  transitionMix: true,
  transitionExcludeHistory: true,
  artistEmbeddings: true,
});

/** A batch's rows of the tables, for a row-sparse step (see `SASRec.rowGradients`). */
interface RowView {
  /** Vocabulary index of each local row, ascending; the local batch's ids index this. */
  ids: Int32Array;
  /** `[R, d]` track vectors of those rows (with their artist vectors). */
  items: tf.Tensor2D;
  /** `[R, d]` their output vectors. */
  output: tf.Tensor2D;
}

const RUNTIME_KEYS = ['validation', 'onEpochEnd', 'progress', 'reward', 'workers', 'artists'] as const;
/** Activations a training step may need before we refuse the configuration (bytes). */
const ACTIVATION_BUDGET_BYTES = 2 * 2 ** 30;

/** One training step's activations: roughly 24 [B, L, d] tensors and 4 [B, heads, L, L] tensors per block. */
const activationBytes = (o: SASRecHyperParams): number =>
  4 * o.batchSize * o.maxlen * (o.blocks * (24 * o.dim + 4 * o.heads * o.maxlen) + 8 * o.dim);

/**
 * How many negatives a step of a sampled loss draws: `negatives`, but never more than the catalogue
 * (drawing more only repeats tracks: the work grows, the loss learns nothing more).
 */
const sampledNegatives = (o: SASRecHyperParams, numItems: number): number => Math.min(o.negatives, numItems);

/** A sampled loss's `[batchSize * maxlen, negatives]` logits, their softmax and gradient (bytes; 0 for others). */
const negativeLogitBytes = (o: SASRecHyperParams, numItems: number): number =>
  o.loss === 'sampled-softmax' || o.loss === 'gbce'
    ? 3 * 4 * o.batchSize * o.maxlen * sampledNegatives(o, numItems)
    : 0;

/**
 * The transformer's own weights in training: per block the four attention and two feed-forward [d, d]
 * matrices, each held as weights, two Adam moments and a gradient.
 */
const layerBytes = (o: SASRecHyperParams): number => 4 * 4 * o.blocks * 6 * o.dim * o.dim;

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/** Checks every option before any work; throws {@link InvalidOptionError} naming the first bad one. */
function resolveOptions(options: SASRecOptions): SASRecHyperParams {
  if (options === undefined) throw new InvalidOptionError('options', 'an object of SASRec options', options);
  checkKnownOptions(options, [...Object.keys(SASREC_DEFAULTS), ...RUNTIME_KEYS], 'SASRec');
  const o: SASRecHyperParams = { ...SASREC_DEFAULTS };
  for (const [k, v] of Object.entries(options))
    if (v !== undefined && k in o) (o as unknown as Record<string, unknown>)[k] = v;
  const posInt = (name: keyof SASRecHyperParams) => {
    const v = o[name];
    if (!isInt(v) || v < 1) throw new InvalidOptionError(name, 'an integer >= 1', v);
  };
  posInt('dim');
  posInt('blocks');
  posInt('heads');
  if (o.dim % o.heads !== 0) throw new InvalidOptionError('heads', `a divisor of dim (${o.dim})`, o.heads);
  posInt('maxlen');
  if (typeof o.dropout !== 'number' || !(o.dropout >= 0 && o.dropout < 1)) {
    throw new InvalidOptionError('dropout', 'a number in [0, 1)', o.dropout);
  }
  if (o.norm !== 'pre' && o.norm !== 'post') throw new InvalidOptionError('norm', "'pre' or 'post'", o.norm);
  if (o.loss !== 'auto' && !LOSS_NAMES.includes(o.loss))
    throw new InvalidOptionError(
      'loss',
      `'auto' or one of ${LOSS_NAMES.map((l) => `'${l}'`).join(', ')}`,
      o.loss,
    );
  posInt('negatives');
  if (typeof o.gbceT !== 'number' || !(o.gbceT >= 0 && o.gbceT <= 1))
    throw new InvalidOptionError('gbceT', 'a number in [0, 1]', o.gbceT);
  if (
    o.learningRate !== 'auto' &&
    (typeof o.learningRate !== 'number' || !(o.learningRate > 0 && Number.isFinite(o.learningRate)))
  ) {
    throw new InvalidOptionError('learningRate', "'auto' or a finite number > 0", o.learningRate);
  }
  if (!isInt(o.warmupSteps) || o.warmupSteps < 0)
    throw new InvalidOptionError('warmupSteps', 'an integer >= 0', o.warmupSteps);
  if (typeof o.plateauDecay !== 'number' || !(o.plateauDecay > 0 && o.plateauDecay <= 1))
    throw new InvalidOptionError('plateauDecay', 'a number in (0, 1]', o.plateauDecay);
  posInt('batchSize');
  posInt('epochs');
  posInt('minStepsPerEpoch');
  if (!isInt(o.seed)) throw new InvalidOptionError('seed', 'an integer', o.seed);
  posInt('patience');
  if (typeof o.maxSeconds !== 'number' || !(o.maxSeconds > 0))
    throw new InvalidOptionError('maxSeconds', 'a number > 0', o.maxSeconds);
  if (typeof o.weightDecay !== 'number' || !(o.weightDecay >= 0 && Number.isFinite(o.weightDecay))) {
    throw new InvalidOptionError('weightDecay', 'a finite number >= 0', o.weightDecay);
  }
  if (typeof o.ema !== 'number' || !(o.ema >= 0 && o.ema < 1))
    throw new InvalidOptionError('ema', 'a number in [0, 1)', o.ema);
  if (o.sparseUpdates !== 'auto' && typeof o.sparseUpdates !== 'boolean')
    throw new InvalidOptionError('sparseUpdates', "'auto' or a boolean", o.sparseUpdates);
  if (options.workers !== undefined && (!isInt(options.workers) || options.workers < 1))
    throw new InvalidOptionError('workers', 'an integer >= 1', options.workers);
  if (o.sparseUpdates === true && options.workers !== undefined && options.workers > 1)
    throw new InvalidOptionError(
      'sparseUpdates',
      "false or 'auto' with workers above 1 (row updates run on one thread)",
      true,
    );
  // ema and weightDecay act on every row at every step, which row updates exist to avoid; with them the
  // rows a step skips would be averaged or decayed before their catch-up, so the model would not be dense
  // Adam's.
  if (o.sparseUpdates === true && (o.ema > 0 || o.weightDecay > 0))
    throw new InvalidOptionError(
      'sparseUpdates',
      `false or 'auto' with ${o.ema > 0 ? `ema ${o.ema}` : `weightDecay ${o.weightDecay}`} (they act on every row at every step)`,
      true,
    );
  posInt('maxWindowsPerUser');
  if (typeof o.skipsAsNegatives !== 'boolean')
    throw new InvalidOptionError('skipsAsNegatives', 'a boolean', o.skipsAsNegatives);
  if (typeof o.repeat !== 'boolean') throw new InvalidOptionError('repeat', 'a boolean', o.repeat);
  if (typeof o.tiedEmbeddings !== 'boolean')
    throw new InvalidOptionError('tiedEmbeddings', 'a boolean', o.tiedEmbeddings);
  if (typeof o.itemBias !== 'boolean') throw new InvalidOptionError('itemBias', 'a boolean', o.itemBias);
  if (o.itemInit !== 'random' && o.itemInit !== 'cooccurrence')
    throw new InvalidOptionError('itemInit', "'random' or 'cooccurrence'", o.itemInit);
  if (typeof o.transitionMix !== 'boolean')
    throw new InvalidOptionError('transitionMix', 'a boolean', o.transitionMix);
  if (typeof o.transitionExcludeHistory !== 'boolean')
    throw new InvalidOptionError('transitionExcludeHistory', 'a boolean', o.transitionExcludeHistory);
  if (typeof o.artistEmbeddings !== 'boolean')
    throw new InvalidOptionError('artistEmbeddings', 'a boolean', o.artistEmbeddings);
  if (typeof o.historyBias !== 'boolean')
    throw new InvalidOptionError('historyBias', 'a boolean', o.historyBias);
  // A softmax-only feature: asked for with a binary loss, it is an error.
  if (o.historyBias && (o.loss === 'bce' || o.loss === 'gbce'))
    throw new InvalidOptionError(
      'loss',
      "a softmax loss ('auto', 'ce' or 'sampled-softmax') with historyBias",
      o.loss,
    );
  if (typeof o.lastBias !== 'boolean') throw new InvalidOptionError('lastBias', 'a boolean', o.lastBias);
  if (typeof o.playCounts !== 'boolean')
    throw new InvalidOptionError('playCounts', 'a boolean', o.playCounts);
  const v = options.validation;
  if (v !== undefined && v !== 'auto' && v !== 'none' && !Array.isArray(v)) {
    throw new InvalidOptionError('validation', "an array of EvalCase, 'auto' or 'none'", v);
  }
  if (Array.isArray(v) && v.length > 0) checkCases(v, 'validation');
  if (options.onEpochEnd !== undefined && typeof options.onEpochEnd !== 'function') {
    throw new InvalidOptionError('onEpochEnd', 'a function', options.onEpochEnd);
  }
  if (options.progress !== undefined && typeof options.progress !== 'boolean') {
    throw new InvalidOptionError('progress', 'a boolean', options.progress);
  }
  if (options.reward !== undefined && typeof options.reward !== 'function')
    throw new InvalidOptionError('reward', 'a function', options.reward);
  const act = activationBytes(o);
  if (act > ACTIVATION_BUDGET_BYTES) {
    throw new InvalidOptionError(
      'batchSize',
      `small enough that one step fits in memory: batchSize ${o.batchSize} x maxlen ${o.maxlen} x dim ${o.dim} x blocks ${o.blocks} needs about ${(act / 2 ** 30).toFixed(1)} GiB of activations, over the ${ACTIVATION_BUDGET_BYTES / 2 ** 30} GiB budget`,
      o.batchSize,
      'Lower batchSize or maxlen',
    );
  }
  return o;
}

// ---------------------------------------------------------------------------------------------------------
// Weights and initialisation
// ---------------------------------------------------------------------------------------------------------

/**
 * Shapes of every weight, by name. `item_emb` row 0 is padding; `artist_emb` (with artists) row 0 is the
 * shared vector of tracks without an artist.
 */
function weightShapes(h: SASRecHyperParams, numItems: number, numArtists = 0): Record<string, number[]> {
  const d = h.dim;
  const shapes: Record<string, number[]> = { item_emb: [numItems + 1, d], pos_emb: [h.maxlen, d] };
  if (numArtists > 0) shapes.artist_emb = [numArtists + 1, d];
  if (!h.tiedEmbeddings) shapes.out_emb = [numItems + 1, d]; // output table; row 0: padding
  if (h.itemBias) shapes.out_bias = [numItems + 1, 1]; // per-track output bias, a column so rows update sparsely
  if (h.playCounts) shapes.play_emb = [PLAY_COUNT_BUCKETS, d]; // row 0: padding
  if (usesLastBias(h)) shapes['last.b'] = [1];
  if (h.historyBias) {
    shapes['hist.w'] = [d, HISTORY_BIAS_FEATURES.length];
    shapes['hist.b'] = [HISTORY_BIAS_FEATURES.length];
  }
  for (let b = 0; b < h.blocks; b++) {
    for (const ln of ['ln1', 'ln2']) {
      shapes[`b${b}.${ln}.g`] = [d];
      shapes[`b${b}.${ln}.b`] = [d];
    }
    for (const lin of ['q', 'k', 'v', 'o', 'f1', 'f2']) {
      shapes[`b${b}.${lin}.w`] = [d, d];
      shapes[`b${b}.${lin}.b`] = [d];
    }
  }
  shapes['lnf.g'] = [d];
  shapes['lnf.b'] = [d];
  return shapes;
}

/** Whether the model has the learned last-listen logit (see {@link SASRecHyperParams.lastBias}). */
function usesLastBias(h: SASRecHyperParams): boolean {
  return (
    h.lastBias && !h.historyBias && (h.loss === 'ce' || h.loss === 'sampled-softmax' || h.loss === 'auto')
  );
}

/**
 * Matrices that start at zero, so the model starts as plain SASRec: `hist.w` (no history bias), `out_emb`
 * (the untied output table E + O starts tied) and `artist_emb` (E + A starts as E); `out_bias` too, which
 * `fit` then sets to the log-popularity prior (`logPopularityBias`). They draw nothing from the seeded
 * stream, so the other weights start the same with or without them for the same seed.
 */
const ZERO_INIT = new Set(['hist.w', 'out_emb', 'artist_emb', 'out_bias']);

/** Xavier-normal spread of a `[rows, cols]` matrix: `sqrt(2 / (rows + cols))`. */
const xavierStd = (rows: number, cols: number) => Math.sqrt(2 / (rows + cols));

/** Initial values as in the PyTorch reference: Xavier-normal matrices and item table, N(0, 2/(maxlen+d)) positions, LN = (1, 0), biases 0. */
function initWeights(shapes: Record<string, number[]>, rng: Rng): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const [name, shape] of Object.entries(shapes)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const a = new Float32Array(n);
    if (shape.length === 2 && !ZERO_INIT.has(name)) {
      const std = xavierStd(shape[0]!, shape[1]!); // pos_emb: sqrt(2 / (maxlen + d))
      for (let i = 0; i < n; i++) a[i] = rng.normal() * std;
      if (name === 'item_emb' || name === 'play_emb') a.fill(0, 0, shape[1]); // padding row
    } else if (name.endsWith('.g')) {
      a.fill(1);
    }
    out[name] = a;
  }
  return out;
}

/** Rough multiply-adds of one training step (forward + backward ~ 3x forward), to decide on workers. */
function stepMacs(h: SASRecHyperParams, numItems: number, batch: number): number {
  const rows = batch * h.maxlen;
  const blocks = h.blocks * rows * (6 * h.dim * h.dim + 2 * h.maxlen * h.dim);
  const name = resolveLoss(h.loss, numItems);
  const loss =
    name === 'ce'
      ? rows * numItems * h.dim
      : name === 'bce'
        ? 2 * rows * h.dim
        : rows * sampledNegatives(h, numItems) * h.dim;
  return 3 * (blocks + loss);
}

/**
 * Copies of the `[items + 1, dim]` item table that training holds at once: the weights, Adam's two moments,
 * the dense gradient, the optimizer's temporaries and the serving copy.
 */
const TABLE_COPIES = 8;
/**
 * The same with row-sparse updates (`sparseUpdates`), whose moments live in JavaScript and which build no
 * dense gradient: the weights, the copy each row write makes, and the serving copy with scoring's rows.
 * Measured 2026-11-27: a 2,500,000-track fit at dim 64 (about 2.4 GiB by this count, near the budget)
 * trained, validated, fitted its heads and evaluated on wasm (peak RSS 8.3 GB).
 */
const SPARSE_TABLE_COPIES = 4;
/** Bytes the item-table copies may take outside the native backend: the wasm heap is at most 4 GiB. */
const TABLE_BUDGET_BYTES = 2.5 * 2 ** 30;
/**
 * Bytes the tables, the transformer's weights and one step's activations may take together outside the
 * native backend. Each is checked alone too; together a wide model (dim 5000 on 2,000 tracks: tables 0.3,
 * activations 0.9, layers 4.5 GiB) passed both separate checks and failed mid-training with wasm's "memory
 * access out of bounds".
 */
const TOTAL_BUDGET_BYTES = 3.5 * 2 ** 30;

/**
 * Throws {@link InvalidOptionError} (on `dim`) when the item table and its optimizer state would not fit in
 * memory, instead of an opaque allocation failure (wasm: "memory access out of bounds") mid-training. The
 * native `tensorflow` backend has no such ceiling and is not checked.
 */
function checkTableMemory(h: SASRecHyperParams, numItems: number, numArtists = 0): void {
  if (tf.getBackend() === 'tensorflow') return;
  // Untied: the output correction is a second table. Artists: the composed track table E + A[artist]
  // (counted as a third) and the artist table itself. The output bias: the output table with its bias
  // column, [V + 1, d + 1], built each step (counted as one more).
  const tables = (h.tiedEmbeddings ? 1 : 2) + (numArtists > 0 ? 1 : 0) + (h.itemBias ? 1 : 0);
  const rows = tables * (numItems + 1) + (numArtists > 0 ? numArtists + 1 : 0);
  const copies = h.sparseUpdates === true ? SPARSE_TABLE_COPIES : TABLE_COPIES;
  const bytes = copies * 4 * rows * h.dim;
  if (bytes > TABLE_BUDGET_BYTES) {
    const maxDim = Math.floor(TABLE_BUDGET_BYTES / (copies * 4 * rows));
    throw new InvalidOptionError(
      'dim',
      `small enough that ${numItems} tracks x dim fit in memory: training holds about ${copies} copies of ${tables === 1 ? 'the' : `each of the ${tables}`} [${numItems + 1}, ${h.dim}] track table${tables === 1 ? '' : 's'}${numArtists > 0 ? ` and of the [${numArtists + 1}, ${h.dim}] artist table` : ''} (weights, Adam state, gradients), about ${(bytes / 2 ** 30).toFixed(1)} GiB, over the ${TABLE_BUDGET_BYTES / 2 ** 30} GiB budget of the ${tf.getBackend()} backend`,
      h.dim,
      maxDim >= 1
        ? `Use dim <= ${maxDim}, drop rare tracks (Dataset.fromListens(..., { minTrackListens })), or the native backend (@tensorflow/tfjs-node)`
        : 'Drop rare tracks (Dataset.fromListens(..., { minTrackListens })) or use the native backend (@tensorflow/tfjs-node)',
    );
  }
  const logits = negativeLogitBytes(h, numItems);
  if (logits > ACTIVATION_BUDGET_BYTES)
    throw new InvalidOptionError(
      'negatives',
      `few enough that a step's sampled logits fit in memory: batchSize ${h.batchSize} x maxlen ${h.maxlen} x ${sampledNegatives(h, numItems)} negatives need about ${(logits / 2 ** 30).toFixed(1)} GiB, over the ${ACTIVATION_BUDGET_BYTES / 2 ** 30} GiB budget`,
      h.negatives,
      'Lower negatives (1,024 is the default past 20,000 tracks), batchSize or maxlen',
    );
  const layers = layerBytes(h);
  const act = activationBytes(h) + logits;
  const total = bytes + layers + act;
  if (total > TOTAL_BUDGET_BYTES) {
    const gib = (b: number) => (b / 2 ** 30).toFixed(1);
    throw new InvalidOptionError(
      'dim',
      `small enough that training fits in memory: the track tables (${gib(bytes)} GiB), the ${h.blocks} blocks' [${h.dim}, ${h.dim}] weights with their Adam state (${gib(layers)} GiB) and one step's activations (${gib(act)} GiB) need about ${gib(total)} GiB, over the ${TOTAL_BUDGET_BYTES / 2 ** 30} GiB budget of the ${tf.getBackend()} backend`,
      h.dim,
      'Lower dim (or blocks, batchSize, maxlen), or use the native backend (@tensorflow/tfjs-node)',
    );
  }
}

/** Variables that weight decay applies to: matrices and embeddings, not biases or layer-norm parameters. */
const decays = (name: string) => name.endsWith('.w') || name.endsWith('_emb');

let modelCounter = 0;

// ---------------------------------------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------------------------------------

/**
 * Fills a dropout mask (0 or 1/(1-rate)) from the seeded stream. For a slice of a batch (`part`, the first
 * axis grouping by sequence), draws exactly the full batch's mask entries of those sequences.
 */
function dropoutMask(shape: number[], rate: number, rng: Rng, part?: BatchPart): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const a = new Float32Array(n);
  const keep = 1 / (1 - rate);
  const per = part ? n / part.count : 0; // mask entries per sequence
  if (part) rng.skip(part.start * per);
  for (let i = 0; i < n; i++) a[i] = rng.next() < rate ? 0 : keep;
  if (part) rng.skip((part.total - part.start - part.count) * per);
  return tf.tensor(a, shape);
}

/**
 * SASRec next-track model. Train with {@link SASRec.fit}, restore with `loadModel`.
 *
 * Forward pass for ids `[B, L]` (left-padded with 0): `x = E[ids] * sqrt(d) + P[-L:]`, dropout, padding
 * zeroed; `blocks` x [causal self-attention, point-wise FFN] (pre-LN as in the reference code:
 * `q = LN1(x); x = q + Attn(q, x); x = LN2(x); x = x + FFN(x)`; post-LN: `x = LN1(x + Attn(x, x));
 * x = LN2(x + FFN(x))`); final layer norm. The score of track j after position t is `h_t · E_j` (plus `b_j` with `itemBias`).
 *
 * @example
 * ```ts
 * const model = await SASRec.fit(train, { validation: valCases });
 * const recs = await model.recommend(['t1', 't2', 't3'], { k: 10 });
 * await model.save('models/sasrec');
 * model.dispose();
 * ```
 */
export class SASRec extends BaseRecommender implements TrainableModel<SeqBatch> {
  readonly type = 'sasrec';
  /** Hyper-parameters the model was built with. */
  readonly config: Readonly<SASRecHyperParams>;
  /** What training did (undefined for a loaded model). */
  trainResult: TrainResult | undefined;
  private readonly vars: Record<string, tf.Variable>;
  /** Training listen counts per vocabulary index: the cold-start scores. */
  private readonly popularity: Float32Array;
  /** `[maxlen, maxlen]` additive causal mask: 0 on and below the diagonal, -1e9 above. */
  private readonly causalMask: tf.Tensor2D;
  /** The training loss, resolved from `config.loss` (`'auto'` only in configs that were never fitted). */
  private readonly loss: LossName;
  /** Per-loss constants (negative-sampling log q), set by fit. */
  private logQ: Float64Array | undefined;
  /** The batch slice being trained on (data-parallel training), for its dropout masks. */
  private part: BatchPart | undefined;
  private disposed = false;
  /** Set by the trainer while it trains (see {@link TrainableModel.currentRows}). */
  currentRows: TrainableModel<SeqBatch>['currentRows'];
  /** Serving cache for the current weights (see {@link SASRec.servingTables}). */
  private serving: ServingTables | undefined;
  /**
   * The fitted repeat-aware mixture (see {@link SASRecHyperParams.repeat}); undefined while training, with
   * `repeat: false`, or without validation cases.
   */
  repeatHead: RepeatHead | undefined;
  /**
   * The fitted transition term (see {@link SASRecHyperParams.transitionMix}); undefined while training, with
   * `transitionMix: false`, or without validation cases.
   */
  transitionHead: TransitionMix | undefined;
  /** Training transition counts between vocabulary indices, kept with the transition term. */
  private transitions: Csr | undefined;
  /** Each track's artist (with artist embeddings). */
  private readonly artists: ArtistIndex | undefined;

  private constructor(
    vocabulary: Vocabulary,
    config: SASRecHyperParams,
    weights: Record<string, Float32Array>,
    popularity: Float32Array,
    artists?: ArtistIndex,
  ) {
    super(vocabulary);
    this.config = Object.freeze({ ...config });
    this.loss = resolveLoss(config.loss, vocabulary.size);
    this.popularity = popularity;
    this.artists = artists;
    const prefix = `sasrec${++modelCounter}`;
    const shapes = weightShapes(config, vocabulary.size, artists?.count);
    this.vars = {};
    for (const [name, shape] of Object.entries(shapes)) {
      const data = weights[name];
      if (!data) throw new InvalidDataError(`SASRec weights lack ${name}`);
      this.vars[name] = tf.tidy(() => tf.variable(tf.tensor(data, shape), true, `${prefix}/${name}`));
    }
    const L = config.maxlen;
    const causal = new Float32Array(L * L);
    for (let i = 0; i < L; i++) for (let j = i + 1; j < L; j++) causal[i * L + j] = -1e9;
    this.causalMask = tf.tensor2d(causal, [L, L]);
    this.servingTables(); // a model always holds its serving tables, so tensor counts stay flat from here on
  }

  /** Trainable variables by short name (`item_emb`, `b0.q.w`, ...). */
  get variables(): Readonly<Record<string, tf.Variable>> {
    return this.vars;
  }

  /**
   * Artist side information the model was trained with: distinct artists, and how many of the vocabulary's
   * tracks have one (the rest get no artist embedding). Undefined without artist embeddings.
   *
   * @example
   * ```ts
   * console.log(model.artistInfo); // { artists: 380, tracksWithArtist: 2000 }
   * ```
   */
  get artistInfo(): { artists: number; tracksWithArtist: number } | undefined {
    return this.artists && { artists: this.artists.count, tracksWithArtist: this.artists.tracksWithArtist };
  }

  private w(name: string): tf.Variable {
    return this.vars[name]!;
  }

  /**
   * `[V + 1, d]` track vectors: the item table `E`, or with artists `E + A[artist]` (a new tensor then: call
   * inside a tidy or gradient scope).
   */
  private itemTable(): tf.Tensor2D {
    const items = this.w('item_emb') as tf.Tensor as tf.Tensor2D;
    if (!this.artists) return items;
    const artists = this.w('artist_emb') as tf.Tensor as tf.Tensor2D; // [A + 1, d]
    return tf.add(items, embeddingLookup(artists, tf.tensor1d(this.artists.of, 'int32'))); // [V + 1, d]
  }

  /**
   * `[V + 1, d]` output table: the track vectors, or with untied embeddings those plus `O`, a per-track
   * correction that starts at zero (a new tensor then: call inside a tidy or gradient scope). With
   * `itemBias` the bias is its last column, `[V + 1, d + 1]`, scored against {@link withBiasInput}'s `[h, 1]`.
   */
  private outputTable(items: tf.Tensor2D = this.itemTable()): tf.Tensor2D {
    const table: tf.Tensor2D = this.config.tiedEmbeddings ? items : tf.add(items, this.w('out_emb'));
    return this.config.itemBias
      ? tf.concat([table, this.w('out_bias') as tf.Tensor as tf.Tensor2D], 1)
      : table;
  }

  /** `[N, d]` hidden states as the output table scores them: `[N, d + 1]` `[h, 1]` with `itemBias`, else `h`. */
  private withBiasInput(h: tf.Tensor2D): tf.Tensor2D {
    return this.config.itemBias ? tf.concat([h, tf.ones([h.shape[0], 1]) as tf.Tensor2D], 1) : h;
  }

  /** `[L, L]` additive causal mask, sliced from the model's `[maxlen, maxlen]` one (a tidy'd temporary). */
  private causal(L: number): tf.Tensor2D {
    return this.causalMask.slice([0, 0], [L, L]);
  }

  // --- layers --------------------------------------------------------------------------------------------

  /** `x @ W + b` on `[N, d]`. */
  private linear(x: tf.Tensor2D, name: string): tf.Tensor2D {
    return tf.add(matMul2d(x, this.w(`${name}.w`) as tf.Tensor as tf.Tensor2D), this.w(`${name}.b`));
  }

  /** Layer norm over the last axis of `[N, d]`, eps 1e-8 as in the reference. */
  private layerNorm(x: tf.Tensor2D, name: string): tf.Tensor2D {
    const { mean, variance } = tf.moments(x, 1, true); // [N, 1]
    const norm = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-8))); // [N, d]
    return tf.add(tf.mul(norm, this.w(`${name}.g`)), this.w(`${name}.b`));
  }

  private dropout<T extends tf.Tensor>(x: T, rng: Rng | undefined): T {
    if (!rng || this.config.dropout === 0) return x;
    return tf.mul(x, dropoutMask(x.shape, this.config.dropout, rng, this.part)) as T;
  }

  /**
   * Causal multi-head attention. `query` and `keyValue` are `[B * L, d]`; `bias` is `[B, 1, L, L]` (causal
   * plus key padding). Returns `[B * L, d]` after the output projection.
   */
  private attention(
    query: tf.Tensor2D,
    keyValue: tf.Tensor2D,
    bias: tf.Tensor,
    B: number,
    L: number,
    blk: string,
    rng?: Rng,
  ): tf.Tensor2D {
    const { dim: d, heads: h } = this.config;
    const dh = d / h;
    const split = (x: tf.Tensor2D) =>
      h === 1 ? x.reshape([B, 1, L, d]) : x.reshape([B, L, h, dh]).transpose([0, 2, 1, 3]); // [B, h, L, dh]
    const q = split(this.linear(query, `${blk}.q`));
    const k = split(this.linear(keyValue, `${blk}.k`));
    const v = split(this.linear(keyValue, `${blk}.v`));
    const scores = tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(dh)), bias); // [B, h, L, L]
    const attn = this.dropout(tf.softmax(scores), rng); // [B, h, L, L]
    const ctx = tf.matMul(attn, v); // [B, h, L, dh]
    const merged = (h === 1 ? ctx : ctx.transpose([0, 2, 1, 3])).reshape([B * L, d]) as tf.Tensor2D; // [B * L, d]
    return this.linear(merged, `${blk}.o`);
  }

  /** Point-wise FFN: `W2 · dropout(relu(W1 x + b1)) + b2`, then dropout. `[B * L, d]`. */
  private ffn(x: tf.Tensor2D, blk: string, rng?: Rng): tf.Tensor2D {
    const hidden = this.dropout(tf.relu(this.linear(x, `${blk}.f1`)), rng); // [B * L, d]
    return this.dropout(this.linear(hidden, `${blk}.f2`), rng); // [B * L, d]
  }

  /**
   * Hidden states for left-padded ids `[B, L]` (`L <= maxlen`) and their play-count buckets `[B, L]` (used
   * with `playCounts`). Dropout is on when `rng` is given.
   * @returns `[B * L, d]`, rows of padding positions zeroed before the final layer norm.
   */
  private encode(
    ids: tf.Tensor2D,
    plays: tf.Tensor2D,
    rng?: Rng,
    items: tf.Tensor2D = this.itemTable(),
  ): tf.Tensor2D {
    const [B, L] = ids.shape;
    const { dim: d, maxlen } = this.config;
    const mask = tf.cast(tf.notEqual(ids, 0), 'float32').reshape([B * L, 1]); // [B * L, 1]
    const emb = embeddingLookup(items, ids); // [B, L, d]
    const pos = this.w('pos_emb').slice([maxlen - L, 0], [L, d]); // [L, d], right-aligned positions (broadcast over B)
    let x0 = tf.add(tf.mul(emb, Math.sqrt(d)), pos).reshape([B * L, d]) as tf.Tensor2D; // [B * L, d]
    if (this.config.playCounts) {
      const playEmb = embeddingLookup(this.w('play_emb') as tf.Tensor as tf.Tensor2D, plays); // [B, L, d]
      x0 = tf.add(x0, playEmb.reshape([B * L, d])); // [B * L, d]
    }
    let x = tf.mul(this.dropout(x0, rng), mask) as tf.Tensor2D; // [B * L, d]
    const keyPad = tf.mul(tf.sub(1, mask.reshape([B, 1, 1, L])), -1e9); // [B, 1, 1, L]
    const bias = tf.add(this.causal(L).reshape([1, 1, L, L]), keyPad); // [B, 1, L, L]
    for (let b = 0; b < this.config.blocks; b++) {
      const blk = `b${b}`;
      if (this.config.norm === 'pre') {
        const q = this.layerNorm(x, `${blk}.ln1`); // [B * L, d]
        x = tf.add(q, this.attention(q, x, bias, B, L, blk, rng));
        x = this.layerNorm(x, `${blk}.ln2`);
        x = tf.add(x, this.ffn(x, blk, rng));
      } else {
        x = this.layerNorm(tf.add(x, this.attention(x, x, bias, B, L, blk, rng)), `${blk}.ln1`);
        x = this.layerNorm(tf.add(x, this.ffn(x, blk, rng)), `${blk}.ln2`);
      }
      x = tf.mul(x, mask) as tf.Tensor2D;
    }
    return this.layerNorm(x, 'lnf'); // [B * L, d]
  }

  // --- training ------------------------------------------------------------------------------------------

  /**
   * The scalar training loss of one batch (dropout seeded by `batch.seed`). Must be called inside a
   * tape/tidy; see {@link SASRec.computeGradients}.
   */
  lossFn(batch: SeqBatchSlice, view?: RowView): tf.Scalar {
    this.part = batch.part;
    try {
      return this.lossOf(batch, view);
    } finally {
      this.part = undefined;
    }
  }

  /** The loss of a batch over the full tables, or with `view` of a local batch over some of their rows. */
  private lossOf(batch: SeqBatch, view?: RowView): tf.Scalar {
    const { size: B, length: L } = batch;
    const M = batch.rows.length;
    const rng = createRng(batch.seed);
    const ids = tf.tensor2d(batch.inputs, [B, L], 'int32');
    const plays = tf.tensor2d(batch.plays, [B, L], 'int32');
    const items = view?.items ?? this.itemTable(); // [V + 1, d] (or [R, d]), built once for the input and the output
    const hAll = this.encode(ids, plays, rng, items); // [B * L, d]
    const h = embeddingLookup(hAll, tf.tensor1d(batch.rows, 'int32')) as tf.Tensor2D; // [M, d], target rows only
    const table = view?.output ?? this.outputTable(items); // [V + 1, d] (or [R, d])
    const targets = tf.tensor1d(batch.targets, 'int32'); // [M]
    const withUnlikelihood = batch.unlikely.some((u) => u > 0);
    const negatives = tf.tensor1d(batch.negatives, 'int32');
    const V = this.vocabulary.size;
    const history = this.config.historyBias
      ? {
          tensors: {
            items: tf.tensor2d(batch.history.items, [M, batch.history.k], 'int32'),
            mask: tf.tensor2d(batch.history.mask, [M, batch.history.k]),
            isTarget: tf.tensor2d(batch.history.isTarget, [M, batch.history.k]),
            features: tf.tensor3d(batch.history.features, [M, batch.history.k, HISTORY_BIAS_FEATURES.length]),
          },
          coef: this.linear(h, 'hist'), // [M, F]
        }
      : usesLastBias(this.config)
        ? this.lastListenBias(batch)
        : undefined;
    const hb = this.withBiasInput(h); // [M, d] (or [M, d + 1] with itemBias, against the table's bias column)
    let terms: LossTerms;
    switch (this.loss) {
      case 'ce':
        terms = fullSoftmaxTerms(hb, table, targets, {
          chunkRows: ceChunkRows(V, DEFAULT_LOGITS_BUDGET_BYTES),
          withUnlikelihood,
          ...(history ? { history } : {}),
        });
        break;
      case 'sampled-softmax': {
        const logQ = new Float32Array(batch.negatives.length);
        for (let j = 0; j < logQ.length; j++) {
          const id = view ? view.ids[batch.negatives[j]!]! : batch.negatives[j]!;
          logQ[j] = Math.log(Math.max(1e-12, this.logQ?.[id] ?? 1 / V));
        }
        terms = sampledSoftmaxTerms(hb, table, targets, negatives, tf.tensor1d(logQ), {
          withUnlikelihood,
          ...(history ? { history } : {}),
        });
        break;
      }
      case 'bce':
        terms = binaryTerms(hb, table, targets, negatives, { shared: false, beta: 1, withUnlikelihood });
        break;
      case 'gbce':
        terms = binaryTerms(hb, table, targets, negatives, {
          shared: true,
          beta: gbceBeta(this.config.negatives, V, this.config.gbceT),
          withUnlikelihood,
        });
        break;
    }
    return weightedLoss(
      terms,
      tf.tensor1d(batch.weights),
      withUnlikelihood ? tf.tensor1d(batch.unlikely) : undefined,
      M,
    );
  }

  /**
   * The learned last-listen logit as a one-entry history bias per target row: the entry is the row's input
   * (the track just played), with one feature 1 and coefficient `last.b`.
   */
  private lastListenBias(batch: SeqBatch): HistoryBias {
    const M = batch.rows.length;
    const items = Int32Array.from(batch.rows, (r) => batch.inputs[r]!);
    const isTarget = Float32Array.from(items, (x, m) => (x === batch.targets[m] ? 1 : 0));
    return {
      tensors: {
        items: tf.tensor2d(items, [M, 1], 'int32'),
        mask: tf.ones([M, 1]) as tf.Tensor2D,
        isTarget: tf.tensor2d(isTarget, [M, 1]),
        features: tf.ones([M, 1, 1]) as tf.Tensor3D,
      },
      coef: tf.mul(tf.ones([M, 1]), this.w('last.b')) as tf.Tensor2D, // [M, 1]
    };
  }

  /**
   * Loss and gradients of one batch, a pure function of (weights, batch): nothing is updated. Gradients
   * are keyed by short variable name; the caller disposes them (the trainer's optimizer does).
   *
   * @example
   * ```ts
   * const { loss, grads } = model.computeGradients(batch);
   * ```
   */
  computeGradients(batch: SeqBatch): { loss: number; grads: Record<string, Gradient> } {
    if (this.config.sparseUpdates === true && this.loss !== 'ce') return this.rowGradients(batch);
    const names = Object.keys(this.vars);
    const list = names.map((n) => this.vars[n]!);
    const { value, grads } = tf.tidy(() => tf.variableGrads(() => this.lossFn(batch), list));
    const loss = value.dataSync()[0]!;
    value.dispose();
    const out: Record<string, tf.Tensor> = {};
    for (const n of names) {
      const g = grads[this.vars[n]!.name];
      if (g) out[n] = g;
    }
    return { loss, grads: out };
  }

  /**
   * {@link SASRec.computeGradients} with row-sparse table gradients (`sparseUpdates`): the step runs on
   * trainable copies of only the table rows its batch touches (`batchRows`), so the gradient of a
   * 900,000-track table is a few thousand rows instead of a dense `[V + 1, d]` tensor, and the artist
   * vectors are added to those rows only. Same loss and the same gradient on those rows as the dense step.
   */
  private rowGradients(batch: SeqBatch): { loss: number; grads: Record<string, Gradient> } {
    const { ids, batch: local } = batchRows(batch);
    const rows: Record<string, Int32Array> = { item_emb: ids };
    if (!this.config.tiedEmbeddings) rows.out_emb = ids;
    if (this.config.itemBias) rows.out_bias = ids;
    let artistOf: Int32Array | undefined; // [R] each local row's position among the artist rows
    if (this.artists) {
      const of = ids.map((i) => this.artists!.of[i]!);
      const { rows: artistRows, position } = distinctRows(of);
      rows.artist_emb = artistRows;
      artistOf = of.map((a) => position.get(a)!);
    }
    const parts: Record<string, tf.Variable> = {};
    for (const [name, r] of Object.entries(rows))
      parts[name] = tf.tidy(() => {
        const stored = tf.gather(this.w(name), tf.tensor1d(r, 'int32')) as tf.Tensor2D; // [R, d]
        if (!this.currentRows) return tf.variable(stored, true);
        // The rows as dense Adam has them now: stored rows still lack the steps they sat out.
        const w = Float32Array.from(stored.dataSync() as Float32Array);
        this.currentRows(name, r, w);
        return tf.variable(tf.tensor2d(w, stored.shape), true);
      });
    try {
      const dense = Object.keys(this.vars).filter((n) => !rows[n]);
      const list = [...dense.map((n) => this.vars[n]!), ...Object.values(parts)];
      const { value, grads } = tf.tidy(() =>
        tf.variableGrads(() => {
          const own = parts.item_emb as tf.Tensor as tf.Tensor2D; // [R, d]
          const items = artistOf
            ? tf.add(
                own,
                embeddingLookup(parts.artist_emb as tf.Tensor as tf.Tensor2D, tf.tensor1d(artistOf, 'int32')),
              )
            : own; // [R, d]
          const untied = parts.out_emb ? tf.add(items, parts.out_emb) : items; // [R, d]
          const output = parts.out_bias ? tf.concat([untied, parts.out_bias], 1) : untied; // [R, d] or [R, d + 1]
          return this.lossFn(local, { ids, items: items as tf.Tensor2D, output: output as tf.Tensor2D });
        }, list),
      );
      const loss = value.dataSync()[0]!;
      value.dispose();
      const out: Record<string, Gradient> = {};
      for (const n of dense) {
        const g = grads[this.vars[n]!.name];
        if (g) out[n] = g;
      }
      for (const [n, part] of Object.entries(parts)) {
        const g = grads[part.name];
        if (g) out[n] = { rows: rows[n]!, values: g as tf.Tensor2D };
      }
      return { loss, grads: out };
    } finally {
      for (const part of Object.values(parts)) part.dispose();
    }
  }

  /** Copies of all weights by short name. */
  getWeights(): Record<string, Float32Array> {
    this.checkNotDisposed();
    const out: Record<string, Float32Array> = {};
    for (const [n, v] of Object.entries(this.vars)) out[n] = v.dataSync() as Float32Array;
    return out;
  }

  /** Overwrites weights (same names and sizes as {@link SASRec.getWeights}). */
  setWeights(weights: Readonly<Record<string, Float32Array>>): void {
    this.checkNotDisposed(); // assigning to a disposed variable would bring it back, never to be freed
    for (const [n, v] of Object.entries(this.vars)) {
      const data = weights[n];
      if (!data) throw new InvalidDataError(`setWeights: missing ${n}`);
      if (data.length !== v.size)
        throw new InvalidDataError(
          `setWeights: ${n} has ${data.length} values, expected ${v.size} ([${v.shape}])`,
        );
    }
    tf.tidy(() => {
      for (const [n, v] of Object.entries(this.vars)) v.assign(tf.tensor(weights[n]!, v.shape));
    });
  }

  /**
   * Trains SASRec on a dataset. All options are checked before any work; see {@link SASRecOptions} and
   * {@link SASREC_DEFAULTS}. Training windows: each user's last `maxlen + 1` listens, plus earlier
   * non-overlapping windows for long histories (the most recent `maxWindowsPerUser`); batches are bucketed by length
   * and trimmed to their longest window.
   *
   * @example
   * ```ts
   * const model = await SASRec.fit(train, { epochs: 30, validation: valCases, onEpochEnd: (e, l) => console.log(e, l) });
   * ```
   */
  static async fit(trainSet: Dataset, options: SASRecOptions = {}): Promise<SASRec> {
    const requested = resolveOptions(options);
    checkDataset(trainSet, 'train', 'to fit SASRec on');
    if (trainSet.vocabulary.size === 0 || trainSet.numListens === 0) {
      throw new InvalidDataError('SASRec.fit needs a training set with listens; the dataset is empty');
    }
    await ensureBackend(); // the fastest backend, unless the caller chose one with initBackend
    const V = trainSet.vocabulary.size;
    // loss 'auto' -> 'ce' or 'sampled-softmax' by catalogue size; the model's config records the result.
    const loss = resolveLoss(requested.loss, V);
    const hp: SASRecHyperParams = {
      ...requested,
      loss,
      ...(requested.loss === 'auto' && loss === 'sampled-softmax' && options.negatives === undefined
        ? { negatives: AUTO_SAMPLED_NEGATIVES }
        : {}),
    };
    // Artists given, else those the training listens name (Dataset.artists), else none.
    const artistSource = hp.artistEmbeddings ? (options.artists ?? trainSet.artists()) : undefined;
    const artists = artistSource !== undefined ? artistIndex(trainSet.vocabulary, artistSource) : undefined;
    // learningRate 'auto' -> 1e-3 with artist embeddings, 2e-3 without; the config records the result.
    const learningRate = resolveLearningRate(hp.learningRate, artists !== undefined);
    hp.learningRate = learningRate;
    // sparseUpdates true with 'ce': checked here, not with the other options, because loss 'auto' may
    // resolve to 'ce'. 'auto' is resolved once the job's size is known (below).
    if (hp.sparseUpdates === true && loss === 'ce')
      throw new InvalidOptionError(
        'sparseUpdates',
        `false or 'auto' with loss 'ce' (${requested.loss === 'auto' ? `what 'auto' picks for ${V} tracks; ` : ''}its softmax touches every track's row)`,
        true,
      );
    if (hp.loss === 'ce') ceChunkRows(V); // throws when even one row of logits is too big
    const rng = createRng(hp.seed);
    const initRng = createRng(rng.fork());
    const dataRng = createRng(rng.fork());

    // Early-stopping cases and the sequences to train on.
    let sequences: ReadonlyMap<string, Int32Array> = trainSet.sequences;
    let validation: EvalCase[] = [];
    const v = options.validation ?? 'auto';
    if (Array.isArray(v) && v.length > 0) {
      validation = v;
      // A case helps early stopping and the heads only when the model can read it; check before training
      // rather than fail (or stop on a score that is 0 every epoch) after it.
      const vocab = trainSet.vocabulary;
      if (!v.some((c) => vocab.has(c.target) && c.history.some((id) => vocab.has(id))))
        throw new InvalidOptionError(
          'validation',
          `cases whose target and at least one history track are training tracks (none of the ${v.length} is)`,
          v.length > 0 ? v[0] : v,
        );
    } else if (v === 'auto') ({ sequences, validation } = autoValidation(trainSet, createRng(rng.fork())));

    // The transition term's counts, on the sequences trained on (with 'auto' validation its targets are not
    // in them); counted before training so a table too big to save fails now, not after hours of training.
    const transitions =
      hp.transitionMix && validation.length >= MIN_REPEAT_CASES
        ? countTransitions(sequences.values(), V)
        : undefined;
    if (transitions && transitions.cols.length >= CSR_MAX_NONZEROS)
      throw new InvalidOptionError(
        'transitionMix',
        `false for this data: it has ${transitions.cols.length} distinct transitions, and a saved model holds fewer than ${CSR_MAX_NONZEROS}`,
        true,
      );
    const rewards = options.reward ? computeRewards(trainSet, options.reward) : undefined;
    let skips: Map<string, Uint8Array> | undefined;
    if (hp.skipsAsNegatives) {
      skips = new Map();
      for (const [user, ls] of trainSet.userListens)
        skips.set(
          user,
          Uint8Array.from(ls, (l) => (l.skipLevel === 1 || l.skipLevel === 2 ? 1 : 0)),
        );
    }
    const windows = buildWindows(sequences, {
      maxlen: hp.maxlen,
      maxWindowsPerUser: hp.maxWindowsPerUser,
      ...(rewards ? { rewards } : {}),
      ...(skips ? { skips } : {}),
    });
    if (windows.length === 0) {
      throw new InvalidDataError(
        'SASRec.fit needs at least one user with 2 or more listens to learn transitions from',
      );
    }
    // When validating, an epoch is as many passes over the windows as it takes to reach minStepsPerEpoch
    // steps; without validation an epoch is one pass.
    const perPass = batchesPerEpoch(windows.length, hp.batchSize);
    const passes = validation.length > 0 ? Math.ceil(hp.minStepsPerEpoch / perPass) : 1;
    const job = {
      macsPerStep: stepMacs(hp, V, Math.min(windows.length, hp.batchSize)),
      steps: passes * perPass * hp.epochs,
      weights: Object.values(weightShapes(hp, V, artists?.count)).reduce(
        (sum, shape) => sum + shape.reduce((a, b) => a * b, 1),
        0,
      ),
    };
    // sparseUpdates 'auto' -> row updates for sampled losses where dense ones would run on one thread
    // anyway; where workers would share them (an explicit workers > 1, a small catalogue) the second core
    // gains more than touching fewer rows (bce on the shipped 2,000 tracks trained in 220 s dense on 2
    // workers, 519 s row-sparse on one). The config records the result.
    if (hp.sparseUpdates === 'auto')
      hp.sparseUpdates =
        loss !== 'ce' && hp.ema === 0 && hp.weightDecay === 0 && resolveWorkers(options.workers, job) === 1;
    checkTableMemory(hp, V, artists?.count);
    const initBytes = hp.itemInit === 'cooccurrence' ? cooccurrenceInitBytes(V, hp.dim) : 0;
    if (initBytes > COOCCURRENCE_INIT_MAX_BYTES)
      throw new InvalidOptionError(
        'itemInit',
        `'random' for ${V} tracks: the co-occurrence start would hold ${(initBytes / 2 ** 30).toFixed(1)} GiB of working arrays, over its ${COOCCURRENCE_INIT_MAX_BYTES / 2 ** 30} GiB budget`,
        hp.itemInit,
      );
    // Cold start ranks by every training listen; the sampler's proposal counts only the sequences trained
    // on, so the targets 'auto' validation holds out do not shape the negatives the model trains against.
    const popularity = Float32Array.from(trainSet.itemCounts);
    const trainedCounts =
      sequences === trainSet.sequences ? trainSet.itemCounts : countItems(sequences.values(), V);
    const sampler = new NegativeSampler(trainedCounts);
    const spec: NegativeSpec =
      hp.loss === 'bce'
        ? { kind: 'per-row', k: 1 }
        : hp.loss === 'gbce'
          ? { kind: 'shared', k: sampledNegatives(hp, V), distribution: 'uniform' }
          : hp.loss === 'sampled-softmax'
            ? { kind: 'shared', k: sampledNegatives(hp, V), distribution: 'popularity' }
            : { kind: 'none' };

    const weights = initWeights(weightShapes(hp, V, artists?.count), initRng);
    if (weights.out_bias) weights.out_bias = logPopularityBias(trainedCounts);
    if (hp.itemInit === 'cooccurrence')
      weights.item_emb = cooccurrenceEmbeddings(
        sequences.values(),
        V,
        hp.dim,
        xavierStd(V + 1, hp.dim), // the random table's spread
        weights.item_emb!,
        createRng(hashSeed('item-init', hp.seed)),
      );
    const model = new SASRec(trainSet.vocabulary, hp, weights, popularity, artists);
    model.logQ = sampler.q;
    const historyWindow = hp.historyBias ? { window: hp.maxlen, limit: HISTORY_BIAS_TRACKS } : undefined;
    let pool: Awaited<ReturnType<typeof startGradientPool<SeqBatch>>>;
    try {
      pool = await startGradientPool<SeqBatch>(model, {
        // Row updates run on this thread; dense ones may spread over workers.
        workers: resolveWorkers(hp.sparseUpdates ? (options.workers ?? 1) : options.workers, job),
        replica: model.replicaSpec(),
        split: (b, n) => splitSeqBatch(b, n, spec.kind),
      });
      model.trainResult = await train(model, {
        ...(pool ? { computeGradients: (b: SeqBatch) => pool!.computeGradients(b) } : {}),
        epochs: hp.epochs,
        learningRate,
        beta2: 0.98,
        weightDecay: hp.weightDecay,
        ema: hp.ema,
        warmupSteps: hp.warmupSteps,
        plateauDecay: hp.plateauDecay,
        decays,
        batches: function* (_epoch, outOfTime) {
          let steps = 0;
          for (let pass = 0; pass < passes; pass++) {
            for (const batch of epochBatches(windows, hp.batchSize, spec, sampler, dataRng, historyWindow)) {
              // A spent time budget cuts the epoch short at the next batch (the trainer validates and stops):
              // on a large log one pass can take an hour, far past a budget of minutes.
              if (steps > 0 && outOfTime()) return;
              steps++;
              yield batch;
            }
          }
        },
        batchesPerEpoch: passes * perPass,
        ...(validation.length > 0 ? { validate: () => model.ndcgAt10(validation) } : {}),
        patience: hp.patience,
        maxSeconds: hp.maxSeconds,
        ...(options.onEpochEnd ? { onEpochEnd: options.onEpochEnd } : {}),
        ...(options.progress !== undefined ? { progress: options.progress } : {}),
        label: `sasrec (${hp.loss})`,
      });
    } catch (e) {
      model.dispose();
      throw e;
    } finally {
      await pool?.close();
    }
    // Post-hoc heads on the validation cases, from one scoring pass (see fitHeads): first the transition
    // term on the model's own scores, then the repeat mixture over the scores with the term.
    model.transitions = transitions;
    let heads: Awaited<ReturnType<SASRec['fitHeads']>>;
    try {
      heads = await model.fitHeads('SASRec.fit (post-hoc heads)', validation, {
        ...(transitions ? { transition: 'fit' as const } : {}),
        repeat: hp.repeat && validation.length >= MIN_REPEAT_CASES,
      });
    } catch (e) {
      model.dispose();
      throw e;
    }
    // Unknown ids counted while validating are the model's own doing, not the caller's.
    model.unknown = 0;
    model.transitionHead = heads.transition;
    model.repeatHead = heads.repeat;
    return model;
  }

  /**
   * Fits the post-hoc heads from one scoring pass over held-out cases: the transition term on the
   * transformer's own scores, then the repeat mixture on the scores with that term. The same heads as
   * {@link SASRec.fitTransition} followed by {@link SASRec.fitRepeat} (up to float rounding), at half the
   * scoring: each case keeps the few scores the repeat head needs, and the term's change to the row's
   * normaliser is added afterwards (see {@link heldOutRow}); on a 912,510-track catalogue a scoring pass
   * over 992 cases takes tens of seconds. `which.transition`: `'fit'` chooses the term on these cases, a
   * given term is applied as it is ({@link SASRec.fitRepeat}), none (or a model without transition
   * counts) means no term.
   */
  private async fitHeads(
    caller: string,
    cases: readonly EvalCase[],
    which: { transition?: 'fit' | TransitionMix; repeat: boolean },
  ): Promise<{ transition?: TransitionMix; repeat?: RepeatHead }> {
    const transitions = which.transition ? this.transitions : undefined;
    if (!transitions && !which.repeat) return {};
    const fit =
      transitions && which.transition === 'fit'
        ? new TransitionMixFit({ excludeHistory: this.config.transitionExcludeHistory })
        : undefined;
    const rows: HeldOutRow[] = [];
    await this.forEachHeldOut(caller, cases, {}, (row, target, ids) => {
      const successors = transitions ? csrRow(transitions, ids[ids.length - 1]!) : undefined;
      if (fit && successors) fit.add(row, target, successors, ids);
      if (which.repeat) rows.push(heldOutRow(row, target, ids, this.config.maxlen, successors));
    });
    const transition = fit ? fit.result().mix : transitions ? (which.transition as TransitionMix) : undefined;
    const repeat = which.repeat ? fitRepeatHead(rows.map((r) => repeatCaseOf(r, transition))) : undefined;
    return { ...(transition ? { transition } : {}), ...(repeat ? { repeat } : {}) };
  }

  /**
   * Fits the repeat-aware mixture on held-out cases, from the sequence model's probabilities with the
   * transition term (if any) and without a repeat head. Cases whose target is unknown to the vocabulary, or
   * whose history has no known track (scored by popularity, not by the model), are left out.
   *
   * @example
   * ```ts
   * model.repeatHead = await model.fitRepeat(validationCases);
   * ```
   */
  async fitRepeat(cases: readonly EvalCase[]): Promise<RepeatHead> {
    checkCases(cases);
    const heads = await this.fitHeads('fitRepeat', cases, {
      ...(this.transitionHead ? { transition: this.transitionHead } : {}),
      repeat: true,
    });
    return heads.repeat!;
  }

  /**
   * Chooses the transition term on held-out cases (see {@link TransitionMixFit}): the grid point with the
   * best NDCG@10 over the transformer's own scores (no repeat head: that is fitted on top of the term) and
   * the training transitions out of each case's last listen, with the history left out of the ranking or
   * every track ranked (`excludeHistory`, default the model's `transitionExcludeHistory`). Cases whose
   * target is unknown, or whose history has no known track, are left out.
   *
   * @example
   * ```ts
   * model.transitionHead = await model.fitTransition(validationCases, { excludeHistory: false });
   * model.repeatHead = await model.fitRepeat(validationCases); // refit on top of the new term
   * ```
   */
  async fitTransition(
    cases: readonly EvalCase[],
    options: { excludeHistory?: boolean } = {},
  ): Promise<TransitionMix> {
    checkCases(cases);
    checkKnownOptions(options, ['excludeHistory'], 'fitTransition');
    // The fit checks the value (a boolean) and names `excludeHistory`.
    const fit = new TransitionMixFit({
      excludeHistory: options.excludeHistory ?? this.config.transitionExcludeHistory,
    });
    const transitions = this.transitions;
    if (!transitions) throw new InvalidDataError('fitTransition: this model has no transition counts');
    await this.forEachHeldOut('fitTransition', cases, {}, (row, target, ids) => {
      fit.add(row, target, csrRow(transitions, ids[ids.length - 1]!), ids);
    });
    return fit.result().mix;
  }

  /**
   * Scores held-out cases in chunks of 256 with the given heads and calls `visit` with each usable case's
   * score row, target index and history indices. Cases whose target is unknown to the vocabulary, or whose
   * history has no known track (scored by popularity, not by the model), are left out; none left is an
   * error naming `caller`.
   */
  private async forEachHeldOut(
    caller: string,
    cases: readonly EvalCase[],
    heads: { repeat?: RepeatHead; transition?: TransitionMix },
    visit: (row: Float32Array, target: number, ids: number[]) => void,
  ): Promise<void> {
    let used = 0;
    for (let s = 0; s < cases.length; s += 256) {
      const part = cases.slice(s, s + 256);
      const histories = part.map((c) => this.indices(c.history)); // once: histories can be long
      await this.visitScores(
        histories,
        heads,
        (row, i) => {
          const target = this.vocabulary.index(part[i]!.target);
          const ids = histories[i]!;
          if (target === undefined || ids.length === 0) return;
          visit(row, target, ids);
          used++;
        },
        false,
      );
    }
    if (used === 0)
      throw new InvalidDataError(
        `${caller}: no case has both a known target and a known track in its history`,
      );
  }

  /**
   * How a worker thread builds a training replica of this model (see `startGradientPool`); the replica's
   * weights are set by every gradient request.
   *
   * @example
   * ```ts
   * const replica = createSASRecReplica(model.replicaSpec().init as SASRecReplicaInit);
   * ```
   */
  replicaSpec(): ReplicaSpec {
    const init: SASRecReplicaInit = {
      config: this.config,
      vocabularyIds: [...this.vocabulary.ids],
      ...(this.logQ ? { logQ: this.logQ } : {}),
      ...(this.artists ? { artists: this.artists } : {}),
    };
    return { moduleUrl: import.meta.url, exportName: 'createSASRecReplica', init };
  }

  /** A training replica from {@link SASRec.replicaSpec}'s init (zero weights, no popularity). */
  static replica(init: SASRecReplicaInit): SASRec {
    const vocabulary = Vocabulary.fromIds(init.vocabularyIds);
    const shapes = weightShapes(init.config, vocabulary.size, init.artists?.count);
    const weights: Record<string, Float32Array> = {};
    for (const [name, shape] of Object.entries(shapes))
      weights[name] = new Float32Array(shape.reduce((a, b) => a * b, 1));
    const model = new SASRec(
      vocabulary,
      init.config,
      weights,
      new Float32Array(vocabulary.size + 1),
      init.artists,
    );
    model.logQ = init.logQ;
    return model;
  }

  /**
   * Mean full-ranking NDCG@10 over cases with every track ranked, replays included (ties count against; an
   * unknown target, or one scoring NaN, scores 0; NaN scores rank last): the early-stopping score. Ranking the history too keeps it a proper score of
   * the whole next-listen distribution; leaving the history out but not the target would reward ranking
   * the history first. Scoring it with the history left out and replayed targets as misses was measured
   * (four seeds, docs/next-track.md) and chose no better models for that protocol.
   */
  async ndcgAt10(cases: readonly EvalCase[]): Promise<number> {
    if (Array.isArray(cases) && cases.length === 0) return 0;
    checkCases(cases);
    let sum = 0;
    const chunk = 256;
    for (let s = 0; s < cases.length; s += chunk) {
      const part = cases.slice(s, s + chunk);
      const histories = part.map((c) => this.indices(c.history));
      await this.visitScores(
        histories,
        this.heads(),
        (sc, i) => {
          const target = this.vocabulary.index(part[i]!.target);
          if (target === undefined) return;
          const t = sc[target]!;
          // A NaN target is a miss (NaN >= t is false for every track, which would rank it first: a
          // diverged model would win early stopping with a perfect score).
          if (Number.isNaN(t)) return;
          let rank = 1;
          for (let j = 1; j < sc.length && rank <= 10; j++) if (j !== target && sc[j]! >= t) rank++;
          if (rank <= 10) sum += 1 / Math.log2(rank + 1);
        },
        false,
      );
    }
    return sum / cases.length;
  }

  // --- serving -------------------------------------------------------------------------------------------

  /**
   * Scores of every track after each history: one forward pass per 64 histories of similar length over
   * their last `maxlen` known ids, `[B, d] x [d, items]` on the last position only. Empty histories (or
   * only unknown ids) get training popularity counts (cold start). Index 0 is `-Infinity`.
   *
   * @example
   * ```ts
   * const [scores] = await model.scoreAll([['t1', 't2']]); // Float32Array(vocabulary.size + 1)
   * ```
   */
  async scoreAll(histories: readonly (readonly string[])[]): Promise<Float32Array[]> {
    checkHistories(histories);
    return this.scoreWith(histories, this.heads());
  }

  /** {@link BaseRecommender.visitRows} without a copy of each row: views of each chunk's scores. */
  protected override async visitRows(
    histories: readonly (readonly string[])[],
    visit: (row: Float32Array, h: number) => void,
  ): Promise<void> {
    await this.visitScores(
      histories.map((h) => this.indices(h)),
      this.heads(),
      visit,
      false,
    );
  }

  /** The post-hoc heads this model scores with (none while training). */
  private heads(): { repeat?: RepeatHead; transition?: TransitionMix } {
    return {
      ...(this.repeatHead ? { repeat: this.repeatHead } : {}),
      ...(this.transitionHead ? { transition: this.transitionHead } : {}),
    };
  }

  /**
   * {@link SASRec.scoreAll} with explicit post-hoc heads (none: the transformer's logits alone): the
   * transition term first, then the repeat mixture.
   */
  private async scoreWith(
    histories: readonly (readonly string[])[],
    heads: { repeat?: RepeatHead; transition?: TransitionMix },
  ): Promise<Float32Array[]> {
    return this.scoreIndices(
      histories.map((h) => this.indices(h)),
      heads,
    );
  }

  /**
   * {@link SASRec.scoreWith} for histories already turned into vocabulary indices (unknown ids left out),
   * so callers that need the indices too convert a long history once.
   */
  private async scoreIndices(
    histories: readonly number[][],
    heads: { repeat?: RepeatHead; transition?: TransitionMix },
  ): Promise<Float32Array[]> {
    const out: Float32Array[] = new Array(histories.length);
    await this.visitScores(
      histories,
      heads,
      (row, i) => {
        out[i] = row;
      },
      true,
    );
    return out;
  }

  /**
   * Scores histories of vocabulary indices and calls `visit(row, i)` with each one's score row (index 0
   * `-Infinity`), in no particular order. With `keep` each row is the caller's to keep; without it a row is
   * a view into its chunk's buffer, valid only during the call: a caller that reduces each row (validation,
   * the post-hoc heads' fit) then holds one chunk of rows at a time, not one row per history (3.6 MB each at
   * 912,510 tracks).
   */
  private async visitScores(
    histories: readonly number[][],
    heads: { repeat?: RepeatHead; transition?: TransitionMix },
    visit: (row: Float32Array, i: number) => void,
    keep: boolean,
  ): Promise<void> {
    this.checkNotDisposed();
    const { maxlen } = this.config;
    const width = this.vocabulary.size + 1;
    const pending: { i: number; ids: number[]; plays: Uint8Array; all: number[] }[] = [];
    histories.forEach((ids, i) => {
      if (ids.length === 0) {
        const pop = this.popularity.slice();
        pop[0] = Number.NEGATIVE_INFINITY;
        visit(pop, i);
      } else {
        // Play-count buckets are an input only with playCounts (0, padding, otherwise).
        const plays = this.config.playCounts
          ? playCountBuckets(ids).slice(-maxlen)
          : new Uint8Array(Math.min(maxlen, ids.length));
        pending.push({ i, ids: ids.slice(-maxlen), plays, all: ids });
      }
    });
    // Shortest histories first, in chunks of 64: each chunk is padded only to its own longest history
    // (attention costs grow with length squared), at a small per-pass overhead.
    pending.sort((x, y) => x.ids.length - y.ids.length || x.i - y.i);
    for (let s = 0; s < pending.length; s += SCORE_CHUNK) {
      const part = pending.slice(s, s + SCORE_CHUNK);
      const B = part.length;
      const L = Math.max(...part.map((p) => p.ids.length));
      const inputs = new Int32Array(B * L);
      const plays = new Int32Array(B * L);
      for (const [b, p] of part.entries()) {
        inputs.set(p.ids, b * L + (L - p.ids.length));
        plays.set(p.plays, b * L + (L - p.ids.length));
      }
      const tables = this.servingTables();
      const [scores, coef] = tf.tidy(() => {
        const hLast = this.encodeLast(inputs, plays, B, L, tables); // [B, d]
        return [
          tf.matMul(this.withBiasInput(hLast), tables.itemsT), // [B, V + 1]
          this.config.historyBias ? this.linear(hLast, 'hist') : tf.zeros([B, 0]), // [B, F]
        ];
      });
      const data = (await scores.data()) as Float32Array;
      const coefData = (await coef.data()) as Float32Array;
      scores.dispose();
      coef.dispose();
      const F = HISTORY_BIAS_FEATURES.length;
      part.forEach((p, b) => {
        const row = keep ? data.slice(b * width, (b + 1) * width) : data.subarray(b * width, (b + 1) * width);
        row[0] = Number.NEGATIVE_INFINITY;
        const lastId = p.all[p.all.length - 1]!;
        row[lastId] = row[lastId]! + tables.lastBias; // 0 without the last-listen logit
        if (this.config.historyBias) {
          // Learned bias on the history's most played tracks: row[x] += c(h) · f(x).
          const c = historyCandidates(p.all, p.all.length, maxlen);
          c.items.forEach((x, k) => {
            let v = 0;
            for (let f = 0; f < F; f++) v += coefData[b * F + f]! * c.features[k * F + f]!;
            row[x] = row[x]! + v;
          });
        }
        // With a head, scores are log P(track | history). The transition term sharpens the model's Q; the
        // repeat mixture then splits the mass between Q and the history's replays with its own fitted gate.
        if (heads.transition && this.transitions)
          // The repeat head renormalises the whole row, so the term's own normalisation would be wasted.
          applyTransitionMix(row, heads.transition, csrRow(this.transitions, lastId), !heads.repeat);
        if (heads.repeat) applyRepeatHead(row, historyFeatures(p.all, maxlen), heads.repeat, lastId);
        visit(row, p.i);
      });
    }
  }

  /**
   * The item table as a JS array and as a long-lived transposed tensor `[d, V + 1]` (the wasm backend packs
   * a matrix once per tensor, so reusing one makes scoring a plain, fast GEMM), plus positions. Rebuilt only
   * when the weights change: a variable's `dataId` changes on every `assign` (optimizer step, setWeights).
   */
  private servingTables(): ServingTables {
    const items = this.w('item_emb');
    const out = this.vars.out_emb ?? items;
    const artist = this.vars.artist_emb;
    const pos = this.w('pos_emb');
    const play = this.vars.play_emb;
    const last = this.vars['last.b'];
    const bias = this.vars.out_bias;
    const c = this.serving;
    if (
      c &&
      c.itemsId === items.dataId &&
      c.outId === out.dataId &&
      c.biasId === bias?.dataId &&
      c.artistId === artist?.dataId &&
      c.posId === pos.dataId &&
      c.playId === play?.dataId &&
      c.lastId === last?.dataId
    )
      return c;
    c?.itemsT.dispose();
    let itemData: Float32Array = new Float32Array(0);
    const itemsT = tf.tidy(() => {
      const table = this.itemTable(); // the item table itself, or E + A[artist] with artists
      itemData = table.dataSync() as Float32Array; // [(V + 1) * d]
      return tf.transpose(this.outputTable(table)) as tf.Tensor2D; // [d, V + 1], the output table
    });
    this.serving = {
      itemsId: items.dataId,
      outId: out.dataId,
      biasId: bias?.dataId,
      artistId: artist?.dataId,
      posId: pos.dataId,
      playId: play?.dataId,
      play: play ? (play.dataSync() as Float32Array) : undefined,
      lastId: last?.dataId,
      lastBias: last ? last.dataSync()[0]! : 0,
      itemsT,
      items: itemData,
      pos: pos.dataSync() as Float32Array, // [maxlen * d]
    };
    return this.serving;
  }

  /**
   * Inference-only forward pass that returns the final hidden state of the last position only: the same
   * function as {@link SASRec.encode} without dropout (tested against it), but the embedding lookup runs in
   * JS (the wasm gather kernel is slow) and the last block computes attention and FFN for the last query
   * row alone (`[B, d]` instead of `[B * L, d]`), which is all that scoring needs.
   * @param inputs `[B * L]` ids, left-padded with 0; every row's last position holds a real item.
   * @param plays `[B * L]` play-count buckets of the inputs.
   * @returns `[B, d]`.
   */
  private encodeLast(
    inputs: Int32Array,
    plays: Int32Array,
    B: number,
    L: number,
    tables: ServingTables,
  ): tf.Tensor2D {
    const { dim: d, maxlen, heads: h, blocks } = this.config;
    const scale = Math.sqrt(d);
    const x0 = new Float32Array(B * L * d);
    const mask = new Float32Array(B * L);
    for (let r = 0; r < B * L; r++) {
      const id = inputs[r]!;
      if (id === 0) continue;
      mask[r] = 1;
      const e = id * d;
      const p = (maxlen - L + (r % L)) * d;
      const o = r * d;
      for (let j = 0; j < d; j++) x0[o + j] = Math.fround(tables.items[e + j]! * scale) + tables.pos[p + j]!;
      if (tables.play) {
        const c = plays[r]! * d;
        for (let j = 0; j < d; j++) x0[o + j] = Math.fround(x0[o + j]! + tables.play[c + j]!);
      }
    }
    const maskT = tf.tensor2d(mask, [B * L, 1]); // [B * L, 1]
    let x = tf.tensor2d(x0, [B * L, d]); // [B * L, d], padding rows zero
    const keyPad = tf.mul(tf.sub(1, maskT.reshape([B, 1, 1, L])), -1e9); // [B, 1, 1, L]
    if (blocks > 1) {
      const bias = tf.add(this.causal(L).reshape([1, 1, L, L]), keyPad); // [B, 1, L, L]
      for (let b = 0; b < blocks - 1; b++) {
        const blk = `b${b}`;
        if (this.config.norm === 'pre') {
          const q = this.layerNorm(x, `${blk}.ln1`);
          x = tf.add(q, this.attention(q, x, bias, B, L, blk));
          x = this.layerNorm(x, `${blk}.ln2`);
          x = tf.add(x, this.ffn(x, blk));
        } else {
          x = this.layerNorm(tf.add(x, this.attention(x, x, bias, B, L, blk)), `${blk}.ln1`);
          x = this.layerNorm(tf.add(x, this.ffn(x, blk)), `${blk}.ln2`);
        }
        x = tf.mul(x, maskT) as tf.Tensor2D;
      }
    }
    // Last block, last query row only. The last position sees every key (causal), padding keys masked.
    const blk = `b${blocks - 1}`;
    const dh = d / h;
    const lastAttention = (query: tf.Tensor2D): tf.Tensor2D => {
      const q = this.linear(query, `${blk}.q`).reshape([B, h, 1, dh]); // [B, h, 1, dh]
      const split = (t: tf.Tensor2D) =>
        h === 1 ? t.reshape([B, 1, L, d]) : t.reshape([B, L, h, dh]).transpose([0, 2, 1, 3]); // [B, h, L, dh]
      const k = split(this.linear(x, `${blk}.k`));
      const v = split(this.linear(x, `${blk}.v`));
      const s = tf.add(tf.mul(tf.sum(tf.mul(q, k), 3), 1 / Math.sqrt(dh)), keyPad.reshape([B, 1, L])); // [B, h, L]
      const attn = tf.softmax(s).reshape([B, h, L, 1]); // [B, h, L, 1]
      const ctx = tf.sum(tf.mul(attn, v), 2).reshape([B, d]) as tf.Tensor2D; // [B, d]
      return this.linear(ctx, `${blk}.o`);
    };
    const xLast = x
      .reshape([B, L, d])
      .slice([0, L - 1, 0], [B, 1, d])
      .reshape([B, d]) as tf.Tensor2D; // [B, d]
    let y: tf.Tensor2D;
    if (this.config.norm === 'pre') {
      const q = this.layerNorm(xLast, `${blk}.ln1`);
      y = tf.add(q, lastAttention(q));
      y = this.layerNorm(y, `${blk}.ln2`);
      y = tf.add(y, this.ffn(y, blk));
    } else {
      y = this.layerNorm(tf.add(xLast, lastAttention(xLast)), `${blk}.ln1`);
      y = this.layerNorm(tf.add(y, this.ffn(y, blk)), `${blk}.ln2`);
    }
    return this.layerNorm(y, 'lnf'); // [B, d]
  }

  // --- persistence ---------------------------------------------------------------------------------------

  /** Using or saving a disposed model is an error that says so (its weights are gone). */
  private checkNotDisposed(): void {
    if (this.disposed)
      throw new EncoreError(
        'This SASRec model was disposed: its weights are freed, so it can no longer score or be saved. Load or fit it again',
      );
  }

  /**
   * Writes config (all hyper-parameters), popularity counts and all weights to `dir` atomically.
   *
   * @example
   * ```ts
   * await model.save('models/sasrec');
   * const again = await loadModel('models/sasrec'); // identical scores
   * ```
   */
  async save(dir: string): Promise<void> {
    this.checkNotDisposed();
    const weights = this.getWeights();
    await writeModelDir(dir, {
      type: this.type,
      config: {
        ...this.config,
        maxSeconds: Number.isFinite(this.config.maxSeconds) ? this.config.maxSeconds : null,
        repeatHead: this.repeatHead ?? null,
        // The head is saved with its counts or not at all (without them it does not score, and could not load).
        transitionHead: (this.transitions && this.transitionHead) ?? null,
        artistCount: this.artists?.count ?? 0,
      },
      vocabulary: this.vocabulary,
      arrays: [
        { name: 'popularity', shape: [this.popularity.length], data: this.popularity },
        ...Object.entries(weights).map(([name, data]) => ({ name, shape: this.vars[name]!.shape, data })),
        ...(this.transitions && this.transitionHead ? csrArrays(this.transitions, 'transitions') : []),
        ...(this.artists
          ? [{ name: 'artist_of', shape: [this.artists.of.length], data: Float32Array.from(this.artists.of) }]
          : []),
      ],
    });
  }

  /**
   * Rebuilds a model from a directory's contents (used by `loadModel`).
   *
   * @example
   * ```ts
   * const model = SASRec.fromContents(await readModelDir('models/sasrec'));
   * ```
   */
  static fromContents(contents: ModelContents, dir = '(model)'): SASRec {
    const {
      repeatHead: savedHead,
      transitionHead: savedMix,
      artistCount = 0,
      ...raw
    } = contents.config as Record<string, unknown>;
    const artists = readArtists(contents, artistCount, dir);
    let transitionHead: TransitionMix | undefined;
    if (savedMix !== undefined && savedMix !== null) {
      transitionHead = parseTransitionMix(savedMix);
      if (!transitionHead)
        throw new InvalidModelFileError(
          dir,
          'config.transitionHead is not { weight: number >= 0, smoothing: number > 0 }',
        );
    }
    let repeatHead: RepeatHead | undefined;
    if (savedHead !== undefined && savedHead !== null) {
      repeatHead = parseRepeatHead(savedHead);
      if (!repeatHead) {
        throw new InvalidModelFileError(
          dir,
          'config.repeatHead is not { gate: number, replayWeight: number, lastWeight: number, weights: number[4], modelWeight?: number }',
        );
      }
    }
    const hp = {
      ...SASREC_DEFAULTS,
      ...raw,
      maxSeconds: raw.maxSeconds ?? Number.POSITIVE_INFINITY,
      playCounts: raw.playCounts ?? false, // models saved before play counts existed have none
      historyBias: raw.historyBias ?? false,
      lastBias: raw.lastBias ?? false,
      tiedEmbeddings: raw.tiedEmbeddings ?? true, // models saved before the option existed share one table
      itemBias: raw.itemBias ?? false,
      itemInit: raw.itemInit ?? 'random',
      transitionMix: raw.transitionMix ?? false,
      transitionExcludeHistory: raw.transitionExcludeHistory ?? false, // chosen with every track ranked before
      artistEmbeddings: raw.artistEmbeddings ?? true,
      ema: raw.ema ?? 0,
    } as SASRecHyperParams;
    try {
      resolveOptions(hp); // the same checks as fit's, so a damaged config is named, not a tensor-shape error
    } catch (e) {
      if (e instanceof InvalidOptionError)
        throw new InvalidModelFileError(dir, `model.json config: ${e.message}`, { cause: e });
      throw e;
    }
    // Every array is read and checked against the config before any tensor exists: model.json has no
    // checksum of its own, and a damaged dim or maxlen must be named, not surface as a tensor-shape error.
    const V = contents.vocabulary.size;
    const shapes = weightShapes(hp, V, artists?.count);
    const weights: Record<string, Float32Array> = {};
    const sized = (name: string, shape: readonly number[]): Float32Array => {
      const { data } = getArray(contents, name, dir);
      const want = shape.reduce((a, b) => a * b, 1);
      if (data.length !== want)
        throw new InvalidModelFileError(
          dir,
          `array ${name} has ${data.length} values, but the config (dim ${hp.dim}, maxlen ${hp.maxlen}, ${V} tracks) needs [${shape.join(', ')}] = ${want}`,
        );
      return data;
    };
    for (const [name, shape] of Object.entries(shapes)) weights[name] = sized(name, shape);
    const popularity = sized('popularity', [V + 1]).slice();
    const transitions = transitionHead ? readCsr(contents, 'transitions', dir) : undefined;
    const model = new SASRec(contents.vocabulary, hp, weights, popularity, artists);
    model.repeatHead = repeatHead;
    if (transitionHead) {
      model.transitions = transitions;
      model.transitionHead = transitionHead;
    }
    return model;
  }

  /** Frees all variables and cached masks. The model is unusable afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const v of Object.values(this.vars)) v.dispose();
    this.causalMask.dispose();
    this.serving?.itemsT.dispose();
    this.serving = undefined;
  }
}

/**
 * The saved track -> artist indices of a model with `artistCount` artists (0: none), checked: one entry per
 * vocabulary index, each an integer in [0, artistCount].
 */
function readArtists(contents: ModelContents, artistCount: unknown, dir: string): ArtistIndex | undefined {
  if (artistCount === 0) return undefined;
  if (!isInt(artistCount) || artistCount < 0)
    throw new InvalidModelFileError(dir, `config.artistCount is ${String(artistCount)}, not an integer >= 0`);
  const saved = getArray(contents, 'artist_of', dir).data;
  const V = contents.vocabulary.size;
  if (saved.length !== V + 1)
    throw new InvalidModelFileError(
      dir,
      `artist_of has ${saved.length} entries, the vocabulary needs ${V + 1}`,
    );
  const of = new Int32Array(V + 1);
  let tracksWithArtist = 0;
  for (let i = 0; i <= V; i++) {
    const a = saved[i]!;
    if (!Number.isInteger(a) || a < 0 || a > artistCount || (i === 0 && a !== 0))
      throw new InvalidModelFileError(
        dir,
        `artist_of[${i}] is ${a}, not an artist index in [0, ${artistCount}]`,
      );
    of[i] = a;
    if (a > 0) tracksWithArtist++;
  }
  return { of, count: artistCount, tracksWithArtist };
}

/**
 * What the repeat head's fit needs of one held-out score row, kept without the row (a row is as long as the
 * catalogue): the raw scores (no post-hoc heads) of the history's tracks, the target and the last listen,
 * the row's log normaliser, and the last listen's training successors with their raw scores, so the
 * transition term can be applied once it is chosen (see {@link repeatCaseOf}).
 */
interface HeldOutRow {
  history: HistoryFeatures;
  target: number;
  last: number;
  /** `rowLogSumExp` of the raw row. */
  logZ: number;
  /** Raw scores of `history.items`. */
  itemScores: Float64Array;
  targetScore: number;
  lastScore: number;
  successors?: TransitionRow;
  /** Raw scores of `successors.cols`. */
  successorScores?: Float64Array;
}

/** The {@link HeldOutRow} of one raw score row (`ids`: the history's vocabulary indices). */
function heldOutRow(
  row: Float32Array,
  target: number,
  ids: readonly number[],
  window: number,
  successors?: TransitionRow,
): HeldOutRow {
  const history = historyFeatures(ids, window);
  const last = ids[ids.length - 1]!;
  return {
    history,
    target,
    last,
    logZ: rowLogSumExp(row),
    itemScores: Float64Array.from(history.items, (x) => row[x]!),
    targetScore: row[target]!,
    lastScore: row[last]!,
    ...(successors
      ? { successors, successorScores: Float64Array.from(successors.cols, (x) => row[x]!) }
      : {}),
  };
}

/**
 * The repeat head's training case of a {@link HeldOutRow} under the transition term `mix` (none: the raw
 * scores). The term adds `transitionBoost` to the successors' scores, rounded to float32 as
 * `applyTransitionMix` does in place, so the normaliser becomes
 * `logZ + log(1 + sum_s (exp(boosted_s - logZ) - exp(raw_s - logZ)))`; Q and the history's logits then
 * follow as in a scored row (the same values up to float rounding, without a second scoring pass).
 */
function repeatCaseOf(h: HeldOutRow, mix?: TransitionMix): RepeatCase {
  const counts = new Map<number, number>();
  let correction = 0;
  if (mix && h.successors && h.successorScores) {
    const { cols, vals } = h.successors;
    for (let k = 0; k < cols.length; k++) {
      const raw = h.successorScores[k]!;
      counts.set(cols[k]!, vals[k]!);
      correction +=
        Math.exp(Math.fround(raw + transitionBoost(mix, vals[k]!)) - h.logZ) - Math.exp(raw - h.logZ);
    }
  }
  const score = (x: number, raw: number) => {
    const c = counts.get(x);
    return c === undefined ? raw : Math.fround(raw + transitionBoost(mix!, c));
  };
  const logZ = h.logZ + Math.log1p(correction);
  const { history, target, last } = h;
  return {
    history,
    targetItem: history.items.indexOf(target),
    modelProb: Math.exp(score(target, h.targetScore) - logZ),
    lastProb: Math.exp(score(last, h.lastScore) - logZ),
    targetIsLast: target === last,
    modelLogits: Array.from(history.items, (x, k) => score(x, h.itemScores[k]!)),
  };
}

/** Histories per serving forward pass (sorted by length, so each pass carries little padding). */
const SCORE_CHUNK = 64;
/** Fewest validation cases the repeat head is fitted on. */
const MIN_REPEAT_CASES = 20;

/** Weights laid out for serving, valid while the variables keep the recorded `dataId`s. */
interface ServingTables {
  itemsId: object;
  outId: object;
  biasId: object | undefined;
  artistId: object | undefined;
  posId: object;
  /** `[d, V + 1]` transposed output table (the item table unless `tiedEmbeddings` is false; `[d + 1, V + 1]` with `itemBias`). */
  itemsT: tf.Tensor2D;
  /** Track vectors (item table, plus artist vectors with artists), `[(V + 1) * d]`. */
  items: Float32Array;
  /** Positional table rows, `[maxlen * d]`. */
  pos: Float32Array;
  playId: object | undefined;
  /** Play-count table rows, `[PLAY_COUNT_BUCKETS * d]` (with `playCounts`). */
  play: Float32Array | undefined;
  lastId: object | undefined;
  /** The learned last-listen logit (0 without `lastBias`). */
  lastBias: number;
}

/**
 * What a worker needs to rebuild a SASRec training replica (structured-cloneable).
 *
 * @example
 * ```ts
 * const init: SASRecReplicaInit = { config: SASREC_DEFAULTS, vocabularyIds: ['', 't1', 't2'] };
 * ```
 */
export interface SASRecReplicaInit {
  config: SASRecHyperParams;
  vocabularyIds: string[];
  logQ?: Float64Array;
  artists?: ArtistIndex;
}

/**
 * Builds a SASRec training replica in a worker thread (the `exportName` of {@link SASRec.replicaSpec}).
 *
 * @example
 * ```ts
 * const replica = createSASRecReplica({ config: SASREC_DEFAULTS, vocabularyIds: ['', 't1', 't2'] });
 * ```
 */
export function createSASRecReplica(init: SASRecReplicaInit): SASRec {
  return SASRec.replica(init);
}

/**
 * The output bias's starting values: each track's smoothed log share of the training listens,
 * `log((c_x + 1) / (N + V))`, centred on its mean (a softmax ignores the shift), so training starts from
 * the popularity prior instead of learning it at Adam's pace of about one learning rate a step. Row 0
 * (padding) is 0.
 */
function logPopularityBias(counts: ArrayLike<number>): Float32Array {
  const V = counts.length - 1;
  let total = 0;
  for (let x = 1; x <= V; x++) total += counts[x]!;
  const out = new Float32Array(V + 1);
  let mean = 0;
  for (let x = 1; x <= V; x++) {
    out[x] = Math.log((counts[x]! + 1) / (total + V));
    mean += out[x]! / V;
  }
  for (let x = 1; x <= V; x++) out[x] = out[x]! - mean;
  return out;
}

/** Listens of each vocabulary index (1..V) in `sequences`; index 0 (padding) stays 0. */
function countItems(sequences: Iterable<Int32Array>, V: number): Float64Array {
  const counts = new Float64Array(V + 1);
  for (const seq of sequences) for (const i of seq) counts[i] = counts[i]! + 1;
  return counts;
}

/** Fewest validation cases `validation: 'auto'` holds out; with fewer it validates nothing. */
const MIN_AUTO_VALIDATION = 20;

/**
 * Holds out the last listen of up to 1,000 users (seeded, >= 3 listens each) as validation cases. Many
 * cases matter more than the listens they cost: with few, NDCG@10 is too noisy to pick the best epoch.
 * When fewer than {@link MIN_AUTO_VALIDATION} users have 3 listens (a log of very short sequences), it
 * holds out one user in five of those with 2 listens instead (each then gives up its only training pair):
 * without validation there would be no early stopping and no post-hoc heads, which on such a log (3,000
 * users of 2 training listens) left SASRec at HR@10 0.334 against ItemTransition's 0.504.
 */
function autoValidation(
  ds: Dataset,
  rng: Rng,
): { sequences: ReadonlyMap<string, Int32Array>; validation: EvalCase[] } {
  let eligible = ds.users.filter((u) => ds.sequence(u).length >= 3);
  let n = Math.min(1000, eligible.length);
  if (n < MIN_AUTO_VALIDATION) {
    eligible = ds.users.filter((u) => ds.sequence(u).length >= 2);
    n = Math.min(1000, Math.floor(eligible.length / 5));
  }
  if (n < MIN_AUTO_VALIDATION) return { sequences: ds.sequences, validation: [] };
  const chosen = new Set(rng.shuffle(eligible.slice()).slice(0, n));
  const sequences = new Map<string, Int32Array>();
  const validation: EvalCase[] = [];
  for (const [u, seq] of ds.sequences) {
    if (chosen.has(u)) {
      sequences.set(u, seq.subarray(0, seq.length - 1));
      const ids = ds.vocabulary.ids;
      validation.push({
        userId: u,
        history: Array.from(seq.subarray(0, seq.length - 1), (i) => ids[i]!),
        target: ids[seq[seq.length - 1]!]!,
      });
    } else {
      sequences.set(u, seq);
    }
  }
  return { sequences, validation };
}

registerModelType('sasrec', async (contents, dir) => {
  await ensureBackend();
  return SASRec.fromContents(contents, dir);
});

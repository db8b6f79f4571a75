// Example 09, extending encore: your own Recommender (saved and loaded like the built-ins), Blend strategy and reward hook.
//
// Run: npx tsx examples/09-extending.ts   (ENCORE_FAST=1 for a shorter run on less data: about 10 s on 2 cores with wasm)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  BaseRecommender,
  type BlendMember,
  type BlendStrategy,
  blend,
  compare,
  computeRewards,
  Dataset,
  evaluateBlend,
  formatComparison,
  formatTable,
  getArray,
  holdOutRecent,
  InvalidOptionError,
  ItemKNN,
  ItemTransition,
  initBackend,
  type Listen,
  leaveOneOut,
  loadListens,
  loadModel,
  loadTracks,
  type ModelContents,
  Popularity,
  type RewardContext,
  type RewardHook,
  registerModelType,
  rewards,
  SASRec,
  type Track,
  type Vocabulary,
  writeModelDir,
} from '../src/index.js';

const FAST = process.env.ENCORE_FAST === '1';

// %% 1. Data: the shipped listens and catalogue, split leave-one-out.
await initBackend();
const { listens } = await loadListens('data/listens.csv');
const { tracks } = await loadTracks('data/tracks.csv');
// Fast mode keeps every 6th listener: fewer listens, but still day and night listeners for part (c).
const everyone = [...new Set(listens.map((l) => l.userId))];
const users = new Set(FAST ? everyone.filter((_, i) => i % 6 === 0) : everyone);
const dataset = Dataset.fromListens(
  listens.filter((l) => users.has(l.userId)),
  { minUserListens: 5 },
);
const { train, validation, test } = leaveOneOut(dataset);
console.log(
  `${dataset.users.length} listeners, ${train.numListens} training listens, ${test.length} test cases\n`,
);

// %% 2. (a) A custom Recommender: "ArtistContinuation".
// People often keep listening to the artist they are on. This model scores each track by training
// popularity (scaled to [0, 1], the back-off) plus a bonus when it is by the artist of one of the last
// three tracks (weights 1, 1/2, 1/4 from the newest). Extending BaseRecommender means implementing only
// scoreAll (one score per vocabulary index; index 0 is padding), save and dispose: recommend,
// recommendBatch, score, unknown-id handling and cold start come for free.
/** Options of {@link ArtistContinuation.fit}. */
interface ArtistContinuationOptions {
  /** Score added for the newest track's artist (> 0). Default 2. */
  bonus?: number;
}

class ArtistContinuation extends BaseRecommender {
  readonly type = 'artist-continuation';
  /** Tracks per artist number (artist numbers start at 1; 0 = unknown artist). */
  private readonly byArtist: Map<number, number[]>;

  private constructor(
    vocabulary: Vocabulary,
    /** Artist number per vocabulary index (0 = unknown). */
    private readonly artistOf: Int32Array,
    /** Training popularity per vocabulary index, scaled to [0, 1]. */
    private readonly popularity: Float32Array,
    readonly bonus: number,
  ) {
    super(vocabulary);
    this.byArtist = new Map();
    artistOf.forEach((a, i) => {
      if (i > 0 && a > 0) this.byArtist.set(a, [...(this.byArtist.get(a) ?? []), i]);
    });
  }

  /** Validates options first, then counts listens and looks up each track's artist. */
  static async fit(
    train: Dataset,
    catalogue: readonly Track[],
    options: ArtistContinuationOptions = {},
  ): Promise<ArtistContinuation> {
    const bonus = options.bonus ?? 2;
    if (typeof bonus !== 'number' || !Number.isFinite(bonus) || bonus <= 0) {
      throw new InvalidOptionError('bonus', 'a finite number > 0', bonus);
    }
    const artistNumber = new Map<string, number>();
    const artistOf = new Int32Array(train.vocabulary.size + 1);
    const meta = new Map(catalogue.map((t) => [t.trackId, t]));
    for (let i = 1; i <= train.vocabulary.size; i++) {
      const artist = meta.get(train.vocabulary.id(i))?.artistId;
      if (artist === undefined) continue;
      if (!artistNumber.has(artist)) artistNumber.set(artist, artistNumber.size + 1);
      artistOf[i] = artistNumber.get(artist)!;
    }
    const max = Math.max(1, ...train.itemCounts);
    const popularity = Float32Array.from(train.itemCounts, (c) => c / max);
    return new ArtistContinuation(train.vocabulary, artistOf, popularity, bonus);
  }

  async scoreAll(histories: readonly (readonly string[])[]): Promise<Float32Array[]> {
    return histories.map((history) => {
      const scores = this.popularity.slice(); // [vocabulary.size + 1]
      const recent = this.indices(history).slice(-3).reverse(); // newest first
      recent.forEach((index, age) => {
        for (const j of this.byArtist.get(this.artistOf[index]!) ?? []) scores[j]! += this.bonus / 2 ** age;
      });
      return scores;
    });
  }

  /** Writes the artist map and popularity as a standard encore model directory (atomic, checksummed). */
  async save(dir: string): Promise<void> {
    await writeModelDir(dir, {
      type: this.type,
      config: { bonus: this.bonus },
      vocabulary: this.vocabulary,
      arrays: [
        { name: 'artist', shape: [this.artistOf.length], data: Float32Array.from(this.artistOf) },
        { name: 'popularity', shape: [this.popularity.length], data: this.popularity },
      ],
    });
  }

  /** Restores a saved model; registered below so that loadModel knows the type. */
  static fromContents(contents: ModelContents, dir: string): ArtistContinuation {
    const artist = Int32Array.from(getArray(contents, 'artist', dir).data);
    const popularity = Float32Array.from(getArray(contents, 'popularity', dir).data);
    return new ArtistContinuation(contents.vocabulary, artist, popularity, Number(contents.config.bonus));
  }

  /** Nothing to free: no tensors. */
  dispose(): void {}
}
registerModelType('artist-continuation', (contents, dir) => ArtistContinuation.fromContents(contents, dir));

// %% 3. Evaluate it exactly like the built-in models, side by side, with full ranking.
const artistModel = await ArtistContinuation.fit(train, tracks);
const models = {
  popularity: await Popularity.fit(train),
  'item-transition': await ItemTransition.fit(train),
  'item-knn': await ItemKNN.fit(train),
  'artist-continuation': artistModel,
};
console.log('(a) A custom Recommender next to the baselines (test set, full ranking):');
console.log(formatComparison(await compare(models, test, { train })));

// %% 4. Save and load it like any built-in model: registerModelType told loadModel how.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'encore-extending-'));
try {
  await artistModel.save(path.join(dir, 'artist'));
  const restored = await loadModel(path.join(dir, 'artist'));
  const history = test[0]!.history;
  const [a, b] = [
    await artistModel.recommend(history, { k: 5 }),
    await restored.recommend(history, { k: 5 }),
  ];
  const same = a.every((r, i) => r.trackId === b[i]!.trackId && r.score === b[i]!.score);
  console.log(
    `\nsaved and reloaded through loadModel as '${restored.type}': ${same ? 'same' : 'DIFFERENT'} top 5`,
  );
  if (!same) process.exitCode = 1;
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}

// %% 5. (b) A custom Blend strategy: approval voting.
// Each member "approves" the first 10 tracks of their own ranked list; tracks are taken by the (weighted)
// number of members approving them, ties broken by mean relevance. A strategy is a plain function that
// yields candidate positions; the Blend skips what is not allowed and stops when the playlist is full.
const APPROVE_TOP = 10;
const approvalVoting: BlendStrategy = function* approvalVoting(ctx) {
  const approvals = new Float64Array(ctx.candidates);
  const mean = new Float64Array(ctx.candidates);
  for (let u = 0; u < ctx.members; u++) {
    for (const c of ctx.lists[u]!.subarray(0, APPROVE_TOP)) approvals[c]! += ctx.weights[u]!;
    const rel = ctx.relevance[u]!;
    for (let c = 0; c < ctx.candidates; c++) mean[c]! += ctx.weights[u]! * rel[c]!;
  }
  const order = Array.from({ length: ctx.candidates }, (_, c) => c);
  order.sort((x, y) => approvals[y]! - approvals[x]! || mean[y]! - mean[x]! || x - y);
  for (const c of order) if (ctx.allowed(c)) yield c;
};

// Judge it against built-ins on groups of three listeners: each member's first 80% of listens is their
// history, the last 20% what they went on to play (held out). evaluateBlend scores the playlist per member.
const { train: blendTrain, history, heldOut } = holdOutRecent(dataset, { fraction: 0.2 });
const blendModel = await ItemKNN.fit(blendTrain);
const groups: string[][] = [];
for (let g = 0; g < (FAST ? 4 : 12); g++) groups.push(dataset.users.slice(3 * g, 3 * g + 3));
const strategyRows = [];
for (const [name, strategy] of [
  ['average', 'average'],
  ['round-robin', 'round-robin'],
  ['gfar', 'gfar'],
  ['approval voting (custom)', approvalVoting],
] as const) {
  let ndcg = 0;
  let minNdcg = 0;
  let zero = 0;
  for (const group of groups) {
    const members: BlendMember[] = group.map((id) => ({ id, history: history.get(id)! }));
    const result = await blend(members, {
      model: blendModel,
      tracks,
      size: 20,
      date: '2024-03-01',
      strategy,
    });
    const ev = evaluateBlend(result, Object.fromEntries(group.map((id) => [id, heldOut.get(id)!])), {
      k: 20,
    });
    ndcg += ev.meanNdcg / groups.length;
    minNdcg += ev.minNdcg / groups.length;
    zero += ev.zeroRecall / groups.length;
  }
  strategyRows.push({ strategy: name, ndcg, minNdcg, zero });
}
console.log(`\n(b) Blend strategies on ${groups.length} groups of 3 (playlists of 20, vs held-out listens):`);
console.log(
  formatTable(
    [
      { key: 'strategy' },
      { key: 'ndcg', header: 'mean NDCG@20' },
      { key: 'minNdcg', header: 'worst member NDCG@20' },
      { key: 'zero', header: 'share of members with nothing', digits: 2 },
    ],
    strategyRows,
  ),
);

// %% 6. (c) A custom reward hook: late-night listens count double.
// A RewardHook maps one listen (plus its context: the listener's earlier and later listens) to a number.
// Combined with built-ins by weight, a late-night (23:00-04:00 UTC) completed listen earns its completion
// twice; skips still cost the same. rewards.combine names the failing hook if one returns NaN or throws.
const completion = rewards.completion();
const lateNight: RewardHook = Object.assign(
  (listen: Listen, context: RewardContext) => {
    const hour = new Date(listen.timestamp).getUTCHours();
    return hour >= 23 || hour < 4 ? completion(listen, context) : 0;
  },
  { hookName: 'lateNight' },
);
const reward = rewards.combine([
  [completion, 1],
  [lateNight, 1],
  [rewards.skipPenalty(), 0.5],
  [rewards.saveBonus(), 1],
]);

// computeRewards runs a hook over every training listen: a quick way to check it does what you meant.
const perUser = computeRewards(train, reward);
const summary = { late: { n: 0, sum: 0 }, other: { n: 0, sum: 0 } };
for (const [user, values] of perUser) {
  train.userListens.get(user)!.forEach((l, i) => {
    const hour = new Date(l.timestamp).getUTCHours();
    const bucket = hour >= 23 || hour < 4 ? summary.late : summary.other;
    bucket.n++;
    bucket.sum += values[i]!;
  });
}
console.log('\n(c) Reward per listen under combine(completion, lateNight, skipPenalty, saveBonus):');
console.log(
  formatTable(
    [{ key: 'when' }, { key: 'listens' }, { key: 'mean', header: 'mean reward', digits: 3 }],
    Object.entries(summary).map(([when, s]) => ({
      when: when === 'late' ? 'late night (23-04 UTC)' : 'rest of the day',
      listens: s.n,
      mean: s.sum / s.n,
    })),
  ),
);

// The same hook weights SASRec's training: each target's loss is multiplied by its reward (negative
// rewards count as 0), so skipped tracks teach little and late-night favourites teach more.
const weighted = await SASRec.fit(train, {
  reward,
  validation,
  progress: false,
  ...(FAST
    ? { epochs: 2, dim: 32, maxlen: 20, minStepsPerEpoch: 32 }
    : { epochs: 20, patience: 3, maxSeconds: 120 }),
});
console.log('\nSASRec trained with the reward hook (test set, full ranking):');
console.log(formatComparison(await compare({ 'sasrec + reward': weighted }, test, { train })));
weighted.dispose();

// The main job (`npm run demo`): train every model on the shipped data, compare them honestly, recommend, and Blend.
// Run: npx tsx examples/00-demo.ts   (ENCORE_FAST=1 for a quick run on less data)
import {
  blend,
  compare,
  Dataset,
  formatComparison,
  formatTable,
  ItemKNN,
  ItemTransition,
  initBackend,
  leaveOneOut,
  loadListens,
  loadTracks,
  Popularity,
  SASRec,
} from '../src/index.js';

const FAST = process.env.ENCORE_FAST === '1';

// %% 1. Backend and data.
const backend = await initBackend();
const { listens } = await loadListens('data/listens.csv');
const { tracks } = await loadTracks('data/tracks.csv');
const byId = new Map(tracks.map((t) => [t.trackId, t]));
const users = [...new Set(listens.map((l) => l.userId))].slice(0, FAST ? 80 : undefined);
const keep = new Set(users);
const dataset = Dataset.fromListens(
  listens.filter((l) => keep.has(l.userId)),
  { minUserListens: 3 },
);
const s = dataset.stats();
console.log(
  `\nBackend: ${backend.name}${backend.name === 'wasm' ? ` (SIMD ${backend.simd ? 'on' : 'off'})` : ''}`,
);
console.log(
  `Data: ${s.users} listeners, ${s.tracks} tracks, ${s.listens} listens, ${s.sessions} sessions; ` +
    `median ${s.medianSequenceLength} listens per listener; skip rate ${(s.skipRate * 100).toFixed(1)}%; ` +
    `top 1% of tracks get ${(s.top1PercentShare * 100).toFixed(1)}% of plays`,
);

// %% 2. Leave-one-out split (SASRec protocol) and four models.
const { train, validation, test } = leaveOneOut(dataset);
const t0 = performance.now();
const sasrec = await SASRec.fit(train, {
  validation,
  artists: tracks, // each track's artist, from data/tracks.csv
  // A fixed number of epochs rather than a time budget (maxSeconds), so the demo prints the same numbers
  // on every machine with the same backend; about 90 s on 2 cores with wasm.
  epochs: FAST ? 1 : 4,
  dim: FAST ? 32 : undefined,
  minStepsPerEpoch: FAST ? 32 : undefined,
  onEpochEnd: (epoch, logs) => {
    // Validation NDCG@10 ranks every track (replays included), so it runs higher than the test table's,
    // which leaves the history out.
    console.log(
      `  epoch ${epoch}: loss ${logs.loss.toFixed(3)}, validation NDCG@10 ${logs.valNdcg10?.toFixed(4) ?? '-'} (every track ranked)`,
    );
  },
});
const sasrecSeconds = (performance.now() - t0) / 1000;
const models = {
  popularity: await Popularity.fit(train),
  'item-transition': await ItemTransition.fit(train),
  'item-knn': await ItemKNN.fit(train),
  sasrec,
};
console.log(
  `\nSASRec trained in ${sasrecSeconds.toFixed(1)} s. Test set, full ranking (ties count against the model):`,
);
console.log(formatComparison(await compare(models, test, { train })));

// %% 3. Next-track recommendations for a listener, and for a brand-new session.
const user = test[0]!;
const recent = user.history.slice(-5);
const title = (id: string) => {
  const t = byId.get(id);
  return t ? `${t.title} — ${t.artist}` : id;
};
console.log(`\nListener ${user.userId} just played:\n${recent.map((id) => `  ${title(id)}`).join('\n')}`);
const recs = await sasrec.recommend(user.history, { k: 5 });
console.log(
  formatTable(
    [{ key: 'rank', header: '#' }, { key: 'track' }, { key: 'score' }],
    recs.map((r, i) => ({ rank: i + 1, track: title(r.trackId), score: r.score.toFixed(2) })),
  ),
);
console.log(
  user.history.includes(user.target)
    ? `(the listener actually played next: ${title(user.target)}, a replay: already in their history, so left out of these suggestions)`
    : `(the listener actually played next: ${title(user.target)})`,
);

// %% 4. A Blend for three listeners.
const members = test.slice(0, 3).map((c, i) => ({ id: ['ana', 'ben', 'chloe'][i]!, history: c.history }));
const result = await blend(members, { model: sasrec, tracks, size: 12, date: '2024-03-01' });
console.log(
  `\nBlend for ana, ben and chloe (${result.strategy}): taste match ${result.tasteMatch}%, ` +
    `the song that brings you together: ${result.bondingTrack ? title(result.bondingTrack.trackId) : '-'}`,
);
console.log(
  formatTable(
    [{ key: 'n', header: '#' }, { key: 'track' }, { key: 'for' }, { key: 'because' }],
    result.tracks.map((t, i) => ({
      n: i + 1,
      track: title(t.trackId),
      for: t.attributedTo.join(' + '),
      because: t.because ?? '',
    })),
  ),
);
for (const m of Object.values(models)) m.dispose();

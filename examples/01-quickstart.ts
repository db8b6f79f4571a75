// Example 01, quickstart: load the shipped listens, train SASRec, recommend next tracks, save and reload the model.
//
// Run: npx tsx examples/01-quickstart.ts   (ENCORE_FAST=1 for a shorter run on less data: about 10 s on 2 cores with wasm)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  Dataset,
  formatTable,
  initBackend,
  leaveOneOut,
  loadListens,
  loadModel,
  loadTracks,
  type Recommendation,
  SASRec,
} from '../src/index.js';

const FAST = process.env.ENCORE_FAST === '1';

// %% 1. Pick the fastest TensorFlow.js backend this machine has.
// tfjs-node (native) when installed, else WebAssembly with SIMD, else plain JavaScript. Set
// ENCORE_BACKEND=wasm|cpu|tensorflow to force one.
const backend = await initBackend();
console.log(`Backend: ${backend.name}`);

// %% 2. Load the shipped data set: listens (who played what, when, skipped or not) and the catalogue.
// data/ holds a generated world (real listening logs may not be redistributed); the same loaders read
// Last.fm 1K, MSSD and sequence files (see example 02).
const { listens } = await loadListens('data/listens.csv');
const { tracks } = await loadTracks('data/tracks.csv');
const byId = new Map(tracks.map((t) => [t.trackId, t]));
const label = (id: string) => {
  const t = byId.get(id);
  return t ? { title: t.title, artist: t.artist } : { title: id, artist: '?' };
};
// Fast mode keeps the first 60 listeners so the whole script runs in seconds.
const users = new Set([...new Set(listens.map((l) => l.userId))].slice(0, FAST ? 60 : undefined));
const dataset = Dataset.fromListens(listens.filter((l) => users.has(l.userId)));
const stats = dataset.stats();
console.log(`${stats.listens} listens by ${stats.users} listeners over ${stats.tracks} tracks`);

// %% 3. Split: each listener's last listen is the test target, the one before it the validation target.
// Training sees neither, so what we measure later is what a model would do on listens it never saw.
const { train, validation, test } = leaveOneOut(dataset);
console.log(
  `train: ${train.numListens} listens; ${validation.length} validation and ${test.length} test cases`,
);

// %% 4. Train SASRec with its defaults (full-softmax loss, early stopping on the validation cases).
// `artists: tracks` adds an artist embedding to every track: a track heard a few times borrows what the
// model learned from the artist's other tracks (leave it out when you have listens only). Listens that
// name their artist (a Last.fm, MPD or Spotify file, or an `artist_id` column) need no option: the
// Dataset carries the artists and SASRec.fit embeds them.
// Fast mode trains two small, short epochs (the recommendations are then not good, only quick); the full run is
// capped at 2 minutes of training (a few epochs of the whole data set on a laptop CPU with wasm).
const t0 = performance.now();
const model = await SASRec.fit(train, {
  validation,
  artists: tracks,
  progress: false,
  ...(FAST ? { epochs: 2, dim: 32, maxlen: 20, minStepsPerEpoch: 32 } : { maxSeconds: 120 }),
});
console.log(`trained in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);

// %% 5. Next tracks for a known listener: pass their history (oldest first) and ask for k tracks.
// Tracks already in the history are left out by default (excludeHistory: true).
const listener = test[0]!;
const show = (recs: Recommendation[]) =>
  formatTable(
    [{ key: 'rank', header: '#' }, { key: 'title' }, { key: 'artist' }, { key: 'score', digits: 3 }],
    recs.map((r, i) => ({ rank: i + 1, ...label(r.trackId), score: r.score })),
  );
console.log(`Listener ${listener.userId} recently played:`);
console.log(
  formatTable(
    [{ key: 'title' }, { key: 'artist' }],
    listener.history.slice(-3).map((id) => label(id)),
  ),
);
const forListener = await model.recommend(listener.history, { k: 5 });
console.log(`\nSASRec suggests next:\n${show(forListener)}`);
const played = `${label(listener.target).title} by ${label(listener.target).artist}`;
console.log(
  listener.history.includes(listener.target)
    ? `(they actually played: ${played}, a replay of a track in their history, which these suggestions leave out)\n`
    : `(they actually played: ${played})\n`,
);

// %% 6. A brand-new session: any list of track ids works, no retraining and no user id needed.
// Here: three tracks by one artist, as if someone had just started listening to them.
const artist = tracks.find((t) => train.vocabulary.has(t.trackId))!.artistId;
const session = tracks
  .filter((t) => t.artistId === artist && train.vocabulary.has(t.trackId))
  .slice(0, 3)
  .map((t) => t.trackId);
console.log(
  `A new session: ${session.map((id) => `"${label(id).title}"`).join(', ')} by ${label(session[0]!).artist}`,
);
const forSession = await model.recommend(session, { k: 5 });
console.log(show(forSession));

// %% 7. Save the model and load it back. A model directory is written atomically and checksummed;
// loadModel restores any model type (SASRec or a baseline) with identical scores.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'encore-quickstart-'));
try {
  await model.save(path.join(dir, 'sasrec'));
  const restored = await loadModel(path.join(dir, 'sasrec'));
  const again = await restored.recommend(session, { k: 5 });
  const same = again.every(
    (r, i) => r.trackId === forSession[i]!.trackId && Math.abs(r.score - forSession[i]!.score) < 1e-5,
  );
  console.log(
    `\nsaved to ${path.join(dir, 'sasrec')} (${fs.readdirSync(path.join(dir, 'sasrec')).join(', ')}); ` +
      `reloaded as '${restored.type}': ${same ? 'identical recommendations' : 'DIFFERENT recommendations'}`,
  );
  restored.dispose();
  if (!same) process.exitCode = 1;
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
  model.dispose();
}

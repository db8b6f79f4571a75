// Example: Discover Weekly — thirty tracks a listener has never played, two per artist at most, new every week.
// Run: npx tsx examples/05-discover-weekly.ts   (ENCORE_FAST=1 for a quick run on less data)
import {
  Dataset,
  discoverWeekly,
  formatTable,
  ItemKNN,
  initBackend,
  loadListens,
  loadTracks,
  type Recommender,
  SASRec,
} from '../src/index.js';

const FAST = process.env.ENCORE_FAST === '1';

// %% 1. Load the shipped data and train a model on everything.
await initBackend({});
const { listens } = await loadListens('data/listens.csv');
const { tracks } = await loadTracks('data/tracks.csv');
const users = new Set([...new Set(listens.map((l) => l.userId))].slice(0, FAST ? 120 : undefined));
const data = Dataset.fromListens(listens.filter((l) => users.has(l.userId)));
let model: Recommender;
if (FAST) {
  // A weekly playlist should follow the whole recent history, not the last few plays: 100 of them vote,
  // with a slow decay (ItemKNN's defaults, 10 and 0.8, suit next-track, where the last play matters most).
  model = await ItemKNN.fit(data, { historyWindow: 100, decay: 0.97 });
} else {
  model = await SASRec.fit(data, { epochs: 10, seed: 42, progress: false, maxSeconds: 90 });
}

// %% 2. What does our listener play?
const user = data.users[0]!;
const history = data.history(user);
const byId = new Map(tracks.map((t) => [t.trackId, t]));
const genres = new Map<string, number>();
for (const id of history) {
  const g = byId.get(id)?.genre ?? '?';
  genres.set(g, (genres.get(g) ?? 0) + 1);
}
const top = [...genres].sort((a, b) => b[1] - a[1]).slice(0, 3);
console.log(`${user}: ${history.length} plays, mostly ${top.map(([g, n]) => `${g} (${n})`).join(', ')}\n`);

// %% 3. This week's Discover Weekly.
// Only tracks never played, at most 2 per artist, and the same list all week (seeded by the ISO week).
const week5 = await discoverWeekly(model, history, { week: '2024-W05', tracks, seed: user });
console.log(`Discover Weekly ${week5.week}`);
console.log(
  formatTable(
    [
      { key: 'n', header: '#' },
      { key: 'title' },
      { key: 'artist' },
      { key: 'genre' },
      { key: 'score', digits: 3 },
    ],
    week5.tracks.slice(0, 12).map((t, i) => ({
      n: i + 1,
      title: t.title,
      artist: t.artist,
      genre: byId.get(t.trackId)?.genre,
      score: t.score,
    })),
  ),
);
console.log(`… ${week5.tracks.length} tracks in all`);

// %% 4. Next week: half the playlist is the model's top picks, the rest rotates.
const week6 = await discoverWeekly(model, history, { week: '2024-W06', tracks, seed: user });
const kept = week6.tracks.filter((t) => week5.tracks.some((x) => x.trackId === t.trackId)).length;
const played = new Set(history);
console.log(
  `\n${week6.week}: ${kept} of ${week6.tracks.length} tracks also in ${week5.week}; already played: ${week6.tracks.filter((t) => played.has(t.trackId)).length}`,
);
model.dispose();

// Example 02, loading your own data: every supported file format, strict and lenient validation, k-core filtering, splits.
//
// Run: npx tsx examples/02-load-your-own-data.ts   (ENCORE_FAST=1 loads fewer of the shipped listens)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  Dataset,
  formatIssue,
  formatTable,
  InvalidDataError,
  type LoadListensOptions,
  loadListens,
  temporalSplit,
} from '../src/index.js';

const FAST = process.env.ENCORE_FAST === '1';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'encore-formats-'));
// The sample files go when the script ends, however it ends.
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
const write = (name: string, text: string) => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
};

// %% 1. Write one small sample file per supported format.
// Your own export: a CSV whose headers are not encore's. `columns` maps encore's names (user_id, track_id,
// timestamp, ms_played, ...) to yours; timestamps may be ISO 8601 or epoch milliseconds.
const mine = write(
  'my-export.csv',
  [
    'listener,song,played_at,played_ms,liked',
    'alice,s1,2024-05-01T08:00:00Z,180000,true',
    'alice,s2,2024-05-01T08:03:10Z,12000,false',
    'bob,s1,1714640000000,200000,',
  ].join('\n'),
);
// Last.fm 1K: tab-separated, no header. An empty track id falls back to "artist - title".
const lastfm = write(
  'lastfm-1k.tsv',
  [
    'user_000001\t2009-05-04T13:54:10Z\ta7f7df4a\tSakamoto\tf7c1f8f8\tThe Last Emperor',
    'user_000001\t2009-05-04T23:08:57Z\tf1b1cf71\tDeep Dish\t\tFlashdance',
    'user_000002\t2009-05-03T15:48:25Z\t6fa26b1b\tThe Beatles\t\tHey Jude',
  ].join('\n'),
);
// Spotify's Music Streaming Sessions Dataset: one row per play, sessions instead of users, skip flags.
const mssdHeader =
  'session_id,session_position,session_length,track_id_clean,skip_1,skip_2,skip_3,not_skipped,' +
  'context_switch,no_pause_before_play,short_pause_before_play,long_pause_before_play,' +
  'hist_user_behavior_n_seekfwd,hist_user_behavior_n_seekback,hist_user_behavior_is_shuffle,hour_of_day,' +
  'date,premium,context_type,hist_user_behavior_reason_start,hist_user_behavior_reason_end';
const mssd = write(
  'mssd.csv',
  [
    mssdHeader,
    's_01,1,3,t_a,false,false,false,true,0,0,0,0,0,0,true,16,2018-07-15,true,editorial_playlist,trackdone,trackdone',
    's_01,2,3,t_b,true,true,true,false,0,1,0,0,0,0,true,16,2018-07-15,true,editorial_playlist,trackdone,fwdbtn',
    's_01,3,3,t_c,false,true,true,false,0,1,0,0,0,0,true,16,2018-07-15,true,editorial_playlist,fwdbtn,fwdbtn',
    's_02,1,1,t_a,false,false,true,false,0,1,0,0,0,0,false,9,2018-07-16,false,user_collection,clickrow,endplay',
  ].join('\n'),
);
// Research sequence files, in both styles: one `user item` pair per line, or one user per line.
const pairs = write('sequences-pairs.txt', ['1 10', '1 11', '2 10', '1 12', '2 13'].join('\n'));
const lines = write('sequences-lines.txt', ['u1 10 11 12', 'u2 10 13 14', 'u3 7 8'].join('\n'));
// Spotify's Million Playlist Dataset: JSON slices of playlists. Each playlist becomes a listener whose
// "listens" are its tracks in `pos` order; pass one slice or the directory holding all of them.
const track = (pos: number, id: string, artist: string) => ({
  pos,
  track_uri: `spotify:track:${id}`,
  track_name: `Song ${id}`,
  artist_uri: `spotify:artist:${artist}`,
  artist_name: artist,
  duration_ms: 200_000,
});
const mpd = write(
  'mpd.slice.0-999.json',
  JSON.stringify({
    info: { slice: '0-999', version: 'v1' },
    playlists: [
      {
        name: 'Throwbacks',
        pid: 0,
        modified_at: 1493424000,
        tracks: [track(0, 'a', 'X'), track(1, 'b', 'Y')],
      },
      {
        name: 'Road trip',
        pid: 1,
        modified_at: 1506556800,
        tracks: [track(0, 'b', 'Y'), track(1, 'c', 'X')],
      },
    ],
  }),
);
// Your own Spotify data export (extended streaming history): one JSON array of streams per file. Podcast
// episodes are counted apart (`ignored`); skips become skip levels for the reward hooks.
const stream = (ts: string, ms: number, uri: string | null, reason: string, extra = {}) => ({
  ts,
  ms_played: ms,
  master_metadata_track_name: uri ? `Song ${uri}` : null,
  master_metadata_album_artist_name: uri ? 'X' : null,
  spotify_track_uri: uri ? `spotify:track:${uri}` : null,
  reason_end: reason,
  skipped: reason === 'fwdbtn',
  ...extra,
});
const spotify = write(
  'Streaming_History_Audio_2024_0.json',
  JSON.stringify([
    stream('2024-05-01T08:03:10Z', 190_000, 'a', 'trackdone'),
    stream('2024-05-01T08:03:15Z', 4_000, 'b', 'fwdbtn'),
    stream('2024-05-01T09:00:00Z', 1_800_000, null, 'trackdone', {
      spotify_episode_uri: 'spotify:episode:e',
    }),
  ]),
);

// %% 2. Load each one with loadListens. Every format becomes the same Listen records.
const samples: [string, string, LoadListensOptions][] = [
  [
    'your CSV + columns',
    mine,
    {
      columns: {
        user_id: 'listener',
        track_id: 'song',
        timestamp: 'played_at',
        ms_played: 'played_ms',
        saved: 'liked',
      },
    },
  ],
  ['lastfm-1k', lastfm, { format: 'lastfm-1k' }],
  ['mssd', mssd, { format: 'mssd' }],
  ['sequences (pairs)', pairs, { format: 'sequences' }],
  ['sequences (lines)', lines, { format: 'sequences' }],
  ['mpd', mpd, { format: 'mpd' }],
  ['spotify-history', spotify, { format: 'spotify-history' }],
];
const loaded = [];
for (const [name, file, options] of samples) {
  const { listens, rows } = await loadListens(file, options);
  const first = listens[0]!;
  loaded.push({
    format: name,
    rows,
    listens: listens.length,
    users: new Set(listens.map((l) => l.userId)).size,
    first: `${first.userId} played ${first.trackId} at ${first.timestamp}${first.skipLevel !== undefined ? ` (skip ${first.skipLevel})` : ''}`,
  });
}
console.log(
  formatTable(
    [
      { key: 'format' },
      { key: 'rows' },
      { key: 'listens' },
      { key: 'users' },
      { key: 'first', header: 'first listen' },
    ],
    loaded,
  ),
);

// %% 3. Strict by default: a bad row stops the load with every problem listed (file, line, column, value).
// Here the second data row has a timestamp nobody can parse and the third one in the future.
const bad = write(
  'bad.csv',
  [
    'user_id,track_id,timestamp,skip_level',
    'u1,t1,2024-05-01T08:00:00Z,0',
    'u1,t2,yesterday evening,0',
    'u2,t1,2999-01-01T00:00:00Z,1',
    'u2,t3,2024-05-02T10:00:00Z,2',
  ].join('\n'),
);
try {
  await loadListens(bad);
} catch (e) {
  if (!(e instanceof InvalidDataError)) throw e;
  console.log(`\nStrict mode refuses the file:\n${e.name}: ${e.message}`);
}

// %% 4. Lenient mode: onInvalidRow 'skip' keeps the good rows and reports the rest, so nothing disappears silently.
// Every data row is accounted for: rows = listens + issues.
const lenient = await loadListens(bad, { onInvalidRow: 'skip' });
console.log(
  `\nSkip mode: ${lenient.rows} rows = ${lenient.listens.length} listens + ${lenient.issues.length} issues`,
);
for (const issue of lenient.issues) console.log(`  ${formatIssue(issue)}`);

// %% 5. From listens to a Dataset: a track vocabulary and per-listener time-ordered sequences.
// k-core filtering drops listeners and tracks with too few listens (repeatedly, until none are left), which
// removes noise a model cannot learn from. stats() reports what is left and how much was filtered.
const { listens } = await loadListens('data/listens.csv');
const some = FAST ? listens.slice(0, 20_000) : listens;
// Thresholds suited to the amount of data (fast mode has a fifth of it).
const thresholds = FAST ? [1, 5, 10] : [1, 10, 25];
const stats = thresholds.map((k) => {
  const s = Dataset.fromListens(some, { minUserListens: k, minTrackListens: k }).stats();
  return {
    kcore: k,
    users: s.users,
    tracks: s.tracks,
    listens: s.listens,
    filtered: s.filteredListens,
    sessions: s.sessions,
    median: s.medianSequenceLength,
    skipRate: s.skipRate,
    top1: s.top1PercentShare,
  };
});
console.log(`\nThe shipped data (${some.length} listens) at three k-core thresholds:`);
console.log(
  formatTable(
    [
      { key: 'kcore', header: 'k-core' },
      { key: 'users' },
      { key: 'tracks' },
      { key: 'listens' },
      { key: 'filtered' },
      { key: 'sessions' },
      { key: 'median', header: 'median len', digits: 1 },
      { key: 'skipRate', header: 'skip rate', digits: 3 },
      { key: 'top1', header: 'top-1% share', digits: 3 },
    ],
    stats,
  ),
);

// %% 6. A temporal split: everything before a date trains, everything after is held out.
// Unlike leave-one-out, no listen from the future (of anyone) leaks into training.
const dataset = Dataset.fromListens(some, { minUserListens: 5, minTrackListens: 5 });
const { firstTimestamp, lastTimestamp } = dataset.stats();
const at = firstTimestamp + 0.8 * (lastTimestamp - firstTimestamp);
const split = temporalSplit(dataset, { at });
console.log(
  `\nTemporal split at ${new Date(at).toISOString().slice(0, 10)}: ${split.train.numListens} training listens, ` +
    `${split.testListens.length} held-out listens, ${split.test.length} next-track test cases ` +
    `(listeners active on both sides of the cut)`,
);

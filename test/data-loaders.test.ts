// Tests of the data boundary: loaders on a bad-input corpus and on each supported format, and save/load round trips.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import Papa from 'papaparse';
import { afterAll, describe, expect, it } from 'vitest';
import {
  listensToCsv,
  loadListens,
  loadTracks,
  parseTimestamp,
  quoteOpenAfter,
  saveListens,
  saveListensAndTracks,
  saveTracks,
  splitQuotedLine,
} from '../src/data/loaders.js';
import { ListenSchema, TrackSchema } from '../src/data/schemas.js';
import type { Listen, Track } from '../src/data/types.js';
import { InvalidDataError, InvalidOptionError } from '../src/errors.js';
import { removePendingTemps, trackTemp } from '../src/util/fs.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const bad = (name: string) => path.join(here, 'fixtures', 'bad', name);
const fmt = (name: string) => path.join(here, 'fixtures', 'formats', name);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'encore-loaders-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function dataError(p: Promise<unknown>): Promise<InvalidDataError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidDataError);
    return e as InvalidDataError;
  }
  throw new Error('expected an InvalidDataError');
}

describe('loadListens: bad input corpus', () => {
  it('rejects a missing file, a directory and an empty file', async () => {
    const missing = await dataError(loadListens(bad('nope.csv')));
    expect(missing.message).toMatch(/no such file/);
    expect(missing.issues[0]!.file).toBe(bad('nope.csv'));
    const dir = await dataError(loadListens(bad('a-directory')));
    expect(dir.message).toMatch(/is a directory/);
    const empty = await dataError(loadListens(bad('empty.csv'), { onInvalidRow: 'skip' }));
    expect(empty.message).toMatch(/empty/);
  });

  it('rejects a header with no data rows, in both modes', async () => {
    for (const onInvalidRow of ['throw', 'skip'] as const) {
      const e = await dataError(loadListens(bad('header-only.csv'), { onInvalidRow }));
      expect(e.message).toMatch(/no data rows/);
    }
  });

  it('names a missing required column and lists the header found', async () => {
    const e = await dataError(loadListens(bad('missing-column.csv'), { onInvalidRow: 'skip' }));
    expect(e.message).toContain('`timestamp`');
    expect(e.message).toContain('header found: user_id,track_id,ms_played');
    expect(e.issues).toHaveLength(1);
    expect(e.issues[0]).toMatchObject({ line: 1, column: 'timestamp' });
  });

  it('reports wrong types with line, column, value and expected', async () => {
    const e = await dataError(loadListens(bad('wrong-types.csv')));
    const got = e.issues.map((i) => [i.line, i.column, i.value]);
    expect(got).toEqual([
      [3, 'ms_played', 'abc'],
      [4, 'skip_level', '5'],
      [5, 'duration_ms', '-3'],
      [6, 'saved', 'maybe'],
      [7, 'user_id', ''],
      [8, undefined, '3 fields'],
    ]);
    expect(e.issues[1]!.expected).toMatch(/0, 1, 2 or 3/);
    expect(e.issues[2]!.expected).toMatch(/non-negative/);
    expect(e.message).toContain(`${bad('wrong-types.csv')}:line 3 column \`ms_played\`: got "abc" expected`);
  });

  it('skips wrong rows with an exact count and nothing lost', async () => {
    const r = await loadListens(bad('wrong-types.csv'), { onInvalidRow: 'skip' });
    expect(r.rows).toBe(8);
    expect(r.listens).toHaveLength(2);
    expect(r.issues).toHaveLength(6);
    expect(r.listens.length + r.issues.length).toBe(r.rows);
    expect(r.listens[0]).toEqual({
      userId: 'u1',
      trackId: 't1',
      timestamp: 1700000000000,
      msPlayed: 1000,
      durationMs: 2000,
      skipLevel: 0,
      reasonEnd: 'trackdone',
      saved: true,
      context: 'playlist',
      sessionId: 's1',
    });
    expect(r.listens[1]).toEqual({ userId: 'u2', trackId: 't1', timestamp: Date.UTC(2024, 0, 1) });
  });

  it('rejects unparseable, impossible, future and negative timestamps', async () => {
    const e = await dataError(loadListens(bad('bad-timestamps.csv')));
    expect(e.issues.map((i) => [i.line, i.value])).toEqual([
      [3, 'yesterday'],
      [4, '2024-02-30T10:00:00Z'],
      [5, '2999-01-01T00:00:00Z'],
      [7, '-1709287200000'],
      [8, '1969-12-31T00:00:00Z'],
      [9, '0050-06-01T00:00:00Z'],
    ]);
    expect(e.issues[2]!.expected).toMatch(/future/);
    // Before 1970 is not a listening time (and a Listen's timestamp is non-negative, so saving would fail).
    expect(e.issues[4]!.expected).toMatch(/from 1970-01-01/);
    expect(e.issues.every((i) => i.column === 'timestamp')).toBe(true);
    const r = await loadListens(bad('bad-timestamps.csv'), { onInvalidRow: 'skip' });
    expect(r.listens.map((l) => l.timestamp)).toEqual([1709287200000, 1709287200000]);
  });

  it('reads a blank (spaces only) optional field as empty in every optional column', async () => {
    const file = path.join(tmp, 'blank-fields.csv');
    fs.writeFileSync(
      file,
      'user_id,track_id,timestamp,ms_played,duration_ms,skip_level,saved\n' +
        'u1,t1,2024-03-01T10:00:00Z, , ,  , \n' +
        'u1,t2,2024-03-01T10:03:00Z, 1000 ,2000,1,true\n',
    );
    const r = await loadListens(file);
    expect(r.listens[0]).toEqual({ userId: 'u1', trackId: 't1', timestamp: Date.UTC(2024, 2, 1, 10) });
    expect(r.listens[1]).toMatchObject({ msPlayed: 1000, durationMs: 2000, skipLevel: 1, saved: true });
  });

  it('strips a BOM and handles CRLF and blank lines', async () => {
    const r = await loadListens(bad('bom-crlf.csv'), { onInvalidRow: 'skip' });
    expect(r.rows).toBe(4);
    expect(r.listens.map((l) => [l.userId, l.trackId, l.timestamp, l.skipLevel])).toEqual([
      ['u1', 't1', Date.UTC(2024, 2, 1, 10), 0],
      ['u1', 't2', Date.UTC(2024, 2, 1, 10, 3), 2],
      ['u2', 't3', Date.UTC(2024, 2, 1, 10), 3],
    ]);
    expect(r.issues).toEqual([
      {
        file: bad('bom-crlf.csv'),
        line: 5,
        column: 'skip_level',
        value: 'x',
        expected: 'a skip level 0, 1, 2 or 3 (or empty)',
      },
    ]);
  });

  it('reads quoted fields with commas, quotes and newlines and keeps physical line numbers', async () => {
    const r = await loadListens(bad('quoted-multiline.csv'), { onInvalidRow: 'skip' });
    // An id spanning lines is refused: it is what an unbalanced quote that swallowed rows looks like.
    expect(r.issues.map((i) => [i.line, i.value])).toEqual([
      [6, 'not-a-time'],
      [7, 'u\n2'],
      [11, 'bad'],
    ]);
    expect(r.issues[1]!.expected).toMatch(/one line/);
    expect(r.listens).toHaveLength(3);
    expect(r.listens[0]).toEqual({
      userId: 'u1',
      trackId: 'Hello, World',
      timestamp: 1700000000000,
      reasonEnd: 'ended\nafter a\nwhile',
      context: 'album, deluxe',
    });
    expect(r.listens[1]!.trackId).toBe('Say "hi"');
    expect(r.listens[2]).toMatchObject({ context: 'a\nb' });
  });

  it('reports exact duplicates (same user, track and time, any notation)', async () => {
    const e = await dataError(loadListens(bad('duplicates.csv')));
    expect(e.issues.map((i) => [i.line, i.expected.match(/line (\d+)/)?.[1]])).toEqual([
      [4, '2'],
      [6, '2'],
    ]);
    const r = await loadListens(bad('duplicates.csv'), { onInvalidRow: 'skip' });
    expect(r.listens).toHaveLength(3);
    expect(r.issues).toHaveLength(2);
    expect(r.rows).toBe(5);
  });

  it('reports an unclosed quote', async () => {
    const e = await dataError(loadListens(bad('unclosed-quote.csv')));
    expect(e.issues[0]!.line).toBe(3);
    expect(e.issues[0]!.expected).toMatch(/well-formed CSV/);
    const r = await loadListens(bad('unclosed-quote.csv'), { onInvalidRow: 'skip' });
    // The bad line alone is the issue: the line after it is still read.
    expect(r.listens.map((l) => l.trackId)).toEqual(['t1', 't3']);
    expect(r.issues.map((i) => i.line)).toEqual([3]);
    expect(r.listens.length + r.issues.length).toBe(r.rows);
  });

  it('a stray quote costs its own row only, not the rest of the file', async () => {
    const lines = ['user_id,track_id,timestamp'];
    for (let i = 0; i < 1000; i++) lines.push(`u${i % 7},t${i},${1700000000000 + i}`);
    lines[3] = 'u2,"Song "Live"",2000'; // a quoted field closed too early
    lines[500] = 'u3,"t499,1700000000499'; // a quote never closed
    lines[700] = 'u4,12" Remix,1700000000699'; // a quote inside an unquoted field is a literal quote
    const file = path.join(tmp, 'stray-quotes.csv');
    fs.writeFileSync(file, `${lines.join('\r\n')}\r\n`);
    const r = await loadListens(file, { onInvalidRow: 'skip' });
    expect(r.rows).toBe(1000);
    expect(r.issues.map((i) => i.line)).toEqual([4, 501]);
    expect(r.listens).toHaveLength(998);
    expect(r.listens.find((l) => l.userId === 'u4' && l.timestamp === 1700000000699)?.trackId).toBe(
      '12" Remix',
    );
  });

  it('splits a quoted line exactly as papaparse does (property)', () => {
    const line = fc.array(fc.constantFrom('a', ',', '"', ' ', 'b'), { maxLength: 14 }).map((a) => a.join(''));
    fc.assert(
      fc.property(line, (text) => {
        fc.pre(!quoteOpenAfter(text, ',', false)); // an open quote continues on the next line
        const papa = Papa.parse<string[]>(`${text}\n`, { delimiter: ',', newline: '\n' });
        expect(splitQuotedLine(text, ',')).toEqual(papa.errors.length > 0 ? undefined : papa.data[0]);
      }),
      { numRuns: 3000, seed: 7 },
    );
  });

  it('reads a BOM before a quoted header (the "CSV UTF-8" of spreadsheets)', async () => {
    const file = path.join(tmp, 'excel.csv');
    fs.writeFileSync(file, '\uFEFF"user_id","track_id","timestamp"\r\n"u1","t1","1700000000000"\r\n');
    const r = await loadListens(file);
    expect(r.listens).toEqual([{ userId: 'u1', trackId: 't1', timestamp: 1700000000000 }]);
    const tracks = path.join(tmp, 'excel-tracks.csv');
    fs.writeFileSync(tracks, '\uFEFF"track_id","title","artist_id","artist"\n"t1","A ""B""",a1,Band\n');
    expect((await loadTracks(tracks)).tracks[0]!.title).toBe('A "B"');
  });

  it('validates options before reading', async () => {
    // the file does not exist: option errors must come first
    const cases: [Record<string, unknown>, string][] = [
      [{ format: 'parquet' }, 'format'],
      [{ onInvalidRow: 'ignore' }, 'onInvalidRow'],
      [{ columns: { userId: 'uid' } }, 'columns.userId'],
      [{ columns: { user_id: '' } }, 'columns.user_id'],
      [{ columns: { user_id: 'id', track_id: 'id' } }, 'columns.track_id'],
      [{ format: 'mssd', columns: { user_id: 'x' } }, 'columns'],
    ];
    for (const [opts, option] of cases) {
      const err = await loadListens('does-not-exist.csv', opts as never).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidOptionError);
      expect((err as InvalidOptionError).option).toBe(option);
    }
    const err = (await loadListens('x', { format: 'parquet' as never }).catch((e) => e)) as Error;
    expect(err.message).toContain("'listens-csv', 'lastfm-1k', 'mssd', 'sequences'");
    expect(err.message).toContain('"parquet"');
  });

  it('collects at most 100 problems in strict mode', async () => {
    const file = path.join(tmp, 'many-bad.csv');
    const rows = Array.from({ length: 300 }, (_, i) => `u,t${i},nope`);
    fs.writeFileSync(file, `user_id,track_id,timestamp\n${rows.join('\n')}\n`);
    const e = await dataError(loadListens(file));
    expect(e.issues).toHaveLength(100);
    expect(e.message).toMatch(/stopped after 100/);
    const r = await loadListens(file, { onInvalidRow: 'skip' });
    expect(r.issues).toHaveLength(300);
    expect(r.issues[299]!.line).toBe(301);
  });
});

describe('loadListens: formats', () => {
  it('maps custom column names and ignores extra columns', async () => {
    const r = await loadListens(fmt('mapped-columns.csv'), {
      columns: { user_id: 'uid', track_id: 'song', timestamp: 'played_at', ms_played: 'ms' },
    });
    expect(r.listens).toEqual([
      { userId: 'alice', trackId: 's1', timestamp: Date.UTC(2024, 4, 1, 8), msPlayed: 180000 },
      { userId: 'alice', trackId: 's2', timestamp: Date.UTC(2024, 4, 1, 8, 3) },
      { userId: 'bob', trackId: 's1', timestamp: 1714550400000, msPlayed: 5000 },
    ]);
    const e = await dataError(loadListens(fmt('mapped-columns.csv'), { columns: { user_id: 'uid' } }));
    expect(e.message).toContain('`track_id`');
  });

  it('trims spaces around ids and refuses an id of spaces only', async () => {
    const file = path.join(tmp, 'spaced-ids.csv');
    fs.writeFileSync(file, 'user_id,track_id,timestamp\n u1 , t1 ,1700000000000\nu1,t2,1700000001000\n');
    const r = await loadListens(file);
    expect(r.listens.map((l) => [l.userId, l.trackId])).toEqual([
      ['u1', 't1'],
      ['u1', 't2'],
    ]);
    const blank = path.join(tmp, 'blank-id.csv');
    fs.writeFileSync(blank, 'user_id,track_id,timestamp\nu1,   ,1700000000000\n');
    const e = await dataError(loadListens(blank));
    expect(e.issues[0]).toMatchObject({ line: 2, column: 'track_id', value: '   ' });
  });

  it('refuses a mapped header that another column reads under its own name', async () => {
    const file = path.join(tmp, 'clash.csv');
    fs.writeFileSync(file, 'user_id,track_id,timestamp,context\nu1,t1,1700000000000,album\n');
    for (const [columns, option, other] of [
      [{ user_id: 'track_id' }, 'columns.user_id', 'track_id'],
      [{ context: 'timestamp' }, 'columns.context', 'timestamp'],
    ] as const) {
      const err = await loadListens(file, { columns }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidOptionError);
      expect((err as InvalidOptionError).option).toBe(option);
      expect((err as Error).message).toContain(`\`${other}\``);
    }
  });

  it('reads Last.fm 1K TSV, falling back to "artist - track" ids', async () => {
    const r = await loadListens(fmt('lastfm-1k.tsv'), { format: 'lastfm-1k' });
    expect(r.rows).toBe(3);
    expect(r.listens).toEqual([
      {
        userId: 'user_000001',
        trackId: 'Deep Dish - Fuck Me Im Famous (Pacha Ibiza)-09-28-2007',
        timestamp: Date.parse('2009-05-04T23:08:57Z'),
        artistId: 'f1b1cf71-bd35-4e99-8624-24a6e15f133a',
      },
      {
        userId: 'user_000001',
        trackId: 'f7c1f8f8-b935-45ed-8fc8-7def69d92a10',
        timestamp: Date.parse('2009-05-04T13:54:10Z'),
        artistId: 'a7f7df4a-77d8-4f12-8acd-5c60c93f4de8',
      },
      {
        userId: 'user_000002',
        trackId: 'The Beatles - Hey "Jude", again',
        timestamp: Date.parse('2009-05-03T15:48:25Z'),
        artistId: '6fa26b1b-cf98-4fb6-bde4-b24d6b6b7ae1',
      },
    ]);
  });

  it('returns each Last.fm track with its artist id, for artist embeddings', async () => {
    const r = await loadListens(fmt('lastfm-1k.tsv'), { format: 'lastfm-1k' });
    expect(r.tracks?.map((t) => [t.trackId, t.artistId, t.artist])).toEqual([
      [
        'Deep Dish - Fuck Me Im Famous (Pacha Ibiza)-09-28-2007',
        'f1b1cf71-bd35-4e99-8624-24a6e15f133a',
        'Deep Dish',
      ],
      ['f7c1f8f8-b935-45ed-8fc8-7def69d92a10', 'a7f7df4a-77d8-4f12-8acd-5c60c93f4de8', '坂本龍一'],
      ['The Beatles - Hey "Jude", again', '6fa26b1b-cf98-4fb6-bde4-b24d6b6b7ae1', 'The Beatles'],
    ]);
    // Every listen's track is in the catalogue; other formats have none.
    expect(new Set(r.tracks?.map((t) => t.trackId))).toEqual(new Set(r.listens.map((l) => l.trackId)));
    expect((await loadListens(fmt('sequences-pairs.txt'), { format: 'sequences' })).tracks).toBeUndefined();
  });

  it('reports Last.fm lines with a wrong number of fields by physical line', async () => {
    const file = path.join(tmp, 'lastfm-bad.tsv');
    fs.writeFileSync(file, 'u1\t2009-05-04T23:08:57Z\ta\tA\ttr\tT\nu1\t2009-05-04T23:08:57Z\ta\n');
    const e = await dataError(loadListens(file, { format: 'lastfm-1k' }));
    expect(e.issues).toEqual([
      { file, line: 2, value: '3 fields', expected: expect.stringMatching(/^6 tab-separated/) },
    ]);
  });

  it('reads MSSD rows without a context or an end reason, leaving those fields out', async () => {
    const header = fs.readFileSync(fmt('mssd.csv'), 'utf8').split('\n')[0]!;
    const cols = header.split(',');
    const row = (values: Record<string, string>) => cols.map((c) => values[c] ?? '0').join(',');
    const base = { session_id: 's1', track_id_clean: 't1', skip_1: 'false', skip_2: 'false', skip_3: 'true' };
    const more = { not_skipped: 'false', date: '2018-07-15', premium: 'true' };
    const file = path.join(tmp, 'mssd-gaps.csv');
    fs.writeFileSync(
      file,
      [
        header,
        row({
          ...base,
          ...more,
          session_position: '1',
          context_type: '',
          hist_user_behavior_reason_end: 'fwdbtn',
        }),
        row({
          ...base,
          ...more,
          session_position: '2',
          context_type: 'radio',
          hist_user_behavior_reason_end: '',
        }),
        row({
          ...base,
          ...more,
          session_position: '3',
          context_type: 'radio',
          hist_user_behavior_reason_end: 'endplay',
        }),
      ].join('\n'),
    );
    const day = Date.UTC(2018, 6, 15);
    const common = { userId: 's1', trackId: 't1', skipLevel: 3, sessionId: 's1' };
    expect((await loadListens(file, { format: 'mssd' })).listens).toStrictEqual([
      { ...common, timestamp: day + 1000, reasonEnd: 'fwdbtn' },
      { ...common, timestamp: day + 2000, context: 'radio' },
      { ...common, timestamp: day + 3000, reasonEnd: 'endplay', context: 'radio' },
    ]);
  });

  it('reads MSSD logs: session as user, date + position as time, earliest skip flag as level', async () => {
    const r = await loadListens(fmt('mssd.csv'), { format: 'mssd' });
    const s1 = '0_00006f66-33e5-4de7-a324-2d18e439fc1e';
    const day = Date.UTC(2018, 6, 15);
    expect(r.listens.slice(0, 3)).toEqual([
      {
        userId: s1,
        sessionId: s1,
        trackId: 't_0479f24c-27d2-41d6-a00c-7ec928f2b539',
        timestamp: day + 1000,
        skipLevel: 0,
        context: 'editorial_playlist',
        reasonEnd: 'trackdone',
      },
      expect.objectContaining({ timestamp: day + 2000, skipLevel: 1, reasonEnd: 'fwdbtn' }),
      expect.objectContaining({ timestamp: day + 3000, skipLevel: 2 }),
    ]);
    expect(r.listens.map((l) => l.skipLevel)).toEqual([0, 1, 2, 3, 0]);
    expect(r.listens[3]!.userId).toBe('0_0001b3a8-1a6e-4e8b-a8a1-55d5fdbe81b0');
    // Two tracks at one position of a session would tie in time: a bad row naming the position.
    const lines = fs.readFileSync(fmt('mssd.csv'), 'utf8').trimEnd().split('\n');
    const header = lines[0]!.split(',');
    const second = lines[2]!.split(',');
    second[header.indexOf('session_position')] = '1';
    second[header.indexOf('track_id_clean')] = 't_other';
    const twice = path.join(tmp, 'mssd-twice.csv');
    fs.writeFileSync(twice, `${[lines[0], lines[1], second.join(',')].join('\n')}\n`);
    const e = await dataError(loadListens(twice, { format: 'mssd' }));
    expect(e.issues[0]).toMatchObject({ line: 3, column: 'session_position', value: '1' });
  });

  it('reads both styles of sequence files with increasing synthetic timestamps', async () => {
    const pairs = await loadListens(fmt('sequences-pairs.txt'), { format: 'sequences' });
    const lines = await loadListens(fmt('sequences-lines.txt'), { format: 'sequences' });
    const byUser = (ls: Listen[]) => {
      const m: Record<string, [string, number][]> = {};
      for (const l of ls) {
        m[l.userId] = [...(m[l.userId] ?? []), [l.trackId, l.timestamp]];
      }
      return m;
    };
    expect(byUser(pairs.listens)).toEqual({
      '1': [
        ['10', 0],
        ['11', 1],
        ['12', 2],
      ],
      '2': [
        ['10', 0],
        ['13', 1],
        ['14', 2],
      ],
    });
    expect(pairs.rows).toBe(6);
    expect(byUser(lines.listens)).toEqual({
      u1: [
        ['10', 0],
        ['11', 1],
        ['12', 2],
      ],
      u2: [
        ['10', 0],
        ['13', 1],
        ['14', 2],
      ],
      u3: [['7', 0]],
    });
    const file = path.join(tmp, 'seq-bad.txt');
    fs.writeFileSync(file, 'u1 1 2\nlonely\n');
    const e = await dataError(loadListens(file, { format: 'sequences' }));
    expect(e.issues[0]).toMatchObject({ line: 2, value: 'lonely' });
    expect(lines.rows).toBe(7);
    const skipped = await loadListens(file, { format: 'sequences', onInvalidRow: 'skip' });
    expect([skipped.listens.length, skipped.issues.length, skipped.rows]).toEqual([2, 1, 3]);
    // A header line is not read as a listener "user_id" who played "item_id".
    const headed = path.join(tmp, 'seq-header.txt');
    fs.writeFileSync(headed, 'user_id:token item_id:token\n1 10\n1 13\n');
    const h = await dataError(loadListens(headed, { format: 'sequences' }));
    expect(h.issues[0]).toMatchObject({ line: 1, value: 'user_id:token item_id:token' });
    expect(h.issues[0]!.expected).toMatch(/not a header line/);
  });
});

describe("loadListens: the Million Playlist Dataset ('mpd')", () => {
  const dir = fmt('mpd');
  const entry = (pos: number, uri: string, extra: Record<string, unknown> = {}) => ({
    pos,
    track_uri: uri,
    artist_uri: `spotify:artist:${uri}`,
    artist_name: `Artist ${uri}`,
    track_name: `Song ${uri}`,
    duration_ms: 200_000,
    ...extra,
  });
  const slice = (playlists: unknown[]) => JSON.stringify({ info: { slice: 'test' }, playlists }, null, 4);
  const writeDir = (name: string, files: Record<string, string>) => {
    const d = path.join(tmp, name);
    fs.mkdirSync(d, { recursive: true });
    for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(d, f), text);
    return d;
  };

  it('reads a directory of slices: each playlist a listener, its tracks in pos order', async () => {
    const r = await loadListens(dir, { format: 'mpd' });
    expect(r.rows).toBe(7);
    expect(r.issues).toEqual([]);
    const t0 = 1493424000 * 1000;
    expect(r.listens.slice(0, 3)).toEqual([
      {
        userId: '0',
        trackId: 'spotify:track:0UaMYEvWZi0ZqiDOoHU3YI',
        timestamp: t0,
        context: 'playlist',
        artistId: 'spotify:artist:2wIVse2owClT7go1WT98tk',
      },
      {
        userId: '0',
        trackId: 'spotify:track:6I9VzXrHxO9rA9A5euc8Ak',
        timestamp: t0 + 1,
        context: 'playlist',
        artistId: 'spotify:artist:26dSoYclwsYLMAKD3tpOr4',
      },
      {
        userId: '0',
        trackId: 'spotify:track:0WqIKmW4BTrj3eJFmnCKMv',
        timestamp: t0 + 2,
        context: 'playlist',
        artistId: 'spotify:artist:6vWDO969PvNqNYHIOW5v0m',
      },
    ]);
    // Slices in order, playlists in file order.
    expect([...new Set(r.listens.map((l) => l.userId))]).toEqual(['0', '1', '2']);
    for (const l of r.listens) expect(ListenSchema.safeParse(l).success).toBe(true);
    // One catalogue entry per track, first appearance first, with artist, title and duration.
    expect(r.tracks).toHaveLength(4);
    expect(r.tracks![1]).toEqual({
      trackId: 'spotify:track:0WqIKmW4BTrj3eJFmnCKMv',
      title: 'Crazy In Love',
      artistId: 'spotify:artist:6vWDO969PvNqNYHIOW5v0m',
      artist: 'Beyoncé',
      durationMs: 235933,
    });
    for (const t of r.tracks!) expect(TrackSchema.safeParse(t).success).toBe(true);
    // One slice alone reads the same as its part of the directory.
    const one = await loadListens(path.join(dir, 'mpd.slice.2-2.json'), { format: 'mpd' });
    expect(one.listens).toEqual(r.listens.filter((l) => l.userId === '2'));
  });

  it('feeds Dataset and leaveOneOut like any listening log', async () => {
    const { Dataset } = await import('../src/data/dataset.js');
    const { leaveOneOut } = await import('../src/data/splits.js');
    const ds = Dataset.fromListens((await loadListens(dir, { format: 'mpd' })).listens);
    expect(ds.stats().users).toBe(3);
    const { test } = leaveOneOut(ds);
    expect(test).toEqual([
      {
        userId: '0',
        history: ['spotify:track:0UaMYEvWZi0ZqiDOoHU3YI', 'spotify:track:6I9VzXrHxO9rA9A5euc8Ak'],
        target: 'spotify:track:0WqIKmW4BTrj3eJFmnCKMv',
      },
    ]);
  });

  it('orders slices by their first playlist number, and takes a bare array of playlists', async () => {
    const d = writeDir('mpd-order', {
      'mpd.slice.10-19.json': slice([{ pid: 10, modified_at: 1500000000, tracks: [entry(0, 'b')] }]),
      'mpd.slice.2-9.json': JSON.stringify([{ pid: 2, tracks: [entry(0, 'a')] }]),
      'README.md': 'not a slice',
    });
    const r = await loadListens(d, { format: 'mpd' });
    expect(r.listens.map((l) => [l.userId, l.timestamp])).toEqual([
      ['2', 0], // no modified_at (as in the challenge set): time 0 plus pos
      ['10', 1500000000000],
    ]);
  });

  it('names each problem by file and JSON path, strict and in skip mode, losing nothing', async () => {
    const d = writeDir('mpd-bad', {
      'mpd.slice.0-2.json': slice([
        {
          pid: 0,
          modified_at: 1500000000,
          tracks: [entry(0, 'a'), entry(1, ''), entry(0, 'c'), entry(2, 'd', { duration_ms: -5 })],
        },
        { pid: 'one', tracks: [entry(0, 'a')] },
        { pid: 2, modified_at: 4102444800, tracks: [entry(0, 'a')] },
      ]),
      'mpd.slice.3-3.json': slice([
        { pid: 0, tracks: [entry(0, 'a'), entry(1, 'b')] },
        'oops',
        { pid: 3, tracks: {} },
      ]),
    });
    const file0 = path.join(d, 'mpd.slice.0-2.json');
    const file1 = path.join(d, 'mpd.slice.3-3.json');
    const e = await dataError(loadListens(d, { format: 'mpd' }));
    expect(e.issues).toEqual([
      {
        file: file0,
        column: 'playlists[0].tracks[1].track_uri',
        value: '',
        expected: 'a non-empty track URI',
      },
      {
        file: file0,
        column: 'playlists[0].tracks[2].pos',
        value: '0',
        expected: 'a position not already used (tracks[0])',
      },
      {
        file: file0,
        column: 'playlists[0].tracks[3].duration_ms',
        value: '-5',
        expected: 'a non-negative integer (or absent)',
      },
      {
        file: file0,
        column: 'playlists[1].pid',
        value: 'one',
        expected: 'a non-negative integer playlist id',
      },
      {
        file: file0,
        column: 'playlists[2].modified_at',
        value: '4102444800',
        expected: 'a time not in the future (at most 1 day after now)',
      },
      {
        file: file1,
        column: 'playlists[0].pid',
        value: '0',
        expected: 'a playlist id not already used (mpd.slice.0-2.json playlists[0])',
      },
      { file: file1, column: 'playlists[1]', value: 'oops', expected: 'a playlist object' },
      { file: file1, column: 'playlists[2].tracks', value: '{}', expected: 'an array of tracks' },
    ]);
    expect(e.message).toContain('8 invalid rows');
    const r = await loadListens(d, { format: 'mpd', onInvalidRow: 'skip' });
    expect(r.issues).toEqual(e.issues);
    expect(r.listens.map((l) => l.trackId)).toEqual(['a']);
    // Four entries of playlist 0, and one row for each of the five playlists that could not be read.
    expect(r.rows).toBe(4 + 5);
    expect(r.listens.length + r.issues.length).toBe(r.rows);
  });

  it('gives the line and column of a JSON syntax error, and refuses what is not a slice', async () => {
    const d = writeDir('mpd-syntax', {
      'mpd.slice.0-0.json':
        '{\n  "playlists": [\n    { "pid": 0, "tracks": [] },\n    { "pid": 1 "tracks": [] }\n  ]\n}\n',
    });
    const e = await dataError(loadListens(d, { format: 'mpd' }));
    expect(e.message).toContain('not valid JSON at line 4, column 16 (CommaExpected)');
    expect(e.issues[0]).toMatchObject({ file: path.join(d, 'mpd.slice.0-0.json'), line: 4 });

    const wrong = writeDir('mpd-shape', { 'a.json': '{"info": {}}' });
    expect((await dataError(loadListens(wrong, { format: 'mpd' }))).issues[0]).toMatchObject({
      column: 'playlists',
      value: 'nothing',
    });
    const empty = writeDir('mpd-empty', { 'notes.txt': 'x' });
    expect((await dataError(loadListens(empty, { format: 'mpd' }))).message).toContain(
      'has none of the expected .json files',
    );
    expect((await dataError(loadListens(path.join(tmp, 'nope'), { format: 'mpd' }))).message).toContain(
      'no such file or directory',
    );
    // Other formats still refuse a directory.
    expect((await dataError(loadListens(dir))).message).toContain('it is a directory');
  });

  it('names a compressed download instead of reading it as text', async () => {
    const gz = path.join(tmp, 'userid-timestamp-artid-artname-traid-traname.tsv.gz');
    fs.writeFileSync(gz, gzipSync('user_000001\t2009-05-04T23:08:57Z\t\tA\t\tB\n'));
    const e = await dataError(loadListens(gz, { format: 'lastfm-1k' }));
    expect(e.message).toMatch(/it is gzip-compressed; gunzip it/);
    const zip = path.join(tmp, 'my_spotify_data.zip');
    fs.writeFileSync(zip, Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00]));
    expect((await dataError(loadListens(zip, { format: 'spotify-history' }))).message).toMatch(
      /a zip archive; unzip it/,
    );
    const emptyJson = path.join(tmp, 'mpd.slice.0-999.json');
    fs.writeFileSync(emptyJson, '');
    expect((await dataError(loadListens(emptyJson, { format: 'mpd' }))).issues[0]!.expected).toMatch(
      /MPD slice files/,
    );
  });
});

describe("loadListens: Spotify streaming history ('spotify-history')", () => {
  const dir = fmt('spotify-history');
  const crazy = 'spotify:track:0WqIKmW4BTrj3eJFmnCKMv';

  it('reads an extended-history folder: plays as listens, skips as levels, podcasts counted apart', async () => {
    const strict = await dataError(loadListens(dir, { format: 'spotify-history' }));
    const file1 = path.join(dir, 'Streaming_History_Audio_2023_1.json');
    expect(strict.issues).toEqual([
      {
        file: file1,
        column: '[1]',
        value: `me,${crazy},${Date.parse('2023-03-01T08:03:10Z')}`,
        expected:
          'a listen that is not an exact duplicate (same user, track and timestamp) of Streaming_History_Audio_2023_0.json [0]',
      },
    ]);
    const r = await loadListens(dir, { format: 'spotify-history', onInvalidRow: 'skip' });
    expect(r.listens).toEqual([
      {
        userId: 'me',
        trackId: crazy,
        timestamp: Date.parse('2023-03-01T08:03:10Z'),
        msPlayed: 190000,
        reasonEnd: 'trackdone',
        skipLevel: 0,
        artistId: 'Beyoncé',
      },
      {
        userId: 'me',
        trackId: 'spotify:track:6I9VzXrHxO9rA9A5euc8Ak',
        timestamp: Date.parse('2023-03-01T08:03:14Z'),
        msPlayed: 4000,
        reasonEnd: 'fwdbtn',
        skipLevel: 1, // skipped within 10 s: "very brief"
        artistId: 'Britney Spears',
      },
      {
        userId: 'me',
        trackId: 'spotify:track:1AWQoqb9bSvzTjaLralEkT',
        timestamp: Date.parse('2023-03-01T08:04:00Z'),
        msPlayed: 46000,
        reasonEnd: 'fwdbtn',
        skipLevel: 2, // skipped later: "brief" (the export has no duration to say more)
        artistId: 'Justin Timberlake',
      },
      // A local file has no URI: "artist - track", as for Last.fm.
      {
        userId: 'me',
        trackId: 'Me - Home Demo',
        timestamp: Date.parse('2023-03-01T09:05:00Z'),
        msPlayed: 200000,
        reasonEnd: 'endplay',
        artistId: 'Me',
      },
      {
        userId: 'me',
        trackId: crazy,
        timestamp: Date.parse('2023-03-02T10:00:00Z'),
        msPlayed: 190000,
        reasonEnd: 'trackdone',
        skipLevel: 0,
        artistId: 'Beyoncé',
      },
    ]);
    expect(r.ignored).toEqual({ 'podcast episode': 1, 'no track': 1, 'audiobook chapter': 1 });
    expect(r.listens.length + r.issues.length).toBe(r.rows);
    expect(r.tracks?.map((t) => [t.trackId, t.artistId, t.title])).toEqual([
      [crazy, 'Beyoncé', 'Crazy In Love'],
      ['spotify:track:6I9VzXrHxO9rA9A5euc8Ak', 'Britney Spears', 'Toxic'],
      ['spotify:track:1AWQoqb9bSvzTjaLralEkT', 'Justin Timberlake', 'Rock Your Body'],
      ['Me - Home Demo', 'Me', 'Home Demo'],
    ]);
    for (const l of r.listens) expect(ListenSchema.safeParse(l).success).toBe(true);
  });

  it("reads the account data's basic history, and names the listener with userId", async () => {
    const r = await loadListens(fmt('spotify-basic-StreamingHistory_music_0.json'), {
      format: 'spotify-history',
      userId: 'ana',
    });
    expect(r.listens).toEqual([
      {
        userId: 'ana',
        trackId: 'Missy Elliott - Lose Control',
        timestamp: Date.UTC(2023, 4, 1, 21, 34),
        msPlayed: 226863,
        artistId: 'Missy Elliott',
      },
      {
        userId: 'ana',
        trackId: 'Britney Spears - Toxic',
        timestamp: Date.UTC(2023, 4, 1, 21, 38),
        msPlayed: 198800,
        artistId: 'Britney Spears',
      },
      {
        userId: 'ana',
        trackId: 'Missy Elliott - Lose Control',
        timestamp: Date.UTC(2023, 4, 1, 21, 42),
        msPlayed: 226863,
        artistId: 'Missy Elliott',
      },
    ]);
    expect(r.ignored).toEqual({});
    const e = await loadListens(dir, { format: 'mpd', userId: 'ana' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(InvalidOptionError);
    expect((e as Error).message).toContain('userId');
  });

  it('names bad entries by file and index, and refuses a file that is not a history', async () => {
    const d = path.join(tmp, 'spotify-bad');
    fs.mkdirSync(d, { recursive: true });
    const file = path.join(d, 'Streaming_History_Audio_2024_0.json');
    fs.writeFileSync(
      file,
      JSON.stringify([
        { ts: 'yesterday', ms_played: 1, spotify_track_uri: 'spotify:track:a' },
        { ts: '2024-01-01T00:00:00Z', ms_played: -1, spotify_track_uri: 'spotify:track:a' },
        { ts: '2024-01-01T00:00:00Z', ms_played: 5, spotify_track_uri: 'spotify:track:b' },
        7,
      ]),
    );
    const e = await dataError(loadListens(d, { format: 'spotify-history' }));
    expect(e.issues.map((i) => [i.column, i.value])).toEqual([
      ['[0].ts', 'yesterday'],
      ['[1].ms_played', '-1'],
      ['[3]', '7'],
    ]);
    const r = await loadListens(d, { format: 'spotify-history', onInvalidRow: 'skip' });
    expect(r.rows).toBe(4);
    expect(r.listens.map((l) => l.trackId)).toEqual(['spotify:track:b']);

    const notHistory = path.join(d, 'StreamingHistory_music_1.json');
    fs.writeFileSync(notHistory, '{"a": 1}');
    expect((await dataError(loadListens(notHistory, { format: 'spotify-history' }))).message).toContain(
      'not a streaming-history file',
    );
    const podcasts = path.join(tmp, 'StreamingHistory_podcast_0.json');
    fs.writeFileSync(
      podcasts,
      JSON.stringify([{ endTime: '2023-05-01 21:34', podcastName: 'P', episodeName: 'E', msPlayed: 1 }]),
    );
    expect((await dataError(loadListens(podcasts, { format: 'spotify-history' }))).message).toContain(
      'no music streams, only {"podcast episode":1}',
    );
  });
});

describe('loadTracks', () => {
  it('loads the tracks CSV', async () => {
    const r = await loadTracks(fmt('tracks.csv'));
    expect(r.tracks).toEqual([
      {
        trackId: 't1',
        title: 'Song, with comma',
        artistId: 'a1',
        artist: 'Band',
        genre: 'rock',
        durationMs: 200000,
        features: [0.1, -0.25, 3],
      },
      { trackId: 't2', title: 'Plain', artistId: 'a1', artist: 'Band' },
    ]);
  });

  it('reports duplicate ids, bad features and negative durations', async () => {
    const e = await dataError(loadTracks(bad('bad-tracks.csv')));
    expect(e.issues.map((i) => [i.line, i.column])).toEqual([
      [4, 'track_id'],
      [5, 'features'],
      [6, 'duration_ms'],
    ]);
    expect(e.issues[0]!.expected).toContain('line 2');
    const r = await loadTracks(bad('bad-tracks.csv'), { onInvalidRow: 'skip' });
    expect(r.tracks.map((t) => t.trackId)).toEqual(['t1', 't2']);
    expect(r.tracks.length + r.issues.length).toBe(r.rows);
  });
});

describe('save / load', () => {
  const listens: Listen[] = [
    {
      userId: 'u,1',
      trackId: 'track "quoted"',
      timestamp: 1700000000123,
      msPlayed: 0,
      durationMs: 215000,
      skipLevel: 3,
      reasonEnd: 'line\nbreak',
      saved: false,
      context: ' padded ',
      sessionId: 's-1',
    },
    { userId: 'u2', trackId: 't2', timestamp: 0 },
    { userId: 'u2', trackId: 't3', timestamp: 5, saved: true, skipLevel: 0 },
  ];

  it('writes canonical bytes', () => {
    expect(listensToCsv([{ userId: 'u1', trackId: 't1', timestamp: 7, saved: true }])).toBe(
      'user_id,track_id,timestamp,ms_played,duration_ms,skip_level,reason_end,saved,context,session_id\nu1,t1,7,,,,,true,,\n',
    );
  });

  it('reads and writes an artist_id column, only when some listen names an artist', async () => {
    const named: Listen[] = [
      { userId: 'u1', trackId: 't1', timestamp: 7, artistId: 'a,1' },
      { userId: 'u1', trackId: 't2', timestamp: 8 },
    ];
    expect(listensToCsv(named)).toBe(
      'user_id,track_id,timestamp,ms_played,duration_ms,skip_level,reason_end,saved,context,session_id,artist_id\n' +
        'u1,t1,7,,,,,,,,"a,1"\nu1,t2,8,,,,,,,,\n',
    );
    const file = path.join(tmp, 'artists.csv');
    await saveListens(file, named);
    expect((await loadListens(file)).listens).toEqual(named);
    // Another header name maps in with `columns`; a blank artist is no artist.
    const mapped = path.join(tmp, 'artists-mapped.csv');
    fs.writeFileSync(mapped, 'user_id,track_id,timestamp,artist\nu1,t1,7,Band\nu1,t2,8,\n');
    expect((await loadListens(mapped, { columns: { artist_id: 'artist' } })).listens).toEqual([
      { userId: 'u1', trackId: 't1', timestamp: 7, artistId: 'Band' },
      { userId: 'u1', trackId: 't2', timestamp: 8 },
    ]);
    const e = await dataError(
      saveListens(file, [{ userId: 'u1', trackId: 't1', timestamp: 7, artistId: '' }]),
    );
    expect(e.issues[0]).toMatchObject({ column: 'artistId' });
  });

  it('refuses to write what loading would refuse: future times, duplicate listens, repeated track ids', async () => {
    const file = path.join(tmp, 'unreadable.csv');
    const future = Date.now() + 3 * 86_400_000;
    const e = await dataError(
      saveListens(file, [
        { userId: 'u1', trackId: 't1', timestamp: 5 },
        { userId: 'u1', trackId: 't1', timestamp: future },
        { userId: 'u1', trackId: 't1', timestamp: 5 },
      ]),
    );
    expect(e.issues.map((i) => [i.line, i.column])).toEqual([
      [3, 'timestamp'],
      [4, undefined],
    ]);
    expect(e.issues[1]!.expected).toMatch(/exact duplicate of listen #0/);
    expect(fs.existsSync(file)).toBe(false);
    const t = await dataError(
      saveTracks(path.join(tmp, 'dup-tracks.csv'), [
        { trackId: 'a', title: '', artistId: 'x', artist: 'X' },
        { trackId: 'a', title: 'again', artistId: 'x', artist: 'X' },
      ]),
    );
    expect(t.issues[0]).toMatchObject({ line: 3, column: 'track_id', value: 'a' });
    const spaced = await dataError(saveListens(file, [{ userId: 'u1 ', trackId: 't1', timestamp: 5 }]));
    expect(spaced.issues[0]).toMatchObject({ line: 2, column: 'user_id', value: 'u1 ' });
    expect(spaced.issues[0]!.expected).toMatch(/spaces around it/);
    const spacedTrack = await dataError(
      saveTracks(path.join(tmp, 'spaced-tracks.csv'), [
        { trackId: ' a', title: '', artistId: 'x', artist: 'X' },
      ]),
    );
    expect(spacedTrack.issues[0]).toMatchObject({ line: 2, column: 'track_id', value: ' a' });
    for (const save of [() => saveListens(file, []), () => saveTracks(file, [])]) {
      const err = await save().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidOptionError);
      expect((err as Error).message).toMatch(/at least one/);
    }
    expect(fs.existsSync(file)).toBe(false);
  });

  it('saves a catalogue and its listens as one: an invalid listen leaves both earlier files as they were', async () => {
    const lf = path.join(tmp, 'pair-listens.csv');
    const tf_ = path.join(tmp, 'pair-tracks.csv');
    const tracks: Track[] = [{ trackId: 't1', title: 'A', artistId: 'a', artist: 'A' }];
    await saveListensAndTracks(lf, [{ userId: 'u', trackId: 't1', timestamp: 1 }], tf_, tracks);
    const before = [fs.readFileSync(lf, 'utf8'), fs.readFileSync(tf_, 'utf8')];
    const newTracks = [...tracks, { trackId: 't2', title: 'B', artistId: 'b', artist: 'B' }];
    await dataError(
      saveListensAndTracks(lf, [{ userId: 'u', trackId: 't2', timestamp: 1.5 }], tf_, newTracks),
    );
    expect([fs.readFileSync(lf, 'utf8'), fs.readFileSync(tf_, 'utf8')]).toEqual(before);
    expect(fs.readdirSync(tmp).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    // What a process interrupted mid-write leaves is removed by removePendingTemps (the CLI's Ctrl-C).
    const half = path.join(tmp, '.half.tmp');
    fs.writeFileSync(half, 'x');
    const done = trackTemp(half);
    removePendingTemps();
    done();
    expect(fs.existsSync(half)).toBe(false);
  });

  it('round-trips listens and tracks exactly, with byte-identical rewrites', async () => {
    const file = path.join(tmp, 'listens.csv');
    await saveListens(file, listens);
    const back = await loadListens(file);
    expect(back.listens).toStrictEqual(listens);
    const first = fs.readFileSync(file);
    await saveListens(file, back.listens);
    expect(fs.readFileSync(file).equals(first)).toBe(true);
    expect(fs.readdirSync(tmp).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    const tracks: Track[] = [
      {
        trackId: 't1',
        title: 'A, "B"',
        artistId: 'a',
        artist: 'X\nY',
        genre: 'jazz',
        durationMs: 1,
        features: [1e-7, -2.5],
      },
      { trackId: 't2', title: '', artistId: '', artist: '' },
    ];
    const tfile = path.join(tmp, 'tracks.csv');
    await saveTracks(tfile, tracks);
    expect((await loadTracks(tfile)).tracks).toStrictEqual(tracks);
  });

  it('refuses to save invalid listens and writes nothing', async () => {
    const file = path.join(tmp, 'never.csv');
    const e = await dataError(saveListens(file, [{ userId: 'u', trackId: 't', timestamp: 1.5 }]));
    expect(e.issues[0]).toMatchObject({ line: 2, column: 'timestamp' });
    expect(fs.existsSync(file)).toBe(false);
  });

  it('round-trips arbitrary valid listens (property)', async () => {
    const text = fc.string({ minLength: 1, maxLength: 8 });
    const id = text.filter((s) => s.trim() === s); // loadListens trims ids
    const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
    const listenArb = fc
      .record({
        userId: id,
        trackId: id,
        timestamp: fc.integer({ min: 0, max: Date.now() }),
        msPlayed: opt(fc.nat()),
        durationMs: opt(fc.nat()),
        skipLevel: opt(fc.constantFrom(0 as const, 1 as const, 2 as const, 3 as const)),
        reasonEnd: opt(text),
        saved: opt(fc.boolean()),
        context: opt(text),
        sessionId: opt(text),
        artistId: opt(text),
      })
      .map(
        (r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)) as unknown as Listen,
      );
    const file = path.join(tmp, 'prop.csv');
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(listenArb, {
          minLength: 1,
          maxLength: 20,
          selector: (l) => `${l.userId}\0${l.trackId}\0${l.timestamp}`,
        }),
        async (ls) => {
          for (const l of ls) ListenSchema.parse(l);
          await saveListens(file, ls);
          const back = await loadListens(file);
          expect(back.listens).toStrictEqual(ls);
        },
      ),
      { numRuns: 40, seed: 42 },
    );
  });
});

describe('schemas and timestamps', () => {
  it('validates tracks and listens', () => {
    expect(TrackSchema.safeParse({ trackId: 't', title: '', artistId: '', artist: '' }).success).toBe(true);
    expect(TrackSchema.safeParse({ trackId: '', title: '', artistId: '', artist: '' }).success).toBe(false);
    expect(ListenSchema.safeParse({ userId: 'u', trackId: 't', timestamp: 1, skipLevel: 4 }).success).toBe(
      false,
    );
    expect(ListenSchema.safeParse({ userId: 'u', trackId: 't', timestamp: Number.NaN }).success).toBe(false);
  });

  it('parses ISO 8601 with zones and epoch ms', () => {
    expect(parseTimestamp('2024-01-01')).toBe(Date.UTC(2024, 0, 1));
    expect(parseTimestamp('2024-01-01T10:00')).toBe(Date.UTC(2024, 0, 1, 10));
    expect(parseTimestamp('2024-01-01T10:00:00.5+02:00')).toBe(Date.UTC(2024, 0, 1, 8, 0, 0, 500));
    expect(parseTimestamp('2024-01-01T10:00:00-0130')).toBe(Date.UTC(2024, 0, 1, 11, 30));
    expect(parseTimestamp('1700000000000')).toBe(1700000000000);
    expect(parseTimestamp('2024-13-01')).toBeUndefined();
    expect(parseTimestamp('2023-02-29')).toBeUndefined();
    expect(parseTimestamp('1.5')).toBeUndefined();
    // Years 0-99 as written, not as 1900-1999 (Date.UTC's reading).
    expect(new Date(parseTimestamp('0050-06-01T00:00:00Z')!).getUTCFullYear()).toBe(50);
  });

  it('reads digits as epoch seconds where milliseconds would be 1970-01-02 to 1973-03-03, or as told', () => {
    const t = Date.UTC(2024, 0, 1, 10);
    expect(parseTimestamp(String(t / 1000))).toBe(t); // Last.fm / ListenBrainz style seconds
    expect(parseTimestamp(String(t))).toBe(t);
    expect(parseTimestamp('7')).toBe(7); // small synthetic times stay as they are
    expect(parseTimestamp('99999999')).toBe(99_999_999);
    expect(parseTimestamp('100000000')).toBe(100_000_000_000);
    expect(parseTimestamp('99999999999')).toBe(99_999_999_999_000);
    expect(parseTimestamp('100000000000')).toBe(100_000_000_000);
    expect(parseTimestamp(String(t / 1000), 'ms')).toBe(t / 1000);
    expect(parseTimestamp('7', 's')).toBe(7000);
    expect(parseTimestamp(String(t), 's')).toBe(t * 1000);
  });

  it('loads a file of epoch seconds as the right dates, and names the option and the unit in errors', async () => {
    const t = Date.UTC(2024, 0, 1, 10) / 1000;
    const file = path.join(tmp, 'seconds.csv');
    fs.writeFileSync(file, `user_id,track_id,timestamp\nu1,t1,${t}\nu1,t2,${t + 180}\n`);
    const auto = await loadListens(file);
    expect(auto.listens.map((l) => new Date(l.timestamp).toISOString())).toEqual([
      '2024-01-01T10:00:00.000Z',
      '2024-01-01T10:03:00.000Z',
    ]);
    expect((await loadListens(file, { timestampUnit: 's' })).listens).toEqual(auto.listens);
    expect((await loadListens(file, { timestampUnit: 'ms' })).listens[0]!.timestamp).toBe(t);
    const ms = path.join(tmp, 'millis.csv');
    fs.writeFileSync(ms, `user_id,track_id,timestamp\nu1,t1,${t * 1000}\n`);
    await expect(loadListens(ms, { timestampUnit: 's' })).rejects.toThrow(/timestampUnit: 's'/);
    await expect(loadListens(file, { timestampUnit: 'seconds' as unknown as 's' })).rejects.toThrow(
      InvalidOptionError,
    );
    await expect(loadListens(file, { timestampUnit: 'seconds' as unknown as 's' })).rejects.toThrow(
      /timestampUnit/,
    );
    // Formats a forced unit cannot apply to refuse it rather than ignore it; the default 'auto' is accepted.
    for (const format of ['sequences', 'mpd'] as const)
      await expect(loadListens(file, { format, timestampUnit: 's' })).rejects.toThrow(
        /timestampUnit.*not sequences or mpd.*format is/s,
      );
    const pairs = path.join(tmp, 'pairs.txt');
    fs.writeFileSync(pairs, 'u1 t1\nu1 t2\n');
    expect((await loadListens(pairs, { format: 'sequences', timestampUnit: 'auto' })).listens).toHaveLength(
      2,
    );
  });

  it('writes the few millisecond times that would read as seconds in ISO 8601, so they round-trip', async () => {
    const listens: Listen[] = [
      { userId: 'u1', trackId: 't1', timestamp: 100_000_000 },
      { userId: 'u1', trackId: 't2', timestamp: 99_999_999_999 },
      { userId: 'u1', trackId: 't3', timestamp: 100_000_000_000 },
    ];
    expect(listensToCsv(listens)).toContain('u1,t1,1970-01-02T03:46:40.000Z,');
    const file = path.join(tmp, 'ambiguous.csv');
    await saveListens(file, listens);
    expect((await loadListens(file)).listens).toStrictEqual(listens);
  });
});

describe('real-file quirks', () => {
  const write = (name: string, content: string | Buffer) => {
    const f = path.join(tmp, name);
    fs.writeFileSync(f, content);
    return f;
  };

  it('an unbalanced quote that would swallow rows into an id is reported, not loaded', async () => {
    const f = write(
      'swallow.csv',
      'user_id,track_id,timestamp\nu1,"Heroes (Live),2024-01-01T00:00:00Z\nu1,t2,2024-01-01T00:01:00Z\nu1,Blue Monday 12",2024-01-01T00:03:00Z\nu1,t5,2024-01-01T00:04:00Z\n',
    );
    const r = await loadListens(f, { onInvalidRow: 'skip' });
    expect(r.issues).toHaveLength(1);
    expect(r.issues[0]).toMatchObject({ line: 2, column: 'track_id' });
    expect(r.listens.map((l) => l.trackId)).toEqual(['t5']);
    expect(r.listens.length + r.issues.length).toBe(r.rows);
  });

  it('a file that is not UTF-8 is an error naming its first bad line, in either mode', async () => {
    const latin1 = Buffer.from(
      'user_id,track_id,timestamp\nu1,t1,2024-01-01T00:00:00Z\nu1,Caf\xe9,2024-01-01T00:01:00Z\n',
      'latin1',
    );
    const f = write('latin1.csv', latin1);
    for (const onInvalidRow of ['throw', 'skip'] as const) {
      const e = await dataError(loadListens(f, { onInvalidRow }));
      expect(e.message).toMatch(/not valid UTF-8/);
      expect(e.issues[0]).toMatchObject({ file: f, line: 3 });
    }
    const dir = path.join(tmp, 'latin1-history');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(
      path.join(dir, 'StreamingHistory_music_0.json'),
      Buffer.from(
        '[\n{"endTime":"2023-02-11 18:04","artistName":"Beyonc\xe9","trackName":"X","msPlayed":1}\n]',
        'latin1',
      ),
    );
    const e = await dataError(loadListens(dir, { format: 'spotify-history' }));
    expect(e.issues[0]).toMatchObject({ line: 2 });
  });

  it("reads two plays of one track in the same minute of Spotify's basic export as two plays", async () => {
    const dir = path.join(tmp, 'basic-same-minute');
    fs.mkdirSync(dir, { recursive: true });
    const play = (ms: number) => ({
      endTime: '2023-02-11 18:04',
      artistName: 'Taylor Swift',
      trackName: 'Anti-Hero',
      msPlayed: ms,
    });
    fs.writeFileSync(
      path.join(dir, 'StreamingHistory_music_0.json'),
      JSON.stringify([play(1240), play(35500), play(0), play(0)]),
    );
    const r = await loadListens(dir, { format: 'spotify-history' });
    expect(r.issues).toEqual([]);
    expect(r.listens.map((l) => l.msPlayed)).toEqual([1240, 35500, 0, 0]);
  });

  it('names the header line after blank lines, and refuses a malformed header in either mode', async () => {
    const f = write('late-header.csv', '\n\nuid,track_id,timestamp\nu1,t1,2024-01-01T00:00:00Z\n');
    const e = await dataError(loadListens(f));
    expect(e.issues[0]).toMatchObject({ line: 3, column: 'user_id' });
    const g = write('bad-header.csv', 'user_id,"track_id,timestamp\nu1,t1,2024-01-01T00:00:00Z\n');
    for (const onInvalidRow of ['throw', 'skip'] as const) {
      const h = await dataError(loadListens(g, { onInvalidRow }));
      expect(h.message).toMatch(/header row is not well-formed/);
      expect(h.issues[0]).toMatchObject({ line: 1 });
    }
    const t = write('bad-header-tracks.csv', 'track_id,"title,artist_id,artist\nt1,A,a1,B\n');
    await expect(loadTracks(t, { onInvalidRow: 'skip' })).rejects.toThrow(/header row is not well-formed/);
  });

  it('keeps a stray carriage return inside a line, so later line numbers stay right', async () => {
    const f = write(
      'lone-cr.tsv',
      'u1\t2009-05-04T23:08:57Z\ta1\tBad\rName\ttr1\tT1\nu1\t2009-05-04T23:09:57Z\ta1\tA\ttr2\tT2\nu1\tnot-a-time\ta1\tA\ttr3\tT3\n',
    );
    const r = await loadListens(f, { format: 'lastfm-1k', onInvalidRow: 'skip' });
    expect(r.rows).toBe(3);
    expect(r.listens).toHaveLength(2);
    expect(r.issues.map((i) => i.line)).toEqual([3]);
    // A file with old Mac line ends (\r only) still splits on them.
    const mac = write(
      'mac.csv',
      'user_id,track_id,timestamp\ru1,t1,2024-01-01T00:00:00Z\ru1,t2,2024-01-01T00:01:00Z\r',
    );
    expect((await loadListens(mac)).listens.map((l) => l.trackId)).toEqual(['t1', 't2']);
  });

  it('Last.fm: trims names in a made-up track id, and reports a line of empty fields', async () => {
    const f = write(
      'lfm-trim.tsv',
      'u1\t2009-05-04T23:08:57Z\t\tA \t\tT4\nu1\t2009-05-04T23:09:57Z\t\tA\t\tT4\n\t\t\t\t\t\n',
    );
    const r = await loadListens(f, { format: 'lastfm-1k', onInvalidRow: 'skip' });
    expect(new Set(r.listens.map((l) => l.trackId))).toEqual(new Set(['A - T4']));
    expect(r.rows).toBe(3);
    expect(r.issues.map((i) => i.line)).toEqual([3]);
  });

  it('reads integers written with a zero decimal (pandas floats), and keeps issue values short', async () => {
    const f = write(
      'pandas.csv',
      `user_id,track_id,timestamp,ms_played,skip_level\nu1,t1,1704067200000.0,180000.0,1.0\nu1,t2,2024-01-01T00:01:00Z,,\nu1,t3,2024-01-01T00:02:00Z,1.5,\nu1,t4,${'x'.repeat(5000)},,\n`,
    );
    const r = await loadListens(f, { onInvalidRow: 'skip' });
    expect(r.listens[0]).toMatchObject({ msPlayed: 180000, skipLevel: 1 });
    expect(r.issues.map((i) => [i.line, i.column])).toEqual([
      [4, 'ms_played'],
      [5, 'timestamp'],
    ]);
    expect(r.issues[1]!.value!.length).toBeLessThanOrEqual(200);
  });
});

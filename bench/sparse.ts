// Sparse and short music data: does SASRec with default options beat the count baselines where real
// catalogues live, not only on the dense shipped world?
//
// Run: npx tsx bench/sparse.ts   (about an hour on 2 cores with wasm; ENCORE_FAST=1 for a smoke run)
// Two generated worlds, leave-one-out, full ranking, the default protocol (history excluded) plus every
// track ranked:
//   - "sparse catalogue": generateWorld({ artists: 800 }): 500 listeners with long histories, 7,925 tracks
//     heard about 12 times each (the shipped world: 2,000 tracks heard about 50 times each);
//   - "short sessions": the same catalogue, every listening session a listener of its own (as in the
//     Spotify MSSD logs, which have no user id), cut to its first 20 tracks: about 7,000 sequences of
//     about 12 tracks.
// Writes bench/results/sparse.json and bench/results/sparse.md (the README's sparse-data section).
import { initBackend } from '../src/backend.js';
import { Dataset } from '../src/data/dataset.js';
import { type GeneratedWorld, generateWorld } from '../src/data/generate.js';
import { leaveOneOut } from '../src/data/splits.js';
import type { Listen } from '../src/data/types.js';
import { formatTable } from '../src/eval/table.js';
import { ItemKNN, ItemTransition, Popularity } from '../src/models/baselines.js';
import type { Recommender } from '../src/models/recommender.js';
import { SASRec, type SASRecOptions } from '../src/models/sasrec.js';
import { writeFileAtomic } from '../src/util/fs.js';
import { type ModelRow, modelRow, ROW_K, timed } from './model-row.js';

const FAST = process.env.ENCORE_FAST === '1';
const K = ROW_K;
/** Longest session kept in the short-sessions world (MSSD sessions hold 10 to 20 tracks). */
const MAX_SESSION = 20;

interface Row extends ModelRow {
  world: string;
  /** The transition term's chosen weight (SASRec only). */
  transitionWeight?: number;
}

/** "21 (16, patience)": epochs run, the best epoch and why training ended; empty for a count model. */
const epochsOf = (r: Row) => (r.epochs === undefined ? '' : `${r.epochs} (${r.bestEpoch}, ${r.stoppedBy})`);

/** Every session of `listens` as a listener of its own (user id = session id), cut to `maxLength`. */
function sessionsAsListeners(listens: readonly Listen[], maxLength: number): Listen[] {
  const bySession = new Map<string, Listen[]>();
  for (const l of listens) {
    const id = l.sessionId ?? l.userId;
    const list = bySession.get(id) ?? [];
    if (list.length < maxLength) list.push({ ...l, userId: id });
    bySession.set(id, list);
  }
  return [...bySession.values()].flat();
}

async function benchWorld(
  name: string,
  ds: Dataset,
  world: GeneratedWorld,
  rows: Row[],
): Promise<{ tracks: number; listens: number; sequences: number; cases: number; meanLength: number }> {
  const { train, test } = leaveOneOut(ds);
  const meanLength = ds.numListens / ds.users.length;
  console.log(
    `\n${name}: ${ds.users.length} sequences (mean length ${meanLength.toFixed(1)}), ${ds.vocabulary.size} tracks, ${ds.numListens} listens (${(ds.numListens / ds.vocabulary.size).toFixed(1)} per track); ${test.length} test cases`,
  );
  const run = async (model: string, trainModel: () => Promise<Recommender>) => {
    const { value: m, seconds } = await timed(trainModel);
    const row: Row = {
      world: name,
      ...(await modelRow(model, m, test, train, seconds)),
      ...(m instanceof SASRec && m.transitionHead ? { transitionWeight: m.transitionHead.weight } : {}),
    };
    rows.push(row);
    console.log(`  ${model}: NDCG@10 ${row.ndcg10.toFixed(4)}, all tracks ${row.ndcg10All.toFixed(4)}`);
    m.dispose();
  };
  await run('popularity', () => Popularity.fit(train));
  await run('item-transition', () => ItemTransition.fit(train));
  await run('item-knn', () => ItemKNN.fit(train));
  const options: SASRecOptions = { progress: false, ...(FAST ? { epochs: 2 } : {}) };
  await run('sasrec', () => SASRec.fit(train, options));
  await run('sasrec (artists)', () => SASRec.fit(train, { ...options, artists: world.tracks }));
  return {
    tracks: ds.vocabulary.size,
    listens: ds.numListens,
    sequences: ds.users.length,
    cases: test.length,
    meanLength,
  };
}

async function main(): Promise<void> {
  const backend = await initBackend();
  const world = generateWorld({ artists: 800, ...(FAST ? { users: 60 } : {}) });
  const rows: Row[] = [];
  const worlds = {
    'sparse catalogue': await benchWorld('sparse catalogue', Dataset.fromListens(world.listens), world, rows),
    'short sessions': await benchWorld(
      'short sessions',
      Dataset.fromListens(sessionsAsListeners(world.listens, MAX_SESSION)),
      world,
      rows,
    ),
  };
  const table = formatTable(
    [
      { key: 'world' },
      { key: 'model' },
      { key: 'hr10', header: `HR@${K}` },
      { key: 'ndcg10', header: `NDCG@${K}` },
      { key: 'mrr', header: 'MRR' },
      { key: 'hr10All', header: `HR@${K} all` },
      { key: 'ndcg10All', header: `NDCG@${K} all` },
      { key: 'trainSeconds', header: 'train s', format: (v) => (v as number).toFixed(1) },
      { key: 'epochs', header: 'epochs (best, stop)', format: (_, r) => epochsOf(r as unknown as Row) },
      { key: 'transitionWeight', header: 'term weight', format: (v) => (v === undefined ? '' : String(v)) },
    ],
    rows as unknown as Record<string, unknown>[],
  );
  const lift = (w: string, model: string, base: string, key: 'ndcg10' | 'ndcg10All') => {
    const a = rows.find((r) => r.world === w && r.model === model)![key];
    const b = rows.find((r) => r.world === w && r.model === base)![key];
    return `${a >= b ? '+' : ''}${((100 * (a - b)) / b).toFixed(1)}%`;
  };
  const lifts = Object.keys(worlds).map(
    (w) =>
      `${w}: SASRec's NDCG@10 against ItemTransition ${lift(w, 'sasrec', 'item-transition', 'ndcg10')} (all tracks ${lift(w, 'sasrec', 'item-transition', 'ndcg10All')}), against ItemKNN ${lift(w, 'sasrec', 'item-knn', 'ndcg10')}; with artists against ItemTransition ${lift(w, 'sasrec (artists)', 'item-transition', 'ndcg10')}`,
  );
  const md = [
    '| world | model | HR@10 | NDCG@10 | MRR | HR@10 all | NDCG@10 all | train s | epochs (best, stop) | term weight |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.world} | ${r.model} | ${r.hr10.toFixed(3)} | ${r.ndcg10.toFixed(3)} | ${r.mrr.toFixed(3)} | ${r.hr10All.toFixed(3)} | ${r.ndcg10All.toFixed(3)} | ${r.trainSeconds.toFixed(1)} | ${epochsOf(r)} | ${r.transitionWeight ?? ''} |`,
    ),
    '',
    ...lifts.map((l) => `- ${l}.`),
    '',
    `Generated by \`npx tsx bench/sparse.ts\`${FAST ? ' (ENCORE_FAST=1)' : ''} (backend ${backend.name}): \`generateWorld({ artists: 800 })\`, ${worlds['sparse catalogue'].tracks} tracks heard ${(worlds['sparse catalogue'].listens / worlds['sparse catalogue'].tracks).toFixed(1)} times each on average, ${worlds['sparse catalogue'].cases} listeners; the same world's ${worlds['short sessions'].sequences} sessions as sequences of their own (mean length ${worlds['short sessions'].meanLength.toFixed(1)}, at most ${MAX_SESSION}; ${worlds['short sessions'].cases} test cases). Leave-one-out, full ranking; HR, NDCG, MRR with the history excluded (the default protocol), "all" with every track ranked. SASRec with default options; "(artists)" adds \`artists: world.tracks\`. "term weight": the transition term's chosen weight (above 1: the counts outrank the transformer).`,
    '',
  ].join('\n');
  console.log(`\n${table}\n\n${lifts.join('\n')}`);
  if (!FAST) {
    await writeFileAtomic(
      'bench/results/sparse.json',
      `${JSON.stringify({ bench: 'sparse', backend: backend.name, worlds, rows }, null, 2)}\n`,
    );
    await writeFileAtomic('bench/results/sparse.md', md);
    console.log('\nWrote bench/results/sparse.json and bench/results/sparse.md');
  }
}

await main();

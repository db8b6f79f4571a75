import { initBackend } from '../src/backend.js';
import { Dataset } from '../src/data/dataset.js';
import {
  bestAchievableHitRate,
  generateWorld,
  generatorAwareHitRate,
  tracksOnlyHitRate,
  truthCases,
  truthStepFinder,
} from '../src/data/generate.js';
import { loadListens, loadTracks } from '../src/data/loaders.js';
import { leaveOneOut } from '../src/data/splits.js';
import type { EvalCase, Listen } from '../src/data/types.js';
import { evaluate } from '../src/eval/metrics.js';
import { formatTable } from '../src/eval/table.js';
import { ItemKNN, ItemTransition, Popularity } from '../src/models/baselines.js';
import type { Recommender } from '../src/models/recommender.js';
import { SASRec, type SASRecOptions } from '../src/models/sasrec.js';
import { writeFileAtomic } from '../src/util/fs.js';
import { type ModelRow, modelRow, ROW_K, timed } from './model-row.js';
import {
  type ExpectedMetrics,
  expectedMetrics,
  gapDecomposition,
  oracleFavouritesHead,
  targetKinds,
} from './truth-gap.js';

const FAST = process.env.ENCORE_FAST === '1';
// Default options end by early stopping (about 200 s here on 2 idle cores); the cap only guards against a
// runaway fit.
const MAX_SECONDS = Number(process.env.ENCORE_MAX_SECONDS ?? (FAST ? 30 : 900));
const K = ROW_K;
/** "Clear margin": SASRec's NDCG@10 at least this much above a baseline's, relative. */
const MARGIN = 0.1;
/** Ground-truth target: SASRec's HR@10 as a share of the best achievable HR@10. */
const TRUTH_TARGET = 0.9;

interface Row extends ModelRow {
  options: string;
  /** In expectation over the generator's true next-track distributions (shipped data only). */
  expected?: { excluded: ExpectedMetrics; all: ExpectedMetrics };
}

/** True when both listen lists hold the same (user, track, timestamp) sequence. */
function sameListens(a: readonly Listen[], b: readonly Listen[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.userId !== y.userId || x.trackId !== y.trackId || x.timestamp !== y.timestamp) return false;
  }
  return true;
}

async function main(): Promise<void> {
  const backend = await initBackend();
  const { listens: shipped } = await loadListens('data/listens.csv');
  const keep = FAST ? new Set([...new Set(shipped.map((l) => l.userId))].slice(0, 150)) : undefined;
  const listens = keep ? shipped.filter((l) => keep.has(l.userId)) : shipped;
  const ds = Dataset.fromListens(listens);
  const { train, validation, test } = leaveOneOut(ds);
  const replayCount = test.filter((c) => c.history.includes(c.target)).length;
  const replayShare = `${((100 * replayCount) / test.length).toFixed(0)}%`;
  console.log(
    `Shipped data${FAST ? ' (fast: first 150 users)' : ''}: ${ds.users.length} users, ${ds.vocabulary.size} tracks, ${ds.numListens} listens; ${test.length} leave-one-out test cases, full ranking.\n`,
  );

  // The shipped data is generateWorld()'s output: its ground truth gives every model's metrics in
  // expectation over the true next-track distributions, free of the noise of one sampled target per case.
  const world = generateWorld(FAST ? { users: 150 } : {});
  const truthKnown = !FAST && sameListens(world.listens, shipped);
  const rows: Row[] = [];
  const models: Recommender[] = [];
  const expectedOf = async (m: Recommender) => {
    const source = {
      scores: await m.scoreAll(test.map((c) => c.history)),
      index: (t: string) => m.vocabulary.index(t),
    };
    return {
      excluded: expectedMetrics(world, test, source, K, { excludeHistory: true }),
      all: expectedMetrics(world, test, source, K),
    };
  };
  const run = async (name: string, options: string, fit: () => Promise<Recommender>) => {
    const { value: m, seconds } = await timed(fit);
    const row = await modelRow(name, m, test, train, seconds);
    rows.push({ ...row, options, ...(truthKnown ? { expected: await expectedOf(m) } : {}) });
    models.push(m);
    console.log(
      `  ${name}: NDCG@10 ${row.ndcg10.toFixed(4)} (all tracks ranked ${row.ndcg10All.toFixed(4)}), ${seconds.toFixed(1)} s`,
    );
    return { model: m };
  };
  await run('popularity', 'defaults', () => Popularity.fit(train));
  await run('item-transition', 'defaults', () => ItemTransition.fit(train));
  await run('item-knn', 'defaults', () => ItemKNN.fit(train));
  // SASRec's defaults with the catalogue's artists (data/tracks.csv), as a user with track metadata runs
  // it; the "listens only" row below is the same without them.
  const { tracks } = await loadTracks('data/tracks.csv');
  const listensOnly: SASRecOptions = { progress: false, maxSeconds: MAX_SECONDS };
  const sasOpts: SASRecOptions = { ...listensOnly, artists: tracks };
  const sas = await run('sasrec', 'defaults, artists: data/tracks.csv', () => SASRec.fit(train, sasOpts));
  // The same trained model without its post-hoc parts (fitted after training on the validation cases):
  // the transformer's softmax alone.
  const sasModel = sas.model as SASRec;
  const { repeatHead, transitionHead } = sasModel;
  sasModel.repeatHead = undefined;
  sasModel.transitionHead = undefined;
  {
    const name = 'sasrec (no post-hoc heads)';
    const row = await modelRow(name, sasModel, test, train, rows.at(-1)!.trainSeconds);
    const expected = truthKnown ? await expectedOf(sasModel) : undefined;
    rows.push({
      ...row,
      options: 'repeat: false, transitionMix: false (same model)',
      ...(expected ? { expected } : {}),
    });
    console.log(
      `  ${name}: NDCG@10 ${row.ndcg10.toFixed(4)} (all tracks ranked ${row.ndcg10All.toFixed(4)})`,
    );
  }
  sasModel.repeatHead = repeatHead;
  sasModel.transitionHead = transitionHead;
  // Without the transition term the repeat head is fitted on other scores, so this one is its own fit
  // (the same seed: the same transformer weights).
  await run('sasrec (listens only)', 'defaults, no artists', () => SASRec.fit(train, listensOnly));
  await run('sasrec (no transition term)', 'transitionMix: false', () =>
    SASRec.fit(train, { ...sasOpts, transitionMix: false }),
  );
  await run('sasrec (history bias)', 'historyBias: true', () =>
    SASRec.fit(train, { ...sasOpts, historyBias: true }),
  );
  await run('sasrec (untied output)', 'tiedEmbeddings: false', () =>
    SASRec.fit(train, { ...sasOpts, tiedEmbeddings: false }),
  );
  await run("sasrec (loss 'bce')", "loss: 'bce'", () => SASRec.fit(train, { ...sasOpts, loss: 'bce' }));

  const table = formatTable(
    [
      { key: 'model' },
      { key: 'hr10', header: `HR@${K}` },
      { key: 'ndcg10', header: `NDCG@${K}` },
      { key: 'mrr', header: 'MRR' },
      { key: 'coverage10', header: `Cov@${K}` },
      { key: 'hr10All', header: `HR@${K} all` },
      { key: 'ndcg10All', header: `NDCG@${K} all` },
      { key: 'trainSeconds', header: 'train s', format: (v) => (v as number).toFixed(1) },
      {
        key: 'epochs',
        header: 'epochs (best)',
        format: (v, r) => (v === undefined ? '' : `${v} (${r.bestEpoch}, ${r.stoppedBy})`),
      },
    ],
    rows as unknown as Record<string, unknown>[],
  );
  console.log(
    `\n${table}\n(HR, NDCG, MRR, Cov: history excluded, the default protocol: a replayed target is a miss. "all": every track ranked, replays included.)\n`,
  );
  console.log(
    `Backend ${backend.name}; SASRec fits capped at ${MAX_SECONDS} s each (ENCORE_MAX_SECONDS). Timings are wall clock on this machine.\n`,
  );

  // Clear-margin checks, computed from the numbers above.
  const sasRow = rows.find((r) => r.model === 'sasrec')!;
  // NDCG@10 on the sampled targets (both protocols) and, on the shipped data, in expectation over the
  // true next-track distributions (the better estimator: no noise from one sampled target per case).
  const ndcgOf = (r: Row, protocol: 'history excluded' | 'all tracks', basis: 'sampled' | 'expected') =>
    basis === 'sampled'
      ? protocol === 'history excluded'
        ? r.ndcg10
        : r.ndcg10All
      : protocol === 'history excluded'
        ? r.expected?.excluded.ndcg
        : r.expected?.all.ndcg;
  const marginsOf = (sasrec: Row, baselines: string[]) =>
    baselines.flatMap((name) => {
      const base = rows.find((r) => r.model === name)!;
      return (['sampled', 'expected'] as const).flatMap((basis) =>
        (['history excluded', 'all tracks'] as const).flatMap((protocol) => {
          const sas = ndcgOf(sasrec, protocol, basis);
          const b = ndcgOf(base, protocol, basis);
          if (sas === undefined || b === undefined) return [];
          const relative = b > 0 ? sas / b - 1 : Number.POSITIVE_INFINITY;
          return [
            {
              baseline: name,
              protocol,
              basis,
              sasrecNdcg10: sas,
              baselineNdcg10: b,
              relative,
              clear: relative >= MARGIN,
            },
          ];
        }),
      );
    });
  const margins = marginsOf(sasRow, ['popularity', 'item-transition', 'item-knn']);
  // The same margins for SASRec without the catalogue's artists (a user with listens only).
  const listensOnlyMargins = marginsOf(rows.find((r) => r.model === 'sasrec (listens only)')!, [
    'item-transition',
  ]);
  const pct = (x: number) => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}%`;
  for (const m of margins) {
    console.log(
      `SASRec vs ${m.baseline} (${m.protocol}, ${m.basis === 'sampled' ? 'sampled targets' : 'in expectation'}): NDCG@10 ${m.sasrecNdcg10.toFixed(4)} vs ${m.baselineNdcg10.toFixed(4)} (${m.relative >= 0 ? '+' : ''}${(100 * m.relative).toFixed(1)}%): ${m.clear ? 'beats it by a clear margin (>= 10%)' : 'no clear margin (< 10%)'}`,
    );
  }
  for (const m of listensOnlyMargins) {
    console.log(
      `SASRec, listens only, vs ${m.baseline} (${m.protocol}, ${m.basis === 'sampled' ? 'sampled targets' : 'in expectation'}): NDCG@10 ${m.sasrecNdcg10.toFixed(4)} vs ${m.baselineNdcg10.toFixed(4)} (${pct(m.relative)})`,
    );
  }
  // The issue's target is judged in the default protocol (history excluded, what `evaluate` and
  // `recommend` do); every track ranked is reported as the stricter second check.
  const judged = margins.filter((m) => m.baseline !== 'item-knn');
  const marginMet = judged.filter((m) => m.protocol === 'history excluded').every((m) => m.clear);
  const marginMetAll = judged.filter((m) => m.protocol === 'all tracks').every((m) => m.clear);
  const metWord = (met: boolean) => (met ? 'met' : 'not met');
  console.log(
    `Target "SASRec beats ItemTransition and Popularity on NDCG@10 by >= 10%"${truthKnown ? ' (on the sampled targets and in expectation)' : ''}: default protocol (history excluded) ${metWord(marginMet)}; every track ranked ${metWord(marginMetAll)}\n`,
  );
  if (truthKnown) {
    const expectedTable = formatTable(
      [
        { key: 'model' },
        { key: 'hr', header: 'E[HR@10]' },
        { key: 'ndcg', header: 'E[NDCG@10]' },
        { key: 'hrAll', header: 'E[HR@10] all' },
        { key: 'ndcgAll', header: 'E[NDCG@10] all' },
      ],
      rows.map((r) => ({
        model: r.model,
        hr: r.expected!.excluded.hr,
        ndcg: r.expected!.excluded.ndcg,
        hrAll: r.expected!.all.hr,
        ndcgAll: r.expected!.all.ndcg,
      })),
    );
    console.log(
      `In expectation over the generator's true next-track distributions (the shipped data is generateWorld()'s output):\n${expectedTable}\n`,
    );
  }

  // Ground truth, two references on the same world's leave-one-out test cases: the best any model of the
  // listening history can do (the generator and the listener's profile known, the hidden mood filtered
  // from the log: the target's reference), and the looser one that also knows the hidden mood.
  const cases: EvalCase[] = truthCases(world, 'test');
  let truthModel: SASRec;
  let truthValidation: EvalCase[];
  let trained = false;
  if (truthKnown) {
    truthModel = sas.model as SASRec; // the shipped data is this world: reuse the model trained above
    truthValidation = validation;
  } else {
    const split = leaveOneOut(Dataset.fromListens(world.listens));
    truthModel = await SASRec.fit(split.train, sasOpts);
    truthValidation = split.validation;
    trained = true;
  }
  const sasHr = (await evaluate(truthModel, cases, { k: [K] })).hr[K]!;
  // Where the gap is, every track ranked: first-time targets (not in the history) vs replays.
  const fresh = cases.filter((c) => !c.history.includes(c.target));
  const replays = cases.filter((c) => c.history.includes(c.target));
  const breakdown: { name: string; cases: number; best: number; bestWithMood: number; sasrec: number }[] = [];
  for (const [name, subset] of [
    ['first-time targets', fresh],
    ['replay targets', replays],
  ] as const) {
    if (!subset.length) continue;
    breakdown.push({
      name,
      cases: subset.length,
      best: bestAchievableHitRate(world.truth, subset, K, { excludeHistory: false }),
      bestWithMood: bestAchievableHitRate(world.truth, subset, K, { knows: 'mood', excludeHistory: false }),
      sasrec: (await evaluate(truthModel, subset, { k: [K], excludeHistory: false })).hr[K]!,
    });
  }
  // The same comparison when history tracks compete with everything (excludeHistory: false), where
  // ranking a replay first costs a slot: the protocol cannot flatter a model that favours the history.
  const allItems = { k: [K], excludeHistory: false };
  const sasHrAll = (await evaluate(truthModel, cases, allItems)).hr[K]!;
  // The transformer alone: without the repeat head and the transition term fitted after training.
  const saved = { repeat: truthModel.repeatHead, transition: truthModel.transitionHead };
  truthModel.repeatHead = undefined;
  truthModel.transitionHead = undefined;
  const plainHr = (await evaluate(truthModel, cases, { k: [K] })).hr[K]!;
  const plainHrAll = (await evaluate(truthModel, cases, allItems)).hr[K]!;
  truthModel.repeatHead = saved.repeat;
  truthModel.transitionHead = saved.transition;
  const bestAll = bestAchievableHitRate(world.truth, cases, K, { excludeHistory: false });
  // Where the all-tracks gap is: the model's (replay chance, which replay, which new track) swapped for the
  // ceiling's one part at a time, and hits by kind of target.
  const scores = await truthModel.scoreAll(cases.map((c) => c.history));
  const source = { scores, index: (t: string) => truthModel.vocabulary.index(t) };
  const decomposition = gapDecomposition(world, cases, source, K);
  // The same HR@10 in expectation over each case's true next-track distribution, as the ceiling is counted:
  // it compares like with like, without the noise of one sampled target per case.
  // The ceiling's ranking is its own probabilities.
  const stepOf = truthStepFinder(world.truth);
  const ceilingSource = {
    scores: cases.map((c) => {
      const row = new Float32Array(truthModel.vocabulary.size + 1).fill(Number.NEGATIVE_INFINITY);
      const st = stepOf(c);
      st.filtered.tracks.forEach((t, m) => {
        const j = truthModel.vocabulary.index(t);
        if (j !== undefined) row[j] = st.filtered.probs[m]!;
      });
      return row;
    }),
    index: source.index,
  };
  const ceilingExpected = {
    excluded: expectedMetrics(world, cases, ceilingSource, K, { excludeHistory: true }),
    all: expectedMetrics(world, cases, ceilingSource, K),
  };
  // On the shipped data these cases are the table's test cases and the model its SASRec row's.
  const sasExpected = truthKnown
    ? sasRow.expected!
    : {
        excluded: expectedMetrics(world, cases, source, K, { excludeHistory: true }),
        all: expectedMetrics(world, cases, source, K),
      };
  const sasExpAll = sasExpected.all.hr;
  const sasExp = sasExpected.excluded.hr;
  const kinds = targetKinds(world, cases);
  const byKind = new Map<string, { kind: string; cases: number; sasrec: number; best: number }>();
  kinds.forEach((t, i) => {
    const key = `${t.kind}, ${t.replay ? 'replay' : 'first time'}`;
    const e = byKind.get(key) ?? { kind: key, cases: 0, sasrec: 0, best: 0 };
    e.cases++;
    if (decomposition.hits.model[i]) e.sasrec++;
    if (decomposition.hits.ceiling[i]) e.best++;
    byKind.set(key, e);
  });
  // An upper bound on telling favourites apart: the repeat head refitted with each listener's true
  // favourites as a feature, which no model of the log has.
  const oracleHead = await oracleFavouritesHead(world, truthModel, truthValidation, cases, K);
  if (trained) truthModel.dispose();
  const best = bestAchievableHitRate(world.truth, cases, K);
  const bestWithMood = bestAchievableHitRate(world.truth, cases, K, { knows: 'mood' });
  for (const b of breakdown) {
    console.log(
      `  ${b.name} (all tracks ranked): ${b.cases} cases, best achievable HR@10 ${b.best.toFixed(4)} (with the hidden mood ${b.bestWithMood.toFixed(4)}), SASRec ${b.sasrec.toFixed(4)} (${((100 * b.sasrec) / b.best).toFixed(1)}%)`,
    );
  }
  const ratio = sasHr / best;
  const ratioWithMood = sasExp / bestWithMood;
  // The target is judged with every track ranked (excludeHistory: false): there replays count, and the
  // model must weigh a replay against a new track, which is the harder and more complete question. Under
  // the default protocol a replayed target is a miss for everyone, so it measures new-track ranking only.
  const ratioAll = sasHrAll / bestAll;
  // What not knowing the listener's profile costs even a learner that knows the generator's structure.
  const learnerAll = generatorAwareHitRate(FAST ? { users: 150 } : {}, K, { excludeHistory: false });
  // What the information a recommender never gets (skip levels, session starts) is worth to the ceiling.
  const tracksOnlyAll = tracksOnlyHitRate(FAST ? { users: 150 } : {}, K, { excludeHistory: false });
  const ratioExpAll = sasExpAll / bestAll;
  // Judged on the expected HR@10 (the ceiling's own estimator, far less noisy than one sampled target).
  const truthMet = ratioExpAll >= TRUTH_TARGET;
  const fmt = (x: number) => `${(100 * x).toFixed(1)}%`;
  console.log(
    `Ground truth (generateWorld(${FAST ? '{ users: 150 }' : ''}), ${cases.length} test cases). Reference: an exact Bayesian filter that knows the generator and each listener's profile and infers the hidden mood from the log.\n` +
      `  All tracks ranked (excludeHistory: false; ranking by probability is optimal here): best achievable HR@10 ${bestAll.toFixed(4)} (in expectation over the true next-track distribution). SASRec in expectation ${sasExpAll.toFixed(4)} = ${fmt(ratioExpAll)} (target >= ${100 * TRUTH_TARGET}%): ${truthMet ? 'target met' : 'target not met'}; on the sampled targets ${sasHrAll.toFixed(4)} = ${fmt(ratioAll)} (standard error about ${fmt(Math.sqrt((sasHrAll * (1 - sasHrAll)) / cases.length) / bestAll)} of the ceiling); without the repeat head and transition term ${plainHrAll.toFixed(4)} = ${fmt(plainHrAll / bestAll)}\n` +
      `  A learner that knows the generator and catalogue but estimates each listener's profile from the history (generatorAwareHitRate): ${learnerAll.toFixed(4)} = ${fmt(learnerAll / bestAll)} of the ceiling\n` +
      `  The same SASRec with its repeat head refitted on a feature no model of the log has, the track's weight among the listener's true favourites (oracleFavouritesHead; the head refitted without it: ${oracleHead.refit.toFixed(4)}): ${oracleHead.oracle.toFixed(4)} = ${fmt(oracleHead.oracle / bestAll)} of the ceiling\n` +
      `  The ceiling's filter for an observer of track ids alone, without skip levels, session starts or contexts (tracksOnlyHitRate, approximate): ${tracksOnlyAll.toFixed(4)} = ${fmt(tracksOnlyAll / bestAll)} of the ceiling\n` +
      `  Default protocol (history excluded, a replayed target a miss): best achievable ${best.toFixed(4)}, SASRec in expectation ${sasExp.toFixed(4)} = ${fmt(sasExp / best)}, on the sampled targets ${sasHr.toFixed(4)} = ${fmt(ratio)} (without the repeat head and transition term ${plainHr.toFixed(4)} = ${fmt(plainHr / best)}); with the hidden mood also known the reference is ${bestWithMood.toFixed(4)} (${fmt(ratioWithMood)} in expectation)`,
  );
  const swapTable = formatTable(
    [
      { key: 'swapped', header: "ceiling's parts swapped in" },
      { key: 'hr', header: `HR@${K}`, format: (v) => (v as number).toFixed(3) },
    ],
    decomposition.rows,
  );
  const kindRows = [...byKind.values()].sort((a, b) => b.best - b.sasrec - (a.best - a.sasrec));
  const kindTable = formatTable(
    [
      { key: 'kind', header: 'target' },
      { key: 'cases' },
      { key: 'sasrec', header: 'SASRec hits' },
      { key: 'best', header: 'ceiling hits' },
    ],
    kindRows as unknown as Record<string, unknown>[],
  );
  console.log(
    `\nWhere the all-tracks gap is. Each distribution splits into g (the chance of a replay), r (which history track) and q (which new track); the rows rank by g r + (1 - g) q with some of SASRec's parts replaced by the ceiling's:\n${swapTable}\n\nHits by kind of target (album next: the previous track's album successor; favourite: in the listener's heavy rotation):\n${kindTable}`,
  );
  for (const m of models) m.dispose();

  const swapHr = (x: string) => decomposition.rows.find((r) => r.swapped === x)!.hr;
  const md = [
    `| model | HR@10 | NDCG@10 | MRR | HR@10 all | NDCG@10 all | E[NDCG@10] | E[NDCG@10] all | train s |`,
    `| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |`,
    ...rows.map(
      (r) =>
        `| ${r.model.replace(/'/g, '`')} | ${r.hr10.toFixed(3)} | ${r.ndcg10.toFixed(3)} | ${r.mrr.toFixed(3)} | ${r.hr10All.toFixed(3)} | ${r.ndcg10All.toFixed(3)} | ${r.expected?.excluded.ndcg.toFixed(3) ?? ''} | ${r.expected?.all.ndcg.toFixed(3) ?? ''} | ${r.trainSeconds.toFixed(1)} |`,
    ),
    `| *best achievable (generator ground truth, filtered mood)* | ${best.toFixed(3)} | | | ${bestAll.toFixed(3)} | | ${ceilingExpected.excluded.ndcg.toFixed(3)} | ${ceilingExpected.all.ndcg.toFixed(3)} | |`,
    '',
    `Targets of issue #3, judged by this script: SASRec's NDCG@10 at least 10% above ItemTransition's and popularity's: ${metWord(marginMet)} in the default protocol (history excluded), ${metWord(marginMetAll)} with every track ranked (against ItemTransition: ${margins
      .filter((m) => m.baseline === 'item-transition')
      .map(
        (m) =>
          `${m.relative >= 0 ? '+' : ''}${(100 * m.relative).toFixed(1)}% ${m.protocol}, ${m.basis === 'sampled' ? 'sampled targets' : 'in expectation'}`,
      )
      .join('; ')}; without the artists, against ItemTransition: ${listensOnlyMargins
      .map(
        (m) =>
          `${pct(m.relative)} ${m.protocol}, ${m.basis === 'sampled' ? 'sampled targets' : 'in expectation'}`,
      )
      .join(
        '; ',
      )}); SASRec's HR@10 at least 90% of the best achievable, every track ranked, in expectation: ${truthMet ? 'met' : 'not met'} (${fmt(ratioExpAll)}).`,
    '',
    `E[...]: in expectation over the generator's true next-track distribution of each test case (the ceiling's own estimator, without the noise of one sampled target per case: with ${test.length} cases the standard error of a realised HR@10 near 0.35 is about 0.02).`,
    '',
    `Leave-one-out on \`data/listens.csv\` (${test.length} users), full ranking against all ${ds.vocabulary.size} tracks. HR, NDCG and MRR: the default protocol, history excluded (${replayShare} of the targets are replays, which no model can hit there); "all": every track ranked, replays included (\`excludeHistory: false\`). Backend ${backend.name}; \`npx tsx bench/next-track.ts\`${FAST ? ' (ENCORE_FAST=1)' : ''}. "Best achievable" is an exact Bayesian filter that knows the generator and each listener's profile and infers the hidden mood from the log. With every track ranked (\`excludeHistory: false\`, where ranking by probability is optimal) SASRec reaches ${fmt(ratioExpAll)} of the best achievable HR@10 in expectation over the true next-track distributions (${sasExpAll.toFixed(3)} of ${bestAll.toFixed(3)}; the ceiling is counted the same way), and ${fmt(ratioAll)} on the one sampled target per case in the table (${sasHrAll.toFixed(3)}, ${fmt(plainHrAll / bestAll)} without its repeat head and transition term; standard error about ${fmt(Math.sqrt((sasHrAll * (1 - sasHrAll)) / cases.length) / bestAll)}); a learner that knows the generator's structure but estimates each listener's profile reaches ${fmt(learnerAll / bestAll)} (SASRec reaches ${fmt(sasExpAll / learnerAll)} of that learner's ${learnerAll.toFixed(3)}), and the ceiling's filter without the skip levels and session starts a recommender never sees still reaches ${fmt(tracksOnlyAll / bestAll)}. Even told each listener's true favourites (a feature of its repeat head, refitted), the same SASRec reaches ${fmt(oracleHead.oracle / bestAll)} (${oracleHead.oracle.toFixed(3)}). With the history excluded it reaches ${fmt(sasExp / best)} of ${best.toFixed(3)} in expectation (${fmt(ratio)} on the sampled targets). Where the all-tracks gap is: giving SASRec the ceiling's replay chance alone makes ${swapHr('g').toFixed(3)}, its choice among history tracks ${swapHr('r').toFixed(3)}, its choice among new tracks ${swapHr('q').toFixed(3)} (both choices: ${swapHr('r, q').toFixed(3)}).`,
    '',
  ].join('\n');
  const out = {
    bench: 'next-track',
    fast: FAST,
    backend: backend.name,
    maxSecondsPerFit: MAX_SECONDS,
    cases: test.length,
    protocol:
      'leave-one-out, full ranking; hr10/ndcg10/mrr: history excluded (a replayed target is a miss); hr10All/ndcg10All: every track ranked',
    replayTargets: replayCount,
    rows,
    margins,
    listensOnlyMargins,
    marginTargetMet: marginMet,
    marginTargetMetAllTracks: marginMetAll,
    groundTruth: {
      cases: cases.length,
      bestAchievableHr10: best,
      bestAchievableHr10WithMood: bestWithMood,
      sasrecHr10: sasHr,
      ratio,
      ratioWithMood,
      sasrecNoHeadsHr10: plainHr,
      sasrecExpectedHr10: sasExp,
      allItems: {
        bestAchievableHr10: bestAll,
        sasrecHr10: sasHrAll,
        ratio: ratioAll,
        sasrecExpectedHr10: sasExpAll,
        expectedRatio: ratioExpAll,
        generatorAwareLearnerHr10: learnerAll,
        sasrecShareOfGeneratorAwareLearner: sasExpAll / learnerAll,
        tracksOnlyObserverHr10: tracksOnlyAll,
        sasrecNoHeadsHr10: plainHrAll,
        oracleFavouritesHead: oracleHead,
      },
      ceilingExpected,
      judgedOn:
        'allItems.expectedRatio (excludeHistory: false, HR@10 in expectation over the true next-track distribution)',
      gapDecomposition: decomposition.rows,
      byKind: kindRows,
      breakdown,
      target: TRUTH_TARGET,
      met: truthMet,
    },
  };
  // Fast smoke runs must not overwrite the full results the README shows.
  const base = FAST ? 'bench/results/next-track.fast' : 'bench/results/next-track';
  await writeFileAtomic(`${base}.json`, `${JSON.stringify(out, null, 2)}\n`);
  await writeFileAtomic(`${base}.md`, md);
  console.log(`\nWrote ${base}.json and ${base}.md`);
}

await main();

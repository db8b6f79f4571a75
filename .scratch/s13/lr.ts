// Scratch: SASRec on the sparse worlds of bench/sparse.ts with option overrides.
// npx tsx .scratch/s13/lr.ts --world catalogue|sessions [--lr 2e-3] [--artists 0|1] [--seconds S] [--json '{...}']
import { parseArgs } from 'node:util';
import { appendFileSync } from 'node:fs';
import { initBackend } from '../../src/backend.js';
import { Dataset } from '../../src/data/dataset.js';
import { generateWorld } from '../../src/data/generate.js';
import { leaveOneOut } from '../../src/data/splits.js';
import type { Listen } from '../../src/data/types.js';
import { ItemTransition } from '../../src/models/baselines.js';
import { SASRec, type SASRecOptions } from '../../src/models/sasrec.js';
import { modelRow, timed } from '../../bench/model-row.js';
import { expectedMetrics } from '../../bench/truth-gap.js';

const { values } = parseArgs({ options: { world: { type: 'string', default: 'sessions' }, lr: { type: 'string' }, artists: { type: 'string', default: '0' }, seconds: { type: 'string', default: '3000' }, json: { type: 'string' }, tag: { type: 'string', default: '' } } });
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
await initBackend();
const world = generateWorld({ artists: 800 });
const sessions = values.world === 'sessions';
const ds = Dataset.fromListens(sessions ? sessionsAsListeners(world.listens, 20) : world.listens);
const { train, test } = leaveOneOut(ds);
const opts: SASRecOptions = { progress: false, workers: 1, maxSeconds: Number(values.seconds), ...(values.lr ? { learningRate: Number(values.lr) } : {}), ...(values.artists === '1' ? { artists: world.tracks } : {}), ...(values.json ? JSON.parse(values.json) : {}),
  onEpochEnd: (e, logs) => console.log(`epoch ${e}`, JSON.stringify(logs)) };
const out: Record<string, unknown> = { world: values.world, lr: values.lr ?? 'default', artists: values.artists, json: values.json, tag: values.tag };
for (const [name, fit] of [['item-transition', () => ItemTransition.fit(train)], ['sasrec', () => SASRec.fit(train, opts)]] as const) {
  const { value: m, seconds } = await timed(fit as () => Promise<any>);
  const row = await modelRow(name, m, test, train, seconds);
  let exp = {};
  if (!sessions) {
    const source = { scores: await m.scoreAll(test.map((c) => c.history)), index: (t: string) => m.vocabulary.index(t) };
    const ex = expectedMetrics(world, test, source, 10, { excludeHistory: true });
    const all = expectedMetrics(world, test, source, 10);
    exp = { eHr: ex.hr, eNdcg: ex.ndcg, eHrAll: all.hr, eNdcgAll: all.ndcg };
  }
  out[name] = { ...row, ...exp, ...(m instanceof SASRec ? { term: m.transitionHead?.weight } : {}) };
  console.log(name, JSON.stringify(out[name]));
  m.dispose();
}
appendFileSync('.scratch/s13/lr.jsonl', `${JSON.stringify(out)}\n`);

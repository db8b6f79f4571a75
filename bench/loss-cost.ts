// Seconds per SASRec training step with full vs sampled softmax as the catalogue grows: the basis of loss 'auto''s threshold.
//
// Run: npx tsx bench/loss-cost.ts [--items 5000,20000,50000] [--users 320] [--workers 1] [--losses ce,sampled-softmax]
//        [--sparse auto|0|1|0,1] [--out bench/results/loss-cost.json]
// Synthetic listens (every track once, then each user plays 51 tracks drawn by a Zipf law over `items` tracks), SASRec defaults
// otherwise (d=64, 2 blocks, maxlen 50, batches of 16), one epoch of one window per user, no validation.
// Prints a table and writes bench/results/loss-cost.json (or --out). The row-sparse comparison at large
// catalogues: --items 100000,400000,900000 --losses sampled-softmax --sparse 0,1 --out bench/results/loss-cost-sparse.json.
// Each fit is 20 steps and one epoch-end sync of the row-sparse tables.
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { initBackend } from '../src/backend.js';
import { Dataset } from '../src/data/dataset.js';
import type { Listen } from '../src/data/types.js';
import { SASRec } from '../src/models/sasrec.js';
import { AUTO_SAMPLED_NEGATIVES, type LossName } from '../src/train/losses.js';
import { createRng } from '../src/util/random.js';

const { values } = parseArgs({
  options: {
    items: { type: 'string', default: '5000,20000,50000' },
    users: { type: 'string', default: '320' },
    workers: { type: 'string', default: '1' },
    losses: { type: 'string', default: 'ce,sampled-softmax' },
    sparse: { type: 'string', default: 'auto' },
    out: { type: 'string', default: 'bench/results/loss-cost.json' },
  },
});
const backend = await initBackend();
const users = Number(values.users);
const rows: {
  items: number;
  loss: LossName;
  negatives?: number;
  sparseUpdates: boolean;
  steps: number;
  secondsPerStep: number;
}[] = [];
for (const items of values.items!.split(',').map(Number)) {
  // Zipf(1) over the catalogue, sampled by inverse CDF.
  const cdf = new Float64Array(items);
  let acc = 0;
  for (let i = 0; i < items; i++) cdf[i] = acc += 1 / (i + 1);
  const rng = createRng(items);
  // Every track heard once early on (so the vocabulary holds the whole catalogue), then the Zipf listens.
  const listens: Listen[] = [];
  for (let i = 0; i < items; i++) listens.push({ userId: `u${i % users}`, trackId: `t${i}`, timestamp: i });
  for (let u = 0; u < users; u++) {
    for (let t = 0; t < 51; t++) {
      const r = rng.next() * acc;
      let lo = 0;
      let hi = items - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cdf[mid]! > r) hi = mid;
        else lo = mid + 1;
      }
      listens.push({ userId: `u${u}`, trackId: `t${lo}`, timestamp: items + t * 60_000 });
    }
  }
  const ds = Dataset.fromListens(listens);
  const arms = values
    .losses!.split(',')
    .flatMap((loss) => values.sparse!.split(',').map((sparse) => ({ loss: loss as LossName, sparse })));
  // Row-sparse updates never run with the full softmax: that arm is skipped.
  for (const { loss, sparse } of arms.filter((a) => !(a.loss === 'ce' && a.sparse === '1'))) {
    const steps = Math.ceil(users / 16);
    const m = await SASRec.fit(ds, {
      loss,
      ...(loss === 'sampled-softmax' ? { negatives: AUTO_SAMPLED_NEGATIVES } : {}),
      epochs: 1,
      maxWindowsPerUser: 1,
      validation: 'none',
      progress: false,
      workers: Number(values.workers),
      ...(sparse === 'auto' ? {} : { sparseUpdates: sparse === '1' }),
    });
    const seconds = m.trainResult!.history[0]!.seconds;
    const sparseUpdates = m.config.sparseUpdates === true;
    m.dispose();
    const row = {
      items: ds.vocabulary.size,
      loss,
      ...(loss === 'sampled-softmax' ? { negatives: AUTO_SAMPLED_NEGATIVES } : {}),
      sparseUpdates,
      steps,
      secondsPerStep: Number((seconds / steps).toFixed(4)),
    };
    rows.push(row);
    console.log(JSON.stringify(row));
  }
}
const out = {
  bench: 'loss-cost',
  backend: backend.name,
  workers: Number(values.workers),
  load: loadavg(),
  rows,
};
await mkdir('bench/results', { recursive: true });
await writeFile(values.out!, `${JSON.stringify(out, null, 2)}\n`);

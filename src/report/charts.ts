// Charts for training, model comparison, Blend composition and simulation, rendered to SVG with Vega-Lite.
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { InvalidOptionError } from '../errors.js';
import { writeFileAtomic } from '../util/fs.js';

/** One epoch of a training run, as reported by a model's `onEpochEnd` callback. */
export interface TrainingPoint {
  epoch: number;
  loss: number;
  /** Validation NDCG@10 when the run had a validation set. */
  valNdcg10?: number;
}

/** One bar of a model comparison: the value of `metric` (e.g. `'NDCG@10'`) for `model`. */
export interface ComparisonRow {
  model: string;
  metric: string;
  value: number;
}

/**
 * The part of a Blend result the composition chart reads: who each track is attributed to and, when known,
 * each member's share (a track shared by several members counts fractionally).
 */
export interface BlendLike {
  tracks: readonly { attributedTo: string | readonly string[] }[];
  /** Members in display order; members with no track still get a (zero) bar. */
  members?: readonly { id: string; share?: number }[];
}

/** Active listeners per day for each policy of a simulation: `{ [policy]: activeByDay }`. */
export type SimulationSeries = Readonly<Record<string, readonly number[]>>;

const PALETTE = [
  '#4c78a8',
  '#f58518',
  '#54a24b',
  '#e45756',
  '#72b7b2',
  '#b279a2',
  '#ff9da6',
  '#9d755d',
  '#bab0ac',
  '#eeca3b',
];

const BASE_CONFIG = {
  background: 'white',
  font: 'Helvetica, Arial, sans-serif',
  view: { stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#e6e6e6' },
  legend: { labelFontSize: 11, titleFontSize: 12 },
  title: { fontSize: 14, anchor: 'start' as const },
  range: { category: PALETTE },
};

/**
 * Renders any Vega-Lite spec to a standalone SVG string (headless, no canvas or browser needed).
 *
 * @example
 * ```ts
 * const svg = await renderVegaLite({ data: { values: [{ x: 1, y: 2 }] }, mark: 'point',
 *   encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } } });
 * ```
 */
export async function renderVegaLite(spec: TopLevelSpec): Promise<string> {
  const withConfig = { ...spec, config: { ...BASE_CONFIG, ...(spec.config ?? {}) } } as TopLevelSpec;
  const compiled = compile(withConfig).spec;
  // A loader that refuses network and file access: charts only ever use inline data.
  const loader = vega.loader({ mode: 'http' });
  loader.load = async (uri: string) => {
    throw new Error(`charts use inline data only; refused to load ${uri}`);
  };
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', loader });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

function requireRows(option: string, rows: readonly unknown[]): void {
  if (!Array.isArray(rows) || rows.length === 0) {
    throw new InvalidOptionError(option, 'a non-empty array', rows);
  }
}

function finite(option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new InvalidOptionError(option, 'a finite number', value);
  }
  return value;
}

/**
 * Training curve: loss per epoch and, when present, validation NDCG@10 per epoch (two stacked panels
 * sharing the epoch axis).
 *
 * @example
 * ```ts
 * const svg = await trainingCurveChart([{ epoch: 1, loss: 5.2, valNdcg10: 0.04 }, { epoch: 2, loss: 4.1, valNdcg10: 0.07 }]);
 * ```
 */
export async function trainingCurveChart(
  history: readonly TrainingPoint[],
  options: { title?: string } = {},
): Promise<string> {
  requireRows('history', history);
  const rows = history.map((h, i) => ({
    epoch: finite(`history[${i}].epoch`, h.epoch),
    loss: finite(`history[${i}].loss`, h.loss),
    valNdcg10: h.valNdcg10 === undefined ? null : finite(`history[${i}].valNdcg10`, h.valNdcg10),
  }));
  const hasVal = rows.some((r) => r.valNdcg10 !== null);
  const x = { field: 'epoch', type: 'quantitative' as const, title: 'Epoch', axis: { tickMinStep: 1 } };
  const lossPanel = {
    width: 520,
    height: 160,
    mark: { type: 'line' as const, point: true, color: PALETTE[0] },
    encoding: {
      x,
      y: { field: 'loss', type: 'quantitative' as const, title: 'Training loss', scale: { zero: false } },
    },
  };
  const valPanel = {
    width: 520,
    height: 160,
    transform: [{ filter: 'datum.valNdcg10 != null' }],
    mark: { type: 'line' as const, point: true, color: PALETTE[1] },
    encoding: { x, y: { field: 'valNdcg10', type: 'quantitative' as const, title: 'Validation NDCG@10' } },
  };
  const spec = {
    title: options.title ?? 'Training curve',
    data: { values: rows },
    vconcat: hasVal ? [lossPanel, valPanel] : [lossPanel],
  } as TopLevelSpec;
  return renderVegaLite(spec);
}

/**
 * Grouped bar chart comparing models on several metrics (one group per metric, one bar per model).
 *
 * @example
 * ```ts
 * const svg = await modelComparisonChart([
 *   { model: 'sasrec', metric: 'NDCG@10', value: 0.12 },
 *   { model: 'popularity', metric: 'NDCG@10', value: 0.03 },
 * ]);
 * ```
 */
export async function modelComparisonChart(
  rows: readonly ComparisonRow[],
  options: { title?: string } = {},
): Promise<string> {
  requireRows('rows', rows);
  const values = rows.map((r, i) => ({
    model: String(r.model),
    metric: String(r.metric),
    value: finite(`rows[${i}].value`, r.value),
  }));
  const models = [...new Set(values.map((v) => v.model))];
  const metrics = [...new Set(values.map((v) => v.metric))];
  const spec = {
    title: options.title ?? 'Model comparison (full ranking, leave-one-out)',
    data: { values },
    width: Math.max(240, metrics.length * models.length * 22 + metrics.length * 20),
    height: 220,
    mark: { type: 'bar' },
    encoding: {
      x: { field: 'metric', type: 'nominal', title: null, sort: metrics, axis: { labelAngle: 0 } },
      xOffset: { field: 'model', type: 'nominal', sort: models },
      y: { field: 'value', type: 'quantitative', title: 'Score' },
      color: { field: 'model', type: 'nominal', title: 'Model', sort: models },
      tooltip: [{ field: 'model' }, { field: 'metric' }, { field: 'value', format: '.4f' }],
    },
  } as TopLevelSpec;
  return renderVegaLite(spec);
}

/**
 * Blend composition: the share of the playlist's tracks attributed to each member (horizontal bars).
 *
 * @example
 * ```ts
 * const result = await blend(members, { model, size: 50 });
 * const svg = await blendCompositionChart(result);
 * ```
 */
export async function blendCompositionChart(
  result: BlendLike,
  options: { title?: string } = {},
): Promise<string> {
  if (!result || !Array.isArray(result.tracks)) {
    throw new InvalidOptionError('result', 'a Blend result with a `tracks` array', result);
  }
  requireRows('result.tracks', result.tracks);
  // Tracks attributed to several members count 1/n for each, so shares sum to 1.
  const shares = new Map<string, number>();
  const counts = new Map<string, number>();
  for (const m of result.members ?? []) {
    shares.set(m.id, 0);
    counts.set(m.id, 0);
  }
  for (const t of result.tracks) {
    const who = typeof t.attributedTo === 'string' ? [t.attributedTo] : [...t.attributedTo];
    for (const id of who) {
      shares.set(id, (shares.get(id) ?? 0) + 1 / who.length);
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
  }
  const total = result.tracks.length;
  const given = new Map(
    (result.members ?? []).filter((m) => typeof m.share === 'number').map((m) => [m.id, m.share!]),
  );
  const values = [...shares].map(([member, s]) => ({
    member,
    tracks: counts.get(member) ?? 0,
    share: given.get(member) ?? s / total,
  }));
  const spec = {
    title: options.title ?? `Blend composition (${total} tracks)`,
    data: { values },
    width: 420,
    height: { step: 26 },
    layer: [
      {
        mark: { type: 'bar' },
        encoding: {
          y: { field: 'member', type: 'nominal', title: 'Member', sort: null },
          x: {
            field: 'share',
            type: 'quantitative',
            title: 'Share of tracks',
            axis: { format: '.0%' },
            scale: { domain: [0, 1] },
          },
          color: { field: 'member', type: 'nominal', legend: null },
        },
      },
      {
        mark: { type: 'text', align: 'left', dx: 4 },
        encoding: {
          y: { field: 'member', type: 'nominal', sort: null },
          x: { field: 'share', type: 'quantitative' },
          text: { field: 'tracks', type: 'quantitative' },
        },
      },
    ],
  } as TopLevelSpec;
  return renderVegaLite(spec);
}

/**
 * Long-term simulation: active listeners per day, one line per policy.
 *
 * @example
 * ```ts
 * const svg = await simulationChart({ popularity: [200, 190, 185], diverse: [200, 196, 194] });
 * ```
 */
export async function simulationChart(
  daily: SimulationSeries,
  options: { title?: string; yTitle?: string } = {},
): Promise<string> {
  const entries = daily && typeof daily === 'object' ? Object.entries(daily) : [];
  requireRows('daily', entries);
  const values: { policy: string; day: number; active: number }[] = [];
  for (const [policy, series] of entries) {
    if (!Array.isArray(series) || series.length === 0) {
      throw new InvalidOptionError(`daily.${policy}`, 'a non-empty array of numbers (one per day)', series);
    }
    series.forEach((v, d) => {
      values.push({ policy, day: d + 1, active: finite(`daily.${policy}[${d}]`, v) });
    });
  }
  const spec = {
    title: options.title ?? 'Active listeners per day by policy',
    data: { values },
    width: 520,
    height: 240,
    mark: { type: 'line', strokeWidth: 2 },
    encoding: {
      x: { field: 'day', type: 'quantitative', title: 'Day', axis: { tickMinStep: 1 } },
      y: {
        field: 'active',
        type: 'quantitative',
        title: options.yTitle ?? 'Active listeners',
        scale: { zero: false },
      },
      color: { field: 'policy', type: 'nominal', title: 'Policy', sort: entries.map(([p]) => p) },
    },
  } as TopLevelSpec;
  return renderVegaLite(spec);
}

/**
 * Writes an SVG chart to `file` atomically.
 *
 * @example
 * ```ts
 * await writeChart('report/training.svg', await trainingCurveChart(history));
 * ```
 */
export async function writeChart(file: string, svg: string): Promise<void> {
  if (typeof svg !== 'string' || !svg.trimStart().startsWith('<svg')) {
    throw new InvalidOptionError(
      'svg',
      'an SVG document string starting with <svg',
      typeof svg === 'string' ? svg.slice(0, 20) : svg,
    );
  }
  await writeFileAtomic(file, svg);
}

// Plain aligned text tables for evaluation reports, benchmarks and the CLI.
import { InvalidOptionError } from '../errors.js';

/**
 * One column of {@link formatTable}.
 *
 * @example
 * ```ts
 * const col: TableColumn = { key: 'ndcg', header: 'NDCG@10', digits: 4 };
 * ```
 */
export interface TableColumn {
  /** Property of each row to show. */
  key: string;
  /** Header text. Default: `key`. */
  header?: string;
  /** Alignment. Default: right for numbers, left otherwise (decided by the first non-empty value). */
  align?: 'left' | 'right';
  /** Decimals for numbers. Default 4. */
  digits?: number;
  /** Custom cell formatter; overrides `digits`. */
  format?: (value: unknown, row: Record<string, unknown>) => string;
}

function cell(value: unknown, column: TableColumn, row: Record<string, unknown>): string {
  if (column.format) return column.format(value, row);
  if (value === undefined || value === null) return '';
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return '-';
    if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
    return Number.isInteger(value) ? String(value) : value.toFixed(column.digits ?? 4);
  }
  return String(value);
}

/**
 * Formats rows as a plain, aligned text table: a header line, a dashed rule, one line per row, columns
 * separated by two spaces. Numbers are right-aligned with `digits` decimals (integers as they are),
 * NaN prints as `-`.
 *
 * @example
 * ```ts
 * formatTable(
 *   [{ key: 'model' }, { key: 'hr', header: 'HR@10' }],
 *   [{ model: 'popularity', hr: 0.05 }, { model: 'sasrec', hr: 0.2 }],
 * );
 * // model        HR@10
 * // ----------  ------
 * // popularity  0.0500
 * // sasrec      0.2000
 * ```
 */
export function formatTable(
  columns: readonly TableColumn[],
  rows: readonly Record<string, unknown>[],
): string {
  if (!Array.isArray(columns))
    throw new InvalidOptionError('columns', 'an array of { key, header? }', columns);
  columns.forEach((c, j) => {
    if (c === null || typeof c !== 'object' || typeof c.key !== 'string')
      throw new InvalidOptionError(`columns[${j}]`, 'a column { key: string, header?, digits?, align? }', c);
  });
  if (!Array.isArray(rows)) throw new InvalidOptionError('rows', 'an array of row objects', rows);
  rows.forEach((r, i) => {
    if (r === null || typeof r !== 'object') throw new InvalidOptionError(`rows[${i}]`, 'a row object', r);
  });
  const headers = columns.map((c) => c.header ?? c.key);
  const cells = rows.map((r) => columns.map((c) => cell(r[c.key], c, r)));
  const widths = columns.map((_, j) => Math.max(headers[j]!.length, ...cells.map((line) => line[j]!.length)));
  const aligns = columns.map((c) => {
    if (c.align) return c.align;
    const first = rows.map((r) => r[c.key]).find((v) => v !== undefined && v !== null);
    return typeof first === 'number' ? 'right' : 'left';
  });
  const line = (values: string[]) =>
    values
      .map((v, j) => (aligns[j] === 'right' ? v.padStart(widths[j]!) : v.padEnd(widths[j]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

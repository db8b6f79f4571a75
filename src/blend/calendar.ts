// Day and ISO-week keys for refreshing playlists, and the seeded core-plus-rotation selection they drive.
import { InvalidOptionError } from '../errors.js';
import type { Rng } from '../util/random.js';

/** Years that day and week keys can name: the four digits of `YYYY-MM-DD` and `YYYY-Www`. */
const FIRST_YEAR = 1;
const LAST_YEAR = 9999;
const inYears = (year: number) => year >= FIRST_YEAR && year <= LAST_YEAR;

/**
 * Midnight UTC of a calendar day. Unlike `Date.UTC`, which reads years 0-99 as 1900-1999, any year is itself.
 */
function utcDay(year: number, month: number, day: number): Date {
  const d = new Date(0);
  d.setUTCFullYear(year, month, day);
  return d;
}

/**
 * Normalises a day to `YYYY-MM-DD` (UTC for `Date`s); defaults to today. Throws {@link InvalidOptionError}
 * naming `option` for anything else, including a day outside years 0001-9999 (which has no `YYYY-MM-DD`
 * form).
 *
 * @example
 * ```ts
 * toDay('2024-02-01');                        // '2024-02-01'
 * toDay(new Date('2024-02-01T23:00:00Z'));    // '2024-02-01'
 * ```
 */
export function toDay(date: string | Date | undefined, option = 'date'): string {
  if (date === undefined) return new Date().toISOString().slice(0, 10);
  if (date instanceof Date) {
    if (Number.isNaN(date.getTime()))
      throw new InvalidOptionError(option, 'a valid Date or YYYY-MM-DD string', 'Invalid Date');
    if (!inYears(date.getUTCFullYear()))
      throw new InvalidOptionError(option, 'a Date in years 0001-9999 (UTC)', date);
    return date.toISOString().slice(0, 10);
  }
  if (typeof date === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(date) && inYears(Number(date.slice(0, 4)))) {
    const d = new Date(`${date}T00:00:00Z`);
    if (!Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === date) return date;
  }
  throw new InvalidOptionError(option, 'a Date or a YYYY-MM-DD string (years 0001-9999)', date);
}

/**
 * Normalises a week to an ISO-8601 week key like `2024-W05` (UTC for `Date`s); defaults to this week.
 * Throws {@link InvalidOptionError} naming `option` for anything else, including a week outside years
 * 0001-9999.
 *
 * @example
 * ```ts
 * toIsoWeek(new Date('2024-01-31T12:00:00Z')); // '2024-W05'
 * toIsoWeek('2024-W05');                       // '2024-W05'
 * ```
 */
export function toIsoWeek(week: string | Date | undefined, option = 'week'): string {
  if (week === undefined) week = new Date();
  if (week instanceof Date) {
    if (Number.isNaN(week.getTime()))
      throw new InvalidOptionError(option, 'a valid Date or YYYY-Www string', 'Invalid Date');
    if (!inYears(week.getUTCFullYear()))
      throw new InvalidOptionError(option, 'a Date in years 0001-9999 (UTC)', week);
    // ISO week: the week containing the year's first Thursday is week 1.
    const d = utcDay(week.getUTCFullYear(), week.getUTCMonth(), week.getUTCDate());
    const day = d.getUTCDay() || 7;
    d.setUTCDate(d.getUTCDate() + 4 - day); // Thursday of this week
    const year = d.getUTCFullYear();
    const n = Math.ceil(((d.getTime() - utcDay(year, 0, 1).getTime()) / 86_400_000 + 1) / 7);
    return `${String(year).padStart(4, '0')}-W${String(n).padStart(2, '0')}`;
  }
  if (
    typeof week === 'string' &&
    /^\d{4}-W(0[1-9]|[1-4]\d|5[0-3])$/.test(week) &&
    inYears(Number(week.slice(0, 4)))
  ) {
    // Only some years have a week 53: those whose 28 December falls in it.
    const year = Number(week.slice(0, 4));
    if (!week.endsWith('W53') || toIsoWeek(utcDay(year, 11, 28)) === week) return week;
    throw new InvalidOptionError(option, `an ISO week that exists (${year} has 52 weeks)`, week);
  }
  throw new InvalidOptionError(
    option,
    'a Date or an ISO week string like "2024-W05" (years 0001-9999)',
    week,
  );
}

/**
 * Picks `size` items from a best-first ranked list of `available` items so that the selection is stable
 * over time but not frozen: the first `round(size * (1 - rotation))` items always stay (the core), and the
 * other slots are a seeded sample from the next `4 ×` that many items (the band). Two different seeds
 * therefore share the core plus about a quarter of the rotating slots: expected overlap
 * `1 - 0.75 · rotation` (70% for rotation 0.4), higher when the band is cut short by a small pool. A
 * selection of one item is all core unless `rotation > 0.5`.
 *
 * With `keyOf` (e.g. the member an item was picked for), the sample is stratified: each key gets as many
 * rotating slots as it has among ranks `core..size-1`, drawn from its own items in the band, so the
 * selection keeps the ranking's proportions. A key with no item in the band beyond the ones it fills
 * would draw the same items every time; its slots are drawn from the rest of the band instead (any
 * key), so that the selection still rotates (a short list for many keys, say).
 * Returns positions into the ranking, in rank order.
 *
 * @example
 * ```ts
 * rotateSelection(100, 10, 0.4, createRng('2024-02-01')); // [0..5] plus 4 of [6..21]
 * ```
 */
export function rotateSelection(
  available: number,
  size: number,
  rotation: number,
  rng: Rng,
  keyOf?: (position: number) => number,
): number[] {
  const n = Math.min(size, available);
  const core = Math.min(n, Math.round(n * (1 - rotation)));
  const fresh = n - core;
  const bandEnd = Math.min(available, core + 4 * fresh);
  const key = keyOf ?? (() => 0);
  // Slots per key among the ranks the rotation replaces, and the band's positions per key.
  const slots = new Map<number, number>();
  for (let p = core; p < n; p++) slots.set(key(p), (slots.get(key(p)) ?? 0) + 1);
  const bandByKey = new Map<number, number[]>();
  for (let p = core; p < bandEnd; p++) {
    const list = bandByKey.get(key(p)) ?? [];
    list.push(p);
    bandByKey.set(key(p), list);
  }
  const chosen: number[] = [];
  const leftover: number[] = [];
  for (const [k, list] of [...bandByKey].sort((a, b) => a[0] - b[0])) {
    rng.shuffle(list);
    const take = slots.get(k) ?? 0;
    if (take < list.length) {
      chosen.push(...list.slice(0, take));
      leftover.push(...list.slice(take));
    } else {
      // No alternative within the key (the band holds only the ranks it fills): pooled with the rest.
      leftover.push(...list);
    }
  }
  leftover.sort((a, b) => a - b);
  rng.shuffle(leftover);
  chosen.push(...leftover.slice(0, fresh - chosen.length));
  chosen.sort((a, b) => a - b);
  return [...Array.from({ length: core }, (_, i) => i), ...chosen];
}

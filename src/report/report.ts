// Self-contained HTML report (inline CSS and SVG, no external requests) built from titled sections.
import path from 'node:path';
import { checkKnownOptions, InvalidOptionError, optionKeys } from '../errors.js';
import { writeFileAtomic } from '../util/fs.js';

/** A table in a report section. */
export interface ReportTable {
  columns: readonly string[];
  rows: readonly (readonly (string | number)[])[];
}

/** One section of a report: a heading, and any of text, an inline SVG chart, a table, preformatted text. */
export interface ReportSection {
  heading: string;
  /** Paragraphs (blank lines separate paragraphs). Plain text; HTML is escaped. */
  text?: string;
  /** An SVG document string (e.g. from `trainingCurveChart`); inlined as is. */
  svg?: string;
  table?: ReportTable;
  /** Preformatted text, e.g. a formatted metrics table. */
  pre?: string;
}

/** Input of {@link buildReport}. */
export interface ReportOptions {
  title: string;
  sections: readonly ReportSection[];
  /** Shown under the title. Default: the current time. Pass a fixed value for reproducible output. */
  generatedAt?: string;
}

const CSS = `
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1d1d1f; background: #f5f5f7; }
main { max-width: 960px; margin: 0 auto; padding: 24px 20px 48px; }
h1 { font-size: 28px; margin: 8px 0 4px; }
.meta { color: #6e6e73; margin: 0 0 24px; }
section { background: #fff; border-radius: 10px; padding: 18px 22px; margin: 0 0 20px; box-shadow: 0 1px 3px rgba(0,0,0,.08); }
h2 { font-size: 19px; margin: 0 0 10px; }
p { margin: 0 0 10px; }
figure { margin: 8px 0; overflow-x: auto; }
figure svg { display: block; max-width: 100%; height: auto; }
table { border-collapse: collapse; margin: 8px 0; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 12px; border-bottom: 1px solid #e5e5ea; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { font-weight: 600; background: #fafafa; }
pre { background: #f6f8fa; padding: 10px 12px; border-radius: 6px; overflow-x: auto; font-size: 13px; }
`;

/**
 * Escapes text for HTML element content and attribute values.
 *
 * @example
 * ```ts
 * escapeHtml('<b>&"'); // '&lt;b&gt;&amp;&quot;'
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

/** Elements an inline chart never needs and that could run or load something: dropped, tags and all. */
const UNSAFE_ELEMENTS = new Set([
  'script',
  'foreignobject',
  'iframe',
  'object',
  'embed',
  'style',
  'animate',
  'set',
  'animatemotion',
  'animatetransform',
]);

/**
 * Keeps an SVG inert inside the page: drops XML prologs, scripts and other active elements, event handlers
 * and external references. It works tag by tag (quoted attribute values kept whole), never on the text
 * between tags, so a user id such as `bob onx=y` in a chart's text is left as it is.
 */
function sanitizeSvg(svg: string, option: string): string {
  const s = svg
    .replace(/<\?xml[^>]*\?>/g, '')
    .replace(/<!DOCTYPE[^>]*>/gi, '')
    .trim();
  if (!s.startsWith('<svg'))
    throw new InvalidOptionError(option, 'an SVG document string starting with <svg', s.slice(0, 20));
  // Repeated until nothing changes: removing one tag can join the text around it into another
  // (`<scr<script></script>ipt>`).
  let out = s;
  for (let pass = 0; pass < 10; pass++) {
    const next = sanitizeTags(out);
    if (next === out) return out;
    out = next;
  }
  throw new InvalidOptionError(option, 'an SVG chart whose markup settles when sanitised', s.slice(0, 20));
}

/** One pass of {@link sanitizeSvg} over every tag. */
function sanitizeTags(s: string): string {
  return s.replace(/<(?:[^<>"']|"[^"]*"|'[^']*')*>/g, (tag) => {
    const name = /^<\/?\s*([^\s/>]+)/.exec(tag)?.[1]?.toLowerCase() ?? '';
    if (UNSAFE_ELEMENTS.has(name)) return '';
    return tag.replace(
      /(\s+)([^\s=/>"']+)(\s*=\s*("[^"]*"|'[^']*'|[^\s>"']+))?/g,
      (attr, _space: string, attrName: string, _eq: string | undefined, value: string | undefined) => {
        const key = attrName.toLowerCase();
        const text = (value ?? '').replace(/^["']|["']$/g, '').trim();
        if (key.startsWith('on')) return ''; // event handlers
        if ((key === 'href' || key === 'xlink:href' || key === 'src') && !text.startsWith('#')) return '';
        if (key === 'style' && /url\(\s*["']?(?!#)/i.test(text)) return ''; // external references in CSS
        return attr;
      },
    );
  });
}

function renderText(text: string): string {
  return text
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => `<p>${escapeHtml(p)}</p>`)
    .join('\n');
}

/** A table cell's number: integers as they are, else 4 decimals, or 4 significant digits below 0.001. */
function formatNumber(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) < 0.001 && v !== 0 ? v.toPrecision(4) : v.toFixed(4);
}

function renderTable(table: ReportTable, option: string): string {
  if (!Array.isArray(table.columns) || !Array.isArray(table.rows)) {
    throw new InvalidOptionError(
      option,
      'a table `{ columns: string[], rows: (string | number)[][] }`',
      table,
    );
  }
  table.rows.forEach((r, i) => {
    if (!Array.isArray(r) || r.length !== table.columns.length)
      throw new InvalidOptionError(
        `${option}.rows[${i}]`,
        `a row of ${table.columns.length} cells, one per column`,
        r,
      );
  });
  const cell = (v: string | number) => escapeHtml(typeof v === 'number' ? formatNumber(v) : String(v));
  const head = `<tr>${table.columns.map((c) => `<th>${escapeHtml(String(c))}</th>`).join('')}</tr>`;
  const rows: readonly (readonly (string | number)[])[] = table.rows;
  const body = rows.map((r) => `<tr>${r.map((v) => `<td>${cell(v)}</td>`).join('')}</tr>`).join('\n');
  return `<table>\n<thead>${head}</thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}

/**
 * Builds a self-contained HTML page: inline CSS, inline SVG charts, no scripts and no external requests,
 * so it opens offline and can be mailed as one file.
 *
 * @example
 * ```ts
 * const html = buildReport({
 *   title: 'encore report',
 *   sections: [{ heading: 'Training', text: 'SASRec, 20 epochs.', svg: await trainingCurveChart(history) }],
 * });
 * ```
 */
export function buildReport(options: ReportOptions): string {
  if (options !== null && typeof options === 'object')
    checkKnownOptions(
      options,
      optionKeys<typeof options>({ title: true, sections: true, generatedAt: true }),
      'buildReport',
    );
  if (!options || typeof options.title !== 'string' || options.title.trim() === '') {
    throw new InvalidOptionError('title', 'a non-empty string', options?.title);
  }
  if (!Array.isArray(options.sections))
    throw new InvalidOptionError('sections', 'an array of sections', options.sections);
  const parts = options.sections.map((s, i) => {
    if (!s || typeof s.heading !== 'string') {
      throw new InvalidOptionError(`sections[${i}].heading`, 'a string', s?.heading);
    }
    checkKnownOptions(
      s,
      optionKeys<typeof s>({ heading: true, text: true, svg: true, table: true, pre: true }),
      `report section (sections[${i}])`,
    );
    const body: string[] = [`<h2>${escapeHtml(s.heading)}</h2>`];
    if (s.text) body.push(renderText(s.text));
    if (s.svg) body.push(`<figure class="chart">${sanitizeSvg(s.svg, `sections[${i}].svg`)}</figure>`);
    if (s.table) body.push(renderTable(s.table, `sections[${i}].table`));
    if (s.pre) body.push(`<pre>${escapeHtml(s.pre)}</pre>`);
    return `<section>\n${body.join('\n')}\n</section>`;
  });
  const when = options.generatedAt ?? new Date().toISOString();
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(options.title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<h1>${escapeHtml(options.title)}</h1>
<p class="meta">Generated by encore on ${escapeHtml(when)}</p>
${parts.join('\n')}
</main>
</body>
</html>
`;
}

/**
 * Builds the report and writes it atomically to `dir/index.html` (creating `dir`). Returns the file path.
 *
 * @example
 * ```ts
 * const file = await writeReport('report', { title: 'encore report', sections });
 * console.log(`open ${file}`);
 * ```
 */
export async function writeReport(
  dir: string,
  options: ReportOptions,
  fileName = 'index.html',
): Promise<string> {
  if (typeof dir !== 'string' || dir === '') throw new InvalidOptionError('dir', 'a directory path', dir);
  const html = buildReport(options);
  const file = path.join(dir, fileName);
  await writeFileAtomic(file, html);
  return file;
}

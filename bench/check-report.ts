// Opens an encore HTML report in headless Chromium and checks every chart rendered; saves a screenshot.
// Usage: npx tsx bench/check-report.ts [report/index.html]   (skips with exit 0 when Chromium is absent)
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** What the page reports about one chart. */
interface ChartCheck {
  heading: string;
  width: number;
  height: number;
  marks: number;
}

async function main(): Promise<number> {
  const file = path.resolve(process.argv[2] ?? 'report/index.html');
  if (!existsSync(CHROMIUM)) {
    console.log(
      `check-report: skipped, no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`,
    );
    return 0;
  }
  if (!existsSync(file)) {
    console.error(
      `check-report: report not found: ${file}\n  fix: run \`encore report --out report\` first, or pass the path`,
    );
    return 1;
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
  const failures: string[] = [];
  const requests: string[] = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    // The report must be self-contained: record any request other than the page itself.
    page.on('request', (req) => {
      if (req.url() !== pathToFileURL(file).href) requests.push(req.url());
    });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    const charts: ChartCheck[] = await page.$$eval('figure.chart > svg', (svgs) =>
      svgs.map((svg) => {
        const box = svg.getBoundingClientRect();
        const heading = svg.closest('section')?.querySelector('h2')?.textContent ?? '?';
        // Data marks only: axes, legends and titles are graphics symbols too, so counting every symbol
        // passed a chart with no data drawn.
        const marks = svg.querySelectorAll(
          '[aria-roledescription="bar"], [aria-roledescription="line mark"], [aria-roledescription="point"]',
        ).length;
        return { heading, width: box.width, height: box.height, marks };
      }),
    );
    if (charts.length === 0) failures.push('no charts found (figure.chart > svg)');
    for (const c of charts) {
      const ok = c.width > 0 && c.height > 0 && c.marks > 0;
      console.log(
        `${ok ? 'ok  ' : 'FAIL'} ${c.heading.padEnd(22)} ${Math.round(c.width)}x${Math.round(c.height)} px, ${c.marks} marks`,
      );
      if (!ok) failures.push(`chart in "${c.heading}" is empty (${c.width}x${c.height}, ${c.marks} marks)`);
    }
    for (const e of errors) failures.push(`page error: ${e}`);
    for (const r of requests) failures.push(`external request: ${r}`);
    const shot = path.resolve('bench/results/report.png');
    await fs.mkdir(path.dirname(shot), { recursive: true });
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`screenshot: ${path.relative(process.cwd(), shot)}`);
  } finally {
    await browser.close();
  }
  if (failures.length > 0) {
    for (const f of failures) console.error(`check-report: ${f}`);
    return 1;
  }
  console.log(`check-report: ${file} ok`);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(`check-report: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 1;
  },
);

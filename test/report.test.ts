// Tests for the SVG charts and the self-contained HTML report.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../src/errors.js';
import {
  blendCompositionChart,
  modelComparisonChart,
  simulationChart,
  trainingCurveChart,
  writeChart,
} from '../src/report/charts.js';
import { buildReport, escapeHtml, writeReport } from '../src/report/report.js';

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'encore-report-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const count = (s: string, re: RegExp) => (s.match(re) ?? []).length;

describe('charts', () => {
  it('training curve draws a loss line and a validation line with one point per epoch', async () => {
    const svg = await trainingCurveChart([
      { epoch: 1, loss: 5, valNdcg10: 0.01 },
      { epoch: 2, loss: 4, valNdcg10: 0.03 },
      { epoch: 3, loss: 3.5, valNdcg10: 0.05 },
    ]);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(count(svg, /aria-roledescription="line mark"/g)).toBe(2);
    expect(svg).toContain('Validation NDCG@10');
    expect(svg).toContain('Training loss');
    // 3 points per panel
    expect(count(svg, /aria-roledescription="point"/g)).toBe(6);
  });

  it('training curve without validation has only the loss panel', async () => {
    const svg = await trainingCurveChart([
      { epoch: 1, loss: 5 },
      { epoch: 2, loss: 4 },
    ]);
    expect(svg).not.toContain('Validation NDCG@10');
    expect(count(svg, /aria-roledescription="line mark"/g)).toBe(1);
  });

  it('model comparison draws one bar per (model, metric) row', async () => {
    const rows = ['sasrec', 'popularity', 'item-transition'].flatMap((model, i) =>
      ['HR@10', 'NDCG@10'].map((metric, j) => ({ model, metric, value: 0.1 * (i + 1) + 0.01 * j })),
    );
    const svg = await modelComparisonChart(rows);
    expect(count(svg, /aria-roledescription="bar"/g)).toBe(6);
    expect(svg).toContain('item-transition');
  });

  it('blend composition has a bar per member, including members with no tracks', async () => {
    const svg = await blendCompositionChart({
      tracks: [{ attributedTo: 'ana' }, { attributedTo: 'ana' }, { attributedTo: 'ben' }],
      members: [{ id: 'ana' }, { id: 'ben' }, { id: 'cy' }],
    });
    expect(count(svg, /aria-roledescription="bar"/g)).toBe(3);
    expect(svg).toContain('cy');
  });

  it('blend composition splits shared tracks between members', async () => {
    const svg = await blendCompositionChart({
      tracks: [{ attributedTo: ['ana', 'ben'] }, { attributedTo: ['ana'] }],
    });
    expect(svg).toMatch(/aria-label="[^"]*75%[^"]*ana"/);
    expect(svg).toMatch(/aria-label="[^"]*25%[^"]*ben"/);
  });

  it('simulation chart draws one line per policy', async () => {
    const svg = await simulationChart({
      popularity: [10, 9, 8, 8],
      diverse: [10, 10, 9, 9],
      random: [10, 7, 5, 4],
    });
    expect(count(svg, /aria-roledescription="line mark"/g)).toBe(3);
  });

  it('rejects empty and non-finite input with the option named', async () => {
    await expect(trainingCurveChart([])).rejects.toThrow(InvalidOptionError);
    await expect(trainingCurveChart([{ epoch: 1, loss: Number.NaN }])).rejects.toThrow(/history\[0\]\.loss/);
    await expect(simulationChart({ a: [] })).rejects.toThrow(/daily\.a/);
    await expect(modelComparisonChart([])).rejects.toThrow(/`rows`/);
  });

  it('writeChart writes atomically and leaves no temp files', async () => {
    const svg = await simulationChart({ p: [1, 2] });
    const file = path.join(dir, 'nested', 'sim.svg');
    await writeChart(file, svg);
    expect(await fs.readFile(file, 'utf8')).toBe(svg);
    expect(await fs.readdir(path.dirname(file))).toEqual(['sim.svg']);
    await expect(writeChart(file, 'not svg')).rejects.toThrow(InvalidOptionError);
    expect(await fs.readFile(file, 'utf8')).toBe(svg);
  });
});

describe('report', () => {
  it('is self-contained: inline SVG and CSS, no scripts, no external src/href', async () => {
    const svg = await modelComparisonChart([{ model: 'a', metric: 'HR@10', value: 0.5 }]);
    const html = buildReport({
      title: 'T <1>',
      generatedAt: 'now',
      sections: [
        { heading: 'Chart', text: 'para one\n\npara <two>', svg },
        { heading: 'Table', table: { columns: ['model', 'HR@10'], rows: [['a', 0.123456]] } },
        { heading: 'Raw', pre: 'a | b' },
        {
          heading: 'Hostile',
          svg: '<svg><script>alert(1)</script><image href="https://x.org/a.png" onload="x()"/></svg>',
        },
      ],
    });
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).toContain('<title>T &lt;1&gt;</title>');
    expect(html).toContain('<p>para &lt;two&gt;</p>');
    expect(html).toContain('<td>0.1235</td>');
    expect(count(html, /<svg/g)).toBe(2);
    expect(html).not.toMatch(/\s(src|href)\s*=\s*["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/<script|<link|@import|url\(/i);
    expect(html).not.toMatch(/\sonload=/i);
    // Unquoted handlers and hrefs whose URL holds the other quote are dropped too; fragment links stay.
    const tricky = buildReport({
      title: 't',
      sections: [
        {
          heading: 'h',
          svg: `<svg onload=alert(1)><a href="javascript:alert('x')"><use href="#g"/></a><a href=http://x.org/></a></svg>`,
        },
      ],
    });
    expect(tricky).not.toMatch(/onload|javascript:|x\.org/i);
    expect(tricky).toMatch(/href="#g"/);
    // Tag by tag, never the text between tags: a user id that looks like a handler stays as text, and
    // removing a tag cannot join its neighbours into a new one.
    const chart = (svg: string) =>
      buildReport({ title: 't', sections: [{ heading: 'h', svg }] }).match(
        /<figure class="chart">([\s\S]*?)<\/figure>/,
      )![1];
    expect(chart('<svg><text aria-label="bob onx=y">bob onx=y</text></svg>')).toBe(
      '<svg><text aria-label="bob onx=y">bob onx=y</text></svg>',
    );
    expect(chart('<svg><scr<script></script>ipt>alert(1)</script></svg>')).toBe('<svg>alert(1)</svg>');
    expect(chart('<svg><foreignObject><iframe src="https://x.org/"></iframe></foreignObject></svg>')).toBe(
      '<svg></svg>',
    );
    expect(
      chart('<svg><rect style="fill:url(https://x.org/p.svg#a)"/><rect style="fill:url(#g)"/></svg>'),
    ).toBe('<svg><rect/><rect style="fill:url(#g)"/></svg>');
    // A misspelt section key and a short table row are errors, not silently dropped content.
    expect(() => buildReport({ title: 't', sections: [{ heading: 'h', txt: 'x' } as never] })).toThrow(
      /`txt`/,
    );
    const table = { columns: ['a', 'b'], rows: [[1, 2], [3]] };
    expect(() => buildReport({ title: 't', sections: [{ heading: 'h', table }] })).toThrow(
      /`sections\[0\]\.table\.rows\[1\]`/,
    );
    const small = buildReport({
      title: 't',
      sections: [{ heading: 'h', table: { columns: ['x'], rows: [[0.000012]] } }],
    });
    expect(small).toMatch(/0\.00001200/);
  });

  it('validates its input', () => {
    expect(() => buildReport({ title: '', sections: [] })).toThrow(/`title`/);
    expect(() => buildReport({ title: 'x', sections: [{ heading: 'h', svg: '<div/>' }] })).toThrow(
      /sections\[0\]\.svg/,
    );
  });

  it('escapeHtml escapes all special characters', () => {
    expect(escapeHtml(`<a href="x">&'`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&#39;');
  });

  it('writeReport writes index.html atomically', async () => {
    const out = path.join(dir, 'rep');
    const file = await writeReport(out, { title: 'R', sections: [{ heading: 'h', text: 't' }] });
    expect(file).toBe(path.join(out, 'index.html'));
    expect(await fs.readdir(out)).toEqual(['index.html']);
    expect(await fs.readFile(file, 'utf8')).toContain('<h2>h</h2>');
  });
});

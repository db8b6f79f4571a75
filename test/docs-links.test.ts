// Relative links in the README and docs/ point at files that exist and at headings those files have, so
// moving a section (as the README's history moved to docs/) cannot leave a dead link behind.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');
const pages = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors of a markdown file's headings (outside code fences), with GitHub's -1, -2 for repeats. */
function anchors(file: string): Set<string> {
  const out = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const m = !fenced && /^#{1,6}\s+(.*)$/.exec(line);
    if (!m) continue;
    const base = slug(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Relative links `[text](target)` of a markdown file outside code, with their line numbers. */
function links(file: string): { line: number; target: string }[] {
  const out: { line: number; target: string }[] = [];
  let fenced = false;
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((text, i) => {
      if (text.startsWith('```')) fenced = !fenced;
      if (fenced) return;
      for (const m of text.replace(/`[^`]*`/g, '').matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1]!;
        if (!/^[a-z]+:/i.test(target)) out.push({ line: i + 1, target });
      }
    });
  return out;
}

describe('documentation links', () => {
  it('finds the pages and their links', () => {
    expect(pages).toContain('docs/next-track.md');
    expect(links(join(root, 'README.md')).length).toBeGreaterThan(10);
    expect(slug("Learning rate `'auto'`")).toBe('learning-rate-auto');
    expect(slug('Untied output (off by default)')).toBe('untied-output-off-by-default');
  });

  it.each(pages)('every relative link in %s resolves', (page) => {
    const file = join(root, page);
    const dead: string[] = [];
    for (const { line, target } of links(file)) {
      const [path, anchor] = target.split('#') as [string, string | undefined];
      const dest = path === '' ? file : resolve(dirname(file), path);
      if (!existsSync(dest)) dead.push(`${page}:${line} ${target} (no such file)`);
      else if (anchor && dest.endsWith('.md') && !anchors(dest).has(anchor))
        dead.push(`${page}:${line} ${target} (no heading #${anchor})`);
    }
    expect(dead).toEqual([]);
  });
});

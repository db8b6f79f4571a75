// Replaces the README's generated benchmark sections with bench/results/<name>.md (atomic write).
//
// Run: npx tsx bench/update-readme.ts [README.md]
// A section is the text between `<!-- bench:<name>:start -->` and `<!-- bench:<name>:end -->`; it is left
// untouched when bench/results/<name>.md does not exist.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../src/util/fs.js';

/** Sections the README carries, in README order. */
export const SECTIONS = [
  'next-track',
  'sparse',
  'blend',
  'reward-training',
  'long-term',
  'perf',
  'scale',
  'mpd',
] as const;

/**
 * Returns `readme` with each section's body replaced by `bodies[name]` (sections without a body, or without
 * both markers, are kept as they are), and the names it replaced.
 *
 * @example
 * ```ts
 * replaceSections('a\n<!-- bench:perf:start -->\nold\n<!-- bench:perf:end -->\n', { perf: '| x |' });
 * // { text: 'a\n<!-- bench:perf:start -->\n| x |\n<!-- bench:perf:end -->\n', replaced: ['perf'] }
 * ```
 */
export function replaceSections(
  readme: string,
  bodies: Readonly<Record<string, string | undefined>>,
): { text: string; replaced: string[] } {
  let text = readme;
  const replaced: string[] = [];
  for (const [name, body] of Object.entries(bodies)) {
    if (body === undefined) continue;
    const start = `<!-- bench:${name}:start -->`;
    const end = `<!-- bench:${name}:end -->`;
    const i = text.indexOf(start);
    const j = text.indexOf(end, i + start.length);
    if (i < 0 || j < 0) continue;
    text = `${text.slice(0, i + start.length)}\n${body.trim()}\n${text.slice(j)}`;
    replaced.push(name);
  }
  return { text, replaced };
}

async function main(): Promise<void> {
  const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const readmePath = path.resolve(process.argv[2] ?? path.join(repoRoot, 'README.md'));
  const readme = await readFile(readmePath, 'utf8');
  const bodies: Record<string, string | undefined> = {};
  for (const name of SECTIONS) {
    const file = path.join(repoRoot, 'bench', 'results', `${name}.md`);
    bodies[name] = existsSync(file) ? await readFile(file, 'utf8') : undefined;
  }
  const { text, replaced } = replaceSections(readme, bodies);
  const kept = SECTIONS.filter((s) => !replaced.includes(s));
  if (text !== readme) {
    await writeFileAtomic(readmePath, text);
  }
  console.log(
    `README: replaced ${replaced.length ? replaced.join(', ') : 'nothing'}${kept.length ? `; kept ${kept.join(', ')} (no results or no markers)` : ''}`,
  );
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();

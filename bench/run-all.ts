// Runs every benchmark in sequence as child processes, then refreshes the README's generated sections.
//
// Run: npm run bench  (or: npx tsx bench/run-all.ts --only perf,blend)
// Benchmarks whose file is missing are skipped with a notice; a failing one is reported and the rest run.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Benchmarks in run order (bench/<name>.ts). */
export const BENCHES = [
  'next-track',
  'sparse',
  'perf',
  'scale',
  'mpd',
  'blend',
  'long-term',
  'reward-training',
] as const;

/**
 * Which benchmarks to run for the command-line arguments (`--only a,b` picks a subset, in run order).
 *
 * @example
 * ```ts
 * selectBenches(['--only', 'perf,blend']); // ['perf', 'blend']
 * ```
 */
export function selectBenches(argv: readonly string[]): string[] {
  const i = argv.findIndex((a) => a === '--only' || a.startsWith('--only='));
  if (i < 0) return [...BENCHES];
  const list = argv[i]!.includes('=') ? argv[i]!.split('=')[1]! : (argv[i + 1] ?? '');
  const wanted = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = wanted.filter((w) => !(BENCHES as readonly string[]).includes(w));
  if (unknown.length > 0) {
    throw new Error(
      `The --only option must list benchmarks among ${BENCHES.join(', ')}; got ${unknown.join(', ')}`,
    );
  }
  return BENCHES.filter((b) => wanted.includes(b));
}

function run(repoRoot: string, script: string, args: readonly string[] = []): number {
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: repoRoot,
    stdio: 'inherit',
  });
  return r.status ?? 1;
}

function main(): void {
  const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  let names: string[];
  try {
    names = selectBenches(process.argv.slice(2));
  } catch (e) {
    console.error((e as Error).message);
    process.exit(2);
  }
  const failed: string[] = [];
  for (const name of names) {
    const script = path.join('bench', `${name}.ts`);
    if (!existsSync(path.join(repoRoot, script))) {
      console.log(`\n== ${name}: skipped (${script} not found)`);
      continue;
    }
    console.log(`\n== ${name}`);
    const t0 = performance.now();
    const code = run(repoRoot, script);
    console.log(
      `== ${name}: ${code === 0 ? 'done' : `failed (exit ${code})`} in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
    );
    if (code !== 0) failed.push(name);
  }
  console.log('\n== README');
  if (run(repoRoot, path.join('bench', 'update-readme.ts')) !== 0) failed.push('update-readme');
  if (failed.length > 0) {
    console.error(`\nfailed: ${failed.join(', ')}`);
    process.exit(1);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();

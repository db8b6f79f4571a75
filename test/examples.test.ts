// Keeps the examples from rotting: every examples/*.ts runs to completion in fast mode and prints something.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..');
const examples = fs
  .readdirSync(path.join(root, 'examples'))
  .filter((f) => f.endsWith('.ts'))
  .sort();

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

/** Runs one example as its own Node process (tsx loader), in fast and quiet mode. */
function runExample(file: string, timeoutMs: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(process.execPath, ['--import', 'tsx', path.join('examples', file)], {
      cwd: root,
      env: { ...process.env, ENCORE_FAST: '1', ENCORE_QUIET: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({ code, signal, stdout, stderr, seconds: (performance.now() - start) / 1000 }),
    );
  });
}

describe('examples (ENCORE_FAST=1)', () => {
  it('finds the numbered examples, including the quickstart', () => {
    expect(examples).toContain('01-quickstart.ts');
    for (const f of examples) expect(f).toMatch(/^\d\d-[a-z0-9-]+\.ts$/);
  });

  // Tests in one file run one after another, so the examples never compete for the CPU with each other.
  for (const file of examples) {
    it(`${file} runs to completion and prints output`, async () => {
      const run = await runExample(file, 115_000);
      const tail = run.stderr.split('\n').slice(-15).join('\n').slice(-3000);
      expect(run.signal, `${file} was killed (${run.signal}) after ${run.seconds.toFixed(1)} s`).toBeNull();
      expect(run.code, `${file} exited with ${run.code}; stderr:\n${tail}`).toBe(0);
      expect(run.stdout.trim().length, `${file} printed nothing`).toBeGreaterThan(0);
      console.log(`${file}: ${run.seconds.toFixed(1)} s`);
    }, 120_000);
  }
});

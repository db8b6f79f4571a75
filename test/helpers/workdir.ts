// A per-file scratch directory on the wasm backend: the setup most model test files share.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { initBackend } from '../../src/backend.js';

/**
 * Registers `beforeAll` (wasm backend, a fresh temporary directory) and `afterAll` (the directory removed)
 * hooks, and returns a function that joins names under that directory.
 *
 * @example
 * ```ts
 * const under = useWasmWorkdir('encore-repeat-');
 * it('saves', async () => { await model.save(under('m')); });
 * ```
 */
export function useWasmWorkdir(prefix: string): (...names: string[]) => string {
  let dir = '';
  beforeAll(async () => {
    await initBackend({ backend: 'wasm', verbose: false });
    dir = await mkdtemp(path.join(tmpdir(), prefix));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  return (...names) => path.join(dir, ...names);
}

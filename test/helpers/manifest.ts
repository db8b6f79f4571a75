// Test helper: a model.json edited on purpose, with its own checksum recomputed.
import { createHash } from 'node:crypto';

/**
 * A manifest with its own checksum (`sha256.model`) recomputed, as a buggy writer would leave it: tests of
 * the loaders' config checks use it, since an edit alone is caught by the checksum first.
 */
export function resigned<M extends object>(manifest: M): M {
  const m = manifest as M & {
    type: unknown;
    config: unknown;
    arrays: unknown;
    weightsBytes: unknown;
    sha256: Record<string, string>;
  };
  const body = JSON.stringify({
    type: m.type,
    config: m.config,
    arrays: m.arrays,
    weightsBytes: m.weightsBytes,
  });
  m.sha256.model = createHash('sha256').update(body).digest('hex');
  return manifest;
}

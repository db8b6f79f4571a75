// npm 12 skips a dependency's install script unless package.json's `allowScripts` approves it (npm 11.16 to
// 11.x only warns). tfjs-node's script fetches libtensorflow, so an unapproved tfjs-node installs without
// its native library and encore falls back to wasm. Every package in the lockfile that has an install script
// must therefore have a decision in `allowScripts`, and tfjs-node's must be an approval of the version
// package.json pins.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

interface LockEntry {
  version?: string;
  hasInstallScript?: boolean;
}

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
  allowScripts?: Record<string, boolean>;
  optionalDependencies?: Record<string, string>;
};
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as {
  packages: Record<string, LockEntry>;
};

/** Packages of the lockfile with an install script, as `name@version`. */
function withInstallScripts(): string[] {
  const out: string[] = [];
  for (const [where, entry] of Object.entries(lock.packages)) {
    if (!entry.hasInstallScript || where === '') continue;
    const name = where.slice(where.lastIndexOf('node_modules/') + 'node_modules/'.length);
    out.push(`${name}@${entry.version}`);
  }
  return out.sort();
}

/** The `allowScripts` decision for `name@version`: a pinned key wins over a name-only one. */
function decision(spec: string): boolean | undefined {
  const allow = pkg.allowScripts ?? {};
  const name = spec.slice(0, spec.lastIndexOf('@'));
  return allow[spec] ?? allow[name];
}

describe('allowScripts (npm install-script approvals)', () => {
  it('has a decision for every package in the lockfile with an install script', () => {
    const found = withInstallScripts();
    expect(found.length).toBeGreaterThan(0);
    const undecided = found.filter((spec) => decision(spec) === undefined);
    expect(undecided, 'approve or deny these with `npm install-scripts approve|deny <pkg>`').toEqual([]);
  });

  it("approves the pinned @tensorflow/tfjs-node's script, which installs the native backend", () => {
    const version = pkg.optionalDependencies?.['@tensorflow/tfjs-node'];
    expect(version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(withInstallScripts()).toContain(`@tensorflow/tfjs-node@${version}`);
    expect(decision(`@tensorflow/tfjs-node@${version}`)).toBe(true);
  });

  it('has no entry that matches nothing in the lockfile', () => {
    const present = new Set(withInstallScripts());
    const names = new Set([...present].map((s) => s.slice(0, s.lastIndexOf('@'))));
    const stale = Object.keys(pkg.allowScripts ?? {}).filter((key) => !present.has(key) && !names.has(key));
    expect(stale).toEqual([]);
  });
});

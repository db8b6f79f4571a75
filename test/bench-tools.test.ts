// Benchmark tooling: README section replacement and the run-all subset option.
import { describe, expect, it } from 'vitest';
import { selectBenches } from '../bench/run-all.js';
import { replaceSections } from '../bench/update-readme.js';

describe('replaceSections', () => {
  const readme = [
    '# t',
    '<!-- bench:perf:start -->',
    'old perf',
    '<!-- bench:perf:end -->',
    'middle',
    '<!-- bench:blend:start -->',
    'old blend',
    '<!-- bench:blend:end -->',
    'end',
  ].join('\n');

  it('replaces sections with results and keeps the others and everything outside the markers', () => {
    const { text, replaced } = replaceSections(readme, {
      perf: '| new |\n',
      blend: undefined,
      'long-term': 'x',
    });
    expect(replaced).toEqual(['perf']);
    expect(text).toContain('<!-- bench:perf:start -->\n| new |\n<!-- bench:perf:end -->');
    expect(text).toContain('old blend');
    expect(text).not.toContain('old perf');
    expect(text.startsWith('# t\n')).toBe(true);
    expect(
      text.endsWith('middle\n<!-- bench:blend:start -->\nold blend\n<!-- bench:blend:end -->\nend'),
    ).toBe(true);
    // Idempotent.
    expect(replaceSections(text, { perf: '| new |\n' }).text).toBe(text);
  });
});

describe('selectBenches', () => {
  it('runs everything by default and a subset in run order with --only', () => {
    expect(selectBenches([])).toEqual(['next-track', 'perf', 'blend', 'long-term', 'reward-training']);
    expect(selectBenches(['--only', 'blend,perf'])).toEqual(['perf', 'blend']);
    expect(selectBenches(['--only=long-term'])).toEqual(['long-term']);
    expect(() => selectBenches(['--only', 'perf,nope'])).toThrow(/nope/);
  });
});

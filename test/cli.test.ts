// Tests for the `encore` CLI, run in-process through main() on a small generated world.
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../src/backend.js';
import { MIN_ARTISTS, maxGenerateDays } from '../src/cli/commands.js';
import type { CliIo } from '../src/cli/io.js';
import { main } from '../src/cli/main.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(...argv: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (s) => {
      stdout += s;
    },
    stderr: (s) => {
      stderr += s;
    },
    stderrIsTTY: false,
  };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

/** `encore train` of `data` with `model` into `out`, plus any further arguments. */
function trainOf(data: string, model: string, out: string, ...more: string[]): string[] {
  return ['train', '--data', data, '--model', model, '--out', out, ...more];
}

/** `encore blend` of these `--member` values with the popularity model, 5 tracks, as JSON. */
function blendOf(...members: string[]): string[] {
  return ['blend', '--model', popDir, ...members.flatMap((m) => ['--member', m]), '--size', '5', '--json'];
}

function json<T = Record<string, unknown>>(r: Run): T {
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
}

let dir: string;
let listens: string;
let tracks: string;
let popDir: string;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'encore-cli-'));
  const r = await run(
    'generate',
    '--out',
    path.join(dir, 'data'),
    '--users',
    '40',
    '--artists',
    '36',
    '--days',
    '10',
    '--json',
  );
  const out = json<{ listensFile: string; tracksFile: string; users: number; tracks: number }>(r);
  listens = out.listensFile;
  tracks = out.tracksFile;
  expect(out.users).toBe(40);
  expect(out.tracks).toBe(360);
  popDir = path.join(dir, 'pop');
  json(await run('train', '--data', listens, '--model', 'popularity', '--out', popDir, '--json'));
});

afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('usage errors exit 2 with one error line and a fix', () => {
  const cases: [string, string[], RegExp][] = [
    ['no arguments', [], /Usage: encore/],
    ['unknown command', ['frobnicate'], /unknown command 'frobnicate'/],
    ['unknown option', ['simulate', '--dayz', '3'], /unknown option '--dayz' \(did you mean --days\?\)/],
    [
      'missing required option',
      ['train', '--model', 'popularity', '--out', 'x'],
      /required option '--data <csv>'/,
    ],
    [
      'unknown model',
      ['train', '--data', 'x.csv', '--model', 'bert', '--out', 'x'],
      /'bert' is invalid\. Allowed choices are sasrec/,
    ],
    [
      'invalid number',
      ['train', '--data', 'x.csv', '--model', 'sasrec', '--out', 'x', '--epochs', '0'],
      /--epochs <n>.*'0' is invalid/,
    ],
    ['invalid k list', ['evaluate', '--model', 'm', '--data', 'd', '-k', '5,x'], /comma-separated integers/],
    [
      'k in exponent notation',
      ['evaluate', '--model', 'm', '--data', 'd', '-k', '1e1'],
      /comma-separated integers/,
    ],
    [
      'an integer option in hex',
      ['train', '--data', 'x.csv', '--model', 'sasrec', '--out', 'x', '--epochs', '0x3'],
      /--epochs <n>.*'0x3' is invalid/,
    ],
    ['bad member syntax', ['blend', '--model', 'm', '--member', 'ana'], /name=listens\.csv/],
    ['bad date', ['blend', '--model', 'm', '--member', 'a=a.csv', '--date', '2024-13-45'], /YYYY-MM-DD/],
    [
      'a date that does not exist',
      ['blend', '--model', 'm', '--member', 'a=a.csv', '--date', '2024-02-30'],
      /YYYY-MM-DD/,
    ],
  ];
  for (const [name, argv, message] of cases) {
    it(name, async () => {
      const r = await run(...argv);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(message);
      if (argv.length > 0) {
        expect(r.stderr).toMatch(/^error: .*\n {2}fix: .*--help/);
        expect(r.stderr.trim().split('\n')).toHaveLength(2);
      }
      expect(r.stderr).not.toMatch(/\n\s+at /);
    });
  }

  it('an option value the library rejects (k above the catalogue) is bad usage', async () => {
    const r = await run('recommend', '--model', popDir, '-k', '100000');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: The `-k` option must be an integer from 1 to the catalogue size/);
    expect(r.stderr).toContain('fix:');
  });

  it('report refuses --tracks or --format without --data instead of ignoring them', async () => {
    const out = path.join(dir, 'report-no-data');
    const r = await run('report', '--out', out, '--tracks', tracks);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--tracks applies to a --data file, and none was given/);
    const f = await run('report', '--out', out, '--format', 'mpd');
    expect(f.code).toBe(2);
    expect(f.stderr).toMatch(/--format applies to a --data file/);
    expect(existsSync(path.join(out, 'index.html'))).toBe(false);
  });

  it('errors name the flag typed, and --size carries the library bound', async () => {
    const r = await run(
      'blend',
      '--model',
      popDir,
      '--member',
      `a=${listens}`,
      '--member',
      `b=${listens}`,
      '--size',
      '501',
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--size <n>.*'501' is invalid.*from 1 to 500/);
    const u = await run('report', '--out', path.join(dir, 'r-users'), '--users', '20001');
    expect(u.code).toBe(2);
    expect(u.stderr).toMatch(/--users <n>.*from 2 to 20000/);
    const g = await run('generate', '--out', path.join(dir, 'g-users'), '--users', '20001');
    expect(g.code).toBe(2);
    expect(g.stderr).toMatch(/--users <n>.*from 1 to 20000/);
  });

  it('`encore help` and `encore help <command>` print help and succeed', async () => {
    for (const argv of [['help'], ['help', 'train']]) {
      const r = await run(...argv);
      expect(r.code, argv.join(' ')).toBe(0);
      expect(r.stdout + r.stderr).toMatch(/Usage: encore/);
      expect(r.stderr).not.toMatch(/error:/);
    }
  });

  it('an empty --out is refused before any work, for every command that writes', async () => {
    for (const argv of [
      ['generate', '--out', '', '--users', '2', '--days', '2'],
      ['train', '--data', listens, '--model', 'popularity', '--out', ''],
      ['report', '--out', '', '--users', '4', '--days', '1', '--listeners', '2'],
    ]) {
      const r = await run(...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^error: --out is empty/);
    }
  });

  it('an empty input path is bad usage (exit 2) naming the option, not "file not found: "', async () => {
    for (const [argv, option] of [
      [['train', '--data', '', '--model', 'popularity', '--out', path.join(dir, 'e1')], '--data'],
      [['evaluate', '--model', '', '--data', listens], '--model'],
    ] as const) {
      const r = await run(...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^error: ${option} is empty`));
    }
  });

  it('a typo is named even when it leaves a required option missing; `help <typo>` suggests the command', async () => {
    const r = await run('train', '--data', listens, '--modle', 'popularity', '--out', path.join(dir, 'typo'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: unknown option '--modle' \(did you mean --model\?\)/);
    const h = await run('help', 'trian');
    expect(h.code).toBe(2);
    expect(h.stderr).toMatch(/^error: unknown command 'trian' \(did you mean train\?\)/);
    expect(h.stderr).not.toMatch(/Usage:|outputHelp/);
  });

  it('a --dim too large for memory names --dim, not the batchSize the CLI has no flag for', async () => {
    const r = await run(...trainOf(listens, 'sasrec', path.join(dir, 'wide'), '--dim', '100000'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: the model does not fit in memory with --dim 100000/);
    expect(r.stderr).toMatch(/fix: pass a smaller --dim/);
  });

  it('--format is suggested only for the --data of a command that has it', async () => {
    const bad = path.join(dir, 'not-listens.csv');
    await fs.writeFile(bad, 'a,b\n1,2\n');
    const b = await run(...blendOf(`ana=${bad}`, `ben=${listens}#u01`));
    expect(b.code).toBe(1);
    expect(b.stderr).not.toMatch(/--format/);
    const t = await run(...trainOf(bad, 'popularity', path.join(dir, 'fmt')));
    expect(t.code).toBe(1);
    expect(t.stderr).toMatch(/fix: .*pass --format/);
  });

  it('train refuses SASRec-only flags with a baseline instead of ignoring them', async () => {
    const out = path.join(dir, 'pop-flags');
    const r = await run(...trainOf(listens, 'popularity', out, '--epochs', '5', '--dim', '8'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--epochs, --dim apply to --model sasrec, not --model popularity/);
    expect(existsSync(path.join(dir, 'pop-flags'))).toBe(false);
  });

  it.skipIf(process.getuid?.() === 0)(
    'an --out that cannot be written is named before any work',
    async () => {
      const locked = path.join(dir, 'locked');
      await fs.mkdir(locked, { mode: 0o555 });
      const r = await run(...trainOf(listens, 'popularity', path.join(locked, 'm')));
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/--out .* cannot be written/);
      expect(r.stderr).not.toMatch(/unexpected failure/);
    },
  );

  it('report refuses --users with --data instead of ignoring it', async () => {
    const r = await run('report', '--out', path.join(dir, 'r-both'), '--data', listens, '--users', '5');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--users sizes the generated world, and --data replaces it/);
  });

  it('a Blend needs 2 to 10 members', async () => {
    const r = await run('blend', '--model', popDir, '--member', `ana=${listens}`);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--member must be given 2 to 10 times, got 1/);
  });
});

describe('failures exit 1 with a fix and no stack trace', () => {
  it('train sasrec on data with nothing to validate on is a data problem (exit 1), named before training', async () => {
    const file = path.join(dir, 'three.csv');
    await fs.writeFile(
      file,
      'user_id,track_id,timestamp\nu1,a,1700000000000\nu1,b,1700000060000\nu1,c,1700000120000\n',
    );
    const r = await run(
      'train',
      '--data',
      file,
      '--model',
      'sasrec',
      '--out',
      path.join(dir, 's3'),
      '--epochs',
      '1',
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no validation listen .* training listens/);
    expect(r.stderr).toMatch(/fix: add listeners/);
  });

  it('evaluate says how many listeners it leaves out, and generate quotes a path with spaces', async () => {
    const file = path.join(dir, 'mixed listens.csv');
    const text = await fs.readFile(listens, 'utf8');
    const header = text.slice(0, text.indexOf('\n')).split(',');
    const solo = header.map(
      (c) => ({ user_id: 'solo', track_id: 't0001', timestamp: '1700000000000' })[c] ?? '',
    );
    await fs.writeFile(file, `${text.trimEnd()}\n${solo.join(',')}\n`);
    const r = await run('evaluate', '--model', popDir, '--data', file);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/note: 1 listener\(s\) with fewer than 3 listens are not evaluated/);
    const g = await run('generate', '--out', path.join(dir, 'gen dir'), '--users', '4', '--days', '2');
    expect(g.code, g.stderr).toBe(0);
    expect(g.stdout).toMatch(
      /next: encore train --data '.*gen dir\/listens\.csv' --tracks '.*gen dir\/tracks\.csv'/,
    );
  });

  it('missing data file', async () => {
    const r = await run(
      'train',
      '--data',
      path.join(dir, 'nope.csv'),
      '--model',
      'popularity',
      '--out',
      path.join(dir, 'x'),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^error: --data file not found: .*nope\.csv\n {2}fix: pass the path of a listens CSV/,
    );
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('missing model directory', async () => {
    const r = await run('recommend', '--model', path.join(dir, 'no-model'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--model directory not found/);
  });

  it('corrupted model directory', async () => {
    const broken = path.join(dir, 'broken');
    await fs.cp(popDir, broken, { recursive: true });
    await fs.writeFile(path.join(broken, 'weights.bin'), 'garbage');
    const r = await run('recommend', '--model', broken);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: Invalid model directory/);
    expect(r.stderr).toMatch(/fix: retrain/);
  });

  it('invalid rows in a data file', async () => {
    const bad = path.join(dir, 'bad.csv');
    await fs.writeFile(bad, 'user_id,track_id,timestamp\nu1,t1,not-a-time\n');
    const r = await run('evaluate', '--model', popDir, '--data', bad);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad\.csv:line 2/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('unexpected errors ask for a report and hide the stack unless ENCORE_DEBUG=1', async () => {
    let stderr = '';
    const io: CliIo = {
      stdout: () => {
        throw new Error('disk on fire');
      },
      stderr: (s) => {
        stderr += s;
      },
      stderrIsTTY: false,
    };
    const code = await main(['recommend', '--model', popDir, '-k', '3'], io);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^error: unexpected failure: disk on fire\n {2}please report/);
    expect(stderr).not.toMatch(/\n\s+at /);
    process.env.ENCORE_DEBUG = '1';
    try {
      stderr = '';
      expect(await main(['recommend', '--model', popDir, '-k', '3'], io)).toBe(1);
      expect(stderr).toMatch(/\n\s+at /);
    } finally {
      delete process.env.ENCORE_DEBUG;
    }
  });
});

describe('--out is checked before any work', () => {
  it('an existing file as --out is bad usage for generate, train and report, and the file is kept', async () => {
    const file = path.join(dir, 'out-file');
    await fs.writeFile(file, 'mine');
    const cases = [
      ['generate', '--out', file, '--users', '2', '--days', '2'],
      // --data does not exist: the --out check comes first, before loading or training.
      ['train', '--data', path.join(dir, 'nope.csv'), '--model', 'popularity', '--out', file],
      ['report', '--out', file, '--users', '4', '--days', '1', '--listeners', '2'],
      ['generate', '--out', path.join(file, 'below'), '--users', '2', '--days', '2'],
    ];
    for (const argv of cases) {
      const r = await run(...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^error: --out .*out-file.* (is an existing file|goes through a file)/);
      expect(r.stderr).toMatch(/\n {2}fix: pass a/);
      expect(r.stderr).not.toMatch(/unexpected failure|`dir`/);
    }
    expect(await fs.readFile(file, 'utf8')).toBe('mine');
  });

  it('train --out refuses a folder of other files before training, and replaces an earlier save', async () => {
    const folder = path.join(dir, 'my-folder');
    await fs.mkdir(folder);
    await fs.writeFile(path.join(folder, 'notes.txt'), 'keep me');
    const r = await run(
      'train',
      '--data',
      path.join(dir, 'nope.csv'),
      '--model',
      'popularity',
      '--out',
      folder,
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: --out .*my-folder holds 1 entry and no saved model/);
    expect(await fs.readFile(path.join(folder, 'notes.txt'), 'utf8')).toBe('keep me');
    const again = path.join(dir, 'pop-again');
    await fs.cp(popDir, again, { recursive: true });
    const empty = path.join(dir, 'empty-out');
    await fs.mkdir(empty);
    for (const out of [again, empty]) {
      const ok = await run('train', '--data', listens, '--model', 'popularity', '--out', out, '--json');
      expect(ok.code, ok.stderr).toBe(0);
      expect(existsSync(path.join(out, 'model.json'))).toBe(true);
    }
  });
});

describe('generate checks its options itself', () => {
  it('--artists below the real minimum names --artists and the minimum, and --help says it', async () => {
    const r = await run('generate', '--out', path.join(dir, 'few-artists'), '--artists', '2');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--artists <n>.*'2' is invalid\. Expected an integer from 36 to/);
    expect(r.stderr).not.toMatch(/genres \*|stylesPerGenre/);
    expect(MIN_ARTISTS).toBe(36);
    expect((await run('generate', '--help')).stdout).toMatch(/at least\s+36/);
  });

  it('--days reaching past today is refused before anything is written, naming the largest allowed', async () => {
    const out = path.join(dir, 'future');
    const before = maxGenerateDays();
    const r = await run('generate', '--out', out, '--users', '2', '--days', '3650');
    const after = maxGenerateDays();
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: --days 3650 would date listens up to \d{4}-\d{2}-\d{2}, in the future/);
    const allowed = Number(/at most (\d+) days/.exec(r.stderr)?.[1]);
    expect(allowed).toBeGreaterThanOrEqual(before);
    expect(allowed).toBeLessThanOrEqual(after);
    expect(r.stderr).toMatch(new RegExp(`fix: pass --days ${allowed} or fewer`));
    expect(existsSync(out)).toBe(false);
    // The largest allowed value writes listens that every command loads.
    const edge = path.join(dir, 'edge');
    const ok = json<{ listensFile: string }>(
      await run(
        'generate',
        '--out',
        edge,
        '--users',
        '2',
        '--artists',
        '36',
        '--days',
        String(after),
        '--json',
      ),
    );
    const ev = await run('evaluate', '--model', popDir, '--data', ok.listensFile, '--json');
    expect(ev.code, ev.stderr).toBe(0);
  });
});

describe('--on-invalid-row', () => {
  /** A row of the generated file's 10 columns from its first 3. */
  const pad = (row: string) => `${row},,,,,,,`;

  async function mixed(): Promise<string> {
    const text = await fs.readFile(listens, 'utf8');
    const lines = text.trim().split('\n');
    const file = path.join(dir, 'mixed.csv');
    // Four bad rows among the good ones.
    await fs.writeFile(
      file,
      [...lines, ...['u01,t1,not-a-time', 'u02,,5', 'u03,t2,-1', 'u04,t3,later'].map(pad)].join('\n'),
    );
    return file;
  }

  it('a strict load fails with the CLI option as the hint; skip loads the rest and counts the skipped rows', async () => {
    const file = await mixed();
    const strict = await run('evaluate', '--model', popDir, '--data', file);
    expect(strict.code).toBe(1);
    expect(strict.stderr).toMatch(/mixed\.csv: 4 invalid rows; fix them or pass --on-invalid-row skip/);
    expect(strict.stderr).toMatch(/fix: .*--on-invalid-row skip/);
    expect(strict.stderr).not.toMatch(/onInvalidRow/);
    const skip = await run(
      'evaluate',
      '--model',
      popDir,
      '--data',
      file,
      '--on-invalid-row',
      'skip',
      '--json',
    );
    expect(skip.code, skip.stderr).toBe(0);
    expect(JSON.parse(skip.stdout)).toHaveProperty('test');
    expect(skip.stderr).toMatch(
      /note: --data .*mixed\.csv: skipped 4 invalid rows of \d+ \(--on-invalid-row skip\)/,
    );
    expect(skip.stderr).toMatch(/\n {2}- .*mixed\.csv:line \d+ column `timestamp`: got "not-a-time"/);
    expect(skip.stderr).toMatch(/… and 1 more/);
    const train = await run(
      'train',
      '--data',
      file,
      '--model',
      'popularity',
      '--out',
      path.join(dir, 'pop-skip'),
      '--on-invalid-row',
      'skip',
    );
    expect(train.code, train.stderr).toBe(0);
    expect(train.stderr).toMatch(/skipped 4 invalid rows/);
    const bad = await run('evaluate', '--model', popDir, '--data', file, '--on-invalid-row', 'ignore');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/'ignore' is invalid\. Allowed choices are throw, skip/);
  });

  it('blend skips invalid rows of the member files too', async () => {
    const text = await fs.readFile(listens, 'utf8');
    const [header, ...rows] = text.trim().split('\n');
    const files: string[] = [];
    for (const user of ['u03', 'u04']) {
      const f = path.join(dir, `${user}-bad.csv`);
      await fs.writeFile(
        f,
        [header, ...rows.filter((l) => l.startsWith(`${user},`)), pad(`${user},t1,oops`)].join('\n'),
      );
      files.push(f);
    }
    const args = ['blend', '--model', popDir, '--member', `ana=${files[0]}`, '--member', `ben=${files[1]}`];
    const strict = await run(...args, '--size', '5');
    expect(strict.code).toBe(1);
    expect(strict.stderr).toMatch(/--on-invalid-row skip/);
    const skip = await run(...args, '--size', '5', '--on-invalid-row', 'skip', '--json');
    expect(skip.code, skip.stderr).toBe(0);
    expect(skip.stderr).toMatch(/note: --member ana .*u03-bad\.csv: skipped 1 invalid row of/);
    expect(skip.stderr).toMatch(/note: --member ben .*u04-bad\.csv: skipped 1 invalid row of/);
  });
});

describe('--member paths that hold a #', () => {
  it('a path that is a file is read whole; otherwise the text after the last # is the user id', async () => {
    const text = await fs.readFile(listens, 'utf8');
    const [header, ...rows] = text.trim().split('\n');
    const hashDir = path.join(dir, 'x#1');
    await fs.mkdir(hashDir);
    const ana = path.join(hashDir, 'ana.csv');
    await fs.writeFile(ana, [header, ...rows.filter((l) => l.startsWith('u05,'))].join('\n'));
    const shared = path.join(hashDir, 'shared.csv');
    await fs.writeFile(shared, text);
    const r = json<{ members: { id: string }[] }>(await run(...blendOf(`ana=${ana}`, `ben=${shared}#u06`)));
    expect(r.members.map((m) => m.id)).toEqual(['ana', 'ben']);
    // Neither the whole path nor the part before the last # is a file: both are named.
    const missing = await run(
      'blend',
      '--model',
      popDir,
      '--member',
      `ana=${path.join(hashDir, 'nope.csv')}`,
      '--member',
      `ben=${shared}#u06`,
    );
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(
      /^error: --member ana file not found: .*x#1\/nope\.csv \(nor .*x, reading "1\/nope\.csv"/,
    );
  });
});

describe('help', () => {
  for (const cmd of ['generate', 'train', 'evaluate', 'recommend', 'blend', 'simulate', 'report']) {
    it(`${cmd} --help`, async () => {
      const r = await run(cmd, '--help');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Usage: encore ${cmd}`);
      expect(r.stdout).toContain('--json');
    });
  }
  it('--help lists every command and --version prints it', async () => {
    const r = await run('--help');
    expect(r.code).toBe(0);
    for (const cmd of ['generate', 'train', 'evaluate', 'recommend', 'blend', 'simulate', 'report'])
      expect(r.stdout).toContain(cmd);
    expect((await run('--version')).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe('commands', () => {
  it('train item-transition prints validation metrics as text', async () => {
    const r = await run(
      'train',
      '--data',
      listens,
      '--model',
      'item-transition',
      '--out',
      path.join(dir, 'markov'),
      '-k',
      '5,10',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/trained item-transition on 40 listeners/);
    expect(r.stdout).toMatch(/\n\s*5\s+0\.\d{4}/);
    expect(existsSync(path.join(dir, 'markov', 'model.json'))).toBe(true);
  });

  it('train reads a Million Playlist Dataset directory with --format mpd, and a Spotify export', async () => {
    const mpd = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'formats', 'mpd');
    const out = path.join(dir, 'mpd-pop');
    const r = await run(
      'train',
      '--data',
      mpd,
      '--format',
      'mpd',
      '--model',
      'popularity',
      '--out',
      out,
      '-k',
      '1',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/trained popularity on 3 listeners/);
    // So does a Spotify export folder, with --format spotify-history (the listener is 'me').
    const spotify = path.join(path.dirname(mpd), 'spotify-basic-StreamingHistory_music_0.json');
    const mine = await run(
      'train',
      '--data',
      spotify,
      '--format',
      'spotify-history',
      '--model',
      'popularity',
      '--out',
      `${out}-2`,
    );
    expect(mine.code, mine.stderr).toBe(0);
    expect(mine.stdout).toMatch(/trained popularity on 1 listener/);
    // A directory is a data set only in the JSON formats.
    const bad = await run('train', '--data', mpd, '--model', 'popularity', '--out', out);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--data is not a file');
  });

  it('train sasrec (tiny) records epochs, frees its tensors, and the model evaluates', async () => {
    const before = tf.memory().numTensors;
    const out = path.join(dir, 'sasrec');
    const r = json<{
      epochs: { epoch: number; loss: number; valNdcg10: number }[];
      artists: { artists: number; tracksWithArtist: number } | null;
      validation: { hr: Record<string, number> };
    }>(
      await run(
        'train',
        '--data',
        listens,
        '--tracks',
        tracks,
        '--model',
        'sasrec',
        '--out',
        out,
        '--epochs',
        '2',
        '--dim',
        '8',
        '--json',
      ),
    );
    expect(tf.memory().numTensors).toBe(before);
    expect(r.epochs.map((e) => e.epoch)).toEqual([1, 2]);
    expect(r.artists?.artists).toBe(36); // --tracks: one artist embedding per artist of the catalogue
    expect(r.artists?.tracksWithArtist).toBeGreaterThan(0);
    expect(r.epochs[0]!.loss).toBeGreaterThan(0);
    expect(r.epochs[0]!.valNdcg10).toBeGreaterThanOrEqual(0);
    expect(r.validation.hr['10']).toBeGreaterThanOrEqual(0);
    const ev = json<{
      model: string;
      test: { cases: number; protocol: string; ndcg: Record<string, number> };
    }>(await run('evaluate', '--model', out, '--data', listens, '--json'));
    expect(tf.memory().numTensors).toBe(before);
    expect(ev.model).toBe('sasrec');
    expect(ev.test.cases).toBe(40);
    expect(ev.test.protocol).toBe('full');
    expect(Object.keys(ev.test.ndcg)).toEqual(['5', '10', '20']);
  });

  it('evaluate prints a table with one line per k', async () => {
    const r = await run('evaluate', '--model', popDir, '--data', listens, '-k', '1,3');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\n\s*1\s+(0|0\.\d{4}|1)\s/);
    expect(r.stdout).toMatch(/\n\s*3\s+(0|0\.\d{4}|1)\s/);
    // Most targets of this small world are replays: excluded with the history, and said so.
    expect(r.stdout).toMatch(
      /MRR 0\.\d{4} {2}\(40 cases, full ranking, \d+ replayed targets excluded with the history \(misses\)\)/,
    );
  });

  it('recommend --json returns k tracks, skipping unknown history ids', async () => {
    const r = json<{ recommendations: { trackId: string; score: number }[]; unknownSkipped: number }>(
      await run('recommend', '--model', popDir, '--history', 't001,zzz', '-k', '4', '--json'),
    );
    expect(r.recommendations).toHaveLength(4);
    expect(r.unknownSkipped).toBe(1);
    const scores = r.recommendations.map((x) => x.score);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    // --history given twice adds up (the second does not silently replace the first).
    const twice = json<{ history: string[] }>(
      await run('recommend', '--model', popDir, '--history', 't001', '--history', 'zzz', '--json'),
    );
    expect(twice.history).toEqual(['t001', 'zzz']);
    const typo = await run(...blendOf(`a=${listens}#u1`, `b=${listens}#u02`));
    expect(typo.code).toBe(1);
    expect(typo.stderr).toMatch(/has no listens of user "u1"; it holds u01, u02, .*in all\)/);
    const day = await run(
      'blend',
      '--model',
      popDir,
      '--member',
      `a=${listens}#u01`,
      '--member',
      `b=${listens}#u02`,
      '--date',
      '2024-02-30',
    );
    expect(day.code).toBe(2);
    expect(day.stderr).toMatch(/there is no such day/);
  });

  it('recommend and blend say when a history is unknown to the model, and when fewer than k come back', async () => {
    const cold = await run('recommend', '--model', popDir, '--history', 'zzz1,zzz2', '-k', '3');
    expect(cold.code, cold.stderr).toBe(0);
    expect(cold.stderr).toMatch(
      /none of the 2 track id\(s\) in --history is in the model: these are the cold-start/,
    );
    const asJson = json<{ coldStart: boolean }>(
      await run('recommend', '--model', popDir, '--history', 'zzz1', '--json'),
    );
    expect(asJson.coldStart).toBe(true);
    const unknown = path.join(dir, 'unknown-member.csv');
    await fs.writeFile(unknown, 'user_id,track_id,timestamp\nx,zzz1,1700000000000\nx,zzz2,1700000001000\n');
    const text = await fs.readFile(listens, 'utf8');
    const [header, ...rows] = text.trim().split('\n');
    const known = path.join(dir, 'known-member.csv');
    await fs.writeFile(known, [header, ...rows.filter((l) => l.startsWith('u01,'))].join('\n'));
    const b = await run(...blendOf(`ana=${unknown}`, `ben=${known}`).filter((a) => a !== '--json'));
    expect(b.code, b.stderr).toBe(0);
    expect(b.stderr).toMatch(/--member ana: none of the 2 tracks is in the model/);
    const bj = json<{ unknownTracks: Record<string, number> }>(
      await run(...blendOf(`ana=${unknown}`, `ben=${known}`)),
    );
    expect(bj.unknownTracks).toEqual({ ana: 2, ben: 0 });
  });

  it('blend --json: size tracks, every member represented, titles from --tracks', async () => {
    const text = await fs.readFile(listens, 'utf8');
    const [header, ...rows] = text.trim().split('\n');
    const files: string[] = [];
    for (const user of ['u01', 'u02']) {
      const f = path.join(dir, `${user}.csv`);
      await fs.writeFile(f, [header, ...rows.filter((l) => l.startsWith(`${user},`))].join('\n'));
      files.push(f);
    }
    const r = json<{
      tracks: { title?: string; attributedTo: string[] }[];
      members: { id: string; share: number }[];
      date: string;
    }>(
      await run(
        'blend',
        '--model',
        popDir,
        '--member',
        `ana=${files[0]}`,
        '--member',
        `ben=${files[1]}`,
        '--size',
        '12',
        '--date',
        '2024-02-01',
        '--tracks',
        tracks,
        '--json',
      ),
    );
    expect(r.tracks).toHaveLength(12);
    expect(r.date).toBe('2024-02-01');
    expect(r.members.map((m) => m.id)).toEqual(['ana', 'ben']);
    for (const m of ['ana', 'ben']) expect(r.tracks.some((t) => t.attributedTo.includes(m))).toBe(true);
    expect(r.tracks.every((t) => typeof t.title === 'string')).toBe(true);
    const human = await run(
      'blend',
      '--model',
      popDir,
      '--member',
      `ana=${files[0]}`,
      '--member',
      `ben=${files[1]}`,
      '--size',
      '5',
    );
    expect(human.stdout).toMatch(/taste match: \d+%/);
    // One shared file: each member names their user id; without it, the file's listeners are not merged.
    const shared = json<{ members: { id: string }[]; tracks: unknown[] }>(
      await run(...blendOf(`ana=${listens}#u01`, `ben=${listens}#u02`)),
    );
    expect(shared.members.map((m) => m.id)).toEqual(['ana', 'ben']);
    expect(shared.tracks).toHaveLength(5);
    const merged = await run(
      'blend',
      '--model',
      popDir,
      '--member',
      `ana=${listens}`,
      '--member',
      `ben=${files[1]}`,
    );
    expect(merged.code).toBe(1);
    expect(merged.stderr).toMatch(/holds the listens of \d+ listeners/);
    expect(merged.stderr).toMatch(/#u01/);
  });

  it('simulate --json compares four policies day by day', async () => {
    const r = json<{ policies: { policy: string; activeByDay: number[]; retention: number }[] }>(
      await run('simulate', '--days', '4', '--listeners', '15', '--seed', '3', '--json'),
    );
    expect(r.policies.map((p) => p.policy)).toEqual([
      'popularity',
      'item-transition',
      'item-knn',
      'item-knn+diversity',
    ]);
    for (const p of r.policies) {
      expect(p.activeByDay).toHaveLength(4);
      expect(Math.max(...p.activeByDay)).toBeLessThanOrEqual(15);
    }
  });

  it('report writes a self-contained page with four charts', async () => {
    const out = path.join(dir, 'report');
    const before = tf.memory().numTensors;
    const r = json<{ report: string; charts: string[]; comparison: { model: string }[] }>(
      await run(
        'report',
        '--out',
        out,
        '--users',
        '30',
        '--epochs',
        '1',
        '--dim',
        '8',
        '--days',
        '3',
        '--listeners',
        '10',
        '--json',
      ),
    );
    expect(tf.memory().numTensors).toBe(before);
    expect(r.report).toBe(path.join(out, 'index.html'));
    expect(r.charts.map((c) => path.basename(c))).toEqual([
      'training.svg',
      'comparison.svg',
      'blend.svg',
      'simulation.svg',
    ]);
    expect(r.comparison.map((c) => c.model)).toEqual(['sasrec', 'popularity', 'item-transition', 'item-knn']);
    const html = await fs.readFile(r.report, 'utf8');
    expect((html.match(/<figure class="chart"><svg/g) ?? []).length).toBe(4);
    expect(html).not.toMatch(/\s(src|href)\s*=\s*["']?(https?:)?\/\//i);
    // The protocol is stated with its replay count, and the simulation's sentence comes from its results.
    expect(html).toMatch(/a target that is a replay is a miss for every model: \d+ of the \d+ targets here/);
    expect(html).toMatch(/had the highest day-1 completion \(0\.\d{3}\)/);
    // How training ended is said, not assumed (one epoch allowed: it ran every epoch allowed).
    expect(html).toMatch(/it ran every epoch allowed \(--epochs\)/);
  });

  it('report removes a chart it does not make this time (no Blend for one listener)', async () => {
    const out = path.join(dir, 'report-one');
    await fs.mkdir(out, { recursive: true });
    await fs.writeFile(path.join(out, 'blend.svg'), '<svg>an earlier run</svg>');
    const file = path.join(dir, 'one-listener.csv');
    const rows = Array.from({ length: 40 }, (_, i) => `solo,t${i % 6},${1_700_000_000_000 + i * 60_000}`);
    await fs.writeFile(file, `user_id,track_id,timestamp\n${rows.join('\n')}\n`);
    const r = await run(
      'report',
      '--out',
      out,
      '--data',
      file,
      '--epochs',
      '1',
      '--dim',
      '8',
      '--days',
      '1',
      '--listeners',
      '2',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/no Blend: it needs 2 listeners/);
    expect(existsSync(path.join(out, 'blend.svg'))).toBe(false);
    expect(existsSync(path.join(out, 'index.html'))).toBe(true);
  });
});

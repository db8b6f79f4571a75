#!/usr/bin/env node
// The `encore` command-line tool: subcommands, option parsing (commander) and error-to-exit-code mapping.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { INVALID_ROW_POLICIES, LISTEN_FORMATS } from '../data/loaders.js';
import { EncoreError, InvalidDataError, InvalidModelFileError, InvalidOptionError } from '../errors.js';
import { SASREC_DEFAULTS } from '../models/sasrec.js';
import { removePendingTemps, stopWrites } from '../util/fs.js';
import {
  GENERATE_GENRES,
  GENERATE_START,
  GENERATE_STYLES_PER_GENRE,
  MIN_ARTISTS,
  maxGenerateDays,
  REPORT_USERS,
  runBlend,
  runEvaluate,
  runGenerate,
  runRecommend,
  runReport,
  runSimulate,
  runTrain,
} from './commands.js';
import { type CliIo, defaultIo } from './io.js';
import {
  CliError,
  dateOption,
  idListOption,
  intOption,
  kListOption,
  memberOption,
  numberOption,
} from './options.js';

/** Version printed by `encore --version`. */
export const CLI_VERSION = '0.1.0';

/** Model types `encore train --model` accepts. */
export const MODEL_TYPES = ['sasrec', 'popularity', 'item-transition', 'item-knn'] as const;
/** Blend strategies `encore blend --strategy` accepts. */
export const BLEND_STRATEGIES = [
  'gfar',
  'average',
  'least-misery',
  'most-pleasure',
  'borda',
  'round-robin',
] as const;
const BACKENDS = ['tensorflow', 'wasm', 'cpu'] as const;

function formatOption(): Option {
  return new Option('--format <format>', 'input format').choices(LISTEN_FORMATS).default('listens-csv');
}
function backendOption(): Option {
  return new Option(
    '--backend <name>',
    'TensorFlow.js backend (default: fastest available, or ENCORE_BACKEND)',
  ).choices(BACKENDS);
}
function onInvalidRowOption(files: string): Option {
  return new Option(
    '--on-invalid-row <policy>',
    `invalid rows of ${files}: throw (stop, listing them) or skip (leave them out and count them on stderr)`,
  )
    .choices(INVALID_ROW_POLICIES)
    .default('throw');
}
/**
 * Most listeners `generate` builds: the world and its CSV text are held in memory before writing (20,000
 * listeners, about 4 million listens, peaked at 4.9 GB resident in 2.5 minutes on 2026-11-28).
 */
const MAX_GENERATE_USERS = 20_000;

/** Most listeners a simulation holds: each keeps its state in memory (10^8 ran out of heap). */
const MAX_LISTENERS = 100_000;

function listenersOption(): Option {
  return new Option(
    '--listeners <n>',
    `simulated listeners (at most ${MAX_LISTENERS.toLocaleString('en-US')})`,
  )
    .argParser(intOption(1, MAX_LISTENERS))
    .default(200);
}

function jsonOption(): Option {
  return new Option('--json', 'print machine-readable JSON on stdout (and nothing else)');
}

/** Builds a fresh commander program whose actions write to `io`. */
function buildProgram(io: CliIo): Command {
  const program = new Command('encore');
  program
    .description(
      'Music recommendation on CPU: train and evaluate next-track models, blend group playlists, simulate.',
    )
    .version(CLI_VERSION, '-V, --version')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout(s),
      writeErr: (s) => io.stderr(s),
      // Errors are printed by main() with a fix line.
      outputError: () => {},
    })
    .showSuggestionAfterError(true)
    .allowExcessArguments(false)
    .helpCommand(true);

  program
    .command('generate')
    .description('write a generated listening world (tracks.csv, listens.csv) with known structure')
    .option('--out <dir>', 'output directory (new or existing; not a file)', 'data')
    .addOption(new Option('--seed <n>', 'random seed').argParser(intOption(0, 0xffffffff)).default(42))
    .addOption(
      new Option(
        '--users <n>',
        `number of listeners (default 500; at most ${MAX_GENERATE_USERS.toLocaleString('en-US')}: the world is built in memory)`,
      ).argParser(intOption(1, MAX_GENERATE_USERS)),
    )
    .addOption(
      new Option(
        '--artists <n>',
        `number of artists, 10 tracks each (default 200; at least ${MIN_ARTISTS}, one per genre and sub-style)`,
      ).argParser(
        intOption(
          MIN_ARTISTS,
          100_000,
          `one artist per genre and sub-style: ${GENERATE_GENRES} genres x ${GENERATE_STYLES_PER_GENRE}`,
        ),
      ),
    )
    .addOption(
      new Option(
        '--days <n>',
        `days of listening from ${new Date(GENERATE_START).toISOString().slice(0, 10)} (default 60; at most ${maxGenerateDays()} today: no listen may lie in the future)`,
      ).argParser(intOption(1, 3650)),
    )
    .addOption(jsonOption())
    .action((opts) => runGenerate(io, opts));

  program
    .command('train')
    .description('split leave-one-out, fit a model, save it and print validation metrics')
    .requiredOption('--data <csv>', 'listens file')
    .addOption(formatOption())
    .option('--tracks <csv>', "tracks file: SASRec learns from each track's artist")
    .addOption(onInvalidRowOption('--data and --tracks'))
    .addOption(new Option('--model <type>', 'model to train').choices(MODEL_TYPES).makeOptionMandatory())
    .requiredOption(
      '--out <dir>',
      'directory to save the model to: a new path, an empty directory or an earlier save (replaced)',
    )
    .addOption(
      new Option(
        '--epochs <n>',
        `maximum training epochs (sasrec; default ${SASREC_DEFAULTS.epochs})`,
      ).argParser(intOption(1)),
    )
    .addOption(
      new Option('--dim <n>', `embedding size (sasrec; default ${SASREC_DEFAULTS.dim})`).argParser(
        intOption(1),
      ),
    )
    .addOption(new Option('--seed <n>', 'random seed').argParser(intOption(0)).default(42))
    .addOption(
      new Option(
        '--max-seconds <s>',
        'stop training after this many seconds (sasrec; default: no limit)',
      ).argParser(numberOption(0)),
    )
    .addOption(
      new Option('-k <list>', 'cut-offs for the validation metrics')
        .argParser(kListOption)
        .default([10], '10'),
    )
    .addOption(backendOption())
    .addOption(jsonOption())
    .action((opts) => runTrain(io, opts));

  program
    .command('evaluate')
    .description('evaluate a saved model on the last listen of each user (full ranking)')
    .requiredOption('--model <dir>', 'saved model directory')
    .requiredOption('--data <csv>', 'listens file')
    .addOption(formatOption())
    .addOption(onInvalidRowOption('--data'))
    .addOption(
      new Option('-k <list>', 'cut-offs, comma-separated')
        .argParser(kListOption)
        .default([5, 10, 20], '5,10,20'),
    )
    .addOption(backendOption())
    .addOption(jsonOption())
    .action((opts) => runEvaluate(io, opts));

  program
    .command('recommend')
    .description('recommend the next tracks after a listening history')
    .requiredOption('--model <dir>', 'saved model directory')
    .addOption(
      new Option('--history <ids>', 'track ids, oldest first, comma-separated')
        .argParser(idListOption)
        .default([], 'none: a new listener, who gets the cold-start list (popularity)'),
    )
    .addOption(new Option('-k <n>', 'how many tracks').argParser(intOption(1)).default(10))
    .addOption(backendOption())
    .addOption(jsonOption())
    .action((opts) => runRecommend(io, opts));

  program
    .command('blend')
    .description('make a Blend: one shared playlist for 2 to 10 listeners, each track attributed to a member')
    .requiredOption('--model <dir>', 'saved model directory')
    .addOption(
      new Option(
        '--member <name=csv>',
        'a member and their listens file, or name=listens.csv#user_id for one listener of a shared file (repeat for each member; a path that is a file is read whole, # and all)',
      )
        .argParser(memberOption)
        .makeOptionMandatory(),
    )
    .addOption(new Option('--size <n>', 'playlist length (1-500)').argParser(intOption(1, 500)).default(50))
    .addOption(
      new Option('--strategy <name>', 'group aggregation strategy (default gfar)').choices(BLEND_STRATEGIES),
    )
    .addOption(
      new Option(
        '--date <YYYY-MM-DD>',
        'day of the Blend (it refreshes daily; default: today, UTC)',
      ).argParser(dateOption),
    )
    .option('--tracks <csv>', 'tracks file, to show titles and artists')
    .addOption(onInvalidRowOption('the member files and --tracks'))
    .addOption(backendOption())
    .addOption(jsonOption())
    .action((opts) => runBlend(io, opts));

  program
    .command('simulate')
    .description(
      'simulate listeners over many days and compare recommendation policies on long-term activity',
    )
    .addOption(new Option('--days <n>', 'days to simulate').argParser(intOption(1, 3650)).default(60))
    .addOption(listenersOption())
    .addOption(new Option('--seed <n>', 'random seed').argParser(intOption(0)).default(42))
    .addOption(jsonOption())
    .action((opts) => runSimulate(io, opts));

  program
    .command('report')
    .description('train quickly, compare models, make a Blend and a simulation, and write an HTML report')
    .option('--out <dir>', 'report directory (new or existing; not a file)', 'report')
    .option('--data <csv>', 'listens file (default: a generated world)')
    .addOption(formatOption())
    .option('--tracks <csv>', "tracks file with --data: SASRec learns from each track's artist")
    .addOption(onInvalidRowOption('--data and --tracks'))
    .addOption(
      new Option('--epochs <n>', 'most SASRec epochs (early stopping may end sooner)')
        .argParser(intOption(1))
        .default(20),
    )
    .addOption(new Option('--dim <n>', 'SASRec embedding size').argParser(intOption(1)).default(64))
    .addOption(
      new Option(
        '--users <n>',
        `generated listeners, without --data (default ${REPORT_USERS}; at most ${MAX_GENERATE_USERS.toLocaleString('en-US')})`,
      ).argParser(intOption(2, MAX_GENERATE_USERS)),
    )
    .addOption(new Option('--days <n>', 'simulated days').argParser(intOption(1, 3650)).default(60))
    .addOption(listenersOption())
    .addOption(new Option('--seed <n>', 'random seed').argParser(intOption(0, 0xffffffff)).default(42))
    .addOption(
      new Option('--max-seconds <s>', 'SASRec training time limit').argParser(numberOption(0)).default(120),
    )
    .addOption(backendOption())
    .addOption(jsonOption())
    .action((opts) => runReport(io, opts));

  return program;
}

const USAGE_CODES = new Set([
  'commander.unknownOption',
  'commander.unknownCommand',
  'commander.missingArgument',
  'commander.optionMissingArgument',
  'commander.missingMandatoryOptionValue',
  'commander.invalidArgument',
  'commander.excessArguments',
  'commander.conflictingOption',
  'commander.help',
]);

/**
 * A library error names its option (`size`); on the command line the user typed a flag (`--size`). When the
 * command has a flag for that option, the message names the flag.
 */
function withFlagName(e: InvalidOptionError, argv: readonly string[], program: Command): string {
  const command = commandOf(argv, program);
  const flag = [...(command?.options ?? []), ...program.options].find((o) => o.attributeName() === e.option);
  // SASRec's memory checks name batchSize or maxlen, which the CLI does not set: its knob is --dim.
  if (!flag && isDimMemoryError(e, argv, program))
    return `the model does not fit in memory with --dim ${flagValue(argv, '--dim') ?? SASREC_DEFAULTS.dim}: ${e.message.replace(/^The `\w+` option must be /, '')}`;
  if (!flag) return e.message;
  const name = flag.long ?? flag.short ?? e.option;
  return e.message.replace(`The \`${e.option}\` option`, `The \`${name}\` option`);
}

/** The closest of `names` to `word` within two edits (a typo), if any. */
function closest(word: string, names: readonly string[]): string | undefined {
  const distance = (a: string, b: string): number => {
    let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      const row = [i];
      for (let j = 1; j <= b.length; j++)
        row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = row;
    }
    return prev[b.length]!;
  };
  let best: string | undefined;
  let bestDistance = 3;
  for (const name of names) {
    const d = distance(word, name);
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  return best;
}

/** The first option in `argv` that the subcommand does not have, as commander would report it. */
function unknownFlag(argv: readonly string[], program: Command): string | undefined {
  const command = commandOf(argv, program);
  if (!command) return undefined;
  const known = [...command.options, ...program.options];
  for (const arg of argv) {
    const name = arg.split('=')[0]!;
    if (!name.startsWith('-') || name === '-' || name === '--' || /^-\d/.test(name)) continue; // values
    if (name === '--help' || name === '-h' || known.some((o) => o.long === name || o.short === name))
      continue;
    const near = closest(
      name,
      known.map((o) => o.long ?? o.short ?? '').filter((n) => n !== ''),
    );
    return `unknown option '${name}'${near ? ` (did you mean ${near}?)` : ''}`;
  }
  return undefined;
}

/** Library options whose errors are about memory, not a value the CLI user typed. */
const MEMORY_OPTIONS = new Set(['batchSize', 'maxlen']);

/** A memory error of a command whose only size knob is `--dim` (`train`). */
function isDimMemoryError(e: InvalidOptionError, argv: readonly string[], program: Command): boolean {
  return MEMORY_OPTIONS.has(e.option) && !!commandOf(argv, program)?.options.some((o) => o.long === '--dim');
}

/** The subcommand `argv` runs, if any. */
function commandOf(argv: readonly string[], program: Command): Command | undefined {
  const sub = argv.find((a) => !a.startsWith('-'));
  return program.commands.find((c) => c.name() === sub);
}

/** The value given to `flag` in `argv` (`--flag v` or `--flag=v`), if any. */
function flagValue(argv: readonly string[], flag: string): string | undefined {
  const at = argv.indexOf(flag);
  if (at >= 0) return argv[at + 1];
  return argv.find((a) => a.startsWith(`${flag}=`))?.slice(flag.length + 1);
}

function helpHint(argv: readonly string[], program: Command, e?: InvalidOptionError): string {
  if (e && isDimMemoryError(e, argv, program))
    return `pass a smaller --dim (default ${SASREC_DEFAULTS.dim}), or install @tensorflow/tfjs-node, whose native backend has no such limit`;
  const sub = argv.find((a) => !a.startsWith('-'));
  const known = sub !== undefined && program.commands.some((c) => c.name() === sub);
  return known
    ? `run \`encore ${sub} --help\` to see its options`
    : 'run `encore --help` to see the commands';
}

/** The loaders' advice names their option; a CLI user passes `--on-invalid-row skip` instead. */
const LIBRARY_SKIP_ADVICE = "pass onInvalidRow: 'skip'";
const CLI_SKIP_ADVICE = 'pass --on-invalid-row skip';

function messageFor(error: EncoreError): string {
  return error instanceof InvalidDataError
    ? error.message.replace(LIBRARY_SKIP_ADVICE, CLI_SKIP_ADVICE)
    : error.message;
}

function fixFor(error: EncoreError, argv: readonly string[], program: Command): string | undefined {
  if (error instanceof CliError) return error.fix;
  if (error instanceof InvalidDataError) {
    // --format applies to --data only, and only where the command has it (not blend, not --tracks).
    const data = flagValue(argv, '--data');
    const formatFits =
      commandOf(argv, program)?.options.some((o) => o.long === '--format') &&
      data !== undefined &&
      (error.issues[0]?.file === undefined || error.issues[0].file.startsWith(data));
    const format = formatFits ? ', or pass --format if the file is in another format' : '';
    return error.message.includes(LIBRARY_SKIP_ADVICE)
      ? `correct the rows listed above${format ? ',' : ' or'} pass --on-invalid-row skip to leave them out${format}`
      : `correct the file as listed above${format}`;
  }
  if (error instanceof InvalidModelFileError)
    return 'retrain with `encore train --out <dir>` and pass that directory';
  return undefined;
}

function writeError(io: CliIo, message: string, fix?: string): void {
  // One line: commander puts its "(Did you mean ...?)" suggestion on a line of its own.
  const text = message
    .replace(/^error:\s*/i, '')
    .trimEnd()
    .replace(/\s*\n\s*\(Did you mean/g, ' (did you mean')
    .replace(/\n(?!\s+- |\s+… )/g, ' ');
  io.stderr(`error: ${text}\n`);
  if (fix) io.stderr(`  fix: ${fix}\n`);
}

/** File-system errors that are the machine's answer, not encore's bug, with what to do about each. */
const SYSTEM_CODES = new Map([
  ['EACCES', "check the path's permissions, or pick a path you can read and write"],
  ['EPERM', "check the path's permissions, or pick a path you can read and write"],
  ['EROFS', 'the file system is read-only: pick a path on a writable one'],
  ['ENOSPC', 'the disk is full: free some space or pick another disk'],
  ['EDQUOT', 'the disk quota is used up: free some space or pick another disk'],
  ['EMFILE', 'too many open files: raise the limit (ulimit -n) or close other programs'],
]);

/**
 * Runs the `encore` CLI with `argv` (without `node` and the script) and returns the exit code: 0 on success,
 * 2 for bad usage (unknown command or option, missing or invalid option value), 1 when the work failed (bad
 * data file, broken model directory, unexpected error). User mistakes print one `error:` line and a `fix:`
 * line, never a stack trace; set `ENCORE_DEBUG=1` for stacks of unexpected errors.
 *
 * @example
 * ```ts
 * import { main } from './cli/main.js';
 * process.exitCode = await main(['train', '--data', 'data/listens.csv', '--model', 'sasrec', '--out', 'models/sasrec']);
 * ```
 */
export async function main(argv: readonly string[], io: CliIo = defaultIo()): Promise<number> {
  const program = buildProgram(io);
  if (argv.length === 0) {
    io.stderr(program.helpInformation());
    return 2;
  }
  // `encore help trian`: commander would print the whole help, then fail with "(outputHelp)".
  if (argv[0] === 'help' && argv[1] !== undefined && !program.commands.some((c) => c.name() === argv[1])) {
    const near = closest(
      argv[1],
      program.commands.map((c) => c.name()),
    );
    writeError(
      io,
      `unknown command '${argv[1]}'${near ? ` (did you mean ${near}?)` : ''}`,
      helpHint([], program),
    );
    return 2;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return 0;
      if (e.code === 'commander.help' && e.exitCode === 0) return 0; // `encore help [command]`
      if (USAGE_CODES.has(e.code)) {
        // Commander checks required options before unknown ones: `--modle x` would read "required option
        // '--model' not specified" and never mention the typo that caused it.
        const typo =
          e.code === 'commander.missingMandatoryOptionValue' ? unknownFlag(argv, program) : undefined;
        writeError(io, typo ?? e.message, helpHint(argv, program));
        return 2;
      }
      writeError(io, e.message);
      return e.exitCode || 1;
    }
    if (e instanceof CliError) {
      writeError(io, e.message, e.fix);
      return e.exitCode;
    }
    if (e instanceof InvalidOptionError) {
      writeError(io, withFlagName(e, argv, program), helpHint(argv, program, e));
      return 2;
    }
    if (e instanceof EncoreError) {
      writeError(io, messageFor(e), fixFor(e, argv, program));
      return 1;
    }
    const err = e instanceof Error ? e : new Error(String(e));
    // The machine said no (permissions, a full or read-only disk, too many open files): not a bug.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== undefined && SYSTEM_CODES.has(code)) {
      writeError(io, err.message, SYSTEM_CODES.get(code));
      return 1;
    }
    io.stderr(`error: unexpected failure: ${err.message}\n`);
    io.stderr('  please report this as a bug, with the command you ran');
    io.stderr(
      process.env.ENCORE_DEBUG === '1'
        ? `\n${err.stack ?? ''}\n`
        : ' (set ENCORE_DEBUG=1 to include the stack trace)\n',
    );
    return 1;
  }
}

/** True when this module is the process entry point (`node dist/cli/main.js` or `tsx src/cli/main.ts`). */
function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  // Ctrl-C or a kill while a file or model folder is being written: remove its temporary files before
  // exiting (128 + the signal's number, as a shell reports it), so nothing half-written is left behind.
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)
    process.once(signal, () => {
      stopWrites();
      // A file whose open was already in flight appears a moment later: a second pass removes it.
      setTimeout(() => {
        removePendingTemps();
        process.exit(code);
      }, 100);
    });
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`error: ${String(e)}\n`);
      process.exitCode = 1;
    },
  );
}

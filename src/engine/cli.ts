// `cnnslicer`: the command-line front end to the engine. It runs the engine's code in-process
// (no child process: a CLI has no editor to keep responsive) and exits non-zero on any error,
// printing the typed error with the file it concerns.
import { CnnSlicerError, formatError, toErrorInfo } from '../shared/errors';
import { formatRunInfo } from './format/runSummary';
import { RunReader } from './run/runReader';

const HELP = `cnnslicer — information-theoretic analysis of CNN runs (dCNN(X, L, C, T))

Usage:
  cnnslicer info <run> [--json]   layers, shapes, classes, epochs and metrics of a run
  cnnslicer --help                this text
  cnnslicer --version             the version

<run> is a run folder (one holding cnnslicer.json) or the cnnslicer.json file itself.
Exit status: 0 on success, 1 when the run or a file in it is bad, 2 on a usage error.`;

const VERSION = '0.1.0';

class UsageError extends Error {}

interface Parsed {
  readonly command: string | undefined;
  readonly positional: string[];
  readonly flags: Set<string>;
}

function parseArgs(argv: readonly string[]): Parsed {
  const positional: string[] = [];
  const flags = new Set<string>();
  for (const arg of argv) {
    if (arg.startsWith('--')) flags.add(arg.slice(2));
    else if (arg === '-h') flags.add('help');
    else positional.push(arg);
  }
  return { command: positional.shift(), positional, flags };
}

function expectFlags(parsed: Parsed, allowed: readonly string[]): void {
  for (const f of parsed.flags) if (!allowed.includes(f)) throw new UsageError(`unknown option --${f}`);
}

async function info(parsed: Parsed): Promise<void> {
  expectFlags(parsed, ['json']);
  const [run, ...extra] = parsed.positional;
  if (run === undefined) throw new UsageError('info needs a run folder or manifest');
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  const reader = await RunReader.open(run);
  try {
    if (parsed.flags.has('json')) process.stdout.write(JSON.stringify(reader.info, null, 2) + '\n');
    else process.stdout.write(formatRunInfo(reader.info) + '\n');
  } finally {
    await reader.close();
  }
}

export async function main(argv: readonly string[]): Promise<number> {
  const parsed = parseArgs(argv);
  try {
    if (parsed.flags.has('version')) {
      process.stdout.write(`${VERSION}\n`);
      return 0;
    }
    if (parsed.flags.has('help') || parsed.command === 'help' || parsed.command === undefined) {
      process.stdout.write(HELP + '\n');
      return parsed.command === undefined && !parsed.flags.has('help') ? 2 : 0;
    }
    switch (parsed.command) {
      case 'info':
        await info(parsed);
        return 0;
      default:
        throw new UsageError(`unknown command "${parsed.command}"`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`cnnslicer: ${err.message}\nRun "cnnslicer --help" for usage.\n`);
      return 2;
    }
    const e = toErrorInfo(err);
    process.stderr.write(`cnnslicer: error (${e.code}): ${formatError(e)}\n`);
    if (!(err instanceof CnnSlicerError) && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`cnnslicer: ${String(err)}\n`);
      process.exitCode = 1;
    },
  );
}

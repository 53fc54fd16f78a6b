// Installs the probe wheel shipped in the extension (dist/python, built by scripts/build-wheel.mjs)
// into a Python interpreter with pip, offline, then checks that `import cnnslicer` gives that
// version. Free of `vscode`: the command (commands/installProbe.ts) and the tests call the same
// function. pipOutcome.ts decides what each run means.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { classifyPipRun, classifyVerifyRun, pipInstallArgs, VERIFY_SCRIPT, wheelVersion, type InstallOutcome, type ProcessRun } from './pipOutcome';

/** Where the build puts the wheel, relative to the extension's folder. */
export const WHEEL_FOLDER = path.join('dist', 'python');

export interface BundledWheel {
  readonly path: string;
  readonly version: string;
}

/** The probe wheel inside the extension at `extensionPath`, or undefined when it was packaged without one. */
export function findBundledWheel(extensionPath: string): BundledWheel | undefined {
  const folder = path.join(extensionPath, WHEEL_FOLDER);
  if (!existsSync(folder)) return undefined;
  // build-wheel.mjs leaves exactly one; should there be more, the highest version is the newest build.
  const wheels = readdirSync(folder)
    .map((name) => ({ name, version: wheelVersion(name) }))
    .filter((w): w is { name: string; version: string } => w.version !== undefined)
    .sort((a, b) => a.version.localeCompare(b.version, 'en', { numeric: true }));
  const newest = wheels.at(-1);
  return newest === undefined ? undefined : { path: path.join(folder, newest.name), version: newest.version };
}

export interface RunOptions {
  readonly env: NodeJS.ProcessEnv;
  readonly signal?: AbortSignal;
  /** Each line the process prints, as it prints it (for the log). */
  readonly onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  readonly cwd?: string;
}

/** Runs a process to its end; resolves (never rejects) with how it ended. Aborting kills it. */
export function runProcess(command: string, args: readonly string[], opts: RunOptions): Promise<ProcessRun> {
  return new Promise((resolve) => {
    if (opts.signal?.aborted === true) return resolve({ status: null, stdout: '', stderr: '', cancelled: true });
    const child = spawn(command, [...args], { env: opts.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    const out: string[] = [];
    const err: string[] = [];
    let cancelled = false;
    let spawnError: string | undefined;
    const onAbort = (): void => {
      cancelled = true;
      child.kill('SIGTERM');
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const lines = (stream: 'stdout' | 'stderr', sink: string[]) => {
      let partial = '';
      return (chunk: Buffer): void => {
        const text = chunk.toString('utf8');
        sink.push(text);
        if (opts.onLine === undefined) return;
        const parts = (partial + text).split(/\r?\n/);
        partial = parts.pop() ?? '';
        for (const l of parts) if (l.trim() !== '') opts.onLine(l, stream);
      };
    };
    child.stdout.on('data', lines('stdout', out));
    child.stderr.on('data', lines('stderr', err));
    child.on('error', (e: NodeJS.ErrnoException) => {
      spawnError = e.code ?? e.message;
    });
    child.on('close', (status) => {
      opts.signal?.removeEventListener('abort', onAbort);
      resolve({ status, stdout: out.join(''), stderr: err.join(''), ...(spawnError !== undefined ? { spawnError } : {}), ...(cancelled ? { cancelled } : {}) });
    });
  });
}

export interface InstallOptions {
  /** The interpreter to install into. */
  readonly python: string;
  readonly wheel: BundledWheel;
  /** The interpreter's environment; pip's own settings are added. */
  readonly env: NodeJS.ProcessEnv;
  readonly signal?: AbortSignal;
  /** Every command run and every line it prints. */
  readonly log?: (line: string) => void;
  /** What is being done now, for a progress notification. */
  readonly onStep?: (step: string) => void;
}

/** Installs the wheel into the interpreter, then checks what `import cnnslicer` gives there. */
export async function installProbe(opts: InstallOptions): Promise<InstallOutcome> {
  const log = opts.log ?? (() => undefined);
  // pip must never stop to ask (no terminal), nor look for a newer pip online.
  const env: NodeJS.ProcessEnv = { ...opts.env, PIP_NO_INPUT: '1', PIP_DISABLE_PIP_VERSION_CHECK: '1', PYTHONIOENCODING: 'utf-8' };
  const forward = (line: string, stream: 'stdout' | 'stderr'): void => log(stream === 'stderr' ? `pip: ${line}` : line);
  const args = pipInstallArgs(opts.wheel.path);
  opts.onStep?.(`pip install cnnslicer ${opts.wheel.version}`);
  log(`$ ${opts.python} ${args.join(' ')}`);
  const pip = await runProcess(opts.python, args, { env, signal: opts.signal, onLine: forward });
  log(`pip exited with ${pip.cancelled === true ? 'cancellation' : (pip.spawnError ?? `status ${pip.status ?? 'null'}`)}`);
  const problem = classifyPipRun(pip);
  if (problem !== undefined) return { ok: false, problem };
  opts.onStep?.('checking import cnnslicer');
  // From a neutral folder: with `-c` the working directory is first on sys.path, and a folder that
  // holds a cnnslicer/ (the CNNSlicer sources' python/) would be imported instead of the install.
  const verify = await runProcess(opts.python, ['-c', VERIFY_SCRIPT], { env, signal: opts.signal, cwd: os.tmpdir() });
  log(`check: ${verify.stdout.trim()}${verify.stderr.trim() !== '' ? `\n${verify.stderr.trim()}` : ''}`);
  return classifyVerifyRun(verify, opts.wheel.version);
}

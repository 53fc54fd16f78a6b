// Locating a Python interpreter for the tests that cross the TypeScript/Python boundary, and
// running it with the repository's own `python/` package importable without installing it.
import { spawn, spawnSync } from 'node:child_process';
import * as path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
/** The folder holding the `cnnslicer` Python package. */
export const PYTHON_PACKAGE_ROOT = path.join(REPO_ROOT, 'python');

/** Candidates in order of preference: an explicit choice, then the system interpreter, then PATH. */
function candidates(): string[] {
  const out: string[] = [];
  const explicit = process.env.CNNSLICER_PYTHON;
  if (explicit !== undefined && explicit !== '') out.push(explicit);
  // Debian's interpreter comes before PATH's: distribution packages (numpy, scipy, torch) land there,
  // while a PATH python may be a pyenv or venv that lacks them.
  if (process.platform !== 'win32') out.push('/usr/bin/python3');
  out.push('python3');
  if (process.platform === 'win32') out.push('python');
  return [...new Set(out)];
}

/** The environment every test interpreter runs with. */
export function pythonEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const inherited = process.env.PYTHONPATH;
  return {
    ...process.env,
    PYTHONPATH: inherited ? `${PYTHON_PACKAGE_ROOT}${path.delimiter}${inherited}` : PYTHON_PACKAGE_ROOT,
    // Keeps test runs from leaving __pycache__ folders in the working tree.
    PYTHONDONTWRITEBYTECODE: '1',
    PYTHONIOENCODING: 'utf-8',
    PYTHONUNBUFFERED: '1',
    ...extra,
  };
}

// Probing an interpreter means starting it and importing modules (torch takes seconds), so each
// (interpreter, modules) answer is kept for the life of the test process.
const canImportCache = new Map<string, boolean>();

function canImport(python: string, modules: readonly string[]): boolean {
  const key = `${python}\0${modules.join('\0')}`;
  const cached = canImportCache.get(key);
  if (cached !== undefined) return cached;
  // Module names travel as arguments, not inside the code, so no name can change what runs.
  const res = spawnSync(python, ['-c', 'import importlib, sys\nfor m in sys.argv[1:]: importlib.import_module(m)', ...modules], {
    env: pythonEnv(),
    stdio: 'ignore',
    timeout: 120_000,
  });
  const ok = res.error === undefined && res.status === 0;
  canImportCache.set(key, ok);
  return ok;
}

export interface FindPythonOptions {
  /** Modules the interpreter must be able to import; `['numpy']` when absent. */
  readonly require?: readonly string[];
}

const findCache = new Map<string, string | undefined>();

/**
 * The first interpreter among $CNNSLICER_PYTHON, /usr/bin/python3 and `python3` that can import
 * every required module, or undefined when none can. `cnnslicer` itself is importable through
 * PYTHONPATH, so it may be required too.
 */
export function findPython(opts: FindPythonOptions = {}): string | undefined {
  const modules = [...(opts.require ?? ['numpy'])].sort();
  const key = modules.join('\0');
  if (findCache.has(key)) return findCache.get(key);
  const found = candidates().find((c) => canImport(c, modules));
  findCache.set(key, found);
  return found;
}

/** What `findPython` looked at, for skip messages that tell the reader what to install. */
export function describePythonSearch(opts: FindPythonOptions = {}): string {
  const modules = opts.require ?? ['numpy'];
  return `no Python interpreter among ${candidates().join(', ')} can import ${modules.join(', ')} (set CNNSLICER_PYTHON to choose one)`;
}

export interface RunPythonOptions {
  readonly cwd?: string;
  /** Added to (and overriding) the test environment. */
  readonly env?: NodeJS.ProcessEnv;
  /** Written to the interpreter's stdin, which is then closed. */
  readonly input?: string | Uint8Array;
  /** Kills the interpreter after this long; 120 s when absent. */
  readonly timeoutMs?: number;
  /** Rejects when the exit status is not 0, with stderr in the message. */
  readonly check?: boolean;
}

export interface PythonResult {
  /** Exit status; null when the process was killed by a signal. */
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

/** Runs `python args…` with the repository's package on PYTHONPATH; resolves once it has exited. */
export function runPython(python: string, args: readonly string[], opts: RunPythonOptions = {}): Promise<PythonResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, [...args], { cwd: opts.cwd ?? REPO_ROOT, env: pythonEnv(opts.env), stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 120_000);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      const result: PythonResult = {
        status,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        timedOut,
      };
      if (opts.check && status !== 0) {
        const why = timedOut ? 'timed out' : status === null ? `was killed by ${signal}` : `exited with status ${status}`;
        reject(new Error(`${python} ${args.join(' ')} ${why}:\n${result.stderr}`));
      } else {
        resolve(result);
      }
    });
    // The child may exit without reading stdin (EPIPE); its exit status tells what happened.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

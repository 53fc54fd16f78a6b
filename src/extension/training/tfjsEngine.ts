// The TF.js training engine as the extension host sees it: which backends load on this machine,
// the command line of the trainer (dist/trainer/tfjsTrainer.js, src/trainer/tfjs), and installing a
// native backend into the extension's global storage. No `vscode` import: unit-tested. Nothing here
// loads TF.js into the host; every load is tried in a short-lived child process, so a broken native
// addon cannot take the extension host down.
import { spawn } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

export type TfjsBackend = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';

export interface TfjsAvailability {
  readonly backends: readonly TfjsBackend[];
  readonly best: TfjsBackend;
  readonly native: boolean;
  /** why each missing native backend is missing, for the log */
  readonly notes: readonly string[];
}

export interface TfjsLocations {
  readonly extensionPath: string;
  readonly globalStoragePath: string;
}

/** Fastest first: what `auto` picks in the trainer too (src/trainer/tfjs/backends.ts). */
const ORDER: readonly TfjsBackend[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];
const NATIVE: Readonly<Record<'tensorflow-gpu' | 'tensorflow', string>> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
};
/** The version the trainer was tested with; a native package brings its own matching @tensorflow/tfjs. */
export const NATIVE_VERSION = '4.22.0';
/** A backend check loads TF.js and runs one tiny computation; a native one may take a few seconds to load libtensorflow. */
const DETECT_TIMEOUT_MS = 60_000;

export function tfjsTrainerPath(loc: TfjsLocations): string {
  return path.join(loc.extensionPath, 'dist', 'trainer', 'tfjsTrainer.js');
}

/** Where installNativeTfjs installs: <globalStorage>/tfjs-native, an npm project of its own. */
export function nativeInstallDir(loc: TfjsLocations): string {
  return path.join(loc.globalStoragePath, 'tfjs-native');
}

function nativeModulesDir(loc: TfjsLocations): string {
  return path.join(nativeInstallDir(loc), 'node_modules');
}

/** Runs the trainer's code with VS Code's own Electron binary as plain Node, or with Node itself. */
function nodeEnv(): NodeJS.ProcessEnv {
  return { ...process.env, ELECTRON_RUN_AS_NODE: '1' };
}

function resolvable(pkg: string, loc: TfjsLocations): boolean {
  const req = createRequire(path.join(loc.extensionPath, 'package.json'));
  for (const dir of [nativeModulesDir(loc), loc.extensionPath]) {
    try {
      req.resolve(pkg, { paths: [dir] });
      return true;
    } catch {
      // Not there.
    }
  }
  return false;
}

/** Runs `tfjsTrainer.js --detect <backend>` and reads its one line: loads, or why not. */
function detectInChild(loc: TfjsLocations, backend: TfjsBackend): Promise<{ ok: boolean; message?: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [tfjsTrainerPath(loc), '--detect', backend, '--module-path', nativeModulesDir(loc)], {
      env: nodeEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
      windowsHide: true,
    });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), DETECT_TIMEOUT_MS);
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (err = (err + c.toString('utf8')).slice(-2000)));
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ ok: false, message: `could not start ${process.execPath}: ${e.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      for (const line of out.split('\n').reverse()) {
        try {
          const v = JSON.parse(line) as { event?: unknown; ok?: unknown; message?: unknown };
          if (v.event === 'detect') {
            resolve(v.ok === true ? { ok: true } : { ok: false, message: typeof v.message === 'string' ? v.message : 'did not load' });
            return;
          }
        } catch {
          // Not the protocol line.
        }
      }
      const how = signal !== null ? `was killed by ${signal}${signal === 'SIGKILL' ? ' (took too long to load?)' : ''}` : `exited with status ${code}`;
      const tail = err.trim().split('\n').slice(-3).join(' ');
      resolve({ ok: false, message: `the backend check ${how}${tail !== '' ? `: ${tail}` : ''}` });
    });
  });
}

/** Which backends can load here (tries require.resolve and a quick load in a short-lived child so a broken native addon never crashes the host). */
export async function detectTfjsBackends(loc: TfjsLocations): Promise<TfjsAvailability> {
  const trainer = tfjsTrainerPath(loc);
  if (!existsSync(trainer)) {
    return { backends: [], best: 'cpu', native: false, notes: [`the TF.js trainer is missing: ${trainer} not found (run \`npm run build\`)`] };
  }
  const notes: string[] = [];
  const checks = ORDER.map(async (backend): Promise<TfjsBackend | undefined> => {
    if (backend === 'tensorflow-gpu' || backend === 'tensorflow') {
      const pkg = NATIVE[backend];
      if (!resolvable(pkg, loc)) {
        notes.push(`${backend}: ${pkg} is not installed (it can be installed into ${nativeInstallDir(loc)})`);
        return undefined;
      }
    }
    // The cpu backend is plain JavaScript in the bundle: it loads wherever the bundle does.
    if (backend === 'cpu') return backend;
    const r = await detectInChild(loc, backend);
    if (!r.ok) notes.push(`${backend}: ${r.message ?? 'did not load'}`);
    return r.ok ? backend : undefined;
  });
  const found = (await Promise.all(checks)).filter((b): b is TfjsBackend => b !== undefined);
  // The notes arrive in completion order; the log reads better fastest first.
  notes.sort((a, b) => ORDER.indexOf(a.split(':')[0] as TfjsBackend) - ORDER.indexOf(b.split(':')[0] as TfjsBackend));
  return { backends: found, best: found[0] ?? 'cpu', native: found.includes('tensorflow-gpu') || found.includes('tensorflow'), notes };
}

/** The command line that runs the TF.js trainer (node = process.execPath with ELECTRON_RUN_AS_NODE=1 so it works from VS Code's Electron host as well as plain Node). */
export function tfjsTrainerCommand(
  loc: TfjsLocations,
  trainerArgs: readonly string[],
  backend: TfjsBackend | 'auto',
  maxMinutes: number,
): { command: string; args: string[]; env: NodeJS.ProcessEnv } {
  return {
    command: process.execPath,
    args: [tfjsTrainerPath(loc), ...trainerArgs, '--backend', backend, '--max-minutes', String(maxMinutes), '--module-path', nativeModulesDir(loc)],
    env: nodeEnv(),
  };
}

/** Installs @tensorflow/tfjs-node (or -gpu) into <globalStoragePath>/tfjs-native with npm; resolves with ok=false and npm's message when it fails (as it does on machines that cannot download libtensorflow). Cancellable. */
export async function installNativeTfjs(
  loc: TfjsLocations,
  gpu: boolean,
  onOutput: (line: string) => void,
  signal: AbortSignal,
): Promise<{ ok: boolean; message: string }> {
  const pkg = gpu ? NATIVE['tensorflow-gpu'] : NATIVE.tensorflow;
  const dir = nativeInstallDir(loc);
  if (signal.aborted) return { ok: false, message: `the installation of ${pkg} was cancelled` };
  try {
    await fs.mkdir(dir, { recursive: true });
    const manifest = path.join(dir, 'package.json');
    if (!existsSync(manifest)) {
      // An npm project of its own, so the install never touches the extension's folder. The
      // package's install script downloads libtensorflow; npm 11 runs a dependency's install
      // script only when the project allows it.
      const project = {
        name: 'cnnslicer-tfjs-native',
        private: true,
        description: 'The native TensorFlow.js backend for CNNSlicer’s TF.js trainer, installed by the extension.',
        allowScripts: { [NATIVE.tensorflow]: true, [NATIVE['tensorflow-gpu']]: true },
      };
      await fs.writeFile(manifest, JSON.stringify(project, null, 2) + '\n');
    }
  } catch (err) {
    return { ok: false, message: `cannot prepare ${dir}: ${err instanceof Error ? err.message : String(err)}` };
  }

  const windows = process.platform === 'win32';
  const npm = windows ? 'npm.cmd' : 'npm';
  const args = ['install', '--save-exact', '--no-audit', '--no-fund', `${pkg}@${NATIVE_VERSION}`];
  onOutput(`${npm} ${args.join(' ')}   (in ${dir})`);
  return new Promise((resolve) => {
    // npm.cmd only runs through a shell on Windows (Node refuses to spawn .cmd files directly).
    const child = spawn(npm, args, { cwd: dir, env: process.env, stdio: ['ignore', 'pipe', 'pipe'], shell: windows, windowsHide: true });
    let tail: string[] = [];
    let cause: string | undefined;
    let download = false;
    const lines = (chunk: Buffer, keep: boolean): void => {
      for (const line of chunk.toString('utf8').split(/\r?\n/)) {
        if (line.trim() === '') continue;
        onOutput(line);
        if (/libtensorflow|storage\.googleapis\.com/.test(line)) download = true;
        const error = /\b((?:[A-Z]\w*)?Error: .*)$/.exec(line);
        if (error) cause = error[1];
        // A failing install script ends in a Node stack trace; its frames say nothing to the user.
        if (keep && !/^(npm (error|ERR!))?\s*(at |throw |\^|\}$|$)/.test(line)) tail = [...tail, line].slice(-10);
      }
    };
    child.stdout.on('data', (c: Buffer) => lines(c, false));
    child.stderr.on('data', (c: Buffer) => lines(c, true));
    let cancelled = false;
    const onAbort = (): void => {
      cancelled = true;
      child.kill('SIGTERM');
    };
    signal.addEventListener('abort', onAbort, { once: true });
    let spawnError: Error | undefined;
    child.on('error', (e) => (spawnError = e));
    child.on('close', (code, sig) => {
      signal.removeEventListener('abort', onAbort);
      if (cancelled) return resolve({ ok: false, message: `the installation of ${pkg} was cancelled` });
      if (spawnError !== undefined) {
        const missing = (spawnError as NodeJS.ErrnoException).code === 'ENOENT';
        return resolve({
          ok: false,
          message: missing
            ? `npm was not found on PATH; install Node.js with npm, or run \`npm install ${pkg}@${NATIVE_VERSION}\` in ${dir} yourself`
            : `could not run npm: ${spawnError.message}`,
        });
      }
      if (code !== 0) {
        const how = sig !== null ? `was killed by ${sig}` : `failed with exit status ${code}`;
        const why = download
          ? ` (its install script downloads libtensorflow, which failed${cause !== undefined ? `: ${cause}` : ''})`
          : cause !== undefined
            ? `: ${cause}`
            : '';
        return resolve({ ok: false, message: `npm install ${pkg}@${NATIVE_VERSION} ${how} in ${dir}${why}${tail.length > 0 ? `\n${tail.join('\n')}` : ''}` });
      }
      if (!resolvable(pkg, loc)) return resolve({ ok: false, message: `npm reported success, but ${pkg} cannot be found in ${nativeModulesDir(loc)}` });
      resolve({ ok: true, message: `installed ${pkg}@${NATIVE_VERSION} into ${dir}` });
    });
  });
}

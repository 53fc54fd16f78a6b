// Loads a TF.js backend at run time: the native ones (@tensorflow/tfjs-node-gpu, @tensorflow/tfjs-node)
// from wherever they were installed, the pure ones (wasm, cpu) from this bundle.
//
// The native packages download libtensorflow when installed, so the extension never depends on
// them: the user installs one into the extension's global storage (tfjsEngine.ts) and the trainer
// is told where with --module-path. A native package brings its own @tensorflow/tfjs, whose
// namespace (re-exported by the package) is the one used with it; the bundled @tensorflow/tfjs is
// only loaded for wasm and cpu, lazily, so that it is never initialised next to a native one.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import type { TF } from './model';
import type { BackendName } from './options';

export const NATIVE_PACKAGES: Readonly<Record<'tensorflow-gpu' | 'tensorflow', string>> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
};

/** Fastest first; `auto` takes the first that loads. */
export const AUTO_ORDER: readonly BackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

export function isPureJs(backend: BackendName): boolean {
  return backend === 'wasm' || backend === 'cpu';
}

export interface LoadedBackend {
  readonly tf: TF;
  readonly backend: BackendName;
  /** Why each backend tried before this one did not load. */
  readonly notes: readonly string[];
}

const ownRequire = createRequire(__filename);

/** Where a native package's entry point is, looking in the --module-path folders first, then beside this bundle. */
export function resolveNative(pkg: string, modulePaths: readonly string[]): string | undefined {
  for (const dir of modulePaths) {
    try {
      // `paths` starts the node_modules lookup at dir: a node_modules folder itself or a folder holding one.
      return ownRequire.resolve(pkg, { paths: [dir] });
    } catch {
      // Not there: try the next place.
    }
  }
  try {
    return ownRequire.resolve(pkg);
  } catch {
    return undefined;
  }
}

function message(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  // Native load failures repeat the whole dlopen path; the first line says what is wrong.
  return text.split('\n')[0];
}

/** The folder holding the backend's .wasm files: beside the bundle (dist/trainer), or in the package in a checkout. */
export function wasmFolder(): string | undefined {
  const candidates = [__dirname, path.join(__dirname, '..', '..', '..', 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist')];
  try {
    candidates.push(path.join(path.dirname(ownRequire.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist'));
  } catch {
    // Not resolvable from here (inside the installed extension): the bundle's own folder it is.
  }
  return candidates.find((dir) => existsSync(path.join(dir, 'tfjs-backend-wasm-simd.wasm')));
}

/** A tiny computation, so a backend that registers but cannot run fails here and not in the first epoch. */
function smokeTest(tf: TF): void {
  const v = tf.tidy(() => tf.sum(tf.matMul(tf.ones([2, 3]), tf.ones([3, 2]))).dataSync()[0]);
  if (v !== 12) throw new Error(`a test computation gave ${v} instead of 12`);
}

/** Loads one backend and makes it TF.js's current one; throws with the reason when it cannot. */
export async function loadOne(backend: BackendName, modulePaths: readonly string[]): Promise<TF> {
  if (backend === 'tensorflow-gpu' || backend === 'tensorflow') {
    const pkg = NATIVE_PACKAGES[backend];
    const main = resolveNative(pkg, modulePaths);
    if (main === undefined) {
      const where = [...modulePaths, 'the extension'].join(', ');
      throw new Error(`${pkg} is not installed (looked in ${where})`);
    }
    let tf: TF;
    try {
      tf = createRequire(main)(main) as TF;
    } catch (err) {
      throw new Error(`${pkg} (${main}) is installed but does not load: ${message(err)}`);
    }
    if (!(await tf.setBackend('tensorflow'))) throw new Error(`${pkg} loaded but its backend did not initialise`);
    smokeTest(tf);
    return tf;
  }
  // Required here rather than imported at the top: see the header.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const tf = require('@tensorflow/tfjs') as TF;
  // Production mode: no console advice to install tfjs-node (the extension offers that itself).
  tf.env().set('PROD', true);
  if (backend === 'wasm') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
    const folder = wasmFolder();
    if (folder === undefined) throw new Error(`the wasm backend's tfjs-backend-wasm-simd.wasm is missing from ${__dirname}`);
    wasm.setWasmPaths(folder + path.sep);
    // The threaded build needs Web Workers from blob: URLs, which Node's worker_threads refuse
    // (ERR_WORKER_PATH; TF.js turns threads off in Node for this, tfjs issue #3830): one thread, SIMD.
  }
  if (!(await tf.setBackend(backend))) throw new Error(`the ${backend} backend did not initialise`);
  smokeTest(tf);
  return tf;
}

/** Loads the asked-for backend, or for `auto` the fastest one that loads. */
export async function loadBackend(want: BackendName | 'auto', modulePaths: readonly string[]): Promise<LoadedBackend> {
  if (want !== 'auto') {
    try {
      return { tf: await loadOne(want, modulePaths), backend: want, notes: [] };
    } catch (err) {
      throw new Error(`the TF.js ${want} backend is not available: ${message(err)}`);
    }
  }
  const notes: string[] = [];
  for (const backend of AUTO_ORDER) {
    try {
      return { tf: await loadOne(backend, modulePaths), backend, notes };
    } catch (err) {
      notes.push(`${backend}: ${message(err)}`);
    }
  }
  throw new Error(`no TF.js backend could be loaded: ${notes.join('; ')}`);
}

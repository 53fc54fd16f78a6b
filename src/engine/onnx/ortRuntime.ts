// The one place that touches onnxruntime-node. It is required on first use, not imported, so the
// engine and CLI start without loading the native library, and a missing or broken binary becomes
// a `model-error` on the request that needed it instead of a crash at start-up.
import { existsSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { CnnSlicerError } from '../../shared/errors';

type OrtModule = typeof import('onnxruntime-node');

export type RuntimeLogLevel = 'info' | 'warn' | 'error';
export type RuntimeLogger = (level: RuntimeLogLevel, message: string) => void;

// stderr by default (the engine may use stdout for its protocol), and only what needs attention:
// a command-line user does not need to hear that the CPU was chosen on a machine without a GPU.
let logger: RuntimeLogger = (level, message) => {
  if (level !== 'info') process.stderr.write(`[${level}] ${message}\n`);
};

/** Where the choice of execution provider and any fallback are reported (the engine's log). */
export function setRuntimeLogger(fn: RuntimeLogger): void {
  logger = fn;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

let ort: OrtModule | undefined;

/** The onnxruntime-node module, loaded on first call. `file` is the model the caller wanted to run. */
export function loadOrt(file?: string): OrtModule {
  if (ort === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      ort = require('onnxruntime-node') as OrtModule;
    } catch (err) {
      throw new CnnSlicerError('model-error', `cannot load onnxruntime-node (the native onnxruntime library): ${messageOf(err)}`, file);
    }
  }
  return ort;
}

/** Set by CNNSLICER_EXECUTION_PROVIDER=cpu to keep a machine with a broken CUDA setup on the CPU. */
const FORCE_CPU = process.env.CNNSLICER_EXECUTION_PROVIDER === 'cpu';

type Provider = 'cuda' | 'cpu';
// Decided by the first session that loads; undefined until then.
let chosen: Provider | undefined;

/**
 * Why CUDA cannot be used, without trying it when that is already known: a failed attempt makes
 * onnxruntime print an error to stderr, which would show up in every CPU-only user's log.
 */
function cudaUnavailableReason(m: OrtModule): string | undefined {
  if (FORCE_CPU) return 'CNNSLICER_EXECUTION_PROVIDER=cpu';
  let backends: { name: string; bundled: boolean }[];
  try {
    backends = m.listSupportedBackends();
  } catch (err) {
    return `listSupportedBackends failed: ${messageOf(err)}`;
  }
  const cuda = backends.find((b) => b.name === 'cuda');
  if (cuda === undefined) return `this onnxruntime-node has no CUDA backend (it has ${backends.map((b) => b.name).join(', ')})`;
  // Not bundled: the provider library is downloaded by onnxruntime-node's install script, which
  // may not have run; it lands beside the native binding.
  if (!cuda.bundled && !cudaProviderLibraryPresent()) {
    return 'the CUDA provider library of onnxruntime-node is not installed (its install script downloads it)';
  }
  return undefined;
}

function cudaProviderLibraryPresent(): boolean {
  try {
    const binRoot = join(dirname(require.resolve('onnxruntime-node/package.json')), 'bin');
    for (const napi of readdirSync(binRoot)) {
      const dir = join(binRoot, napi, process.platform, process.arch);
      if (existsSync(dir) && readdirSync(dir).some((f) => f.includes('onnxruntime_providers_cuda'))) return true;
    }
    return false;
  } catch {
    // An unexpected package layout: let the attempt to create a CUDA session decide.
    return true;
  }
}

// The sessions this thread created, so that a worker thread can release them before it ends
// (releaseThreadSessions): a thread terminated with live sessions can abort the whole process.
const threadSessions = new Set<Promise<InferenceSession>>();

/** Registers a session being created on this thread for releaseThreadSessions; returns it. */
export function trackSession(session: Promise<InferenceSession>): Promise<InferenceSession> {
  threadSessions.add(session);
  session.catch(() => threadSessions.delete(session));
  return session;
}

/** Releases every session this thread created; for a worker thread about to end. */
export async function releaseThreadSessions(): Promise<void> {
  const all = [...threadSessions];
  threadSessions.clear();
  await Promise.all(all.map((p) => p.then((s) => s.release()).catch(() => undefined)));
}

function open(m: OrtModule, model: string | Uint8Array, executionProviders: Provider[]): Promise<InferenceSession> {
  // No CPU memory arena: an arena keeps the peak of every run for the life of its session, and the
  // engine holds several sessions (a checkpoint's forward pass, the k-NN and distance graphs), so
  // their peaks added up (a ResNet-18 channel capacity query: 1.35 GB with arenas, 0.91 GB without,
  // no slower). Buffers go back to the system after each run instead.
  const options: InferenceSession.SessionOptions = {
    executionProviders,
    intraOpNumThreads: availableParallelism(),
    graphOptimizationLevel: 'all',
    enableCpuMemArena: false,
  };
  // Two calls because create's overloads do not take the union.
  return trackSession(typeof model === 'string' ? m.InferenceSession.create(model, options) : m.InferenceSession.create(model, options));
}

/**
 * Loads a model. CUDA is used when this onnxruntime-node offers it and a session can be created
 * with it; otherwise (or when that fails) the CPU. The first successful load fixes the choice for
 * the process, so later sessions do not pay for a failing CUDA attempt again.
 * `file` names the model in errors (for bytes built in memory, say what they are).
 */
export async function createSession(modelPathOrBytes: string | Uint8Array, file: string): Promise<InferenceSession> {
  const m = loadOrt(file);
  let cudaError: string | undefined;
  if (chosen !== 'cpu') {
    const reason = chosen === undefined ? cudaUnavailableReason(m) : undefined;
    if (reason !== undefined) {
      chosen = 'cpu';
      logger('info', `onnxruntime: using the cpu execution provider: ${reason}`);
    } else {
      try {
        // 'cpu' after 'cuda' takes the operators CUDA does not implement.
        const session = await open(m, modelPathOrBytes, ['cuda', 'cpu']);
        if (chosen === undefined) logger('info', 'onnxruntime: using the cuda execution provider');
        chosen = 'cuda';
        return session;
      } catch (err) {
        cudaError = messageOf(err);
      }
    }
  }
  let session: InferenceSession;
  try {
    session = await open(m, modelPathOrBytes, ['cpu']);
  } catch (err) {
    // The CPU failing means the model is at fault, not CUDA: a CUDA failure above says nothing
    // about CUDA then, so the choice stays open for the next model.
    throw new CnnSlicerError('model-error', `cannot load model: ${messageOf(err)}`, file);
  }
  if (cudaError !== undefined) {
    if (chosen === undefined) {
      chosen = 'cpu';
      logger('warn', `onnxruntime: the cuda execution provider cannot be used, falling back to cpu: ${cudaError}`);
    } else {
      logger('warn', `onnxruntime: ${file} could not be loaded with cuda and runs on cpu: ${cudaError}`);
    }
  }
  return session;
}

/** 'cuda' or 'cpu' once a session has been created; 'none' before. */
export function executionProviderInUse(): string {
  return chosen ?? 'none';
}

/** An onnxruntime tensor over `data` (not copied), checking that `dims` matches its length. */
export function makeTensor(data: Float32Array | BigInt64Array, dims: readonly number[]): Tensor {
  const size = dims.reduce((a, b) => a * b, 1);
  if (size !== data.length) throw new Error(`tensor dims [${dims.join(',')}] hold ${size} values, data has ${data.length}`);
  return new (loadOrt().Tensor)(data, dims);
}

// The engine's worker threads, in one place: where a worker's entry file is (the bundle's, or the
// TypeScript source through tsx), how many threads a computation may use (CNNSLICER_THREADS),
// and how a worker holding onnxruntime sessions is ended.
//
// Ending. `worker.terminate()` on a thread that holds onnxruntime sessions aborts the whole
// process now and then ("terminate called after throwing an instance of 'Napi::Error'":
// onnxruntime-node's finalizers run while the thread's environment is torn down), about one test
// run in six on the capacity codes' workers. So the owner asks the worker to end; the worker lets
// its current work finish, releases its sessions and closes its port, and its thread ends on its
// own. A worker that does not end in time is terminated all the same.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { MessagePort, Worker } from 'node:worker_threads';
import { releaseThreadSessions } from '../onnx/ortRuntime';

/** A worker's entry file and the Node options it needs. */
export interface WorkerEntry {
  readonly filename: string;
  readonly execArgv: string[];
}

/**
 * The worker entry `name` in `dir` (the caller's __dirname): the bundle's `name.js` in dist/, else
 * the TypeScript source, run through tsx as the tests and benchmarks run the engine. Undefined when
 * neither can run; the caller then computes on its own thread.
 */
export function workerEntry(dir: string, name: string): WorkerEntry | undefined {
  const js = join(dir, `${name}.js`);
  if (existsSync(js)) return { filename: js, execArgv: [] };
  const ts = join(dir, `${name}.ts`);
  // A variable, so that bundlers leave this development-only path alone.
  const tsx = 'tsx/cjs';
  try {
    return existsSync(ts) ? { filename: ts, execArgv: ['--require', require.resolve(tsx)] } : undefined;
  } catch {
    return undefined;
  }
}

/** CNNSLICER_THREADS, when it holds a positive integer: the threads every parallel computation uses. */
export function threadsFromEnvironment(): number | undefined {
  const v = Number(process.env.CNNSLICER_THREADS);
  return Number.isInteger(v) && v >= 1 ? v : undefined;
}

/** The message that asks a worker to end. */
export const CLOSE_REQUEST = 'cnnslicer:close-worker';

/** How long a worker may take to finish its work, release its sessions and end. */
export const CLOSE_GRACE_MS = 5000;

export function isCloseRequest(message: unknown): message is typeof CLOSE_REQUEST {
  return message === CLOSE_REQUEST;
}

/** Asks `worker` to end and resolves once it has (terminated after `graceMs`). */
export function closeWorker(worker: Worker, graceMs = CLOSE_GRACE_MS): Promise<void> {
  return new Promise<void>((resolve) => {
    // threadId is -1 once the thread has ended.
    if (worker.threadId < 0) return resolve();
    const timer = setTimeout(() => void worker.terminate(), graceMs);
    timer.unref();
    worker.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    worker.postMessage(CLOSE_REQUEST);
  });
}

/** Ends each of `workers`; resolves once all have. */
export async function closeWorkers(workers: readonly Worker[], graceMs = CLOSE_GRACE_MS): Promise<void> {
  await Promise.all(workers.map((w) => closeWorker(w, graceMs)));
}

/** Worker side: once `busy` settles, releases this thread's sessions and closes `port`, which ends the thread. */
export function endWorkerThread(port: MessagePort, busy: Promise<unknown> = Promise.resolve()): void {
  busy
    .catch(() => undefined)
    .then(releaseThreadSessions)
    .finally(() => port.close());
}

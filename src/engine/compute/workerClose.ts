// Ending a worker thread that holds onnxruntime sessions. `worker.terminate()` on such a thread
// aborts the whole process now and then ("terminate called after throwing an instance of
// 'Napi::Error'": onnxruntime-node's finalizers run while the thread's environment is torn down),
// about one test run in six on the capacity codes' workers. So the owner asks the worker to end;
// the worker lets its current work finish, releases its sessions and closes its port, and its
// thread ends on its own. A worker that does not end in time is terminated all the same.
import type { MessagePort, Worker } from 'node:worker_threads';
import { releaseThreadSessions } from '../onnx/ortRuntime';

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

// The inter-sample entropy (estimators/interSampleEntropy.ts) on every core: its σ solves and
// mutual-pair corrections are shared with warm workers borrowed from the k-NN's pool
// (knnGramPool.ts), which usually has just finished the search, and with new worker threads
// (sigmaWorker.ts) for large graphs. The result is the same for any thread count.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { CnnSlicerError } from '../../shared/errors';
import {
  interSampleEntropy,
  type InterSampleEntropy,
  type InterSampleJob,
  type InterSampleParams,
  type InterSampleThreads,
  type KnnGraph,
} from '../estimators/interSampleEntropy';
import { ESTIMATOR_DEFAULTS } from '../estimators/params';
import { giveBack, idleWorkers, lendWorkers, postJob } from './knnGramPool';
import { threadsFromEnvironment, workerEntry } from './threads';

/** Options that change only how the entropy runs, never its result. */
export interface InterSampleThreadOptions {
  /**
   * Threads, the calling one included. Default: the CNNSLICER_THREADS environment variable, else
   * every core, and then only for graphs of at least PARALLEL_MIN_EDGES edges, where starting
   * worker threads costs little against the work; given here or in the environment, the count is
   * used whatever the size.
   */
  threads?: number;
  /** Whether the calling thread computes its share (default): see InterSampleOptions.callerComputes. */
  callerComputes?: boolean;
}

/** n·k from which the default starts worker threads on every core (N = 20,000 at k = 1,000 is 2·10⁷). */
const PARALLEL_MIN_EDGES = 2 ** 21;
/**
 * n·k from which the default shares the work with warm workers (the k-NN's, idle in its pool,
 * knnGramPool.ts): ~10 ms of work, against well under a millisecond to post a job to one.
 */
const WARM_MIN_EDGES = 2 ** 16;

/** Reserves the threads of one entropy: pooled workers first, then new ones (none without a worker entry). */
function reserve(n: number, k: number, chunks: number, asked: number | undefined): InterSampleThreads {
  // Warm workers cost nothing to start: the default takes them from WARM_MIN_EDGES on, and starts
  // new ones only from PARALLEL_MIN_EDGES.
  const warm = n * k >= WARM_MIN_EDGES ? idleWorkers() : 0;
  const wanted = Math.min(chunks, asked ?? (n * k >= PARALLEL_MIN_EDGES ? availableParallelism() : 1 + Math.min(warm, availableParallelism() - 1)));
  const lent = wanted > 1 ? lendWorkers(wanted - 1, undefined) : [];
  // No entry (neither a bundle nor tsx to run the source): the calling thread does the rest.
  const entry = wanted > 1 + lent.length ? workerEntry(__dirname, 'sigmaWorker') : undefined;
  const threads = entry === undefined ? 1 + lent.length : wanted;
  const workers: Worker[] = [];
  return {
    threads,
    start(job: InterSampleJob): void {
      lent.forEach((w, t) => postJob(w, 'inter', t + 1, { job }));
      if (entry === undefined) return;
      for (let w = 1 + lent.length; w < threads; w++) {
        const worker = new Worker(entry.filename, { execArgv: entry.execArgv, workerData: { job, id: w } });
        // Its errors reach the calling thread through the job's FAILED word; the event would arrive too late to matter.
        worker.on('error', () => undefined);
        worker.unref();
        workers.push(worker);
      }
    },
    stop(): void {
      // These hold no onnxruntime session: terminating them is safe (threads.ts).
      for (const worker of workers) void worker.terminate();
      giveBack(lent);
    },
  };
}

/** interSampleEntropy on the threads that options and the graph's size call for. */
export function interSampleEntropyThreaded(
  knn: KnnGraph,
  params: InterSampleParams = ESTIMATOR_DEFAULTS,
  options: InterSampleThreadOptions = {},
): InterSampleEntropy {
  if (options.threads !== undefined && !(Number.isInteger(options.threads) && options.threads >= 1)) {
    throw new CnnSlicerError('bad-request', `inter-sample entropy: threads must be a positive integer, not ${options.threads}`);
  }
  const asked = options.threads ?? threadsFromEnvironment();
  return interSampleEntropy(knn, params, {
    helpers: (n, k, chunks) => reserve(n, k, chunks, asked),
    ...(options.callerComputes !== undefined ? { callerComputes: options.callerComputes } : {}),
  });
}

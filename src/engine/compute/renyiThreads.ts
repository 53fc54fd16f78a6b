// The matrix-based Rényi entropies of whole representations on worker threads (renyiWorker.ts),
// for the information plane (analysis/information.ts): a job is one layer's activations; its
// thread computes the layer's normalised Gram matrix, σ, S_α and its joint entropies with the
// matrices every job shares (the inputs' and the labels', in shared memory, one copy for all
// threads), with the estimator's own functions, so the numbers are those of the calling thread.
// A layer's n × n matrices live and die on the thread that took it: memory grows with the
// threads, not with the layers.
//
// These workers hold no onnxruntime session, so ending them by terminate() is safe (threads.ts).
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { CnnSlicerError, type ErrorInfo } from '../../shared/errors';
import { renyiEntropy, renyiGram, renyiJoint, type RenyiParams } from '../estimators/renyiEntropy';
import { workerEntry } from './threads';

/** What a job gives back: σ and S_α of its representation, S_α(it, M) for each shared matrix M. */
export interface RepresentationEntropies {
  readonly sigma: number;
  readonly entropy: number;
  readonly joints: number[];
}

/** A representation's σ, S_α(A) and S_α(A, M) for each of `shared` (n × n each), on the calling thread. */
export function representationEntropies(
  data: Float32Array | Float64Array,
  n: number,
  d: number,
  params: RenyiParams,
  shared: readonly Float64Array[],
): RepresentationEntropies {
  const { gram, sigma } = renyiGram(data, n, d, params);
  const entropy = renyiEntropy(gram, n, params.renyiAlpha, params.renyiExactMax);
  // A ∘ B is B ∘ A value for value: the order of the arguments does not change a joint entropy.
  const joints = shared.map((m) => renyiJoint(m, gram, n, params.renyiAlpha, params.renyiExactMax));
  return { sigma, entropy, joints };
}

/** What a worker is started with. */
export interface RenyiWorkerData {
  readonly params: RenyiParams;
  readonly n: number;
  /** The shared matrices, each n × n float64 over a SharedArrayBuffer. */
  readonly shared: readonly Float64Array[];
}

export interface RenyiJobMessage {
  readonly id: number;
  readonly data: Float32Array | Float64Array;
  readonly d: number;
}

export type RenyiReply = { readonly id: number; readonly result: RepresentationEntropies } | { readonly id: number; readonly error: ErrorInfo };

/** Worker threads that take representations one at a time each. */
export interface RenyiPool {
  readonly threads: number;
  /** The entropies of a representation of the pool's n samples (d values each). */
  run(data: Float32Array | Float64Array, d: number): Promise<RepresentationEntropies>;
  /** Ends the workers; jobs still running are rejected. */
  close(): Promise<void>;
}

/**
 * Samples from which the default starts workers: at n = 256 a layer costs ~10 ms, against ~0.1 s
 * to start a worker from the bundle (more through tsx).
 */
const PARALLEL_MIN_SAMPLES = 256;

/**
 * The worker threads the information plane uses for n samples: `threads` when given (the caller's,
 * or CNNSLICER_THREADS: threadsFromEnvironment), else every core from PARALLEL_MIN_SAMPLES samples
 * on (1 below). 1 means the calling thread does it all.
 */
export function renyiThreadCount(n: number, threads: number | undefined): number {
  if (threads !== undefined) return threads;
  return n >= PARALLEL_MIN_SAMPLES ? availableParallelism() : 1;
}

/**
 * Starts `threads` workers over the shared matrices (n × n each, copied once into shared memory);
 * undefined when there is no worker entry to run (the caller then computes on its own thread).
 */
export function startRenyiPool(threads: number, n: number, params: RenyiParams, shared: readonly Float64Array[]): RenyiPool | undefined {
  const entry = threads >= 1 ? workerEntry(__dirname, 'renyiWorker') : undefined;
  if (entry === undefined) return undefined;
  const matrices = shared.map((m) => {
    const copy = new Float64Array(new SharedArrayBuffer(m.byteLength));
    copy.set(m);
    return copy;
  });
  const workerData: RenyiWorkerData = { params, n, shared: matrices };
  interface Job {
    readonly message: RenyiJobMessage;
    resolve(r: RepresentationEntropies): void;
    reject(e: unknown): void;
  }
  interface Thread {
    readonly worker: Worker;
    job?: Job;
  }
  const queue: Job[] = [];
  let failure: Error | undefined;
  let closed = false;
  let nextId = 0;
  const threadsList: Thread[] = [];

  const fail = (err: Error): void => {
    failure ??= err;
    for (const t of threadsList) {
      t.job?.reject(failure);
      t.job = undefined;
    }
    for (const job of queue.splice(0)) job.reject(failure);
  };
  const dispatch = (): void => {
    for (const t of threadsList) {
      if (t.job !== undefined || queue.length === 0) continue;
      const job = queue.shift()!;
      t.job = job;
      t.worker.postMessage(job.message);
    }
  };
  for (let w = 0; w < threads; w++) {
    const worker = new Worker(entry.filename, { execArgv: entry.execArgv, workerData });
    const thread: Thread = { worker };
    worker.on('message', (reply: RenyiReply) => {
      const job = thread.job;
      if (job === undefined || job.message.id !== reply.id) return;
      thread.job = undefined;
      if ('error' in reply) job.reject(CnnSlicerError.fromInfo(reply.error));
      else job.resolve(reply.result);
      dispatch();
    });
    worker.on('error', (err) => fail(new CnnSlicerError('internal', `a Rényi entropy worker failed: ${err.message}`)));
    worker.on('exit', (code) => {
      if (!closed) fail(new CnnSlicerError('internal', `a Rényi entropy worker ended early (exit code ${code})`));
    });
    threadsList.push(thread);
  }
  return {
    threads,
    run(data, d) {
      if (failure !== undefined) return Promise.reject(failure);
      if (closed) return Promise.reject(new CnnSlicerError('internal', 'the Rényi entropy workers were ended'));
      return new Promise<RepresentationEntropies>((resolve, reject) => {
        queue.push({ message: { id: nextId++, data, d }, resolve, reject });
        dispatch();
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      fail(new CnnSlicerError('cancelled', 'the Rényi entropy workers were ended'));
      await Promise.all(threadsList.map((t) => t.worker.terminate()));
    },
  };
}

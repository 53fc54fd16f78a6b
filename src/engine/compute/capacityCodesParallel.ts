// codeChannelMaps on worker threads (capacityCodesWorker.ts): onnxruntime-node runs a session
// synchronously on the thread that calls it, and the channel-distances graph keeps about one
// core busy, so on the calling thread the distances of a 512-channel layer over 1,000 samples
// take ~5–6 s of one core while the others wait. Here each worker has its own one-thread session
// (the same graph and options, hence the same floats) and bins its chunks straight into the
// shared codes; the calling thread only transposes each chunk's maps into a buffer it sends over,
// and stays responsive. The chunks are those of the calling thread's path (chunkPlan), so the
// codes are the same bytes.
import { Worker } from 'node:worker_threads';
import { CnnSlicerError } from '../../shared/errors';
import type { CodedChannels } from '../estimators/channelCapacity';
import { buildChannelDistancesGraph } from './graphs';
import { closeWorkers, workerEntry } from './threads';
import { checkMaps, chunkPlan, fillBlock, type PairwiseOptions } from './pairwiseDistances';

/** What every worker of one layer gets once. */
export interface CodesJob {
  readonly graph: Uint8Array;
  readonly n: number;
  readonly S: number;
  readonly perChunk: number;
  readonly allPairs: number;
  /** The layer's codes, uppers and entropies, all in shared memory. */
  readonly target: CodedChannels;
  readonly sample?: Int32Array;
}

/** One chunk: its maps as the graph's input (transferred), and what to do with its distances. */
export interface CodesTask {
  readonly c0: number;
  readonly count: number;
  readonly block: ArrayBuffer;
  readonly pass: 'max' | 'code';
  readonly layerUpper?: number;
}

export type CodesReply =
  { type: 'done'; c0: number; block: ArrayBuffer; maxima?: Float64Array } | { type: 'error'; c0: number; block: ArrayBuffer; message: string; code?: string };

/** Whether the worker entry exists (the bundle or the sources with tsx). */
export function codesWorkersAvailable(): boolean {
  return workerEntry(__dirname, 'capacityCodesWorker') !== undefined;
}

function cancelled(): CnnSlicerError {
  return new CnnSlicerError('cancelled', 'the pairwise distance computation was cancelled');
}

/**
 * Fills `target` (allocated in shared memory, every pair or `sample`'s) from `maps` on `threads`
 * worker threads, in one pass ('channel') or two ('layer': the maxima, then the codes). Throws
 * `cancelled` at the signal, the workers' own errors as they are, and `internal` if a worker could
 * not start or stopped: the caller may then compute on its own thread.
 */
export async function codeChannelMapsParallel(
  maps: Float32Array,
  n: number,
  C: number,
  S: number,
  layerRange: boolean,
  target: CodedChannels,
  threads: number,
  opts: PairwiseOptions & { sample?: Int32Array },
): Promise<void> {
  const allPairs = checkMaps(maps, n, C, S);
  if (opts.signal?.aborted) throw cancelled();
  const entry = workerEntry(__dirname, 'capacityCodesWorker');
  if (entry === undefined) throw new CnnSlicerError('internal', 'the capacity codes worker entry is missing');
  const { perChunk, chunks } = chunkPlan(n, C, opts);
  const job: CodesJob = { graph: buildChannelDistancesGraph(), n, S, perChunk, allPairs, target, sample: opts.sample };
  const count = Math.max(1, Math.min(threads, chunks));
  const workers = Array.from({ length: count }, () => new Worker(entry.filename, { execArgv: entry.execArgv, workerData: job }));
  const passes: ('max' | 'code')[] = layerRange ? ['max', 'code'] : ['code'];
  // The listeners stay for both passes, forwarding to the pass in progress (removing a Worker's
  // listeners wholesale would also remove Node's own, which start and stop its message port).
  let onReply: (worker: Worker, reply: CodesReply) => void = () => undefined;
  let onFailure: (err: Error) => void = () => undefined;
  for (const worker of workers) {
    worker.on('message', (reply: CodesReply) => onReply(worker, reply));
    worker.on('error', (err) => onFailure(new CnnSlicerError('internal', `a capacity codes worker failed: ${err.message}`)));
    worker.on('exit', (code) => onFailure(new CnnSlicerError('internal', `a capacity codes worker stopped (exit code ${code})`)));
  }
  let layerUpper: number | undefined;
  const onAbort = (): void => onFailure(cancelled());
  opts.signal?.addEventListener('abort', onAbort);
  try {
    for (const [index, pass] of passes.entries()) {
      let max = 0;
      await new Promise<void>((resolve, reject) => {
        let next = 0;
        let done = 0;
        let settled = false;
        const settle = (err?: Error): void => {
          if (settled) return;
          settled = true;
          if (err !== undefined) reject(err);
          else resolve();
        };
        const dispatch = (worker: Worker, block: ArrayBuffer): void => {
          if (next >= C || settled) return;
          const c0 = next;
          const cs = Math.min(perChunk, C - c0);
          next += cs;
          fillBlock(maps, n, C, S, c0, cs, new Float32Array(block));
          const task: CodesTask = { c0, count: cs, block, pass, layerUpper };
          worker.postMessage(task, [block]);
        };
        onFailure = settle;
        onReply = (worker, reply) => {
          if (reply.type === 'error') {
            settle(new CnnSlicerError(reply.code === 'internal' || reply.code === 'bad-request' ? reply.code : 'internal', reply.message));
            return;
          }
          if (reply.maxima !== undefined) for (const m of reply.maxima) max = Math.max(max, m);
          done += Math.min(perChunk, C - reply.c0);
          opts.onProgress?.(index * C + done, passes.length * C);
          if (opts.signal?.aborted) settle(cancelled());
          else if (done >= C) settle();
          else dispatch(worker, reply.block);
        };
        if (opts.signal?.aborted) settle(cancelled());
        for (const worker of workers) dispatch(worker, new ArrayBuffer(perChunk * n * S * 4));
      });
      if (pass === 'max') layerUpper = max;
    }
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    onFailure = () => undefined;
    await closeWorkers(workers);
  }
}

// Exact k-NN on the integer (exact-grid) path.
//
// INTEGER (exact-grid) PATH, on the CPU, when every value lies on a grid of at most 256 levels,
// offset + p·scale with p in 0…255, as images scaled from 8-bit pixels do (MNIST's p/255). The
// dot products of the levels are exact int32 sums from onnxruntime's MatMulInteger (8-bit
// operands: with VNNI ~3.5× the float32 MatMul's rate here, one thread each), so
// D² = |a|² + |b|² − 2a·b is an exact integer: ranking and ties are exact and nothing is
// recomputed. The distances returned are scale·√D², exact for the grid values; the float32 inputs
// differ from those by their own rounding (the grid test admits 2⁻²⁰ of the largest magnitude per
// value), so against a float64 brute force over the float32 inputs they agree to ~10⁻⁷ relative
// (at most ~1.5·10⁻⁵, for two points that differ by one level in a single coordinate). Dimensions
// constant over all points are dropped (91 of MNIST's 784 in a 20,000-image subset).
//
// The product is symmetric, so only the blocks on and above the diagonal are computed (half the
// multiply-adds), each block feeding the candidates of its rows and, transposed, of its columns.
// That needs each row's cut-off before its columns are seen, so the work goes in three stages:
//   1. thresholds: each row against every 16th point; the score of rank ~1.4·K·(samples/n)
//      (K = k + 1) bounds its K-th best but for sampling noise;
//   2. block pairs: every column scoring below a row's threshold joins the row's candidate list
//      (~1.5·K keys a row);
//   3. rows: each list is sorted and its K best written out. A row whose sample misled (fewer
//      than K candidates, or more than its list holds) is searched again against all n columns
//      with a running threshold instead, which is always exact: a few rows in 20,000 on MNIST.
// Selection is JavaScript, a comparison per element and direction: ~4 ns of CPU per (row, column)
// pair, where onnxruntime's TopK over [rows, n] blocks cost ~12 (200 ms per 1,677 × 20,000 block
// on two cores); and a 1,024 × 1,024 block's product and selection stay in cache. Each stage's
// tasks are claimed from shared counters by the main thread and by worker_threads (knnWorker.ts),
// each with a one-thread onnxruntime session; everything shared lives in SharedArrayBuffers. The
// main thread works too, so the workers' start-up (tens of milliseconds, more under tsx) costs
// little, and when a worker fails its unfinished tasks are redone on the main thread.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { CnnSlicerError } from '../../shared/errors';
import { type IntegerGemmVariant } from './graphs';
import { type KnnOptions, type KnnResult, PARALLEL_MIN_WORK, checkSignal, messageOf, yieldToEventLoop } from './knnShared';
import { closeWorkers, threadsFromEnvironment, workerEntry } from './threads';
import { type ExactGrid, transposedOperand, dropConstantDimensions } from './knnIntegerGrid';
import {
  STAGE,
  DONE,
  CONTROL_WORDS,
  STAGE_THRESHOLDS,
  STAGE_COUNT,
  SAMPLE_STRIDE,
  DEFAULT_BLOCK_ROWS,
  LIST_BUDGET_BYTES,
  keyBits,
  IntegerKnnShared,
  IntegerKnnThread,
} from './knnIntegerThread';
import { runStages, stopAll } from './stageProtocol';

export async function knnInteger(grid: ExactGrid, n: number, dIn: number, k: number, variant: IntegerGemmVariant, opts: KnnOptions): Promise<KnnResult> {
  const kk = k + 1;
  const blockRows = Math.max(1, Math.min(n, opts.chunkRows ?? DEFAULT_BLOCK_ROWS));
  const blocks = Math.ceil(n / blockRows);
  const pairs = (blocks * (blocks + 1)) / 2;
  const tasks = [blocks, pairs, blocks];
  const asked = opts.threads ?? threadsFromEnvironment();
  const threads = Math.max(1, Math.min(pairs, asked ?? (n * n * dIn >= PARALLEL_MIN_WORK ? availableParallelism() : 1)));

  // Called whenever a worker finishes a task or stops, and on cancellation.
  let wake: (() => void) | undefined;
  let report = () => undefined as void;
  const workers: { worker: Worker; stopped: boolean }[] = [];
  // Started before the data they work on is prepared, so that their start-up overlaps it.
  const entry = threads > 1 ? workerEntry(__dirname, 'knnWorker') : undefined;
  // No entry (neither a bundle nor tsx to run the source): the main thread does it all.
  for (let id = 1; id < threads && entry !== undefined; id++) {
    const w = { worker: new Worker(entry.filename, { execArgv: entry.execArgv, workerData: { kind: 'integer', id, variant } }), stopped: false };
    const stopped = () => {
      w.stopped = true;
      wake?.();
    };
    w.worker.on('message', (msg: { type: string }) => {
      if (msg.type === 'task') {
        report();
        wake?.();
      } else stopped();
    });
    w.worker.on('error', stopped);
    w.worker.on('exit', stopped);
    workers.push(w);
  }
  const onAbort = () => wake?.();
  opts.signal?.addEventListener('abort', onAbort);
  let control: Int32Array | undefined;
  try {
    const { levels, d } = dropConstantDimensions(grid.levels, n, dIn);
    const pairI = new Int32Array(new SharedArrayBuffer(4 * pairs));
    const pairJ = new Int32Array(new SharedArrayBuffer(4 * pairs));
    for (let I = 0, p = 0; I < blocks; I++) {
      for (let J = I; J < blocks; J++, p++) {
        pairI[p] = I;
        pairJ[p] = J;
      }
    }
    const xx = new Float64Array(new SharedArrayBuffer(8 * n));
    const rowOffset = new Float64Array(new SharedArrayBuffer(8 * n));
    const colShift = new Float64Array(new SharedArrayBuffer(8 * n));
    for (let i = 0; i < n; i++) {
      let sq = 0;
      let sum = 0;
      for (let t = i * d; t < (i + 1) * d; t++) {
        sq += levels[t] * levels[t];
        sum += levels[t];
      }
      xx[i] = sq;
      // Y = q·(x − 128) for 'u8s8': a row's scores carry +256·Σq, which its offset takes back.
      rowOffset[i] = variant === 'u8s8' ? sq - 256 * sum : sq;
      colShift[i] = sq - rowOffset[i];
    }
    const xT = transposedOperand(levels, n, d, variant);
    const samples = Math.ceil(n / SAMPLE_STRIDE);
    const sampleT = new Uint8Array(new SharedArrayBuffer(d * samples));
    for (let t = 0; t < d; t++) for (let c = 0; c < samples; c++) sampleT[t * samples + c] = xT[t * n + c * SAMPLE_STRIDE];
    // Rows whose list fills up are searched again in full (stage 3): correct, only slower, so a
    // smaller list for very large n only costs time.
    const cap = Math.max(kk, Math.min(n, 2 * kk, Math.floor(LIST_BUDGET_BYTES / (8 * n))));
    const shared: IntegerKnnShared = {
      n,
      d,
      k,
      scale: grid.scale,
      variant,
      unit: 2 ** keyBits(n),
      blockRows,
      tasks,
      pairI,
      pairJ,
      levels,
      xT,
      sampleT,
      samples,
      xx,
      rowOffset,
      colShift,
      thresholds: new Float64Array(new SharedArrayBuffer(8 * n)),
      cap,
      lists: new Float64Array(new SharedArrayBuffer(8 * n * cap)),
      listCounts: new Int32Array(new SharedArrayBuffer(4 * n)),
      distances: new Float32Array(new SharedArrayBuffer(4 * n * k)),
      indices: new Int32Array(new SharedArrayBuffer(4 * n * k)),
      control: new Int32Array(new SharedArrayBuffer(4 * CONTROL_WORDS)),
      taskState: new Int32Array(new SharedArrayBuffer(4 * (tasks[0] + tasks[1] + tasks[2]))),
      threadTasks: new Int32Array(new SharedArrayBuffer(4 * threads)),
    };
    control = shared.control;
    const ctl = control;

    // Progress in rows: the pairs are most of the work, the rows of the last stage finish it.
    const weights = [0.05, 0.85, 0.1];
    let reported = 0;
    report = () => {
      let fraction = 0;
      for (let s = 0; s < STAGE_COUNT; s++) fraction += (weights[s] * Math.min(tasks[s], Atomics.load(ctl, DONE + s))) / tasks[s];
      const done = Math.min(n, Math.floor(fraction * n + 1e-9));
      if (done > reported) {
        reported = done;
        opts.onProgress?.(done, n);
      }
    };
    Atomics.store(ctl, STAGE, STAGE_THRESHOLDS);
    for (const { worker } of workers) worker.postMessage(shared);
    let main: IntegerKnnThread | undefined;
    const mainThread = async (): Promise<IntegerKnnThread> => {
      try {
        main ??= await IntegerKnnThread.create(shared, 0);
      } catch (err) {
        throw new CnnSlicerError('model-error', `cannot load the integer k-NN graph: ${messageOf(err)}`);
      }
      return main;
    };
    const callerComputes = opts.callerComputes !== false || workers.length === 0;
    const after = async () => {
      report();
      if (opts.signal?.aborted) stopAll(ctl);
      await yieldToEventLoop();
    };
    await runStages({
      control: ctl,
      taskState: shared.taskState,
      tasks,
      stageCount: STAGE_COUNT,
      done: DONE,
      callerComputes,
      thread: mainThread,
      after,
      check: () => checkSignal(opts.signal),
      workersRunning: () => workers.some((w) => !w.stopped),
      workerProgress: async () => {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      },
    });
    report();
    const workerThreads = shared.threadTasks.reduce((a, c, id) => a + (id > 0 && c > 0 ? 1 : 0), 0);
    return { n, k, distances: shared.distances, indices: shared.indices, refined: 0, method: 'integer', workerThreads };
  } finally {
    if (control !== undefined) stopAll(control);
    opts.signal?.removeEventListener('abort', onAbort);
    // A worker still waiting for its data, or between stages, has nothing to finish; one in a task
    // (told to stop above) ends after it. Not awaited: the result does not wait for threads to end.
    void closeWorkers(workers.map((w) => w.worker));
  }
}

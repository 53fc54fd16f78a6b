// The float k-NN for points of many dimensions (knn.ts sends here points off an 8-bit grid with
// more than `blockDims` dimensions, 1,024 by default): hidden layers' activations, e.g. the
// 32,768 values of 128 channels of 16×16 from a ResNet block, for 1,000 or 500 probe samples,
// where k (1,000 by default, capped at n − 1) makes every other sample a neighbour.
//
// WHY NOT ONE FLOAT32 PRODUCT. D² = |ci|² + |cj|² − 2ci·cj from a float32 Gemm over all d
// dimensions carries a worst-case error of (d + 4)·2⁻²⁴·(|ci|² + |cj|²) (knnFloat.ts): 2·10⁻³ of
// the norms at d = 32,768, more than 2⁻¹⁰ of D² for every pair of real activations, so that path
// recomputed all n·k distances in float64 in JavaScript (54 s at n = 1,000, d = 32,768).
//
// WHAT THIS PATH DOES.
//   0. On the main thread, which alone can read the caller's array (knnGramLayout.ts): each
//      dimension's minimum, maximum and sum (an onnxruntime graph on every core) give knn()'s
//      checks, the centre (the mean, rounded to float32: any centre leaves the distances as they
//      are, this one shrinks the norms) and the dimensions that vary (one constant over all
//      points adds exactly 0 to every distance and is left out: image borders and dead units);
//      then the centred kept dimensions are written into shared memory in slices of
//      b = blockDims, each n × b row-major, so that every product operand is one contiguous
//      range, with the squared norms |ci|² in float64. The products (1) start on each slice as
//      soon as it is laid out, on a worker that has started up meanwhile (or was already warm:
//      the workers stay in a pool between searches, knnGramPool.ts).
//   1. Products, in tasks that the main thread and worker threads claim from shared counters,
//      each thread with its own one-thread onnxruntime session on the CPU (knnGramThread.ts): per
//      chunk of rows, one float32 Gemm (MLAS) per slice, summed in float64 in slice order, so the
//      result does not depend on which thread computed what. The Gram matrix is symmetric: when
//      all of it fits `maxBlockBytes` (8·n² bytes: n ≤ 4,096 by default) only its upper triangle
//      is computed (53% of the multiply-adds at n = 1,000), and G(i, j) is read from the row of
//      min(i, j), so D̃²(i, j) and D̃²(j, i) are the same number. Otherwise each chunk of rows is
//      computed against all n columns and its rows finished at once (no stage 2).
//   2. Rows (knnGramRows.ts): each task's rows of the Gram matrix gathered whole, D̃² to all n − 1
//      others in float64, the error bound below, a float64 recomputation from the original points
//      of each pair the bound cannot vouch for (a worker leaves such a row to the main thread,
//      which finishes it between its own tasks), and a stable sort of the float32 distances (ties
//      stay in index order: a bucket sort, or a radix sort when the distances cluster); the first
//      k are returned. No TopK: with k ≈ n it is a full sort per row, and the sort here is O(n).
//
// PRECISION. Let ci be the centred float32 points over the kept dimensions (each coordinate
// fl(pi − m), within 2⁻²⁴ of pi − m; d below counts the kept dimensions) and ni = |ci|². The Gram
// value of a pair is Σ over slices of a float32 dot product of at most b terms, each within γb·Σ|cit·cjt| of its exact value whatever MLAS's order of summation
// and use of FMA (γb = b·u/(1 − b·u), u = 2⁻²⁴: a sum of b rounded terms in any order has at most
// b roundings on any path), summed in float64. With Σt|cit·cjt| ≤ |ci|·|cj| (Cauchy–Schwarz), the
// computed D̃² = ni + nj − 2G satisfies
//     |D̃² − D²| ≤ E(i, j) = a·|ci|·|cj| + c·(ni + nj) + e0,
//     a = 2·(γb + 2·(d/b)·2⁻⁵³)·(1 + 2⁻²⁰),  c = (4.1·2⁻²⁴ + (d + 8)·2⁻⁵³)·(1 + 2⁻²⁰),  e0 = d·2⁻¹²²,
// where a is the float32 slices and their float64 sum, c the centring's roundings (which move a
// distance by at most 2⁻²⁴·(|ci| + |cj|)) and the float64 norms and formula, and e0 covers
// underflow. That is about 2⁻¹³·|ci||cj| at b = 1,024 for any d, against 2⁻⁹·(ni + nj) for one
// float32 product at d = 32,768. Every pair with E·(1 + 2⁻¹⁰) ≥ 2⁻¹⁰·D̃² (which includes D̃² ≤ 0:
// exact duplicates, near-duplicates) is recomputed exactly from the original float32 points in
// float64; every other returned D² is within 2⁻¹⁰ of its true value, relative, by the bound (so
// each distance within 2⁻¹¹, and its float32 rounding), and which neighbours are returned is
// exact up to ties within that error. At b = 1,024 a pair needs the recomputation only when
// D² < 2⁻³·|ci||cj|, i.e. (equal norms) cosine similarity above 0.94 of the centred activations:
// 80 of the 499,500 pairs of the benchmark's ResNet-like layer (`refined` counts each twice, once
// from each end); over 100 of its rows the others were within 8·10⁻⁷ relative (2·10⁻⁸ on
// average). A float32 product that overflows (|ci| beyond ~10¹⁹), which the bound does not cover,
// leaves D̃² infinite or NaN, and the pair is recomputed too. With refine 'all' (small problems)
// every returned distance is recomputed, and so is every candidate beyond
// the k-th whose bound lets it be nearer than one returned, so the neighbours are exact too.
//
// MEASURED (bench/interSampleHidden.ts, node bench/run-all.mjs a2: n = 1,000, d = 32,768 float16
// activations, 12,665 of them constant, k = 999, two shared cores): k-NN + σ + H in 0.46–0.49 s
// in a fresh process on a quiet machine, 0.77 s at load 3.4 (before: 54–70 s), 0.31–0.34 s for a
// second call in the same process (warm workers and sessions), with the entropy within 5·10⁻⁹
// relative of the float64 reference's; see docs/performance.md, section (a2).
import { availableParallelism } from 'node:os';
import { CnnSlicerError } from '../../shared/errors';
import { buildGramBlockGraph } from './graphs';
import { type PointScan, layoutPoints } from './knnGramLayout';
import { type PooledWorker, giveBack, lendWorkers, postJob } from './knnGramPool';
import { CONTROL_WORDS, DEFERRED, DONE, type GramKnnShared, GramKnnThread, LAID_OUT, STAGE, STAGE_COUNT, STAGE_PRODUCTS } from './knnGramThread';
import { DEFAULT_BLOCK_BYTES, type KnnOptions, type KnnResult, U32, U64, checkSignal, messageOf, refinesAll, yieldToEventLoop } from './knnShared';
import { threadsFromEnvironment } from './threads';
import { runStages, stopAll } from './stageProtocol';

/**
 * Dimensions per float32 product. Smaller is a tighter bound (γb ∝ b) but more, smaller products;
 * at 1,024 MLAS runs at full speed and the bound is 32 times tighter than a single product's at
 * d = 32,768.
 */
export const DEFAULT_GRAM_BLOCK_DIMS = 1024;
/**
 * Rows per product task (its products take CALL_ROWS of them at a time, see knnGramThread.ts):
 * 4 tasks at n = 1,000, whose work two threads share evenly (1,872, 1,360, 848 and 336 row-column
 * products of 128 rows), and one copy of the columns' slice per task.
 */
const DEFAULT_CHUNK_ROWS = 256;
/** Rows per row task. */
const TASK_ROWS = 64;
/**
 * Multiply-adds from which the default uses every core: 2³² take ~0.1 s on one core (MLAS, 42 G
 * a second), against 30–100 ms for a worker to start (more through tsx): below, one thread.
 */
const PARALLEL_MIN_WORK = 2 ** 32;

/** The coefficients of E(i, j) (see the top of this file) for d dimensions in slices of at most b. */
export function gramErrorBound(d: number, b: number): { a: number; c: number; e0: number } {
  const gamma = (b * U32) / (1 - b * U32);
  const slack = 1 + 2 ** -20;
  return { a: 2 * (gamma + 2 * Math.ceil(d / b) * U64) * slack, c: (4.1 * U32 + (d + 8) * U64) * slack, e0: d * 2 ** -122 };
}

/** How a search of this size is split: Gram storage, rows per product task, tasks per stage, threads. */
interface GramPlan {
  readonly symmetric: boolean;
  readonly chunkRows: number;
  readonly tasks: readonly number[];
  readonly threads: number;
}

function gramPlan(n: number, d: number, opts: KnnOptions): GramPlan {
  const budget = opts.maxBlockBytes ?? DEFAULT_BLOCK_BYTES;
  const symmetric = 8 * n * n <= budget;
  const chunkRows = Math.max(1, Math.min(n, opts.chunkRows ?? (symmetric ? DEFAULT_CHUNK_ROWS : Math.min(DEFAULT_CHUNK_ROWS, Math.floor(budget / (8 * n))))));
  const chunks = Math.ceil(n / chunkRows);
  const rowTasks = Math.ceil(n / TASK_ROWS);
  const asked = opts.threads ?? threadsFromEnvironment();
  const work = symmetric ? (n * n * d) / 2 : n * n * d;
  const threads = Math.max(1, Math.min(chunks, asked ?? (work >= PARALLEL_MIN_WORK ? availableParallelism() : 1)));
  return { symmetric, chunkRows, tasks: [chunks, symmetric ? rowTasks : 0], threads };
}

/** The Gram block graph, built once: the threads load it from these bytes. */
let modelBytes: Uint8Array | undefined;

/**
 * The worker threads of one search, lent by the pool of warm workers (knnGramPool.ts), which
 * starts those it lacks. Lent as early as the caller can (knn lends them before it checks the
 * points, when they are evidently off any 8-bit grid), because a worker takes 30–100 ms to start
 * bundled, several times that through tsx on a loaded machine, and until it has started the main
 * thread computes alone.
 */
export class GramWorkers {
  readonly threads: number;
  readonly list: { worker: PooledWorker; stopped: boolean; seq: number }[] = [];
  /** Called whenever a worker finishes a task or stops, and on cancellation. */
  wake: (() => void) | undefined;
  report: () => void = () => undefined;

  constructor(n: number, d: number, opts: KnnOptions) {
    const wanted = gramPlan(n, d, opts).threads;
    // None lent (neither a bundle nor tsx to run the worker's source): the main thread does it all.
    const lent = wanted > 1 ? lendWorkers(wanted - 1, (modelBytes ??= buildGramBlockGraph())) : [];
    this.threads = 1 + lent.length;
    for (const worker of lent) {
      const w = { worker, stopped: false, seq: -1 };
      const stopped = () => {
        w.stopped = true;
        this.wake?.();
      };
      worker.onMessage = (msg) => {
        if (msg.seq !== w.seq) return;
        if (msg.type === 'task') {
          this.report();
          this.wake?.();
        } else stopped();
      };
      worker.onDeath = stopped;
      this.list.push(w);
    }
  }

  /** Posts the search to every lent worker, as worker 1, 2, …. */
  post(shared: GramKnnShared): void {
    this.list.forEach((w, t) => (w.seq = postJob(w.worker, 'gram', t + 1, { shared })));
  }

  /** Whether a worker may still finish tasks. */
  get anyRunning(): boolean {
    return this.list.some((w) => !w.stopped);
  }

  /** Gives the workers back to the pool; a search they still run must have been told to stop. */
  terminate(): void {
    giveBack(this.list.map((w) => w.worker));
    this.list.length = 0;
  }
}

/**
 * Exact k nearest neighbours by the blocked Gram product (see the top of this file), with the
 * workers `started` (lent) early by the caller, or lent here, and given back here whatever happens.
 * Memory beyond the points and the result: a shared copy of the points and their centred slices
 * (2·4·n·d bytes), the Gram matrix (8·n² bytes) or a [chunkRows, n] float64 block per thread,
 * and ~20 MiB per thread.
 */
export async function knnGram(
  points: Float32Array,
  n: number,
  d: number,
  k: number,
  blockDims: number,
  opts: KnnOptions,
  scan: PointScan,
  started?: GramWorkers,
): Promise<KnnResult> {
  const workers = started ?? new GramWorkers(n, d, opts);
  const { symmetric, chunkRows, tasks } = gramPlan(n, d, opts);
  const threads = workers.threads;
  const onAbort = () => workers.wake?.();
  opts.signal?.addEventListener('abort', onAbort);
  let control: Int32Array | undefined;
  try {
    checkSignal(opts.signal);
    modelBytes ??= buildGramBlockGraph();
    const { centre, kept } = scan;
    const dims = kept.length;
    const b = Math.min(blockDims, dims);
    const bound = gramErrorBound(dims, b);
    const shared: GramKnnShared = {
      n,
      d,
      k,
      dims,
      sliceDims: b,
      symmetric,
      chunkRows,
      taskRows: TASK_ROWS,
      refineAll: refinesAll(opts.refine, n, k, d),
      boundA: bound.a,
      boundC: bound.c,
      boundE0: bound.e0,
      tasks,
      model: modelBytes,
      points: new Float32Array(new SharedArrayBuffer(symmetric ? 0 : 4 * n * d)),
      deferred: new Int32Array(new SharedArrayBuffer(4 * n)),
      data: new Float32Array(new SharedArrayBuffer(4 * n * dims)),
      norms: new Float64Array(new SharedArrayBuffer(8 * n)),
      roots: new Float64Array(new SharedArrayBuffer(8 * n)),
      gram: new Float64Array(new SharedArrayBuffer(symmetric ? 8 * n * n : 0)),
      distances: new Float32Array(new SharedArrayBuffer(4 * n * k)),
      indices: new Int32Array(new SharedArrayBuffer(4 * n * k)),
      control: new Int32Array(new SharedArrayBuffer(4 * CONTROL_WORDS)),
      taskState: new Int32Array(new SharedArrayBuffer(4 * (tasks[0] + tasks[1]))),
      threadTasks: new Int32Array(new SharedArrayBuffer(4 * threads)),
      threadRefined: new Int32Array(new SharedArrayBuffer(4 * threads)),
    };
    control = shared.control;
    const ctl = control;
    // Before the workers can finish rows themselves (without the whole Gram matrix).
    if (!symmetric) shared.points.set(points);

    // Progress in rows: the products are most of the work.
    const weights = symmetric ? [0.85, 0.15] : [1, 0];
    let reported = 0;
    workers.report = () => {
      let fraction = 0;
      for (let s = 0; s < STAGE_COUNT; s++) if (tasks[s] > 0) fraction += (weights[s] * Math.min(tasks[s], Atomics.load(ctl, DONE + s))) / tasks[s];
      const done = Math.min(n, Math.floor(fraction * n + 1e-9));
      if (done > reported) {
        reported = done;
        opts.onProgress?.(done, n);
      }
    };
    // The products open before the layout: a worker that has started takes a task and multiplies
    // each slice as soon as this thread has laid it out.
    Atomics.store(ctl, STAGE, STAGE_PRODUCTS);
    workers.post(shared);
    layoutPoints(points, n, d, centre, kept, b, shared.data, shared.norms, shared.roots, (s) => {
      Atomics.store(ctl, LAID_OUT, s + 1);
      Atomics.notify(ctl, LAID_OUT);
    });
    checkSignal(opts.signal);
    let main: GramKnnThread | undefined;
    const mainThread = async (): Promise<GramKnnThread> => {
      try {
        main ??= await GramKnnThread.create(shared, 0, points);
      } catch (err) {
        throw new CnnSlicerError('model-error', `cannot load the k-NN Gram graph: ${messageOf(err)}`);
      }
      return main;
    };
    const callerComputes = opts.callerComputes !== false || workers.list.length === 0;
    // Rows a worker left here (they need a distance recomputed from the points), finished between
    // this thread's own row tasks rather than all after them, while the workers would wait. A slot
    // holds row + 1 once written; one still 0 at the end was claimed by a worker that then died,
    // whose task this thread redoes whole.
    let deferredDone = 0;
    const finishDeferred = async () => {
      while (deferredDone < Atomics.load(ctl, DEFERRED)) {
        const row = Atomics.load(shared.deferred, deferredDone);
        if (row === 0) break;
        (await mainThread()).finishDeferredRow(row - 1);
        deferredDone++;
      }
    };
    const after = async () => {
      await finishDeferred();
      workers.report();
      if (opts.signal?.aborted) stopAll(ctl, LAID_OUT);
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
      workersRunning: () => workers.anyRunning,
      workerProgress: async () => {
        await new Promise<void>((resolve) => (workers.wake = resolve));
        workers.wake = undefined;
      },
    });
    // The rows workers left here last, every worker being done with its tasks.
    for (const end = Atomics.load(ctl, DEFERRED); deferredDone < end; deferredDone++) {
      const row = Atomics.load(shared.deferred, deferredDone);
      if (row !== 0) (await mainThread()).finishDeferredRow(row - 1);
      if (deferredDone % TASK_ROWS === TASK_ROWS - 1) {
        workers.report();
        await yieldToEventLoop();
        checkSignal(opts.signal);
      }
    }
    checkSignal(opts.signal);
    workers.report();
    const workerThreads = shared.threadTasks.reduce((a, c, id) => a + (id > 0 && c > 0 ? 1 : 0), 0);
    const refined = shared.threadRefined.reduce((a, c) => a + c, 0);
    return { n, k, distances: shared.distances, indices: shared.indices, refined, method: 'float32', workerThreads };
  } finally {
    if (control !== undefined) stopAll(control, LAID_OUT);
    opts.signal?.removeEventListener('abort', onAbort);
    workers.terminate();
  }
}

// One thread's share of the blocked Gram k-NN (knnGram.ts, whose top comment gives the method and
// its precision): the main thread's and each worker's (knnWorker.ts). Each thread claims the
// tasks of the current stage from counters in shared memory and runs them with its own
// one-thread onnxruntime session, so a thread that the OS puts aside only delays its own task.
//
// Stages: 1. products (chunks of rows: their Gram values against the columns from their first row
// on, summed over the slices, each as soon as the main thread has laid it out (knnGramLayout.ts);
// without the whole Gram matrix, against all columns, and the rows finished at once); 2. rows
// (finished from the whole Gram matrix; no tasks without it).
import type { InferenceSession } from 'onnxruntime-node';
import { CnnSlicerError } from '../../shared/errors';
import { loadOrt, makeTensor, trackSession } from '../onnx/ortRuntime';
import { RADIX_HISTOGRAM, gatherRows, scoreRow, sortRow } from './knnGramRows';
import { exactSquaredDistance, messageOf } from './knnShared';
import { ABORTED, claimStageTasks, taskSlot, waitForStage } from './stageProtocol';

// Control words of GramKnnShared.control.
export { ABORTED, STAGE } from './stageProtocol';
/** How many slots of GramKnnShared.deferred workers have claimed (each then holds row + 1). */
export const DEFERRED = 2;
/** NEXT + s − 1: the next task of stage s to claim; DONE + s − 1: how many of them are done. */
const NEXT = 3;
export const DONE = 5;
/** How many slices the main thread has laid out: products wait for theirs (see knnGram.ts). */
export const LAID_OUT = 7;
export const CONTROL_WORDS = 8;
export const STAGE_PRODUCTS = 1;
export const STAGE_ROWS = 2;
export const STAGE_COUNT = 2;
/** Columns per copied operand: bounds each thread's copy (16 MiB at 1,024 dimensions). */
const COLUMN_PIECE = 4096;
/**
 * Rows per product call. The many columns go on the left (A, which MLAS reads in place) and the
 * few rows on the right (B, which it packs for every call): 43 GMAC/s on one thread here for
 * [1,000, 1,024] × [64, 1,024]ᵀ against 36 the other way round.
 */
const CALL_ROWS = 64;

/** Everything the threads of one blocked Gram k-NN share: numbers, and typed arrays over SharedArrayBuffers. */
export interface GramKnnShared {
  readonly n: number;
  /** Dimensions of the points. */
  readonly d: number;
  readonly k: number;
  /** The dimensions multiplied: those that vary between points (knnGramLayout.ts). */
  readonly dims: number;
  /** Dimensions per float32 product (b). */
  readonly sliceDims: number;
  /** Whether `gram` holds the whole n × n Gram matrix (only its upper triangle is computed). */
  readonly symmetric: boolean;
  /** Rows per product task. */
  readonly chunkRows: number;
  /** Rows per row task. */
  readonly taskRows: number;
  readonly refineAll: boolean;
  /** E(i, j) = boundA·|ci|·|cj| + boundC·(|ci|² + |cj|²) + boundE0 (knnGram.ts). */
  readonly boundA: number;
  readonly boundC: number;
  readonly boundE0: number;
  /** tasks[s − 1]: the number of tasks of stage s. */
  readonly tasks: readonly number[];
  /** The Gram block graph (graphs.ts, buildGramBlockGraph), so that no thread but the main one needs the graph builder. */
  readonly model: Uint8Array;
  /**
   * For the exact recomputations, which need the caller's points: without the whole Gram
   * matrix, a shared copy of them (n × d), since a worker finishes its rows in its product
   * tasks. With it, empty: a worker leaves a row that needs one to the main thread, which has
   * the points, and copying them (~70 ms of page faults and copying for 131 MB) would cost more
   * than those few rows.
   */
  readonly points: Float32Array;
  /** The rows workers left to the main thread: DEFERRED slots claimed, each holding row + 1 once written. */
  readonly deferred: Int32Array;
  /** Slice s (kept dimensions [s·b, s·b + w)) of all n centred points, n × w row-major, at offset n·s·b. */
  readonly data: Float32Array;
  /** |ci|² in float64 (each square of a float32 is exact), and |ci|. */
  readonly norms: Float64Array;
  readonly roots: Float64Array;
  /** Symmetric: G(i, j), i ≤ j, at i·n + j, summed over the slices in slice order. */
  readonly gram: Float64Array;
  readonly distances: Float32Array;
  readonly indices: Int32Array;
  readonly control: Int32Array;
  /** Per task of all stages in turn: 0, 1 once claimed, 2 once done. */
  readonly taskState: Int32Array;
  /** Per thread (the main one is 0): tasks done, and distances recomputed in float64. */
  readonly threadTasks: Int32Array;
  readonly threadRefined: Int32Array;
}

let gramSession: Promise<InferenceSession> | undefined;

/**
 * The Gram block graph on the CPU with one intra-op thread, loaded once per thread from `model`:
 * each thread (the main one and the workers) claims its own tasks. On two cores shared with
 * other work that was twice as fast as one session on onnxruntime's two-thread pool (1.0–1.1 s
 * against 1.8–2.4 s for the same products at load average 4.5), whose every call waits for both
 * halves of its split. Not on CUDA even when it is in use: the error bound assumes IEEE float32
 * products and sums, and cuBLAS can run a float32 Gemm in TF32 (10-bit mantissas) where the CUDA
 * provider allows it (its use_tf32 option).
 */
export function gramBlockSession(model: Uint8Array): Promise<InferenceSession> {
  if (gramSession === undefined) {
    const s = trackSession(
      loadOrt().InferenceSession.create(model, {
        executionProviders: ['cpu'],
        intraOpNumThreads: 1,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
      }),
    );
    gramSession = s;
    s.catch(() => {
      if (gramSession === s) gramSession = undefined;
    });
  }
  return gramSession;
}

/** For worker threads: blocks until the main thread opens `stage`; undefined once aborted or past the last stage. */
export function gramStageOpen(shared: GramKnnShared, stage: number): number | undefined {
  return waitForStage(shared.control, stage, STAGE_COUNT);
}

/**
 * G[g0 + r·stride + c] += Y[c·rows + r]: one slice's float32 block, [cols, rows], into the float64
 * sums. Eight columns at a time, so that each pass over the rows reads eight of Y's and writes
 * eight adjacent G: twice as fast in V8 as one column or one row at a time (57 µs against 120 for
 * 64 × 1,000). The odd columns first: a loop after the hot one would meet V8's optimised code
 * (compiled while the hot loop ran) without type feedback, and deoptimise it.
 */
function accumulate(gram: Float64Array, y: Float32Array, rows: number, cols: number, g0: number, stride: number): void {
  const odd = cols % 8;
  for (let c = 0; c < odd; c++) {
    const o = c * rows;
    for (let r = 0; r < rows; r++) gram[g0 + r * stride + c] += y[o + r];
  }
  for (let c = odd; c < cols; c += 8) {
    for (let r = 0; r < rows; r++) {
      const g = g0 + r * stride + c;
      const o = c * rows + r;
      gram[g] += y[o];
      gram[g + 1] += y[o + rows];
      gram[g + 2] += y[o + 2 * rows];
      gram[g + 3] += y[o + 3 * rows];
      gram[g + 4] += y[o + 4 * rows];
      gram[g + 5] += y[o + 5 * rows];
      gram[g + 6] += y[o + 6 * rows];
      gram[g + 7] += y[o + 7 * rows];
    }
  }
}

export class GramKnnThread {
  private readonly a: Float32Array;
  private readonly b: Float32Array;
  private readonly y: Float32Array;
  /**
   * Without the whole Gram matrix: this thread's rows of it, chunkRows × n. With it: the full
   * rows of a row task, taskRows × n (see rowTask).
   */
  private readonly g: Float64Array;
  private readonly d2: Float64Array;
  private readonly err: Float64Array;
  private readonly flagged: Int32Array;
  private readonly dist: Float32Array;
  private readonly keys: Uint32Array;
  private readonly vals: Int32Array;
  private readonly tmpKeys: Uint32Array;
  private readonly tmpVals: Int32Array;
  private readonly hist = new Int32Array(RADIX_HISTOGRAM);

  private constructor(
    private readonly s: GramKnnShared,
    private readonly session: InferenceSession,
    private readonly id: number,
    /** The points for exact recomputations; undefined on a worker that leaves such rows to the main thread. */
    private readonly points: Float32Array | undefined,
  ) {
    const { n, sliceDims, chunkRows, symmetric } = s;
    const piece = Math.min(n, COLUMN_PIECE);
    const callRows = Math.min(chunkRows, CALL_ROWS);
    this.a = new Float32Array(callRows * sliceDims);
    this.b = new Float32Array(piece * sliceDims);
    this.y = new Float32Array(callRows * piece);
    this.g = new Float64Array((symmetric ? Math.min(n, s.taskRows) : chunkRows) * n);
    this.d2 = new Float64Array(n);
    this.err = new Float64Array(n);
    this.flagged = new Int32Array(n);
    this.dist = new Float32Array(n);
    this.keys = new Uint32Array(this.dist.buffer);
    this.vals = new Int32Array(n);
    this.tmpKeys = new Uint32Array(n);
    this.tmpVals = new Int32Array(n);
  }

  /**
   * `id`: 0 for the main thread, w for worker w (see GramKnnShared.threadTasks); `points`: the
   * caller's, on the main thread.
   */
  static async create(shared: GramKnnShared, id: number, points?: Float32Array): Promise<GramKnnThread> {
    return new GramKnnThread(shared, await gramBlockSession(shared.model), id, points ?? (shared.points.length > 0 ? shared.points : undefined));
  }

  /**
   * Claims and runs tasks of `stage` until none is left or the search is aborted, calling `after`
   * between tasks (progress, cancellation, letting the event loop run).
   */
  async work(stage: number, after?: () => Promise<void> | void): Promise<void> {
    return claimStageTasks(this.s.control, NEXT, stage, this.s.tasks[stage - 1], (t) => this.task(stage, t), after);
  }

  /** Runs task t of `stage`, and counts it done unless another thread did it first. */
  async task(stage: number, t: number): Promise<void> {
    const { control, taskState, tasks, threadTasks, n, taskRows, chunkRows } = this.s;
    const slot = taskSlot(tasks, stage, t);
    Atomics.compareExchange(taskState, slot, 0, 1);
    if (stage === STAGE_PRODUCTS) await this.productTask(t * chunkRows, Math.min(n, (t + 1) * chunkRows));
    else this.rowTask(t * taskRows, Math.min(n, (t + 1) * taskRows));
    Atomics.add(threadTasks, this.id, 1);
    if (Atomics.exchange(taskState, slot, 2) !== 2) Atomics.add(control, DONE + stage - 1, 1);
  }

  /**
   * Stage 1: the Gram values of rows [r0, r1) against columns c0 = r0 (symmetric) or 0 on, summed
   * over the slices in order. Per slice and piece of columns the columns' values are copied out of
   * shared memory once (onnxruntime-node refuses shared buffers), and the task's rows, CALL_ROWS at
   * a time, are multiplied with the part of them from each call's first row on: rows in this
   * task's range lie inside that copy, so the task pays for one copy however finely its products
   * follow the triangle.
   */
  private async productTask(r0: number, r1: number): Promise<void> {
    const { n, dims: d, sliceDims: b, symmetric, data, gram } = this.s;
    const c0 = symmetric ? r0 : 0;
    const target = symmetric ? gram : this.g;
    // From zero, so that the main thread can redo the task of a worker that died halfway.
    if (symmetric) for (let i = r0; i < r1; i++) gram.fill(0, i * n + c0, (i + 1) * n);
    else this.g.fill(0, 0, (r1 - r0) * n);
    for (let p0 = c0; p0 < n; p0 += COLUMN_PIECE) {
      const p1 = Math.min(n, p0 + COLUMN_PIECE);
      for (let t0 = 0; t0 < d; t0 += b) {
        const w = Math.min(b, d - t0);
        const slice = n * t0;
        // A worker that starts while the main thread lays the points out waits for this slice.
        for (let laid = Atomics.load(this.s.control, LAID_OUT); laid <= t0 / b; laid = Atomics.load(this.s.control, LAID_OUT)) {
          if (Atomics.load(this.s.control, ABORTED) !== 0) return;
          Atomics.wait(this.s.control, LAID_OUT, laid, 100);
        }
        const columns = this.b.subarray(0, (p1 - p0) * w);
        columns.set(data.subarray(slice + p0 * w, slice + p1 * w));
        for (let q0 = r0; q0 < r1; q0 += CALL_ROWS) {
          const m = Math.min(CALL_ROWS, r1 - q0);
          // Symmetric: only the columns from the call's first row on.
          const from = symmetric ? Math.max(p0, q0) : p0;
          if (from >= p1) continue;
          let rows: Float32Array;
          if (q0 >= p0 && q0 + m <= p1) rows = columns.subarray((q0 - p0) * w, (q0 - p0 + m) * w);
          else {
            rows = this.a.subarray(0, m * w);
            rows.set(data.subarray(slice + q0 * w, slice + (q0 + m) * w));
          }
          const cols = p1 - from;
          const y = this.y.subarray(0, cols * m);
          try {
            // A preallocated output: onnxruntime writes the block straight into this thread's buffer.
            await this.session.run(
              { A: makeTensor(columns.subarray((from - p0) * w), [cols, w]), B: makeTensor(rows, [m, w]) },
              { Y: makeTensor(y, [cols, m]) },
            );
          } catch (err) {
            throw new CnnSlicerError(
              'internal',
              `k-NN Gram product of rows ${q0}…${q0 + m - 1}, dimensions ${t0}…${t0 + w - 1} failed in onnxruntime: ${messageOf(err)}`,
            );
          }
          accumulate(target, y, m, cols, (symmetric ? q0 : q0 - r0) * n + from, n);
        }
      }
    }
    if (!symmetric) for (let i = r0; i < r1; i++) this.finishRow(i, (i - r0) * n, this.g);
  }

  /** Stage 2: rows [r0, r1) finished from the whole Gram matrix, gathered whole first (gatherRows). */
  private rowTask(r0: number, r1: number): void {
    const n = this.s.n;
    gatherRows(this.s.gram, this.g, n, r0, r1);
    for (let i = r0; i < r1; i++) this.finishRow(i, (i - r0) * n, this.g);
  }

  /** A row a worker left to this (main) thread, which has the points: finished from the whole Gram matrix. */
  finishDeferredRow(i: number): void {
    gatherRows(this.s.gram, this.g, this.s.n, i, i + 1);
    this.finishRow(i, 0, this.g);
  }

  /**
   * Row i's k neighbours from its Gram values: the pairs its bound cannot vouch for recomputed
   * from the points (on a worker without them, the row is left to the main thread), sorted, the
   * first k written. With refine 'all', also every returned distance and every candidate beyond
   * the k-th whose bound lets it be nearer than a returned one (its D̃² − E at most the largest
   * D̃² + E among the first k), then sorted again.
   */
  private finishRow(i: number, rowOffset: number, gram: Float64Array): void {
    const { n, d, k, norms, roots, boundA, boundC, boundE0, refineAll, distances, indices, threadRefined, control, deferred } = this.s;
    const { d2, err, flagged, dist, keys, vals, tmpKeys, tmpVals, hist, points } = this;
    const f = scoreRow(i, n, gram, rowOffset, norms, roots, boundA, boundC, boundE0, d2, err, flagged);
    let refined = 0;
    if (points === undefined) {
      if (f > 0 || refineAll) {
        Atomics.store(deferred, Atomics.add(control, DEFERRED, 1), i + 1);
        return;
      }
      sortRow(i, n, d2, dist, keys, vals, tmpKeys, tmpVals, hist);
    } else {
      for (let t = 0; t < f; t++) {
        const j = flagged[t];
        d2[j] = exactSquaredDistance(points, d, i, j);
        err[j] = 0;
      }
      refined = f;
      sortRow(i, n, d2, dist, keys, vals, tmpKeys, tmpVals, hist);
      if (refineAll) {
        let reach = 0;
        for (let p = 0; p < k; p++) reach = Math.max(reach, d2[vals[p]] + err[vals[p]]);
        for (let p = 0; p < n - 1; p++) {
          const j = vals[p];
          if (err[j] > 0 && (p < k || d2[j] - err[j] <= reach)) {
            d2[j] = exactSquaredDistance(points, d, i, j);
            err[j] = 0;
            refined++;
          }
        }
        if (refined > f) sortRow(i, n, d2, dist, keys, vals, tmpKeys, tmpVals, hist);
      }
    }
    Atomics.add(threadRefined, this.id, refined);
    distances.set(dist.subarray(0, k), i * k);
    indices.set(vals.subarray(0, k), i * k);
  }
}

// Exact k nearest neighbours (Euclidean) of every point among all the others: the first stage of
// the inter-sample entropy (paper §4.4.1), where N can be 20,000 points of 784 dimensions and
// k = 1000. A brute-force O(N²·d) product is the right tool at that size: in hundreds of
// dimensions no spatial index prunes anything, and a GEMM runs close to the CPU's peak, or on the
// GPU when CUDA is present. Two paths, chosen per call:
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
//
// FLOAT PATHS, for everything else. Points of at most `blockDims` dimensions (1,024 by default):
// onnxruntime's float32 Gemm and TopK, on CUDA when it is in use (knnFloat.ts). More dimensions
// (hidden layers' activations: 32,768 for 128 channels of 16×16): a Gram product in float32
// blocks of `blockDims` dimensions summed in float64, whose error bound does not grow with d, on
// its upper triangle, with the selection in JavaScript, always on the CPU (knnGram.ts). Both
// recompute in float64 every distance their worst-case bound cannot vouch for to 2⁻¹⁰ relative
// (see their top comments).
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { closeWorkers } from './workerClose';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { CnnSlicerError } from '../../shared/errors';
import { executionProviderInUse, loadOrt, makeTensor } from '../onnx/ortRuntime';
import { type IntegerGemmVariant, knnBlockSession, knnIntegerBlockSession } from './graphs';
import { knnFloat } from './knnFloat';
import { DEFAULT_GRAM_BLOCK_DIMS, GramWorkers, knnGram } from './knnGram';
import { scanPoints } from './knnGramLayout';
import {
  INDEX_MASK,
  type KnnOptions,
  type KnnResult,
  PARALLEL_MIN_WORK,
  checkSignal,
  messageOf,
  threadsFromEnvironment,
  workerEntry,
  yieldToEventLoop,
} from './knnShared';

export type { KnnOptions, KnnRefine, KnnResult } from './knnShared';
export { threadsFromEnvironment, workerEntry } from './knnShared';

/** Checks the sizes of the request. */
function validateShape(points: Float32Array, n: number, d: number, k: number): void {
  for (const [name, v] of [['n', n], ['d', d], ['k', k]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new CnnSlicerError('bad-request', `k-NN: ${name} must be a positive integer, not ${v}`);
  }
  if (n < 2) throw new CnnSlicerError('bad-request', 'k-NN needs at least 2 points');
  if (n > INDEX_MASK) throw new CnnSlicerError('bad-request', `k-NN: ${n} points is more than the ${INDEX_MASK} supported`);
  if (k > n - 1) throw new CnnSlicerError('bad-request', `k-NN: k = ${k} but there are only ${n - 1} other points`);
  if (points.length !== n * d) throw new CnnSlicerError('bad-request', `k-NN: ${points.length} values do not make ${n} points of ${d} dimensions`);
}

/** Checks that every value is finite; returns their range, which exactGrid needs, from the same pass. */
function valueRange(points: Float32Array, d: number): { min: number; max: number } {
  // No branch per value: v − v is 0 for a finite v and NaN for NaN and ±Infinity, so one sum
  // tells whether any value is not finite, and two accumulators of each kind let the loop run
  // ~2.3× faster in V8 than one test per value (130 against 300 ms over 32.8 M values).
  let min0 = Infinity;
  let max0 = -Infinity;
  let min1 = Infinity;
  let max1 = -Infinity;
  let finite = 0;
  const len = points.length;
  let i = 0;
  for (; i + 1 < len; i += 2) {
    const v = points[i];
    const w = points[i + 1];
    min0 = Math.min(min0, v);
    max0 = Math.max(max0, v);
    min1 = Math.min(min1, w);
    max1 = Math.max(max1, w);
    finite += v - v + (w - w);
  }
  if (i < len) {
    const v = points[i];
    min0 = Math.min(min0, v);
    max0 = Math.max(max0, v);
    finite += v - v;
  }
  if (finite !== 0) throwNonFinite(points, d);
  return { min: Math.min(min0, min1), max: Math.max(max0, max1) };
}

function throwNonFinite(points: Float32Array, d: number): never {
  const bad = points.findIndex((v) => !Number.isFinite(v));
  throw new CnnSlicerError('bad-request', `k-NN: point ${Math.floor(bad / d)} has a non-finite value (${points[bad]}) in dimension ${bad % d}`);
}

/**
 * Exact k nearest neighbours of each of the n points (rows of `points`, n × d, row-major) among
 * the others, by Euclidean distance. Memory beyond the points and the result: on the float paths a
 * centred copy and one [rows, n] block (on the blocked Gram path, float64 and, when it fits the
 * block budget, n × n); on the integer path 8-bit copies (2·n·d bytes), per-row
 * candidate lists (16·(k + 1) bytes a row, at most 1 GiB) and ~20 MB per thread.
 */
export async function knn(points: Float32Array, n: number, d: number, k: number, opts: KnnOptions = {}): Promise<KnnResult> {
  const blockDims = opts.blockDims ?? DEFAULT_GRAM_BLOCK_DIMS;
  // The Gram path's workers start before the O(n·d) checks below, which their start-up then
  // overlaps; should the points turn out to be on an 8-bit grid they are stopped unused.
  const early = d > blockDims && validSizes(n, d, k) && validOptions(opts) === undefined ? new GramWorkers(n, d, opts) : undefined;
  let handedOver = false;
  try {
    validateShape(points, n, d, k);
    // The Gram path's scan makes the same checks, from the column statistics it needs anyway.
    const scan = d > blockDims ? await scanPoints(points, n, d) : undefined;
    if (scan !== undefined && !scan.finite) throwNonFinite(points, d);
    const range = scan ?? valueRange(points, d);
    checkSignal(opts.signal);
    const bad = validOptions(opts);
    if (bad !== undefined) throw new CnnSlicerError('bad-request', bad);
    const grid = opts.integer !== false && executionProviderInUse() !== 'cuda' && integerPathFits(n, d) ? exactGrid(points, n, d, range) : undefined;
    // Loading the float graph settles whether CUDA is in use, which the integer path is not; the
    // Gram path (always on the CPU) needs neither, nor the ~20 ms the first load takes.
    // (scan is undefined exactly when d ≤ blockDims.)
    if (grid !== undefined || scan === undefined) {
      const floatSession = await knnBlockSession();
      if (grid !== undefined && executionProviderInUse() !== 'cuda') {
        const variant = opts.integerVariant ?? (await exactIntegerVariant());
        if (variant !== undefined) return await knnInteger(grid, n, d, k, variant, opts);
      }
      if (scan === undefined) return await knnFloat(floatSession, points, n, d, k, opts);
    }
    handedOver = true;
    return await knnGram(points, n, d, k, blockDims, opts, scan, early);
  } finally {
    if (!handedOver) early?.terminate();
  }
}

/** Whether n, d and k are positive integers (validate says what is wrong with them otherwise). */
function validSizes(n: number, d: number, k: number): boolean {
  return [n, d, k].every((v) => Number.isInteger(v) && v >= 1);
}

/** What is wrong with the options, if anything. */
function validOptions(opts: KnnOptions): string | undefined {
  if (opts.chunkRows !== undefined && !(Number.isInteger(opts.chunkRows) && opts.chunkRows >= 1)) {
    return `k-NN: chunkRows must be a positive integer, not ${opts.chunkRows}`;
  }
  if (opts.threads !== undefined && !(Number.isInteger(opts.threads) && opts.threads >= 1)) {
    return `k-NN: threads must be a positive integer, not ${opts.threads}`;
  }
  if (opts.blockDims !== undefined && !(Number.isInteger(opts.blockDims) && opts.blockDims >= 1)) {
    return `k-NN: blockDims must be a positive integer, not ${opts.blockDims}`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// The integer (exact-grid) path

/**
 * Whether the sums fit: a dot product of levels, up to d·255², must fit MatMulInteger's int32
 * accumulator (33,025 dimensions), and the sort keys score·2^keyBits(n) + column, with
 * |score| = ||x|² − 2·Y| < 3·d·255², must be exact in float64.
 */
function integerPathFits(n: number, d: number): boolean {
  return d * 255 * 255 <= 2 ** 31 - 1 && (3 * d * 255 * 255 + 1) * 2 ** keyBits(n) < 2 ** 53;
}

/** The points as levels 0…255 of a grid offset + level·scale. */
export interface ExactGrid {
  /** n × d levels, in shared memory for the worker threads. */
  readonly levels: Uint8Array;
  readonly scale: number;
}

/**
 * Whether every value is offset + p·scale for an integer p in 0…255, up to the rounding that
 * storing it in float32 (or computing it in a few float32 operations) leaves: 2⁻²⁰ of the largest
 * magnitude. The offset is the minimum; the scales tried are (max − min)/255, which fits any set
 * that uses both end levels (images scaled from 8-bit pixels, normalised or not), then 1/255 and 1
 * (pixels /255 or raw, whose range falls short of an end level). A grid must be resolved: the
 * admitted rounding under 1/16 of a step, so each value names one level.
 */
export function exactGrid(points: Float32Array, n: number, d: number, range?: { min: number; max: number }): ExactGrid | undefined {
  let { min, max } = range ?? { min: Infinity, max: -Infinity };
  if (range === undefined) {
    for (let t = 0; t < points.length; t++) {
      const v = points[t];
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  if (!(max > min)) return undefined;
  const tolerance = 2 ** -20 * Math.max(Math.abs(min), Math.abs(max));
  let levels: Uint8Array | undefined;
  for (const scale of [(max - min) / 255, 1 / 255, 1]) {
    if ((max - min) / scale > 255 * (1 + 2 ** -40) || tolerance > scale / 16) continue;
    levels ??= new Uint8Array(new SharedArrayBuffer(n * d));
    const grid = Float64Array.from({ length: 256 }, (_, p) => min + p * scale);
    if (quantise(points, min, 1 / scale, grid, tolerance, levels) === points.length) return { levels, scale };
  }
  return undefined;
}

/**
 * Writes each value's level on `grid` into `levels` until a value is more than `tolerance` off
 * every level; returns how many were written.
 */
function quantise(points: Float32Array, min: number, inverse: number, grid: Float64Array, tolerance: number, levels: Uint8Array): number {
  let t = 0;
  for (; t < points.length; t++) {
    const v = points[t];
    // Rounds to nearest: v − min ≥ 0, and (v − min)·inverse ≤ 255 by the caller's range check.
    const p = ((v - min) * inverse + 0.5) | 0;
    if (p > 255 || Math.abs(v - grid[p]) > tolerance) break;
    levels[t] = p;
  }
  return t;
}

/**
 * The int8 (or uint8) right-hand operand [d, n] of the integer product: the levels transposed,
 * less 128 for 'u8s8' (see buildKnnIntegerBlockGraph). Tiled, so that neither side of the
 * transposition strides through memory a byte at a time for long.
 */
function transposedOperand(levels: Uint8Array, n: number, d: number, variant: IntegerGemmVariant): Uint8Array {
  const out = new Uint8Array(new SharedArrayBuffer(n * d));
  const shift = variant === 'u8s8' ? 128 : 0;
  const tile = 64;
  for (let j0 = 0; j0 < n; j0 += tile) {
    const j1 = Math.min(n, j0 + tile);
    for (let t0 = 0; t0 < d; t0 += tile) {
      const t1 = Math.min(d, t0 + tile);
      for (let j = j0; j < j1; j++) {
        for (let t = t0; t < t1; t++) out[t * n + j] = (levels[j * d + t] - shift) & 255;
      }
    }
  }
  return out;
}

/** An onnxruntime tensor of the integer graph's operands; typed arrays must not be shared (onnxruntime-node refuses them). */
function integerTensor(type: 'uint8' | 'int8' | 'int32', data: Uint8Array | Int8Array | Int32Array, dims: number[]): Tensor {
  return new (loadOrt().Tensor)(type, data, dims);
}

/** A private copy of the right-hand operand as the tensor type its variant takes. */
function operandTensor(xT: Uint8Array, variant: IntegerGemmVariant, d: number, n: number): Tensor {
  const local = new Uint8Array(xT.length);
  local.set(xT);
  return variant === 'u8s8' ? integerTensor('int8', new Int8Array(local.buffer), [d, n]) : integerTensor('uint8', local, [d, n]);
}

/**
 * Runs a product whose exact result is known, with the values that make a kernel saturate
 * (255 × 127 and 255 × −128 in adjacent terms, ragged sizes): MLAS without VNNI multiplies u8 × s8
 * with vpmaddubsw, whose int16 pair sums clip.
 */
async function integerGemmIsExact(variant: IntegerGemmVariant): Promise<boolean> {
  const session = await knnIntegerBlockSession(variant);
  const m = 9;
  const n = 37;
  const d = 131;
  const q = new Uint8Array(m * d);
  const x = new Uint8Array(n * d);
  let seed = 12345;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
  for (let t = 0; t < d; t++) {
    q[t] = 255;
    q[d + t] = t % 2 === 0 ? 255 : 0;
    for (let r = 2; r < m; r++) q[r * d + t] = next();
    x[t] = 255;
    x[d + t] = 0;
    x[2 * d + t] = t % 3 === 0 ? 0 : 255;
    for (let j = 3; j < n; j++) x[j * d + t] = next();
  }
  const xT = transposedOperand(x, n, d, variant);
  const shift = variant === 'u8s8' ? 128 : 0;
  let y: Int32Array;
  try {
    const out = await session.run({ Q: integerTensor('uint8', q, [m, d]), XT: operandTensor(xT, variant, d, n) });
    y = out.Y.data as Int32Array;
  } catch {
    return false;
  }
  for (let r = 0; r < m; r++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < d; t++) s += q[r * d + t] * (x[j * d + t] - shift);
      if (y[r * n + j] !== s) return false;
    }
  }
  return true;
}

let variantChoice: Promise<IntegerGemmVariant | undefined> | undefined;

/** The fastest integer product variant that is exact on this CPU, if any; decided once per thread. */
function exactIntegerVariant(): Promise<IntegerGemmVariant | undefined> {
  variantChoice ??= (async () => {
    for (const variant of ['u8s8', 'u8u8'] as const) {
      try {
        if (await integerGemmIsExact(variant)) return variant;
      } catch {
        // This variant cannot even be loaded: try the next.
      }
    }
    return undefined;
  })();
  return variantChoice;
}

// Control words of IntegerKnnShared.control.
const STAGE = 0;
const ABORTED = 1;
/** NEXT + s − 1: the next task of stage s to claim; DONE + s − 1: how many of them are done. */
const NEXT = 2;
const DONE = 5;
const CONTROL_WORDS = 8;
/** The stages, in order: per-row thresholds from a sample, block pairs, finished rows. */
const STAGE_THRESHOLDS = 1;
const STAGE_PAIRS = 2;
const STAGE_ROWS = 3;
const STAGE_COUNT = 3;

/** Every how many points the threshold stage samples as columns. */
const SAMPLE_STRIDE = 16;
/** Each row's threshold is its sample's quantile at this multiple of K/n (plus a few ranks). */
const SAMPLE_MARGIN = 1.4;
/** Bins of the histogram that locates that quantile. */
const SAMPLE_BINS = 512;
/** Rows of a block, and of the tasks of the first and last stages. */
const DEFAULT_BLOCK_ROWS = 1024;
/** Bound on the candidate lists of all rows (2·K keys each by default: 320 MB at N = 20,000, k = 1000). */
const LIST_BUDGET_BYTES = 2 ** 30;

/**
 * Sort keys of the integer path: score·2^b + column, b = keyBits(n), so that ordering keys orders
 * by (score, column) and both come back exactly (multiplying by a power of two is exact).
 */
function keyBits(n: number): number {
  return Math.max(1, Math.ceil(Math.log2(n)));
}

/** Everything the threads of one integer k-NN share: numbers, and typed arrays over SharedArrayBuffers. */
export interface IntegerKnnShared {
  readonly n: number;
  /** Dimensions left once those constant over all points (no part of any distance) are dropped. */
  readonly d: number;
  readonly k: number;
  readonly scale: number;
  readonly variant: IntegerGemmVariant;
  /** 2^keyBits(n). */
  readonly unit: number;
  readonly blockRows: number;
  /** tasks[s − 1]: the number of tasks of stage s. */
  readonly tasks: readonly number[];
  /** Block pair p is (pairI[p], pairJ[p]), pairI ≤ pairJ, in blocks of blockRows rows. */
  readonly pairI: Int32Array;
  readonly pairJ: Int32Array;
  /** n × d levels. */
  readonly levels: Uint8Array;
  /** The right-hand operand [d, n], see transposedOperand. */
  readonly xT: Uint8Array;
  /** The sampled columns of xT, [d, samples]: those of points 0, SAMPLE_STRIDE, 2·SAMPLE_STRIDE… */
  readonly sampleT: Uint8Array;
  readonly samples: number;
  /**
   * The score of column j in row i is D²(i, j) − rowOffset[i]; from Y, the product of the levels
   * with xT, it is xx[j] − 2·Y[i, j], and seen from row j the same Y[i, j] gives
   * rowOffset[i] − 2·Y[i, j] + colShift[j].
   */
  readonly xx: Float64Array;
  readonly rowOffset: Float64Array;
  readonly colShift: Float64Array;
  /** Per row: columns scoring below it are its candidates. */
  readonly thresholds: Float64Array;
  /** Per row, up to `cap` candidate keys, and how many arrived (more than cap: some were lost). */
  readonly cap: number;
  readonly lists: Float64Array;
  readonly listCounts: Int32Array;
  readonly distances: Float32Array;
  readonly indices: Int32Array;
  readonly control: Int32Array;
  /** Per task of all stages in turn: 0, 1 once claimed, 2 once done. */
  readonly taskState: Int32Array;
  /** Tasks done by each thread: the main one is 0, worker w is w. */
  readonly threadTasks: Int32Array;
}

/** For worker threads: blocks until the main thread opens `stage`; undefined once aborted or past the last stage. */
export function knnStageOpen(shared: IntegerKnnShared, stage: number): number | undefined {
  const { control } = shared;
  if (stage > STAGE_COUNT) return undefined;
  for (;;) {
    if (Atomics.load(control, ABORTED) !== 0) return undefined;
    const current = Atomics.load(control, STAGE);
    if (current >= stage) return stage;
    Atomics.wait(control, STAGE, current, 1000);
  }
}

/** Reorders a[lo, hi] so that a[nth] holds the value it would have sorted, none larger before it, none smaller after. */
function selectNth(a: Float64Array, lo: number, hi: number, nth: number): void {
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    // Median of three as the pivot, which also guards both inner scans.
    if (a[mid] < a[lo]) [a[mid], a[lo]] = [a[lo], a[mid]];
    if (a[hi] < a[lo]) [a[hi], a[lo]] = [a[lo], a[hi]];
    if (a[hi] < a[mid]) [a[hi], a[mid]] = [a[mid], a[hi]];
    const pivot = a[mid];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (nth <= j) hi = j;
    else if (nth >= i) lo = i;
    else return;
  }
}

/**
 * One thread's share of an integer k-NN: its own onnxruntime session and buffers, claiming tasks
 * of the current stage from the shared counters. Used by the main thread and by each worker alike.
 */
export class IntegerKnnThread {
  private readonly q: Uint8Array;
  private readonly xBlock: Uint8Array;
  private readonly y: Int32Array;
  private readonly rowTemp: Float64Array;
  private readonly colStage: Float64Array;
  private readonly colCount: Int32Array;
  private readonly colLimit: Float64Array;
  private readonly sample: Float64Array;
  private readonly histogram = new Int32Array(SAMPLE_BINS);
  private readonly candidates: Float64Array;
  private readonly buckets: Int32Array;
  private readonly sortScratch: Float64Array;
  private sampleTensor: Tensor | undefined;
  private fullTensor: Tensor | undefined;

  private constructor(
    private readonly s: IntegerKnnShared,
    private readonly session: InferenceSession,
    private readonly id: number,
  ) {
    const { n, d, k, blockRows: B, samples, cap } = s;
    const kk = k + 1;
    this.q = new Uint8Array(B * d);
    this.xBlock = new Uint8Array(d * B);
    this.y = new Int32Array(B * Math.max(B, samples));
    this.rowTemp = new Float64Array(B);
    this.colStage = new Float64Array(B * B);
    this.colCount = new Int32Array(B);
    this.colLimit = new Float64Array(B);
    this.sample = new Float64Array(samples);
    this.candidates = new Float64Array(Math.min(n, Math.max(4 * kk, cap)));
    this.buckets = new Int32Array(this.candidates.length + 1);
    this.sortScratch = new Float64Array(this.candidates.length);
  }

  /** `id`: 0 for the main thread, w for worker w (see IntegerKnnShared.threadTasks). */
  static async create(shared: IntegerKnnShared, id: number): Promise<IntegerKnnThread> {
    return new IntegerKnnThread(shared, await knnIntegerBlockSession(shared.variant), id);
  }

  /**
   * Claims and runs tasks of `stage` until none is left or the search is aborted, calling `after`
   * between tasks (progress, cancellation, letting the event loop run).
   */
  async work(stage: number, after?: () => Promise<void> | void): Promise<void> {
    const { control, tasks } = this.s;
    for (;;) {
      if (Atomics.load(control, ABORTED) !== 0) return;
      const t = Atomics.add(control, NEXT + stage - 1, 1);
      if (t >= tasks[stage - 1]) return;
      await this.task(stage, t);
      await after?.();
    }
  }

  /** Runs task t of `stage`, and counts it done unless another thread did it first. */
  async task(stage: number, t: number): Promise<void> {
    const { control, taskState, tasks, threadTasks } = this.s;
    let slot = t;
    for (let s = 1; s < stage; s++) slot += tasks[s - 1];
    Atomics.compareExchange(taskState, slot, 0, 1);
    if (stage === STAGE_THRESHOLDS) await this.thresholdTask(t);
    else if (stage === STAGE_PAIRS) await this.pairTask(t);
    else await this.rowTask(t);
    Atomics.add(threadTasks, this.id, 1);
    if (Atomics.exchange(taskState, slot, 2) !== 2) Atomics.add(control, DONE + stage - 1, 1);
  }

  /** Y [m, cols] of rows `rows` (or r0…r0 + m − 1) of the levels against the right-hand operand `right`. */
  private async product(r0: number, m: number, right: Tensor, cols: number, rows?: Int32Array): Promise<Int32Array> {
    const { d, levels } = this.s;
    if (rows === undefined) this.q.set(levels.subarray(r0 * d, (r0 + m) * d));
    else for (let r = 0; r < m; r++) this.q.set(levels.subarray(rows[r] * d, (rows[r] + 1) * d), r * d);
    try {
      // A preallocated output: onnxruntime writes the block straight into this thread's buffer.
      const yTensor = integerTensor('int32', this.y.subarray(0, m * cols), [m, cols]);
      await this.session.run({ Q: integerTensor('uint8', this.q.subarray(0, m * d), [m, d]), XT: right }, { Y: yTensor });
    } catch (err) {
      throw new CnnSlicerError('internal', `integer k-NN product of ${m} × ${cols} failed in onnxruntime: ${messageOf(err)}`);
    }
    return this.y;
  }

  /** Stage 1: the thresholds of a block of rows, from their scores against the sampled columns. */
  private async thresholdTask(t: number): Promise<void> {
    const { n, k, blockRows: B, samples, sampleT, variant, d, xx, thresholds } = this.s;
    this.sampleTensor ??= operandTensor(sampleT, variant, d, samples);
    const r0 = t * B;
    const m = Math.min(n, r0 + B) - r0;
    const y = await this.product(r0, m, this.sampleTensor, samples);
    for (let r = 0; r < m; r++) thresholds[r0 + r] = sampleThreshold(y, r * samples, xx, samples, n, k + 1, this.sample, this.histogram);
  }

  /** Stage 2: block pair (I, J): the candidates of I's rows among J's columns and, unless I = J, of J's rows among I's columns. */
  private async pairTask(p: number): Promise<void> {
    const { n, d, blockRows: B, pairI, pairJ, xT, variant, xx, rowOffset, colShift, thresholds, unit, lists, listCounts, cap } = this.s;
    const i0 = pairI[p] * B;
    const mI = Math.min(n, i0 + B) - i0;
    const j0 = pairJ[p] * B;
    const mJ = Math.min(n, j0 + B) - j0;
    const block = this.xBlock;
    for (let t = 0; t < d; t++) block.set(xT.subarray(t * n + j0, t * n + j0 + mJ), t * mJ);
    const right = variant === 'u8s8' ? integerTensor('int8', new Int8Array(block.buffer, 0, d * mJ), [d, mJ]) : integerTensor('uint8', block.subarray(0, d * mJ), [d, mJ]);
    const y = await this.product(i0, mI, right, mJ);
    if (i0 === j0) {
      scanDiagonalBlock(y, mI, i0, xx, thresholds, unit, this.rowTemp, lists, listCounts, cap);
    } else {
      for (let c = 0; c < mJ; c++) this.colLimit[c] = thresholds[j0 + c] - colShift[j0 + c];
      scanPairBlock(y, mI, mJ, i0, j0, xx, thresholds, rowOffset, colShift, this.colLimit, unit, this.rowTemp, this.colStage, this.colCount, B, lists, listCounts, cap);
    }
  }

  /**
   * Stage 3: finishes a block of rows from their candidate lists. A row whose list is short of K
   * (its sample set the threshold too low) or lost keys (more arrived than `cap`) is searched
   * again against every column with no threshold but a running one, which is always exact.
   */
  private async rowTask(t: number): Promise<void> {
    const { n, k, blockRows: B, lists, listCounts, cap } = this.s;
    const kk = k + 1;
    const r0 = t * B;
    const r1 = Math.min(n, r0 + B);
    const again = new Int32Array(r1 - r0);
    let redo = 0;
    const buf = this.candidates;
    for (let i = r0; i < r1; i++) {
      const count = listCounts[i];
      if (count < kk || count > cap) {
        again[redo++] = i;
        continue;
      }
      buf.set(lists.subarray(i * cap, i * cap + count));
      // A pair redone after its worker died may have delivered some keys twice.
      const distinct = sortUnique(buf, count, this.buckets, this.sortScratch);
      if (distinct < kk) again[redo++] = i;
      else this.finishRow(i, buf);
    }
    if (redo === 0) return;
    const { variant, d, xT, xx, unit } = this.s;
    this.fullTensor ??= operandTensor(xT, variant, d, n);
    // Against all n columns, as many rows at a time as this thread's product buffer holds.
    const step = Math.max(1, Math.floor(this.y.length / n));
    for (let a = 0; a < redo; a += step) {
      const rows = again.subarray(a, Math.min(redo, a + step));
      const y = await this.product(0, rows.length, this.fullTensor, n, rows);
      for (let r = 0; r < rows.length; r++) {
        sortUnique(buf, scanRow(y, r * n, Infinity, xx, buf, n, kk, unit), this.buckets, this.sortScratch);
        this.finishRow(rows[r], buf);
      }
    }
  }

  /** Writes row i from its K = k + 1 best keys, ascending at the start of `best`. */
  private finishRow(i: number, best: Float64Array): void {
    const { k, unit, rowOffset, scale, distances, indices } = this.s;
    writeIntegerRow(i, best, k + 1, k, unit, rowOffset[i], scale, distances, indices);
  }
}

// The loops over rows and blocks are plain functions taking their arrays as arguments: written as
// methods reading them from `this`, V8 ran the scan about ten times slower (measured: 50–80
// against ~5 ns per element).

/**
 * A row's threshold: about the score of rank r = 1.4·K·(samples/n) among its sampled columns, so
 * that about 1.4·K of all columns score below it. Statistically only: stage 3 searches again the
 * rows it leaves short. The rank is found on a histogram of SAMPLE_BINS bins over the sample's
 * range, and the threshold is the upper edge of the bin that holds it, never below the rank-r
 * value: two passes with few mispredicted branches, where a quickselect cost twice as much.
 * Infinity when the sample is too small to tell.
 */
function sampleThreshold(y: Int32Array, o: number, xx: Float64Array, samples: number, n: number, kk: number, sample: Float64Array, histogram: Int32Array): number {
  const rank = Math.ceil((SAMPLE_MARGIN * kk * samples) / n) + 8;
  if (rank >= samples) return Infinity;
  let min = Infinity;
  let max = -Infinity;
  for (let c = 0; c < samples; c++) {
    const v = xx[c * SAMPLE_STRIDE] - 2 * y[o + c];
    sample[c] = v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  // Scores are integers: width max − min + 1 puts max in the last bin.
  const f = SAMPLE_BINS / (max - min + 1);
  histogram.fill(0);
  for (let c = 0; c < samples; c++) histogram[((sample[c] - min) * f) | 0]++;
  let below = 0;
  let b = 0;
  while (below + histogram[b] <= rank) below += histogram[b++];
  return min + (b + 1) / f;
}

/** Appends `count` keys from src[from…] to row's list, as far as its capacity goes; the count records them all. */
function commit(lists: Float64Array, listCounts: Int32Array, cap: number, row: number, src: Float64Array, from: number, count: number): void {
  const at = Atomics.add(listCounts, row, count);
  const fits = Math.min(count, cap - at);
  if (fits > 0) lists.set(src.subarray(from, from + fits), row * cap + at);
}

/** The candidates of a diagonal block's rows among its own columns (the row itself included). */
function scanDiagonalBlock(y: Int32Array, m: number, i0: number, xx: Float64Array, thresholds: Float64Array, unit: number, rowTemp: Float64Array, lists: Float64Array, listCounts: Int32Array, cap: number): void {
  for (let r = 0; r < m; r++) {
    const limit = thresholds[i0 + r];
    const o = r * m;
    let count = 0;
    for (let c = 0; c < m; c++) {
      const score = xx[i0 + c] - 2 * y[o + c];
      if (score < limit) rowTemp[count++] = score * unit + (i0 + c);
    }
    commit(lists, listCounts, cap, i0 + r, rowTemp, 0, count);
  }
}

/**
 * The candidates of an off-diagonal block pair, both ways round from one product: row i0 + r's
 * among columns j0…, and column j0 + c's (as a row) among rows i0…, whose score
 * rowOffset[i] − 2·Y + colShift[j] is compared as rowOffset[i] − 2·Y < colLimit[c] =
 * thresholds[j] − colShift[j]. Column candidates are staged per column (B slots each) and
 * committed after the block.
 */
function scanPairBlock(
  y: Int32Array,
  mI: number,
  mJ: number,
  i0: number,
  j0: number,
  xx: Float64Array,
  thresholds: Float64Array,
  rowOffset: Float64Array,
  colShift: Float64Array,
  colLimit: Float64Array,
  unit: number,
  rowTemp: Float64Array,
  colStage: Float64Array,
  colCount: Int32Array,
  B: number,
  lists: Float64Array,
  listCounts: Int32Array,
  cap: number,
): void {
  colCount.fill(0, 0, mJ);
  for (let r = 0; r < mI; r++) {
    const i = i0 + r;
    const limit = thresholds[i];
    const offset = rowOffset[i];
    const o = r * mJ;
    let count = 0;
    for (let c = 0; c < mJ; c++) {
      const y2 = 2 * y[o + c];
      const rowScore = xx[j0 + c] - y2;
      if (rowScore < limit) rowTemp[count++] = rowScore * unit + (j0 + c);
      const colPart = offset - y2;
      if (colPart < colLimit[c]) colStage[c * B + colCount[c]++] = (colPart + colShift[j0 + c]) * unit + i;
    }
    commit(lists, listCounts, cap, i, rowTemp, 0, count);
  }
  for (let c = 0; c < mJ; c++) if (colCount[c] > 0) commit(lists, listCounts, cap, j0 + c, colStage, c * B, colCount[c]);
}

/**
 * Collects into `buf` the keys (score·unit + column) of the columns of row y[o, o + n) whose score
 * xx[j] − 2·y[o + j] is below `threshold`. When `buf` fills it is cut to its K = kk best and the
 * threshold lowered to the K-th's score: a later column with that same score ranks after it
 * (columns arrive in increasing order), so `<` stays exact. Returns how many keys `buf` holds;
 * when that is ≥ K they include the row's K best.
 */
function scanRow(y: Int32Array, o: number, threshold: number, xx: Float64Array, buf: Float64Array, n: number, kk: number, unit: number): number {
  const cap = buf.length;
  let count = 0;
  for (let j = 0; j < n; j++) {
    const score = xx[j] - 2 * y[o + j];
    if (score < threshold) {
      buf[count++] = score * unit + j;
      if (count === cap && cap > kk) {
        selectNth(buf, 0, cap - 1, kk - 1);
        count = kk;
        threshold = Math.floor(buf[kk - 1] / unit);
      }
    }
  }
  return count;
}

/**
 * Writes row i of the result from its K = kk best keys (ascending in `best`), leaving out i itself
 * and keeping k. D² = score + offset is exact, and so is its order, but two D² can round to one
 * float32 distance with their indices the wrong way round (often: at MNIST's distances consecutive
 * integers D² are closer than a float32 step of √D²). Only such runs of equal distances can be out
 * of order, so an insertion step puts them right in about one comparison per neighbour.
 */
function writeIntegerRow(i: number, best: Float64Array, kk: number, k: number, unit: number, offset: number, scale: number, distances: Float32Array, indices: Int32Array): void {
  const inverseUnit = 1 / unit;
  const o = i * k;
  let w = 0;
  for (let c = 0; c < kk && w < k; c++) {
    const key = best[c];
    const score = Math.floor(key * inverseUnit);
    const j = key - score * unit;
    if (j === i) continue;
    const distance = Math.fround(Math.sqrt(score + offset) * scale);
    let u = o + w - 1;
    while (u >= o && (distances[u] > distance || (distances[u] === distance && indices[u] > j))) {
      distances[u + 1] = distances[u];
      indices[u + 1] = indices[u];
      u--;
    }
    distances[u + 1] = distance;
    indices[u + 1] = j;
    w++;
  }
}

/**
 * Sorts a[0, count) ascending and drops repeated values; returns how many are left. A counting
 * sort into `count` buckets over the values' range, then an insertion sort that only has to fix
 * the order within each bucket: several times faster than TypedArray.prototype.sort on the
 * ~1,500 keys of a k-NN row, whose comparisons mispredict half the time.
 */
function sortUnique(a: Float64Array, count: number, buckets: Int32Array, scratch: Float64Array): number {
  if (count < 2) return count;
  let min = a[0];
  let max = a[0];
  for (let t = 1; t < count; t++) {
    const v = a[t];
    if (v < min) min = v;
    else if (v > max) max = v;
  }
  if (min === max) return 1;
  const nb = count;
  const f = (nb - 1) / (max - min);
  buckets.fill(0, 0, nb + 1);
  for (let t = 0; t < count; t++) buckets[((a[t] - min) * f + 1) | 0]++;
  for (let b = 1; b <= nb; b++) buckets[b] += buckets[b - 1];
  for (let t = 0; t < count; t++) scratch[buckets[((a[t] - min) * f) | 0]++] = a[t];
  for (let t = 0; t < count; t++) {
    const v = scratch[t];
    let u = t - 1;
    while (u >= 0 && a[u] > v) {
      a[u + 1] = a[u];
      u--;
    }
    a[u + 1] = v;
  }
  let w = 1;
  for (let t = 1; t < count; t++) if (a[t] !== a[w - 1]) a[w++] = a[t];
  return w;
}

/** The levels without the dimensions that are constant over all points: they add nothing to any distance. */
function dropConstantDimensions(levels: Uint8Array, n: number, d: number): { levels: Uint8Array; d: number } {
  const keep: number[] = [];
  for (let t = 0; t < d; t++) {
    const first = levels[t];
    for (let i = 1; i < n; i++) {
      if (levels[i * d + t] !== first) {
        keep.push(t);
        break;
      }
    }
  }
  // At least one, so that the product keeps a shape (all points equal: every distance is 0).
  if (keep.length === 0) keep.push(0);
  if (keep.length === d) return { levels, d };
  const kept = keep.length;
  const out = new Uint8Array(new SharedArrayBuffer(n * kept));
  for (let i = 0; i < n; i++) for (let t = 0; t < kept; t++) out[i * kept + t] = levels[i * d + keep[t]];
  return { levels: out, d: kept };
}

async function knnInteger(grid: ExactGrid, n: number, dIn: number, k: number, variant: IntegerGemmVariant, opts: KnnOptions): Promise<KnnResult> {
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
    let first = 0;
    for (let stage = 1; stage <= STAGE_COUNT; stage++) {
      if (stage > 1) {
        Atomics.store(ctl, STAGE, stage);
        Atomics.notify(ctl, STAGE);
      }
      if (callerComputes) await (await mainThread()).work(stage, after);
      checkSignal(opts.signal);
      // Tasks still in the workers' hands: wait for them, unless every worker has stopped.
      while (Atomics.load(ctl, DONE + stage - 1) < tasks[stage - 1] && workers.some((w) => !w.stopped)) {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        checkSignal(opts.signal);
      }
      // A task a failed worker left undone is run here.
      for (let t = 0; t < tasks[stage - 1]; t++) {
        if (Atomics.load(shared.taskState, first + t) !== 2) {
          await (await mainThread()).task(stage, t);
          await after();
          checkSignal(opts.signal);
        }
      }
      first += tasks[stage - 1];
    }
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

/** Tells every thread of an integer k-NN to stop after its current task, and wakes those waiting for a stage. */
function stopAll(control: Int32Array): void {
  Atomics.store(control, ABORTED, 1);
  Atomics.notify(control, STAGE);
}

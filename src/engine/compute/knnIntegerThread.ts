// One thread's share of the integer k-NN (knnInteger.ts): the control words and shared arrays
// of a search, the stage protocol every thread follows, and the thread's work on each stage's
// tasks (thresholds, block pairs, rows), with its own one-thread onnxruntime session.
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { CnnSlicerError } from '../../shared/errors';
import { type IntegerGemmVariant, knnIntegerBlockSession } from './graphs';
import { messageOf } from './knnShared';
import { integerTensor, operandTensor } from './knnIntegerGrid';
import { claimStageTasks, taskSlot, waitForStage } from './stageProtocol';

// Control words of IntegerKnnShared.control.
export { ABORTED, STAGE } from './stageProtocol';
/** NEXT + s − 1: the next task of stage s to claim; DONE + s − 1: how many of them are done. */
export const NEXT = 2;
export const DONE = 5;
export const CONTROL_WORDS = 8;
/** The stages, in order: per-row thresholds from a sample, block pairs, finished rows. */
export const STAGE_THRESHOLDS = 1;
const STAGE_PAIRS = 2;
export const STAGE_ROWS = 3;
export const STAGE_COUNT = 3;

/** Every how many points the threshold stage samples as columns. */
export const SAMPLE_STRIDE = 16;
/** Each row's threshold is its sample's quantile at this multiple of K/n (plus a few ranks). */
const SAMPLE_MARGIN = 1.4;
/** Bins of the histogram that locates that quantile. */
const SAMPLE_BINS = 512;
/** Rows of a block, and of the tasks of the first and last stages. */
export const DEFAULT_BLOCK_ROWS = 1024;
/** Bound on the candidate lists of all rows (2·K keys each by default: 320 MB at N = 20,000, k = 1000). */
export const LIST_BUDGET_BYTES = 2 ** 30;

/**
 * Sort keys of the integer path: score·2^b + column, b = keyBits(n), so that ordering keys orders
 * by (score, column) and both come back exactly (multiplying by a power of two is exact).
 */
export function keyBits(n: number): number {
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
  return waitForStage(shared.control, stage, STAGE_COUNT);
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
    return claimStageTasks(this.s.control, NEXT, stage, this.s.tasks[stage - 1], (t) => this.task(stage, t), after);
  }

  /** Runs task t of `stage`, and counts it done unless another thread did it first. */
  async task(stage: number, t: number): Promise<void> {
    const { control, taskState, tasks, threadTasks } = this.s;
    const slot = taskSlot(tasks, stage, t);
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
    const right =
      variant === 'u8s8' ? integerTensor('int8', new Int8Array(block.buffer, 0, d * mJ), [d, mJ]) : integerTensor('uint8', block.subarray(0, d * mJ), [d, mJ]);
    const y = await this.product(i0, mI, right, mJ);
    if (i0 === j0) {
      scanDiagonalBlock(y, mI, i0, xx, thresholds, unit, this.rowTemp, lists, listCounts, cap);
    } else {
      for (let c = 0; c < mJ; c++) this.colLimit[c] = thresholds[j0 + c] - colShift[j0 + c];
      scanPairBlock(
        y,
        mI,
        mJ,
        i0,
        j0,
        xx,
        thresholds,
        rowOffset,
        colShift,
        this.colLimit,
        unit,
        this.rowTemp,
        this.colStage,
        this.colCount,
        B,
        lists,
        listCounts,
        cap,
      );
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
function sampleThreshold(
  y: Int32Array,
  o: number,
  xx: Float64Array,
  samples: number,
  n: number,
  kk: number,
  sample: Float64Array,
  histogram: Int32Array,
): number {
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
function scanDiagonalBlock(
  y: Int32Array,
  m: number,
  i0: number,
  xx: Float64Array,
  thresholds: Float64Array,
  unit: number,
  rowTemp: Float64Array,
  lists: Float64Array,
  listCounts: Int32Array,
  cap: number,
): void {
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
function writeIntegerRow(
  i: number,
  best: Float64Array,
  kk: number,
  k: number,
  unit: number,
  offset: number,
  scale: number,
  distances: Float32Array,
  indices: Int32Array,
): void {
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

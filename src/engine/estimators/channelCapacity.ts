// Channel capacity between two layers (paper §5.3.1, §5.3.2). Feature maps of different layers
// live in spaces of different dimension, so a channel is represented by the distances between the
// maps it produces for every pair of probe samples: channel a of layer li and channel b of layer lj
// are compared through the joint distribution of (distance in a, distance in b) over the same
// sample pairs. Distances are binned once per channel; each (a, b) then costs one 2-D histogram
// and Capacity = H(A) − H(A|B) = H(A) + H(B) − H(A,B) (Eq. 3), the plug-in mutual information in bits.

import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { CnnSlicerError } from '../../shared/errors';
import { ESTIMATOR_DEFAULTS, type EstimatorParams } from './params';

/**
 * Distances between the feature maps of every pair of probe samples (i < j), per channel of one
 * layer: channel c's distances at data[c·pairs, (c+1)·pairs). Two layers being compared must list
 * the pairs in the same order.
 */
export interface PairDistances {
  readonly channels: number;
  readonly pairs: number;
  readonly data: Float32Array;
}

export type CapacityParams = Pick<EstimatorParams, 'capacityBins' | 'capacityRange'>;

/** A layer's pair distances turned into bin codes, ready for any number of capacity matrices. */
export interface CodedChannels {
  readonly channels: number;
  readonly pairs: number;
  readonly bins: number;
  /**
   * Bin of each distance, one byte per pair, channel c from c·stride. The stride is `pairs`
   * rounded up to a multiple of 4 so each channel starts on a 4-byte boundary and can be read as
   * 32-bit words, four pairs at a time.
   */
  readonly codes: Uint8Array;
  readonly stride: number;
  /** Upper end of each channel's bins: distances d go to bin ⌊d/upper·B⌋ (the largest to B − 1). */
  readonly upper: Float64Array;
  /** H of each channel's binned distances, in bits. */
  readonly entropy: Float64Array;
}

export interface CapacityMatrix {
  /** Channels of layer lj: the heatmap's vertical axis. */
  readonly rowsChannels: number;
  /** Channels of layer li: the heatmap's horizontal axis. */
  readonly colsChannels: number;
  /** Capacity in bits of (column a of li, row b of lj) at b·colsChannels + a. */
  readonly capacity: Float32Array;
  /** H(A) per channel of li (columns), in bits. */
  readonly hA: Float32Array;
  /** H(B) per channel of lj (rows), in bits. */
  readonly hB: Float32Array;
}

/** Entropy in bits of counts[start, start + length) summing to `total`, skipping empty cells (most of a 2-D histogram). */
function entropyOfCounts(counts: Int32Array, start: number, length: number, total: number): number {
  let sum = 0;
  for (let c = start; c < start + length; c++) {
    const count = counts[c];
    if (count > 1) sum += count * Math.log2(count);
  }
  // Only a one-cell histogram has Σ c·log2 c = m·log2 m (any split falls short by more than 1);
  // its entropy is exactly 0 rather than log2 m − log2 m's rounding.
  return sum === total * Math.log2(total) ? 0 : Math.log2(total) - sum / total;
}

/** Bins every channel's distances over [0, upper] into `capacityBins` bins (done once per layer and epoch). */
export function codeDistances(distances: PairDistances, params: CapacityParams = ESTIMATOR_DEFAULTS, options: { shared?: boolean } = {}): CodedChannels {
  const { channels, pairs, data } = distances;
  const bins = params.capacityBins;
  if (!Number.isInteger(bins) || bins < 1 || bins > 256) throw new CnnSlicerError('bad-request', `capacityBins must be an integer in [1, 256], got ${bins}`);
  if (params.capacityRange !== 'channel' && params.capacityRange !== 'layer') {
    throw new CnnSlicerError('bad-request', `capacityRange must be "channel" or "layer", got ${String(params.capacityRange)}`);
  }
  if (!Number.isInteger(channels) || !Number.isInteger(pairs) || channels < 0 || pairs < 1 || data.length !== channels * pairs) {
    throw new CnnSlicerError('internal', `pair distances: expected ${channels} channels × ${pairs} pairs (pairs ≥ 1), got ${data.length} values`);
  }
  const upper = new Float64Array(channels);
  for (let c = 0; c < channels; c++) {
    let max = 0;
    for (let p = c * pairs; p < (c + 1) * pairs; p++) {
      const d = data[p];
      if (d - d !== 0) throw new CnnSlicerError('internal', `pair distances: channel ${c} has distance ${d} (non-finite activations?)`);
      if (d > max) max = d;
    }
    upper[c] = max;
  }
  if (params.capacityRange === 'layer') {
    let layerMax = 0;
    for (let c = 0; c < channels; c++) if (upper[c] > layerMax) layerMax = upper[c];
    upper.fill(layerMax);
  }

  const stride = (pairs + 3) & ~3;
  // In shared memory when worker threads are to read the codes (channelCapacityParallel).
  const codes = new Uint8Array(options.shared ? new SharedArrayBuffer(channels * stride) : new ArrayBuffer(channels * stride));
  const entropy = new Float64Array(channels);
  const hist = new Int32Array(bins);
  const last = bins - 1;
  for (let c = 0; c < channels; c++) {
    // upper = 0: every distance is 0 (a dead channel), all in bin 0, entropy 0.
    const scale = upper[c] > 0 ? bins / upper[c] : 0;
    const base = c * stride;
    hist.fill(0);
    for (let p = 0; p < pairs; p++) {
      // Negative distances are rounding in a GEMM-based computation; they join bin 0.
      const x = data[c * pairs + p] * scale;
      const code = x >= bins ? last : x > 0 ? x | 0 : 0;
      codes[base + p] = code;
      hist[code]++;
    }
    entropy[c] = entropyOfCounts(hist, 0, bins, pairs);
  }
  return { channels, pairs, bins, codes, stride, upper, entropy };
}

function checkCompatible(columns: CodedChannels, rows: CodedChannels): void {
  if (columns.pairs !== rows.pairs) throw new CnnSlicerError('internal', `channel capacity: layers have ${columns.pairs} and ${rows.pairs} sample pairs`);
  if (columns.bins !== rows.bins) throw new CnnSlicerError('internal', `channel capacity: layers were binned with ${columns.bins} and ${rows.bins} bins`);
}

/** Row channels the nibble kernel counts against one load of a column word. */
const NIBBLE_ROWS = 4;

/**
 * Joint entropies of column channel a with row channels b … b + 3, for bins ≤ 16, into
 * out[0 … 3]. Both codes of a pair fit a nibble each, so (codeA << 4) | codeB is one byte, and
 * four pairs come out of one 32-bit OR of packed codes; four rows share each load of the column
 * word (against two: ~15% less time on benchmark (b)). Each byte lane of each row counts
 * into its own 256-cell histogram (16 in all, 16 KiB) so that consecutive equal cells (common for
 * correlated channels) do not serialise on one counter. Rows from rowCount on are not counted
 * (their lanes read row b again and are discarded) and their out[] are left 0. The counts of row
 * b + r, hence out[r], do not depend on the other rows.
 */
function jointEntropiesNibbles(
  columnWords: Uint32Array,
  columnCodes: Uint8Array,
  a: number,
  rowWords: Uint32Array,
  rowCodes: Uint8Array,
  b: number,
  rowCount: number,
  stride: number,
  pairs: number,
  hist: Int32Array,
  out: Float64Array,
): void {
  const counted = Math.min(NIBBLE_ROWS, rowCount - b);
  hist.fill(0, 0, 4096);
  const wordStride = stride >>> 2;
  const fullWords = pairs >>> 2;
  const aWord = a * wordStride;
  const b0Word = b * wordStride;
  const b1Word = counted > 1 ? b0Word + wordStride : b0Word;
  const b2Word = counted > 2 ? b0Word + 2 * wordStride : b0Word;
  const b3Word = counted > 3 ? b0Word + 3 * wordStride : b0Word;
  for (let q = 0; q < fullWords; q++) {
    // Each byte of a column word holds a code < 16, so shifting the word by 4 keeps every code in its own byte.
    const column = columnWords[aWord + q] << 4;
    const x = column | rowWords[b0Word + q];
    const y = column | rowWords[b1Word + q];
    const z = column | rowWords[b2Word + q];
    const w = column | rowWords[b3Word + q];
    hist[x & 255]++;
    hist[256 + ((x >>> 8) & 255)]++;
    hist[512 + ((x >>> 16) & 255)]++;
    hist[768 + (x >>> 24)]++;
    hist[1024 + (y & 255)]++;
    hist[1280 + ((y >>> 8) & 255)]++;
    hist[1536 + ((y >>> 16) & 255)]++;
    hist[1792 + (y >>> 24)]++;
    hist[2048 + (z & 255)]++;
    hist[2304 + ((z >>> 8) & 255)]++;
    hist[2560 + ((z >>> 16) & 255)]++;
    hist[2816 + (z >>> 24)]++;
    hist[3072 + (w & 255)]++;
    hist[3328 + ((w >>> 8) & 255)]++;
    hist[3584 + ((w >>> 16) & 255)]++;
    hist[3840 + (w >>> 24)]++;
  }
  const aBase = a * stride;
  for (let r = 0; r < counted; r++) {
    const base = 1024 * r;
    const bBase = (b + r) * stride;
    for (let p = fullWords << 2; p < pairs; p++) hist[base + ((columnCodes[aBase + p] << 4) | rowCodes[bBase + p])]++;
    for (let cell = base; cell < base + 256; cell++) hist[cell] += hist[256 + cell] + hist[512 + cell] + hist[768 + cell];
    out[r] = entropyOfCounts(hist, base, 256, pairs);
  }
  for (let r = counted; r < NIBBLE_ROWS; r++) out[r] = 0;
}

/** Joint entropy for bins > 16: one byte per code, the same four-lane counting as the nibble path. */
function jointEntropyBytes(columnCodes: Uint8Array, a: number, rowCodes: Uint8Array, b: number, stride: number, pairs: number, bins: number, hist: Int32Array): number {
  const cells = bins * bins;
  hist.fill(0, 0, 4 * cells);
  const aBase = a * stride;
  const bBase = b * stride;
  const fullQuads = pairs & ~3;
  for (let p = 0; p < fullQuads; p += 4) {
    hist[columnCodes[aBase + p] * bins + rowCodes[bBase + p]]++;
    hist[cells + columnCodes[aBase + p + 1] * bins + rowCodes[bBase + p + 1]]++;
    hist[2 * cells + columnCodes[aBase + p + 2] * bins + rowCodes[bBase + p + 2]]++;
    hist[3 * cells + columnCodes[aBase + p + 3] * bins + rowCodes[bBase + p + 3]]++;
  }
  for (let p = fullQuads; p < pairs; p++) hist[columnCodes[aBase + p] * bins + rowCodes[bBase + p]]++;
  for (let cell = 0; cell < cells; cell++) hist[cell] += hist[cells + cell] + hist[2 * cells + cell] + hist[3 * cells + cell];
  return entropyOfCounts(hist, 0, cells, pairs);
}

/** Scratch of one thread filling capacity cells: its histogram, the codes as 32-bit words, the joint entropies of a call. */
interface CellScratch {
  readonly hist: Int32Array;
  readonly columnWords: Uint32Array;
  readonly rowWords: Uint32Array;
  readonly joint: Float64Array;
}

function cellScratch(columns: CodedChannels, rows: CodedChannels): CellScratch {
  return {
    hist: new Int32Array(columns.bins <= 16 ? 4096 : 4 * columns.bins * columns.bins),
    columnWords: new Uint32Array(columns.codes.buffer, columns.codes.byteOffset, columns.codes.length >>> 2),
    rowWords: new Uint32Array(rows.codes.buffer, rows.codes.byteOffset, rows.codes.length >>> 2),
    joint: new Float64Array(NIBBLE_ROWS),
  };
}

/**
 * Fills the cells of rows [rowStart, rowEnd) and columns [colStart, colEnd) (ranges already
 * checked). A cell's value depends only on its two channels, never on the block it is computed in
 * (a row counted alone or beside the next gives the same histogram), so any split of the matrix
 * gives the same doubles.
 */
function fillCapacityBlock(
  columns: CodedChannels,
  rows: CodedChannels,
  rowStart: number,
  rowEnd: number,
  colStart: number,
  colEnd: number,
  out: Float32Array,
  scratch: CellScratch,
): void {
  const { pairs, bins, stride } = columns;
  const cols = columns.channels;
  const { hist, columnWords, rowWords, joint } = scratch;
  const store = (a: number, b: number, hAB: number): void => {
    const hA = columns.entropy[a];
    const hB = rows.entropy[b];
    // The plug-in mutual information lies in [0, min(H(A), H(B))] exactly; clamping removes
    // only rounding in the three sums.
    const capacity = hA + hB - hAB;
    out[b * cols + a] = capacity < 0 ? 0 : Math.min(capacity, hA, hB);
  };
  if (bins <= 16) {
    for (let b = rowStart; b < rowEnd; b += NIBBLE_ROWS) {
      const counted = Math.min(NIBBLE_ROWS, rowEnd - b);
      for (let a = colStart; a < colEnd; a++) {
        jointEntropiesNibbles(columnWords, columns.codes, a, rowWords, rows.codes, b, rowEnd, stride, pairs, hist, joint);
        for (let r = 0; r < counted; r++) store(a, b + r, joint[r]);
      }
    }
  } else {
    for (let b = rowStart; b < rowEnd; b++) {
      for (let a = colStart; a < colEnd; a++) store(a, b, jointEntropyBytes(columns.codes, a, rows.codes, b, stride, pairs, bins, hist));
    }
  }
}

function checkOut(columns: CodedChannels, rows: CodedChannels, out: Float32Array): void {
  if (out.length !== rows.channels * columns.channels) {
    throw new CnnSlicerError('internal', `capacity matrix: expected ${rows.channels}×${columns.channels} cells, got ${out.length}`);
  }
}

/**
 * Fills rows [rowStart, rowEnd) of a capacity matrix (row = channel of `rows`, column = channel of
 * `columns`, `out` of length rows.channels × columns.channels). Split so a caller can spread the
 * O(Ca·Cb·pairs) work over time slices or workers and stay responsive between them.
 */
export function fillCapacityRows(columns: CodedChannels, rows: CodedChannels, rowStart: number, rowEnd: number, out: Float32Array): void {
  checkCompatible(columns, rows);
  checkOut(columns, rows, out);
  if (!Number.isInteger(rowStart) || !Number.isInteger(rowEnd) || rowStart < 0 || rowStart > rowEnd || rowEnd > rows.channels) {
    throw new CnnSlicerError('internal', `capacity rows [${rowStart}, ${rowEnd}) are not within [0, ${rows.channels})`);
  }
  fillCapacityBlock(columns, rows, rowStart, rowEnd, 0, columns.channels, out, cellScratch(columns, rows));
}

/**
 * Capacity matrix between layer li (channels on the horizontal axis) and layer lj (vertical), as
 * the paper's heatmap (Fig. 8). Single-threaded; see `fillCapacityRows` to split the work.
 */
export function channelCapacity(layerI: PairDistances, layerJ: PairDistances, params: CapacityParams = ESTIMATOR_DEFAULTS): CapacityMatrix {
  const columns = codeDistances(layerI, params);
  const rows = layerJ === layerI ? columns : codeDistances(layerJ, params);
  checkCompatible(columns, rows);
  const capacity = new Float32Array(rows.channels * columns.channels);
  fillCapacityRows(columns, rows, 0, rows.channels, capacity);
  return {
    rowsChannels: rows.channels,
    colsChannels: columns.channels,
    capacity,
    hA: Float32Array.from(columns.entropy),
    hB: Float32Array.from(rows.entropy),
  };
}

/** Options of channelCapacityParallel that change only how it runs, never its result. */
export interface CapacityRunOptions {
  signal?: AbortSignal;
  /** Called as cells are filled, with the tasks done and their count. */
  onProgress?: (done: number, total: number) => void;
  /**
   * Threads, the calling one included. Default: the CNNSLICER_THREADS environment variable, else
   * every core for matrices of at least PARALLEL_MIN_INCREMENTS histogram increments, else 1;
   * given here or in the environment, the count is used whatever the size.
   */
  threads?: number;
  /** Whether the calling thread fills cells too (default) or only waits: for tests that must see the workers do the work. */
  callerComputes?: boolean;
  /** Histogram increments (cells × pairs) per task; for tests. */
  taskIncrements?: number;
}

/** Cells × pairs from which the default uses every core (~0.1 s on one core here; a worker starts in ~0.05 s from the bundle). */
const PARALLEL_MIN_INCREMENTS = 2 ** 27;
/** Cells × pairs per task: ~30 ms on one core, so that cancellation and progress are prompt and threads balance. */
const TASK_INCREMENTS = 2 ** 25;

// Words of CapacityJob.control.
const NEXT_TASK = 0;
const DONE_TASKS = 1;
/** Set when the calling thread stops the job (cancelled, failed or finished): workers claim nothing more. */
const STOP = 2;
const CONTROL_WORDS = 3;

/**
 * What the threads of one capacity matrix share. Task t fills row group ⌊t / colBlocks⌋ (rows
 * [4g, 4g + 4), the rows the nibble kernel counts together) × column block t mod colBlocks. A
 * task's state goes 0 → 1 (claimed) → 2 (done), so that the calling thread can redo the tasks of a
 * worker that died; a task done twice writes the same values.
 */
export interface CapacityJob {
  readonly columns: CodedChannels;
  readonly rows: CodedChannels;
  readonly out: Float32Array;
  readonly colsPerTask: number;
  readonly colBlocks: number;
  readonly tasks: number;
  readonly control: Int32Array;
  readonly taskState: Int32Array;
  /** Tasks done by each thread: the calling one is 0, worker w is w. */
  readonly threadTasks: Int32Array;
}

function runCapacityTask(job: CapacityJob, t: number, scratch: CellScratch): void {
  const group = Math.floor(t / job.colBlocks);
  const block = t - group * job.colBlocks;
  const rowStart = NIBBLE_ROWS * group;
  const colStart = block * job.colsPerTask;
  fillCapacityBlock(
    job.columns,
    job.rows,
    rowStart,
    Math.min(rowStart + NIBBLE_ROWS, job.rows.channels),
    colStart,
    Math.min(colStart + job.colsPerTask, job.columns.channels),
    job.out,
    scratch,
  );
}

/** Claims and runs one task; false when none is left or the job is stopped. */
function claimCapacityTask(job: CapacityJob, id: number, scratch: CellScratch): boolean {
  const { control } = job;
  if (Atomics.load(control, STOP) !== 0) return false;
  const t = Atomics.add(control, NEXT_TASK, 1);
  if (t >= job.tasks) return false;
  Atomics.store(job.taskState, t, 1);
  runCapacityTask(job, t, scratch);
  Atomics.add(job.threadTasks, id, 1);
  if (Atomics.compareExchange(job.taskState, t, 1, 2) === 1) Atomics.add(control, DONE_TASKS, 1);
  return true;
}

/** A worker thread's share of a job (capacityWorker.ts): tasks until none is left, `onTask` after each. */
export function capacityWorker(job: CapacityJob, id: number, onTask: () => void): void {
  const scratch = cellScratch(job.columns, job.rows);
  while (claimCapacityTask(job, id, scratch)) onTask();
}

/** CNNSLICER_THREADS, when it holds a positive integer. */
function threadsFromEnvironment(): number | undefined {
  const v = Number(process.env.CNNSLICER_THREADS);
  return Number.isInteger(v) && v >= 1 ? v : undefined;
}

/** The worker entry: the bundle's capacityWorker.js beside this code in dist/, else the TypeScript source through tsx. */
function capacityWorkerEntry(): { filename: string; execArgv: string[] } | undefined {
  const js = join(__dirname, 'capacityWorker.js');
  if (existsSync(js)) return { filename: js, execArgv: [] };
  const ts = join(__dirname, 'capacityWorker.ts');
  // A variable, so that bundlers leave this development-only path alone.
  const tsx = 'tsx/cjs';
  try {
    return existsSync(ts) ? { filename: ts, execArgv: ['--require', require.resolve(tsx)] } : undefined;
  } catch {
    return undefined;
  }
}

function cancelled(): CnnSlicerError {
  return new CnnSlicerError('cancelled', 'the channel capacity computation was cancelled');
}

/**
 * `channelCapacity` on worker threads (capacityWorker.ts) as well as the calling one, which takes
 * tasks too and yields to the event loop between them, so that it stays responsive, sees `signal`
 * and reports progress. Every cell is computed exactly as `channelCapacity` computes it, so the
 * result is the same, bit for bit, for any thread count. Memory: the codes of both layers (one
 * byte per channel and pair, as channelCapacity) in shared memory, and 16 KiB of histograms per thread (bins ≤ 16).
 */
export async function channelCapacityParallel(
  layerI: PairDistances,
  layerJ: PairDistances,
  params: CapacityParams = ESTIMATOR_DEFAULTS,
  options: CapacityRunOptions = {},
): Promise<CapacityMatrix & { workerThreads: number }> {
  const { signal } = options;
  if (signal?.aborted) throw cancelled();
  if (options.threads !== undefined && !(Number.isInteger(options.threads) && options.threads >= 1)) {
    throw new CnnSlicerError('bad-request', `channel capacity: threads must be a positive integer, not ${options.threads}`);
  }
  const asked = options.threads ?? threadsFromEnvironment();
  const work = layerI.channels * layerJ.channels * layerI.pairs;
  let wanted = asked ?? (work >= PARALLEL_MIN_INCREMENTS ? availableParallelism() : 1);
  const entry = wanted > 1 ? capacityWorkerEntry() : undefined;
  if (entry === undefined) wanted = 1;
  const shared = wanted > 1;
  const columns = codeDistances(layerI, params, { shared });
  const rows = layerJ === layerI ? columns : codeDistances(layerJ, params, { shared });
  checkCompatible(columns, rows);
  const buffer = (bytes: number) => (shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
  const cells = rows.channels * columns.channels;
  const colsPerTask = Math.max(1, Math.min(columns.channels, Math.floor((options.taskIncrements ?? TASK_INCREMENTS) / (NIBBLE_ROWS * columns.pairs))));
  const colBlocks = Math.ceil(columns.channels / colsPerTask);
  const tasks = Math.ceil(rows.channels / NIBBLE_ROWS) * colBlocks;
  const threads = Math.max(1, Math.min(wanted, tasks));
  const job: CapacityJob = {
    columns,
    rows,
    out: new Float32Array(buffer(4 * cells)),
    colsPerTask,
    colBlocks,
    tasks,
    control: new Int32Array(buffer(4 * CONTROL_WORDS)),
    taskState: new Int32Array(buffer(4 * tasks)),
    threadTasks: new Int32Array(buffer(4 * threads)),
  };

  let wake: (() => void) | undefined;
  let reported = -1;
  const report = (): void => {
    const done = Math.min(tasks, Atomics.load(job.control, DONE_TASKS));
    if (done > reported) {
      reported = done;
      options.onProgress?.(done, tasks);
    }
  };
  const workers: { worker: Worker; stopped: boolean }[] = [];
  for (let id = 1; id < threads && entry !== undefined; id++) {
    const w = { worker: new Worker(entry.filename, { execArgv: entry.execArgv, workerData: { job, id } }), stopped: false };
    const stopped = (): void => {
      w.stopped = true;
      wake?.();
    };
    w.worker.on('message', (msg: { type: string }) => {
      if (msg.type === 'task') wake?.();
      else stopped();
    });
    w.worker.on('error', stopped);
    w.worker.on('exit', stopped);
    workers.push(w);
  }
  const onAbort = (): void => wake?.();
  signal?.addEventListener('abort', onAbort);
  const scratch = cellScratch(columns, rows);
  const yieldNow = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  try {
    report();
    if (options.callerComputes !== false || workers.length === 0) {
      while (claimCapacityTask(job, 0, scratch)) {
        report();
        await yieldNow();
        if (signal?.aborted) throw cancelled();
      }
    }
    for (;;) {
      if (signal?.aborted) throw cancelled();
      report();
      if (Atomics.load(job.control, DONE_TASKS) >= tasks) break;
      if (workers.every((w) => w.stopped)) {
        // A worker that stopped early (it failed, or could not start) left its tasks claimed or
        // unclaimed: this thread does them, and a failure surfaces here as the error it is.
        for (let t = 0; t < tasks; t++) {
          if (Atomics.load(job.taskState, t) === 2) continue;
          runCapacityTask(job, t, scratch);
          Atomics.add(job.threadTasks, 0, 1);
          if (Atomics.exchange(job.taskState, t, 2) !== 2) Atomics.add(job.control, DONE_TASKS, 1);
          report();
          await yieldNow();
          if (signal?.aborted) throw cancelled();
        }
        break;
      }
      await new Promise<void>((resolve) => {
        // The timeout also covers a message that came between the checks above and this wait.
        const timer = setTimeout(resolve, 50);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  } finally {
    Atomics.store(job.control, STOP, 1);
    signal?.removeEventListener('abort', onAbort);
    for (const w of workers) void w.worker.terminate();
  }
  const workerThreads = job.threadTasks.reduce((n, count, id) => n + (id > 0 && count > 0 ? 1 : 0), 0);
  return {
    rowsChannels: rows.channels,
    colsChannels: columns.channels,
    // Out of shared memory, like every other result.
    capacity: shared ? job.out.slice() : job.out,
    hA: Float32Array.from(columns.entropy),
    hB: Float32Array.from(rows.entropy),
    workerThreads,
  };
}

/**
 * The order of a matrix's rows or columns for the sorted heatmap (§5.3.2): compute each column's
 * (or row's) max or mean, sort, keep the indices. order[k] is the original index shown at position
 * k; equal statistics keep ascending index order, so the result is deterministic.
 */
export function sortOrder(
  matrix: Float32Array,
  rows: number,
  cols: number,
  axis: 'rows' | 'cols',
  by: 'max' | 'mean',
  direction: 'asc' | 'desc' = 'desc',
): Int32Array {
  if (matrix.length !== rows * cols) throw new CnnSlicerError('internal', `sort order: expected ${rows}×${cols} cells, got ${matrix.length}`);
  const count = axis === 'cols' ? cols : rows;
  const length = axis === 'cols' ? rows : cols;
  const stat = new Float64Array(count);
  for (let x = 0; x < count; x++) {
    let max = -Infinity;
    let sum = 0;
    for (let y = 0; y < length; y++) {
      const v = axis === 'cols' ? matrix[y * cols + x] : matrix[x * cols + y];
      if (v > max) max = v;
      sum += v;
    }
    const value = by === 'max' ? max : length > 0 ? sum / length : 0;
    // NaN would make the comparator inconsistent; it sorts as the smallest value instead.
    stat[x] = Number.isNaN(value) ? -Infinity : value;
  }
  const order = new Int32Array(count);
  for (let x = 0; x < count; x++) order[x] = x;
  const sign = direction === 'desc' ? -1 : 1;
  order.sort((x, y) => sign * (stat[x] - stat[y]) || x - y);
  return order;
}

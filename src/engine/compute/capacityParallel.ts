// The channel-capacity matrix on every core: worker threads (capacityWorker.ts) and the calling
// thread claim tasks of four rows × a block of columns from a counter in shared memory, where the
// codes (in a WebAssembly arena, or a SharedArrayBuffer) and the matrix live.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { CnnSlicerError } from '../../shared/errors';
import { cellScratch, checkCompatible, fillCapacityBlock, NIBBLE_ROWS, type CellScratch } from '../estimators/capacityKernel';
import { ARENA_SLOTS, createCapacityArena } from '../estimators/capacityWasm';
import { codeBytes, codeDistances, type CapacityMatrix, type CapacityParams, type CodedChannels, type PairDistances } from '../estimators/channelCapacity';
import { ESTIMATOR_DEFAULTS } from '../estimators/params';
import { threadsFromEnvironment, workerEntry } from './threads';

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
  /**
   * 'js' counts in JavaScript even where the WebAssembly kernel could (for tests: both give the
   * same matrix); the CNNSLICER_CAPACITY_KERNEL=js environment variable does the same.
   */
  kernel?: 'auto' | 'js';
}

/** Cells × pairs from which the default uses every core (~0.1 s on one core here; a worker starts in ~0.05 s from the bundle). */
const PARALLEL_MIN_INCREMENTS = 2 ** 27;
/** Cells × pairs per task: ~15–30 ms on one core, so that cancellation and progress are prompt and threads balance. */
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
  readonly kernel: 'auto' | 'js';
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
  // Thread id counts into the arena's scratch slot id.
  const scratch = cellScratch(job.columns, job.rows, id, job.kernel);
  while (claimCapacityTask(job, id, scratch)) onTask();
}

function cancelled(): CnnSlicerError {
  return new CnnSlicerError('cancelled', 'the channel capacity computation was cancelled');
}

/**
 * `channelCapacity` on worker threads (capacityWorker.ts) as well as the calling one: codes both
 * layers into a WebAssembly arena (or shared memory where WebAssembly is not available) and runs
 * capacityMatrixOfCodes. The result is the same, bit for bit, as channelCapacity's.
 */
export async function channelCapacityParallel(
  layerI: PairDistances,
  layerJ: PairDistances,
  params: CapacityParams = ESTIMATOR_DEFAULTS,
  options: CapacityRunOptions = {},
): Promise<CapacityMatrix & { workerThreads: number }> {
  if (options.signal?.aborted) throw cancelled();
  const same = layerJ === layerI;
  const arena =
    options.kernel === 'js'
      ? undefined
      : createCapacityArena(
          same ? [codeBytes(layerI.channels, layerI.pairs)] : [codeBytes(layerI.channels, layerI.pairs), codeBytes(layerJ.channels, layerJ.pairs)],
        );
  const storage = { arena, shared: true };
  const columns = codeDistances(layerI, params, storage);
  const rows = same ? columns : codeDistances(layerJ, params, storage);
  return capacityMatrixOfCodes(columns, rows, options);
}

/**
 * The capacity matrix of two coded layers, on worker threads (capacityWorker.ts) as well as the
 * calling one, which takes tasks too and yields to the event loop between them, so that it stays
 * responsive, sees `signal` and reports progress. Every cell is computed exactly as
 * `channelCapacity` computes it, so the result is the same, bit for bit, for any thread count and
 * kernel. The codes must be in shared memory (an arena's, or a SharedArrayBuffer) for worker
 * threads to be used; otherwise the calling thread does everything. Memory beyond the codes: the
 * matrix and 16 KiB of histograms per thread (bins ≤ 16).
 */
export async function capacityMatrixOfCodes(
  columns: CodedChannels,
  rows: CodedChannels,
  options: CapacityRunOptions = {},
): Promise<CapacityMatrix & { workerThreads: number }> {
  const { signal } = options;
  if (signal?.aborted) throw cancelled();
  if (options.threads !== undefined && !(Number.isInteger(options.threads) && options.threads >= 1)) {
    throw new CnnSlicerError('bad-request', `channel capacity: threads must be a positive integer, not ${options.threads}`);
  }
  checkCompatible(columns, rows);
  const asked = options.threads ?? threadsFromEnvironment();
  const work = columns.channels * rows.channels * columns.pairs;
  const sharedCodes = columns.codes.buffer instanceof SharedArrayBuffer && rows.codes.buffer instanceof SharedArrayBuffer;
  // One scratch slot of the arena per thread.
  let wanted = Math.min(ARENA_SLOTS, asked ?? (work >= PARALLEL_MIN_INCREMENTS ? availableParallelism() : 1));
  const entry = wanted > 1 && sharedCodes ? workerEntry(__dirname, 'capacityWorker') : undefined;
  if (entry === undefined) wanted = 1;
  const shared = wanted > 1;
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
    kernel: options.kernel ?? 'auto',
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
  const scratch = cellScratch(columns, rows, 0, job.kernel);
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

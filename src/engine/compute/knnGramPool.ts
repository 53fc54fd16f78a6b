// Warm worker threads for the blocked Gram k-NN (knnGram.ts), kept between calls. A worker takes
// 30–100 ms to start bundled (several times that through tsx on a loaded machine), and until it
// has started the main thread computes alone; a long-lived engine now pays that once. The
// workers are also lent, idle, to the inter-sample entropy (interSampleEntropy.ts), which follows
// every k-NN of the layer view: its σ and mutual-pair work (~0.1 s at n = 1,000, k = 999) is too
// small to pay for starting a thread, not for sharing one already running.
//
// Each worker (knnWorker.ts, kind 'pool') runs the jobs posted to it one after the other: a job
// is a Gram search's share (knnGramThread.ts) or an inter-sample entropy's (interSampleWorker).
// Messages carry the job's number, so that one job's late 'done' is not taken for the next's. A
// worker is lent to one job at a time; lent, it keeps the process alive (ref); back in the pool
// it does not (unref), and it is terminated after IDLE_MS unused.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { closeWorker, workerEntry } from './threads';

/** How long a worker stays in the pool unused: long enough for the next epoch or layer of a view. */
const IDLE_MS = 60_000;

/** What a pooled worker posts: progress within a Gram job, and the end of any job. */
export interface PoolMessage {
  readonly type: 'task' | 'done' | 'error';
  readonly seq: number;
  readonly message?: string;
}

/** A job as the pool posts it (knnWorker.ts runs it). */
export type PoolJob<T> = { readonly type: 'gram' | 'inter'; readonly seq: number; readonly id: number } & T;

export interface PooledWorker {
  readonly worker: Worker;
  /** Jobs posted and not yet ended: word 0, incremented here, decremented by the worker. */
  readonly pending: Int32Array;
  lent: boolean;
  dead: boolean;
  lastUsed: number;
  /** The message handler of the job it is lent to. */
  onMessage: ((msg: PoolMessage) => void) | undefined;
  /** Called once if the worker dies while lent. */
  onDeath: (() => void) | undefined;
}

const pool: PooledWorker[] = [];
let sequence = 0;
let reaper: ReturnType<typeof setTimeout> | undefined;

function start(model: Uint8Array): PooledWorker | undefined {
  const entry = workerEntry(__dirname, 'knnWorker');
  if (entry === undefined) return undefined;
  const pending = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(entry.filename, { execArgv: entry.execArgv, workerData: { kind: 'pool', model, pending } });
  const w: PooledWorker = { worker, pending, lent: false, dead: false, lastUsed: Date.now(), onMessage: undefined, onDeath: undefined };
  worker.on('message', (msg: PoolMessage) => w.onMessage?.(msg));
  const died = () => {
    if (w.dead) return;
    w.dead = true;
    const i = pool.indexOf(w);
    if (i >= 0) pool.splice(i, 1);
    w.onDeath?.();
  };
  worker.on('error', died);
  worker.on('exit', died);
  pool.push(w);
  return w;
}

/**
 * Up to `count` workers lent to the caller: idle ones first, then ones still ending an earlier job
 * (which run this one next), then, when `startNew`, new ones loading the Gram graph `model`.
 * Fewer when the worker entry cannot be found. Give them back with `giveBack`.
 */
export function lendWorkers(count: number, model: Uint8Array | undefined): PooledWorker[] {
  const free = pool.filter((w) => !w.lent && !w.dead).sort((a, b) => Atomics.load(a.pending, 0) - Atomics.load(b.pending, 0));
  const lent = free.slice(0, count);
  while (lent.length < count && model !== undefined) {
    const w = start(model);
    if (w === undefined) break;
    lent.push(w);
  }
  for (const w of lent) {
    w.lent = true;
    w.worker.ref();
  }
  return lent;
}

/** How many workers the pool could lend now without starting one: not lent, alive, no job pending. */
export function idleWorkers(): number {
  return pool.filter((w) => !w.lent && !w.dead && Atomics.load(w.pending, 0) === 0).length;
}

/** Posts a job to a lent worker; `data` goes to it as one structured-clone message. Returns the job's number. */
export function postJob<T extends object>(w: PooledWorker, type: 'gram' | 'inter', id: number, data: T): number {
  const seq = ++sequence;
  Atomics.add(w.pending, 0, 1);
  w.worker.postMessage({ ...data, type, seq, id });
  return seq;
}

/**
 * Takes lent workers back (a job they still run ends on its own: the caller has told it to stop
 * through its shared control words). Workers beyond one per core are terminated; the others are
 * kept until IDLE_MS unused.
 */
export function giveBack(workers: readonly PooledWorker[]): void {
  const now = Date.now();
  for (const w of workers) {
    w.lent = false;
    w.onMessage = undefined;
    w.onDeath = undefined;
    w.lastUsed = now;
    if (!w.dead) w.worker.unref();
  }
  const kept = Math.max(1, availableParallelism());
  const spare = pool.filter((w) => !w.lent && !w.dead);
  for (const w of spare.slice(kept)) retire(w);
  reaper ??= setTimeout(reap, IDLE_MS).unref();
}

function reap(): void {
  reaper = undefined;
  const now = Date.now();
  for (const w of pool.filter((w) => !w.lent && !w.dead && now - w.lastUsed >= IDLE_MS)) retire(w);
  if (pool.some((w) => !w.dead)) reaper = setTimeout(reap, IDLE_MS).unref();
}

/** Takes an idle worker out of the pool for good and ends it (after releasing its session: threads.ts). */
function retire(w: PooledWorker): void {
  w.dead = true;
  const i = pool.indexOf(w);
  if (i >= 0) pool.splice(i, 1);
  void closeWorker(w.worker);
}

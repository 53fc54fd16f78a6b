// What the paths of the exact k-NN (knn.ts: the dispatch and the integer path; knnFloat.ts: the
// float32 product with TopK; knnGram.ts: the blocked float32 Gram product for many dimensions)
// share: the options and result of `knn`, cancellation, and the float64 recomputation of a
// distance that every float path falls back on.
import { CnnSlicerError } from '../../shared/errors';
import type { IntegerGemmVariant } from './graphs';

export type KnnRefine = 'auto' | 'all' | 'cancellation';

export interface KnnOptions {
  /**
   * Checked between chunks: onnxruntime-node runs a session synchronously, so a chunk in flight
   * finishes first (float path: ≈ 0.6 s at N = 20,000 with the default block on two cores; the
   * blocked Gram path checks between its products of ~1,024 dimensions, a few milliseconds each;
   * the integer path's tasks take a few tens of milliseconds).
   */
  signal?: AbortSignal;
  /**
   * Called after each chunk with the number of query rows done and n; on the integer path, whose
   * rows are all finished in its last stage, with the share of the work done, counted in rows.
   */
  onProgress?: (done: number, total: number) => void;
  /**
   * Float paths: query rows per chunk, by default as many as keep a [rows, n] block
   * ≤ maxBlockBytes (on the blocked Gram path, 256 when the whole n × n Gram matrix fits it).
   * Integer path: rows per block, 1,024 by default.
   */
  chunkRows?: number;
  /**
   * Float paths: bound on the [rows, n] block of one call; default 128 MiB. The blocked Gram path
   * keeps the whole n × n float64 Gram matrix, and computes only its upper triangle, when that
   * fits; otherwise it computes [rows, n] float64 blocks of it in full.
   */
  maxBlockBytes?: number;
  /**
   * Which returned distances the float paths recompute exactly in float64 (see knnFloat.ts and
   * knnGram.ts). 'auto' (default): 'all' when n·(k+1)·d ≤ 2²⁸ (well under a second), else
   * 'cancellation'. The integer path needs none.
   */
  refine?: KnnRefine;
  /** Whether points on an exact grid of ≤ 256 levels take the integer path; default true. */
  integer?: boolean;
  /**
   * Dimensions per float32 product of the blocked Gram path (knnGram.ts), whose partial products
   * are summed in float64; points of more dimensions than this take that path. Default 1,024.
   */
  blockDims?: number;
  /**
   * Threads for the integer path, the main one included. Default: the CNNSLICER_THREADS
   * environment variable, else every core, and then only when the product is large enough
   * (≥ 2³⁴ multiply-adds) for worker start-up not to matter; given here or in the environment,
   * the count is used whatever the size.
   */
  threads?: number;
  /**
   * Whether the calling thread computes its share of the integer path (default) or, when there are
   * worker threads, only coordinates them: for tests that must see the workers do the work.
   */
  callerComputes?: boolean;
  /**
   * The integer product to use, for tests of the one a CPU would not pick: by default the fastest
   * that a check on a worst-case product finds exact here ('u8s8' with VNNI, else 'u8u8').
   */
  integerVariant?: IntegerGemmVariant;
}

export interface KnnResult {
  readonly n: number;
  readonly k: number;
  /**
   * n × k Euclidean distances, each row ascending; a point is never its own neighbour. On the
   * integer path this and `indices` are views of SharedArrayBuffers, which the worker threads of
   * interSampleEntropy then read without a copy.
   */
  readonly distances: Float32Array;
  /** n × k neighbour indices matching `distances`; equal distances are ordered by index. */
  readonly indices: Int32Array;
  /**
   * How many distances were recomputed in float64 from the points (about n·k with refine 'all';
   * 0 on the integer path; on the blocked Gram path, every pair its bound cannot vouch for, among
   * all n − 1 candidates of a row, not only the k returned).
   */
  readonly refined: number;
  /** Which path computed the result: 'float32' for both float paths (see knn.ts). */
  readonly method: 'float32' | 'integer';
  /** Worker threads that computed part of the result (0 on the float paths, whose threads are onnxruntime's). */
  readonly workerThreads: number;
}

export const DEFAULT_BLOCK_BYTES = 128 * 1024 * 1024;
/** Below this many multiply-adds (a few tenths of a second on one core) a k-NN stays on one thread. */
export const PARALLEL_MIN_WORK = 2 ** 34;
export const AUTO_REFINE_ALL_LIMIT = 2 ** 28;
/** The unit roundoff of float32. */
export const U32 = 2 ** -24;
/** The unit roundoff of float64. */
export const U64 = 2 ** -53;
/** A returned D² is recomputed when its error bound exceeds this fraction of it. */
export const CANCELLATION_RATIO = 2 ** -10;
/** Row sorting packs an index into the 29 low mantissa bits a float32 value leaves zero in a float64. */
export const INDEX_BITS = 29;
export const INDEX_MASK = 2 ** INDEX_BITS - 1;
export const LOW_WORD = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1 ? 0 : 1;

export function checkSignal(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CnnSlicerError('cancelled', 'the k-nearest-neighbour search was cancelled');
}

/** Lets the event loop run (heartbeats, cancellation messages) between blocking onnxruntime calls. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Whether refine 'auto' means 'all' for this size (see KnnOptions.refine). */
export function refinesAll(refine: KnnRefine | undefined, n: number, k: number, d: number): boolean {
  return refine === 'all' || ((refine ?? 'auto') === 'auto' && n * (k + 1) * d <= AUTO_REFINE_ALL_LIMIT);
}

/** |points[i] − points[j]|² from the coordinates, in float64: exact but for its own rounding (~d·2⁻⁵³ relative). */
export function exactSquaredDistance(points: Float32Array, d: number, i: number, j: number): number {
  const a = i * d;
  const b = j * d;
  // Two accumulators: about a third faster in V8 than one, and no less exact in float64. The odd
  // coordinate first: after the loop it would deoptimise code compiled while the loop ran.
  let s0 = 0;
  let s1 = 0;
  const odd = d % 2;
  if (odd === 1) {
    const u = points[a] - points[b];
    s0 = u * u;
  }
  for (let t = odd; t < d; t += 2) {
    const u = points[a + t] - points[b + t];
    const v = points[a + t + 1] - points[b + t + 1];
    s0 += u * u;
    s1 += v * v;
  }
  return s0 + s1;
}

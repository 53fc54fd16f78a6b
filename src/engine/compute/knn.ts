// Exact k nearest neighbours (Euclidean) of every point among all the others: the first stage of
// the inter-sample entropy (paper §4.4.1), where N can be 20,000 points of 784 dimensions and
// k = 1000. A brute-force O(N²·d) product is the right tool at that size: in hundreds of
// dimensions no spatial index prunes anything, and a GEMM runs close to the CPU's peak, or on the
// GPU when CUDA is present. Two paths, chosen per call:
//
//
// INTEGER (exact-grid) PATH, on the CPU, when every value lies on a grid of at most 256 levels
// (images scaled from 8-bit pixels): exact int32 dot products from onnxruntime's MatMulInteger,
// on every core (knnInteger.ts; the grid test in knnIntegerGrid.ts, each thread's work in
// knnIntegerThread.ts).
//
// FLOAT PATHS, for everything else. Points of at most `blockDims` dimensions (1,024 by default):
// onnxruntime's float32 Gemm and TopK, on CUDA when it is in use (knnFloat.ts). More dimensions
// (hidden layers' activations: 32,768 for 128 channels of 16×16): a Gram product in float32
// blocks of `blockDims` dimensions summed in float64, whose error bound does not grow with d, on
// its upper triangle, with the selection in JavaScript, always on the CPU (knnGram.ts). Both
// recompute in float64 every distance their worst-case bound cannot vouch for to 2⁻¹⁰ relative
// (see their top comments).
import { CnnSlicerError } from '../../shared/errors';
import { executionProviderInUse } from '../onnx/ortRuntime';
import { knnBlockSession } from './graphs';
import { knnFloat } from './knnFloat';
import { DEFAULT_GRAM_BLOCK_DIMS, GramWorkers, knnGram } from './knnGram';
import { scanPoints } from './knnGramLayout';
import { INDEX_MASK, type KnnOptions, type KnnResult, checkSignal } from './knnShared';
import { exactGrid, exactIntegerVariant } from './knnIntegerGrid';
import { keyBits } from './knnIntegerThread';
import { knnInteger } from './knnInteger';

export type { KnnOptions, KnnRefine, KnnResult } from './knnShared';

/** Checks the sizes of the request. */
function validateShape(points: Float32Array, n: number, d: number, k: number): void {
  for (const [name, v] of [
    ['n', n],
    ['d', d],
    ['k', k],
  ] as const) {
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

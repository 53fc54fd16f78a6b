// Exact k nearest neighbours (Euclidean) of every point among all the others: the first stage of
// the inter-sample entropy (paper §4.4.1), where N can be 20,000 points of 784 dimensions and
// k = 1000. A brute-force O(N²·d) product is the right tool at that size: in hundreds of
// dimensions no spatial index prunes anything, and onnxruntime's float32 GEMM runs close to the
// CPU's peak (about 150 GFLOP/s on two AVX-512 cores here), or on the GPU when CUDA is present.
//
// Selection is onnxruntime's TopK, inside the graph, so only [m, k+1] values leave it (on a GPU,
// only they cross the bus). A heap in JS over the whole block was tried on the CPU: with the
// block copy it was no faster than TopK on two cores (≈ 200 ms per 1,677 × 20,000 block for
// either) and TopK, unlike JS, uses every core.
//
// Precision. Ranking uses D² = |q|² − 2q·x + |x|², computed in float32. Its error comes from the
// dot product and is bounded by E = c_d·(|q|² + |x|²) with c_d ≈ (d + 4)·2⁻²⁴, i.e. relative to
// the norms, not to D². Where D² is small against the norms (near-duplicates) the float32 value is
// mostly noise: it can be negative, and two near-duplicates can come out in the wrong order. So:
//   - the points are centred first (distances do not change, the norms and hence E shrink);
//   - every returned distance whose float32 value is within a factor 2¹⁰ of its bound E
//     (relative error possibly above 2⁻¹⁰) is recomputed exactly, in float64, from the vectors,
//     and each row is re-sorted;
//   - with `refine: 'all'` (the default when n·k·d is small) every returned distance is.
// Recomputing all of them is the cleanest contract but costs n·k·d float64 operations in JS,
// which is 15.7·10⁹ at N = 20,000, k = 1000, d = 784: about 30 s here against under 10 s for the
// whole search. The targeted pass gives the same answer for near-duplicates (exact values, exact
// order) and elsewhere leaves errors below 2⁻¹⁰ relative by the worst-case bound; measured on
// MNIST (N = 20,000) the largest was 1.6·10⁻⁶, the mean 4·10⁻⁸.
// Which neighbours are returned is exact up to ties within that error: swapping two points whose
// distances agree to within it changes no estimator downstream.
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { CnnSlicerError } from '../../shared/errors';
import { makeTensor } from '../onnx/ortRuntime';
import { knnBlockSession } from './graphs';

export type KnnRefine = 'auto' | 'all' | 'cancellation';

export interface KnnOptions {
  /**
   * Checked between chunks: onnxruntime-node runs a session synchronously, so a chunk in flight
   * finishes first (≈ 0.6 s at N = 20,000 with the default block on two cores).
   */
  signal?: AbortSignal;
  /** Called after each chunk with the number of query rows done and n. */
  onProgress?: (done: number, total: number) => void;
  /** Query rows per onnxruntime call; by default as many as keep the [rows, n] block ≤ maxBlockBytes. */
  chunkRows?: number;
  /** Bound on the float32 [rows, n] distance block of one call; default 128 MiB. */
  maxBlockBytes?: number;
  /**
   * Which returned distances are recomputed exactly in float64 (see the top of this file).
   * 'auto' (default): 'all' when n·(k+1)·d ≤ 2²⁸ (well under a second), else 'cancellation'.
   */
  refine?: KnnRefine;
}

export interface KnnResult {
  readonly n: number;
  readonly k: number;
  /** n × k Euclidean distances, each row ascending; a point is never its own neighbour. */
  readonly distances: Float32Array;
  /** n × k neighbour indices matching `distances`; equal distances are ordered by index. */
  readonly indices: Int32Array;
  /** How many candidate distances were recomputed in float64 (about n·k with refine 'all'). */
  readonly refined: number;
}

const DEFAULT_BLOCK_BYTES = 128 * 1024 * 1024;
const AUTO_REFINE_ALL_LIMIT = 2 ** 28;
const U32 = 2 ** -24;
/** A returned D² is recomputed when its float32 error bound exceeds this fraction of it. */
const CANCELLATION_RATIO = 2 ** -10;
/** Row sorting packs an index into the 29 low mantissa bits a float32 value leaves zero in a float64. */
const INDEX_BITS = 29;
const INDEX_MASK = 2 ** INDEX_BITS - 1;
const LOW_WORD = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1 ? 0 : 1;

function checkSignal(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CnnSlicerError('cancelled', 'the k-nearest-neighbour search was cancelled');
}

/** Lets the event loop run (heartbeats, cancellation messages) between blocking onnxruntime calls. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

function exactSquaredDistance(points: Float32Array, d: number, i: number, j: number): number {
  const a = i * d;
  const b = j * d;
  // Two accumulators: about a third faster in V8 than one, and no less exact in float64.
  let s0 = 0;
  let s1 = 0;
  let t = 0;
  for (; t + 1 < d; t += 2) {
    const u = points[a + t] - points[b + t];
    const v = points[a + t + 1] - points[b + t + 1];
    s0 += u * u;
    s1 += v * v;
  }
  if (t < d) {
    const u = points[a + t] - points[b + t];
    s0 += u * u;
  }
  return s0 + s1;
}

function validate(points: Float32Array, n: number, d: number, k: number): void {
  for (const [name, v] of [['n', n], ['d', d], ['k', k]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new CnnSlicerError('bad-request', `k-NN: ${name} must be a positive integer, not ${v}`);
  }
  if (n < 2) throw new CnnSlicerError('bad-request', 'k-NN needs at least 2 points');
  if (n > INDEX_MASK) throw new CnnSlicerError('bad-request', `k-NN: ${n} points is more than the ${INDEX_MASK} supported`);
  if (k > n - 1) throw new CnnSlicerError('bad-request', `k-NN: k = ${k} but there are only ${n - 1} other points`);
  if (points.length !== n * d) throw new CnnSlicerError('bad-request', `k-NN: ${points.length} values do not make ${n} points of ${d} dimensions`);
  for (let i = 0; i < points.length; i++) {
    if (!Number.isFinite(points[i])) {
      throw new CnnSlicerError('bad-request', `k-NN: point ${Math.floor(i / d)} has a non-finite value (${points[i]}) in dimension ${i % d}`);
    }
  }
}

/**
 * Centres the points (float64 mean, rounded back to float32) and returns them with their squared
 * norms, both as float64 (for the error bound) and as float32 (the graph's XX input).
 */
function centre(points: Float32Array, n: number, d: number): { centred: Float32Array; norms: Float64Array; norms32: Float32Array } {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const o = i * d;
    for (let t = 0; t < d; t++) mean[t] += points[o + t];
  }
  for (let t = 0; t < d; t++) mean[t] /= n;
  const centred = new Float32Array(n * d);
  const norms = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * d;
    let s = 0;
    for (let t = 0; t < d; t++) {
      const v = Math.fround(points[o + t] - mean[t]);
      centred[o + t] = v;
      s += v * v;
    }
    norms[i] = s;
  }
  return { centred, norms, norms32: Float32Array.from(norms) };
}

/**
 * Exact k nearest neighbours of each of the n points (rows of `points`, n × d, row-major) among
 * the others, by Euclidean distance. Memory stays O(n·d + rows·n): the points, their centred copy
 * and one [rows, n] block at a time inside onnxruntime.
 */
export async function knn(points: Float32Array, n: number, d: number, k: number, opts: KnnOptions = {}): Promise<KnnResult> {
  validate(points, n, d, k);
  checkSignal(opts.signal);
  const refineAll = opts.refine === 'all' || ((opts.refine ?? 'auto') === 'auto' && n * (k + 1) * d <= AUTO_REFINE_ALL_LIMIT);
  const blockBytes = opts.maxBlockBytes ?? DEFAULT_BLOCK_BYTES;
  const rowsPerChunk = Math.max(1, Math.min(n, opts.chunkRows ?? Math.floor(blockBytes / (4 * n))));
  if (!Number.isInteger(rowsPerChunk)) throw new CnnSlicerError('bad-request', `k-NN: chunkRows must be an integer, not ${opts.chunkRows}`);

  const session: InferenceSession = await knnBlockSession();
  const { centred, norms, norms32 } = centre(points, n, d);
  const cBound = (d + 4) * U32 * 1.01;
  const kk = k + 1;
  const xTensor = makeTensor(centred, [n, d]);
  const xxTensor = makeTensor(norms32, [1, n]);
  const kTensor = makeTensor(new BigInt64Array([BigInt(kk)]), [1]);

  const distances = new Float32Array(n * k);
  const indices = new Int32Array(n * k);
  let refined = 0;
  // Per-row sort keys, reused: see below.
  const keys = new Float64Array(kk);
  const keyWords = new Uint32Array(keys.buffer);

  for (let r0 = 0; r0 < n; r0 += rowsPerChunk) {
    checkSignal(opts.signal);
    const r1 = Math.min(n, r0 + rowsPerChunk);
    const m = r1 - r0;
    let out: InferenceSession.OnnxValueMapType;
    try {
      out = await session.run({ Q: makeTensor(centred.subarray(r0 * d, r1 * d), [m, d]), X: xTensor, XX: xxTensor, K: kTensor });
    } catch (err) {
      throw new CnnSlicerError('internal', `k-NN block for rows ${r0}…${r1 - 1} failed in onnxruntime: ${err instanceof Error ? err.message : String(err)}`);
    }
    const values = (out.V as Tensor).data as Float32Array;
    // The int64 column indices read as their low 32-bit words: they are < n < 2³¹, and reading
    // a BigInt64Array element allocates a BigInt, which cost ~0.5 s over 20 million of them.
    const cols = out.I.data as BigInt64Array;
    const colWords = new Uint32Array(cols.buffer, cols.byteOffset, 2 * cols.length);

    for (let r = 0; r < m; r++) {
      const i = r0 + r;
      const qq = norms[i];
      // Drop the query itself. It is usually first, but not when another point has the same
      // vector (ties go to the lower index) or when rounding puts a near-duplicate ahead of it;
      // and it may be missing altogether when more than k points coincide with it, in which case
      // the farthest candidate is the one dropped, after sorting.
      let w = 0;
      let ordered = true;
      let previous = -1;
      for (let c = 0; c < kk; c++) {
        const t = r * kk + c;
        const j = colWords[2 * t + LOW_WORD];
        if (j === i) continue;
        const v = values[t] + qq;
        let d2: number;
        if (refineAll || cBound * (qq + norms[j]) > CANCELLATION_RATIO * v) {
          d2 = exactSquaredDistance(points, d, i, j);
          refined++;
        } else {
          d2 = v > 0 ? v : 0;
        }
        // The row is sorted on the float32 distance that is returned, so each returned row is
        // exactly ascending, with the index in the 29 mantissa bits a float32 leaves zero in a
        // float64: equal distances then order by index, and a native numeric sort does the work
        // of a comparator sort. Rows that TopK's order already satisfies skip the sort.
        keys[w] = Math.fround(Math.sqrt(d2));
        keyWords[2 * w + LOW_WORD] |= j;
        if (keys[w] < previous) ordered = false;
        previous = keys[w];
        w++;
      }
      if (!ordered) keys.subarray(0, w).sort();
      const o = i * k;
      for (let c = 0; c < k; c++) {
        const j = keyWords[2 * c + LOW_WORD] & INDEX_MASK;
        keyWords[2 * c + LOW_WORD] -= j;
        distances[o + c] = keys[c];
        indices[o + c] = j;
      }
    }
    opts.onProgress?.(r1, n);
    await yieldToEventLoop();
  }
  checkSignal(opts.signal);
  return { n, k, distances, indices, refined };
}

// The float32 k-NN with the selection inside onnxruntime (see knn.ts for when it is used: points
// off an 8-bit grid of at most `blockDims` dimensions, 1,024 by default, and everything on CUDA):
// onnxruntime's float32 Gemm and TopK inside the graph, so only [m, k+1] values leave it (on a
// GPU, only they cross the bus). Points of more dimensions take the blocked Gram path of
// knnGram.ts, whose error bound does not grow with d.
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
import {
  CANCELLATION_RATIO,
  DEFAULT_BLOCK_BYTES,
  INDEX_MASK,
  type KnnOptions,
  type KnnResult,
  LOW_WORD,
  U32,
  checkSignal,
  exactSquaredDistance,
  messageOf,
  refinesAll,
  yieldToEventLoop,
} from './knnShared';

/**
 * Float path: writes the k-NN row of query i from its candidates other than i (k, or k + 1 when i was not
 * among the K = k + 1 selected because more than k points coincide with it), given as float32
 * distances in `keys[0, count)` (float64 slots) with each candidate's index in the 29 low mantissa
 * bits a float32 leaves zero in a float64. Sorting these keys orders by distance, then index, so
 * a native numeric sort does the work of a comparator sort; rows already in order (most) skip it.
 * The first k are kept: the farthest candidate is the one dropped.
 */
function writeRow(i: number, k: number, keys: Float64Array, keyWords: Uint32Array, count: number, distances: Float32Array, indices: Int32Array): void {
  let ordered = true;
  for (let c = 1; c < count && ordered; c++) ordered = keys[c - 1] < keys[c];
  if (!ordered) keys.subarray(0, count).sort();
  const o = i * k;
  for (let c = 0; c < k; c++) {
    const j = keyWords[2 * c + LOW_WORD] & INDEX_MASK;
    keyWords[2 * c + LOW_WORD] -= j;
    distances[o + c] = keys[c];
    indices[o + c] = j;
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

export async function knnFloat(session: InferenceSession, points: Float32Array, n: number, d: number, k: number, opts: KnnOptions): Promise<KnnResult> {
  const refineAll = refinesAll(opts.refine, n, k, d);
  const blockBytes = opts.maxBlockBytes ?? DEFAULT_BLOCK_BYTES;
  const rowsPerChunk = Math.max(1, Math.min(n, opts.chunkRows ?? Math.floor(blockBytes / (4 * n))));

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
      throw new CnnSlicerError('internal', `k-NN block for rows ${r0}…${r1 - 1} failed in onnxruntime: ${messageOf(err)}`);
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
      // and it may be missing altogether when more than k points coincide with it.
      let w = 0;
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
        // exactly ascending, equal distances ordered by index.
        keys[w] = Math.fround(Math.sqrt(d2));
        keyWords[2 * w + LOW_WORD] |= j;
        w++;
      }
      writeRow(i, k, keys, keyWords, w, distances, indices);
    }
    opts.onProgress?.(r1, n);
    await yieldToEventLoop();
  }
  checkSignal(opts.signal);
  return { n, k, distances, indices, refined, method: 'float32', workerThreads: 0 };
}

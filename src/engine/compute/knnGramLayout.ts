// The layout step of the blocked Gram k-NN (knnGram.ts), on the main thread, which alone has the
// caller's points: their column statistics (in onnxruntime) for the checks, the centre and the
// dimensions worth multiplying, then one pass writing the centred points into the slices the
// products read. Worker threads cannot read the caller's array (it is not shared), and
// copying it into shared memory for them cost as much as this whole step (131 MB of page faults
// and copying at n = 1,000, d = 32,768), while they are mostly still starting up meanwhile.
import type { InferenceSession } from 'onnxruntime-node';
import { CnnSlicerError } from '../../shared/errors';
import { makeTensor } from '../onnx/ortRuntime';
import { columnStatsSession } from './graphs';
import { messageOf } from './knnShared';

/** What scanPoints finds. */
export interface PointScan {
  readonly min: number;
  readonly max: number;
  /** Whether every value is finite (NaN and ±Infinity are not). */
  readonly finite: boolean;
  /** The mean of the points, rounded to float32. */
  readonly centre: Float32Array;
  /** The dimensions that vary between points, ascending (at least one). */
  readonly kept: Int32Array;
}

/**
 * Everything the blocked Gram path needs before its layout, from each dimension's minimum,
 * maximum and sum over the points (buildColumnStatsGraph, in onnxruntime): the checks knn() makes
 * of any points (finite values; the range, for its 8-bit grid test), the centre and the dimensions
 * that vary. Any centre leaves the distances as they are; the mean shrinks the norms, and with
 * them the error bound. A dimension constant over all points (minimum = maximum) adds exactly 0
 * to every distance, so it is left out of the products: image borders and dead units make many
 * (36% of the 32,768 of bench a2's layer, whose MNIST digits never reach the border).
 */
export async function scanPoints(points: Float32Array, n: number, d: number): Promise<PointScan> {
  let stats: InferenceSession.OnnxValueMapType;
  try {
    stats = await (await columnStatsSession()).run({ P: makeTensor(points, [n, d]) });
  } catch (err) {
    throw new CnnSlicerError('model-error', `k-NN: cannot compute the points' column statistics in onnxruntime: ${messageOf(err)}`);
  }
  const lo = stats.MIN.data as Float32Array;
  const hi = stats.MAX.data as Float32Array;
  const sum = stats.SUM.data as Float32Array;
  let min = Infinity;
  let max = -Infinity;
  let finite = true;
  const centre = new Float32Array(d);
  const varies = new Uint8Array(d);
  let dims = 0;
  for (let t = 0; t < d; t++) {
    // A NaN or ±Infinity makes its column's sum NaN or infinite; so can an overflowing sum of
    // finite values, which the column's own values then tell apart.
    if (!Number.isFinite(sum[t]) && !columnFinite(points, n, d, t)) finite = false;
    min = Math.min(min, lo[t]);
    max = Math.max(max, hi[t]);
    centre[t] = Number.isFinite(sum[t]) ? sum[t] / n : 0.5 * lo[t] + 0.5 * hi[t];
    if (lo[t] !== hi[t]) {
      varies[t] = 1;
      dims++;
    }
  }
  // At least one, so that the products keep a shape (all points equal: every distance is 0).
  if (dims === 0) varies[0] = dims = 1;
  const kept = new Int32Array(dims);
  for (let t = 0, w = 0; t < d; t++) if (varies[t] === 1) kept[w++] = t;
  return { min, max, finite, centre, kept };
}

function columnFinite(points: Float32Array, n: number, d: number, t: number): boolean {
  for (let i = 0; i < n; i++) if (!Number.isFinite(points[i * d + t])) return false;
  return true;
}

/**
 * The kept dimensions as runs of consecutive ones, cut where a slice of b ends: run r copies
 * `length[r]` values from dimension `from[r]` of a point to offset `to[r] + i·width[r]` of the
 * sliced layout for point i; slice s's runs are [first[s], first[s + 1]). Contiguous loops, where
 * one index lookup per value was 8 ns a value.
 */
interface Runs {
  readonly from: Int32Array;
  readonly to: Int32Array;
  readonly width: Int32Array;
  readonly length: Int32Array;
  readonly first: Int32Array;
}

function runsOf(kept: Int32Array, n: number, b: number): Runs {
  const dims = kept.length;
  const from: number[] = [];
  const to: number[] = [];
  const width: number[] = [];
  const length: number[] = [];
  const first: number[] = [];
  for (let q = 0; q < dims;) {
    const s0 = q - (q % b);
    if (q === s0) first.push(from.length);
    const sliceEnd = Math.min(dims, s0 + b);
    let end = q + 1;
    while (end < sliceEnd && kept[end] === kept[end - 1] + 1) end++;
    from.push(kept[q]);
    to.push(n * s0 + (q - s0));
    width.push(sliceEnd - s0);
    length.push(end - q);
    q = end;
  }
  first.push(from.length);
  return {
    from: Int32Array.from(from),
    to: Int32Array.from(to),
    width: Int32Array.from(width),
    length: Int32Array.from(length),
    first: Int32Array.from(first),
  };
}

/**
 * Writes the points' kept dimensions, centred (each fl(p − centre), float32), into `data`, slice
 * by slice: slice s (kept dimensions [s·b, s·b + w)) of all n points, n × w row-major, at offset
 * n·s·b, so that every product operand is one contiguous range. Calls `sliceDone(s)` after each,
 * so that the products can start on it. Also |ci|² (float64: each square of a float32 is exact,
 * summed by slice) and |ci|, complete when the last slice is announced.
 */
export function layoutPoints(
  points: Float32Array,
  n: number,
  d: number,
  centre: Float32Array,
  kept: Int32Array,
  b: number,
  data: Float32Array,
  norms: Float64Array,
  roots: Float64Array,
  sliceDone: (s: number) => void,
): void {
  const runs = runsOf(kept, n, b);
  const slices = runs.first.length - 1;
  norms.fill(0);
  for (let s = 0; s < slices; s++) {
    layoutSlice(points, n, d, centre, runs, runs.first[s], runs.first[s + 1], data, norms);
    // The norms are complete before the last slice is announced: a product task that finishes
    // rows (without the whole Gram matrix) may use them as soon as it has that slice.
    if (s === slices - 1) for (let i = 0; i < n; i++) roots[i] = Math.sqrt(norms[i]);
    sliceDone(s);
  }
}

/**
 * Runs [r0, r1) (one slice) of every point, four points a pass, adding their squares to norms. A
 * function of its own, called once a slice, so that V8 optimises it as a whole after a few slices
 * instead of compiling the loop in the middle of the first one and then deoptimising at the code
 * after it, which it had not yet met (three compilations of the layout a run, before).
 */
function layoutSlice(
  points: Float32Array,
  n: number,
  d: number,
  centre: Float32Array,
  runs: Runs,
  r0: number,
  r1: number,
  data: Float32Array,
  norms: Float64Array,
): void {
  const last = n - (n % ROWS_AT_ONCE);
  for (let i = last; i < n; i++) norms[i] += layoutRow(points, i * d, i, centre, r0, r1, runs.from, runs.to, runs.width, runs.length, data);
  for (let i = 0; i < last; i += ROWS_AT_ONCE) {
    const sq = layoutFourRows(points, i * d, d, i, centre, r0, r1, runs.from, runs.to, runs.width, runs.length, data);
    norms[i] += sq[0];
    norms[i + 1] += sq[1];
    norms[i + 2] += sq[2];
    norms[i + 3] += sq[3];
  }
}

/** Points laid out together by layoutFourRows. */
const ROWS_AT_ONCE = 4;
const fourSums = new Float64Array(ROWS_AT_ONCE);

/**
 * Runs [r0, r1) of points i … i + 3 (at points[o…], d apart), written to consecutive rows of their
 * slice; returns the sums of their squares (in a shared array, read before the next call). Four
 * points a pass share each run's bounds and each centre value: 45 ms against 80 one point at a
 * time for bench a2's 20,103 × 1,000 values, written to memory already touched.
 */
function layoutFourRows(
  points: Float32Array,
  o: number,
  d: number,
  i: number,
  centre: Float32Array,
  r0: number,
  r1: number,
  from: Int32Array,
  to: Int32Array,
  width: Int32Array,
  length: Int32Array,
  data: Float32Array,
): Float64Array {
  let sq0 = 0;
  let sq1 = 0;
  let sq2 = 0;
  let sq3 = 0;
  for (let r = r0; r < r1; r++) {
    const c = from[r];
    const src = o + c;
    const w = width[r];
    const dst = to[r] + i * w;
    const len = length[r];
    for (let t = 0; t < len; t++) {
      const m = centre[c + t];
      const v0 = Math.fround(points[src + t] - m);
      const v1 = Math.fround(points[src + d + t] - m);
      const v2 = Math.fround(points[src + 2 * d + t] - m);
      const v3 = Math.fround(points[src + 3 * d + t] - m);
      data[dst + t] = v0;
      data[dst + w + t] = v1;
      data[dst + 2 * w + t] = v2;
      data[dst + 3 * w + t] = v3;
      sq0 += v0 * v0;
      sq1 += v1 * v1;
      sq2 += v2 * v2;
      sq3 += v3 * v3;
    }
  }
  fourSums[0] = sq0;
  fourSums[1] = sq1;
  fourSums[2] = sq2;
  fourSums[3] = sq3;
  return fourSums;
}

/** Runs [r0, r1) of point i (at points[o…]); returns the sum of their squares. */
function layoutRow(
  points: Float32Array,
  o: number,
  i: number,
  centre: Float32Array,
  r0: number,
  r1: number,
  from: Int32Array,
  to: Int32Array,
  width: Int32Array,
  length: Int32Array,
  data: Float32Array,
): number {
  let sq = 0;
  for (let r = r0; r < r1; r++) {
    const c = from[r];
    const src = o + c;
    const dst = to[r] + i * width[r];
    const len = length[r];
    for (let t = 0; t < len; t++) {
      const v = Math.fround(points[src + t] - centre[c + t]);
      data[dst + t] = v;
      sq += v * v;
    }
  }
  return sq;
}

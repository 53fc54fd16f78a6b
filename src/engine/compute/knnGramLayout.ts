// The layout step of the blocked Gram k-NN (knnGram.ts), on the main thread, which alone has the
// caller's points: one pass for the checks, the centre and the dimensions worth multiplying, and
// one writing the centred points into the slices the products read. Worker threads cannot read the caller's array (it is not shared), and
// copying it into shared memory for them cost as much as this whole step (131 MB of page faults
// and copying at n = 1,000, d = 32,768), while they are mostly still starting up meanwhile.

/** How many points the centre is the mean of. */
const CENTRE_SAMPLE = 128;

/** What scanPoints finds in one pass over the points. */
export interface PointScan {
  readonly min: number;
  readonly max: number;
  /** Whether every value is finite (NaN and ±Infinity are not). */
  readonly finite: boolean;
  /** The mean of up to CENTRE_SAMPLE evenly spaced points, rounded to float32. */
  readonly centre: Float32Array;
  /** The dimensions that vary between points, ascending (at least one). */
  readonly kept: Int32Array;
}

/**
 * One pass over the points for everything the blocked Gram path needs before its layout: the
 * checks knn() makes of any points (finite values; the range, for its 8-bit grid test), the centre
 * and the dimensions that vary. Any centre leaves the distances as they are; the mean of a sample
 * shrinks the norms, and with them the error bound, nearly as well as the full mean. A dimension
 * constant over all points adds exactly 0 to every distance, so it is left out of the products:
 * image borders and dead units make many (36% of the 32,768 of bench a2's layer, whose MNIST
 * digits never reach the border). One pass cost 120 ms here where the checks alone took 70 and a
 * second pass for the centre and the constant dimensions 85.
 */
export function scanPoints(points: Float32Array, n: number, d: number): PointScan {
  const stride = Math.max(1, Math.floor(n / CENTRE_SAMPLE));
  const sum = new Float64Array(d);
  const varies = new Uint8Array(d);
  let min0 = Infinity;
  let max0 = -Infinity;
  let min1 = Infinity;
  let max1 = -Infinity;
  // v − v is 0 for a finite v and NaN otherwise: one sum checks them all, with no branch a value.
  let finite = 0;
  let count = 0;
  for (let i = 0; i < n; i++) {
    const o = i * d;
    const sampled = i % stride === 0;
    if (sampled) count++;
    let t = 0;
    for (; t + 1 < d; t += 2) {
      const v = points[o + t];
      const w = points[o + t + 1];
      min0 = Math.min(min0, v);
      max0 = Math.max(max0, v);
      min1 = Math.min(min1, w);
      max1 = Math.max(max1, w);
      finite += v - v + (w - w);
      if (v !== points[t]) varies[t] = 1;
      if (w !== points[t + 1]) varies[t + 1] = 1;
      if (sampled) {
        sum[t] += v;
        sum[t + 1] += w;
      }
    }
    if (t < d) {
      const v = points[o + t];
      min0 = Math.min(min0, v);
      max0 = Math.max(max0, v);
      finite += v - v;
      if (v !== points[t]) varies[t] = 1;
      if (sampled) sum[t] += v;
    }
  }
  const centre = new Float32Array(d);
  for (let t = 0; t < d; t++) centre[t] = sum[t] / count;
  let dims = 0;
  for (let t = 0; t < d; t++) dims += varies[t];
  // At least one, so that the products keep a shape (all points equal: every distance is 0).
  if (dims === 0) varies[0] = dims = 1;
  const kept = new Int32Array(dims);
  for (let t = 0, w = 0; t < d; t++) if (varies[t] === 1) kept[w++] = t;
  return { min: Math.min(min0, min1), max: Math.max(max0, max1), finite: finite === 0, centre, kept };
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
  for (let q = 0; q < dims; ) {
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
  return { from: Int32Array.from(from), to: Int32Array.from(to), width: Int32Array.from(width), length: Int32Array.from(length), first: Int32Array.from(first) };
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
    for (let i = 0; i < n; i++) {
      norms[i] += layoutRow(points, i * d, i, centre, runs.first[s], runs.first[s + 1], runs.from, runs.to, runs.width, runs.length, data);
    }
    // The norms are complete before the last slice is announced: a product task that finishes
    // rows (without the whole Gram matrix) may use them as soon as it has that slice.
    if (s === slices - 1) for (let i = 0; i < n; i++) roots[i] = Math.sqrt(norms[i]);
    sliceDone(s);
  }
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
  // Two accumulators, two values a step: ~1.5× faster in V8 (the norm is as exact either way).
  let sq0 = 0;
  let sq1 = 0;
  for (let r = r0; r < r1; r++) {
    const src = o + from[r];
    const c = from[r];
    const dst = to[r] + i * width[r];
    const len = length[r];
    let t = 0;
    for (; t + 1 < len; t += 2) {
      const v = Math.fround(points[src + t] - centre[c + t]);
      const u = Math.fround(points[src + t + 1] - centre[c + t + 1]);
      data[dst + t] = v;
      data[dst + t + 1] = u;
      sq0 += v * v;
      sq1 += u * u;
    }
    if (t < len) {
      const v = Math.fround(points[src + t] - centre[c + t]);
      data[dst + t] = v;
      sq0 += v * v;
    }
  }
  return sq0 + sq1;
}

// The layout step of the blocked Gram k-NN (knnGram.ts), on the main thread, which alone has the
// caller's points: the centre, the dimensions worth multiplying, and the centred points in the
// slices the products read. Worker threads cannot read the caller's array (it is not shared), and
// copying it into shared memory for them cost as much as this whole step (131 MB of page faults
// and copying at n = 1,000, d = 32,768), while they are mostly still starting up meanwhile.

/** How many points the centre is the mean of. */
const CENTRE_SAMPLE = 128;

/**
 * The centre (the mean of up to CENTRE_SAMPLE evenly spaced points, rounded to float32: any
 * centre leaves the distances as they are, this one shrinks the norms, and with them the error
 * bound, nearly as well as the full mean) and the dimensions that vary between points,
 * ascending. A dimension constant over all points adds exactly 0 to every distance, so it is left
 * out of the products: image borders and dead units make many (36% of the 32,768 of bench a2's
 * layer, whose MNIST digits never reach the border). Only the dimensions constant over the
 * sample are checked on every point.
 */
export function centreAndKept(points: Float32Array, n: number, d: number): { centre: Float32Array; kept: Int32Array } {
  const stride = Math.max(1, Math.floor(n / CENTRE_SAMPLE));
  const sum = new Float64Array(d);
  const varies = new Uint8Array(d);
  let count = 0;
  for (let i = 0; i < n; i += stride, count++) {
    const o = i * d;
    for (let t = 0; t < d; t++) {
      const v = points[o + t];
      sum[t] += v;
      if (v !== points[t]) varies[t] = 1;
    }
  }
  const centre = new Float32Array(d);
  for (let t = 0; t < d; t++) centre[t] = sum[t] / count;
  // The candidates, dropped from the list as soon as a point shows them varying.
  const candidates = new Int32Array(d);
  let left = 0;
  for (let t = 0; t < d; t++) if (varies[t] === 0) candidates[left++] = t;
  for (let i = 1; i < n && left > 0; i++) {
    const o = i * d;
    let w = 0;
    for (let c = 0; c < left; c++) {
      const t = candidates[c];
      if (points[o + t] !== points[t]) varies[t] = 1;
      else candidates[w++] = t;
    }
    left = w;
  }
  let dims = 0;
  for (let t = 0; t < d; t++) dims += varies[t];
  // At least one, so that the products keep a shape (all points equal: every distance is 0).
  if (dims === 0) varies[0] = dims = 1;
  const kept = new Int32Array(dims);
  for (let t = 0, w = 0; t < d; t++) if (varies[t] === 1) kept[w++] = t;
  return { centre, kept };
}

/**
 * The kept dimensions as runs of consecutive ones, cut where a slice of b ends: run r copies
 * `length[r]` values from dimension `from[r]` of a point to offset `to[r] + i·width[r]` of the
 * sliced layout for point i. Contiguous loops, where one index lookup per value was 8 ns a value.
 */
interface Runs {
  readonly count: number;
  readonly from: Int32Array;
  readonly to: Int32Array;
  readonly width: Int32Array;
  readonly length: Int32Array;
}

function runsOf(kept: Int32Array, n: number, b: number): Runs {
  const dims = kept.length;
  const from: number[] = [];
  const to: number[] = [];
  const width: number[] = [];
  const length: number[] = [];
  for (let q = 0; q < dims; ) {
    const s0 = q - (q % b);
    const sliceEnd = Math.min(dims, s0 + b);
    let end = q + 1;
    while (end < sliceEnd && kept[end] === kept[end - 1] + 1) end++;
    from.push(kept[q]);
    to.push(n * s0 + (q - s0));
    width.push(sliceEnd - s0);
    length.push(end - q);
    q = end;
  }
  return { count: from.length, from: Int32Array.from(from), to: Int32Array.from(to), width: Int32Array.from(width), length: Int32Array.from(length) };
}

/**
 * Writes the points' kept dimensions, centred (each fl(p − centre), float32), into `data`: slice s
 * (kept dimensions [s·b, s·b + w)) of all n points, n × w row-major, at offset n·s·b, so that every
 * product operand is one contiguous range. Also |ci|² (float64: each square of a float32 is exact)
 * and |ci|.
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
): void {
  const runs = runsOf(kept, n, b);
  for (let i = 0; i < n; i++) layoutRow(points, i * d, i, centre, runs.count, runs.from, runs.to, runs.width, runs.length, data, norms, roots);
}

function layoutRow(
  points: Float32Array,
  o: number,
  i: number,
  centre: Float32Array,
  count: number,
  from: Int32Array,
  to: Int32Array,
  width: Int32Array,
  length: Int32Array,
  data: Float32Array,
  norms: Float64Array,
  roots: Float64Array,
): void {
  // Two accumulators, two values a step: ~1.5× faster in V8 (the norm is as exact either way).
  let sq0 = 0;
  let sq1 = 0;
  for (let r = 0; r < count; r++) {
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
  norms[i] = sq0 + sq1;
  roots[i] = Math.sqrt(norms[i]);
}

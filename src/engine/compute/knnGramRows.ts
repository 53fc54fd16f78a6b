// The per-row kernels of the blocked Gram k-NN (knnGram.ts): a task's rows of the Gram matrix
// gathered whole, D̃² and its error bound from them, and the sort of a row's distances. Plain functions taking their arrays as arguments:
// V8 compiles such hot loops far better than methods reading their arrays from `this`.
import { CANCELLATION_RATIO } from './knnShared';

/**
 * Rows [r0, r1) of the whole Gram matrix, whose upper triangle holds each pair's value at the row
 * of its lower index, gathered whole into g (row i at (i − r0)·n). A row's values left of the
 * diagonal are a column there, n·8 bytes apart: read one by one, a cache and TLB miss each, they
 * took half the row stage. So they are gathered a row of the Gram matrix at a time (its values for
 * all of rows r0 … r1 − 1 are adjacent). The same numbers either way: D̃²(i, j) and D̃²(j, i) stay
 * the same number.
 */
export function gatherRows(gram: Float64Array, g: Float64Array, n: number, r0: number, r1: number): void {
  for (let j = 0; j < r1 - 1; j++) {
    const from = Math.max(r0, j + 1);
    const src = j * n;
    for (let i = from; i < r1; i++) g[(i - r0) * n + j] = gram[src + i];
  }
  for (let i = r0; i < r1; i++) g.set(gram.subarray(i * n + i + 1, (i + 1) * n), (i - r0) * n + i + 1);
}

/**
 * Row i's D̃² to every j ≠ i (into d2[j]) and bound E (into err[j]), G(i, j) being at
 * gram[rowOffset + j]. Writes the js whose bound fails the 2⁻¹⁰ test into `flagged`; returns how
 * many. Floating-point + and × commute, so D̃² and E of a pair are the same seen from either end.
 */
export function scoreRow(
  i: number,
  n: number,
  gram: Float64Array,
  rowOffset: number,
  norms: Float64Array,
  roots: Float64Array,
  a: number,
  c: number,
  e0: number,
  d2: Float64Array,
  err: Float64Array,
  flagged: Int32Array,
): number {
  const ni = norms[i];
  const ri = roots[i];
  // R·D̃² > (1 + R)·E, i.e. E < R·(D̃² − E) ≤ R·D², keeps a value; NaN or D̃² ≤ 0 never does,
  // nor +Infinity: a float32 product that overflowed (|ci| beyond ~10¹⁹), which the bound,
  // relative to the norms, does not cover; such a sum cannot come back to a finite value.
  const keep = CANCELLATION_RATIO / (1 + CANCELLATION_RATIO);
  let f = 0;
  // Every j is written to flagged[f] and f advanced only for a flagged one: no branch that V8
  // would first meet, and deoptimise on, at a row's first flagged pair.
  for (let j = 0; j < n; j++) {
    const nn = ni + norms[j];
    const v = nn - 2 * gram[rowOffset + j];
    const e = a * (ri * roots[j]) + c * nn + e0;
    d2[j] = v;
    err[j] = e;
    flagged[f] = j;
    f += (keep * v > e && v !== Infinity) || j === i ? 0 : 1;
  }
  return f;
}

/** Size of the histograms radixSort needs: one of 2,048 bins per 11-bit digit. */
export const RADIX_HISTOGRAM = 3 * 2048;

/**
 * Sorts keys[0, count) ascending, stably, carrying vals along: an LSD radix sort over three digits
 * of 11, 11 and 10 bits, whose histograms one pass builds together; a digit that is the same for
 * all keys (the top one, often) costs no pass. Keys are the bits of non-negative float32
 * distances, which order as the distances do. O(count), where a comparison sort of a row's ~1,000
 * keys mispredicts half its branches: ~12 µs a row of 999 here, against ~35 with a histogram
 * pass per digit.
 */
function radixSort(keys: Uint32Array, vals: Int32Array, count: number, tmpKeys: Uint32Array, tmpVals: Int32Array, hist: Int32Array): void {
  hist.fill(0);
  for (let t = 0; t < count; t++) {
    const key = keys[t];
    hist[key & 0x7ff]++;
    hist[2048 + ((key >>> 11) & 0x7ff)]++;
    hist[4096 + (key >>> 22)]++;
  }
  let srcK = keys;
  let srcV = vals;
  let dstK = tmpKeys;
  let dstV = tmpVals;
  for (let digit = 0; digit < 3; digit++) {
    const shift = 11 * digit;
    const base = 2048 * digit;
    const bins = digit === 2 ? 1024 : 2048;
    if (hist[base + ((srcK[0] >>> shift) & 0x7ff)] === count) continue;
    let sum = 0;
    for (let h = base; h < base + bins; h++) {
      const x = hist[h];
      hist[h] = sum;
      sum += x;
    }
    for (let t = 0; t < count; t++) {
      const key = srcK[t];
      const p = hist[base + ((key >>> shift) & 0x7ff)]++;
      dstK[p] = key;
      dstV[p] = srcV[t];
    }
    const k = srcK;
    srcK = dstK;
    dstK = k;
    const v = srcV;
    srcV = dstV;
    dstV = v;
  }
  if (srcK !== keys) {
    keys.set(srcK.subarray(0, count));
    vals.set(srcV.subarray(0, count));
  }
}

/** Buckets per row of bucketSort, at most: the size of the histogram it shares with radixSort. */
const MAX_BUCKETS = RADIX_HISTOGRAM;
/** A bucket holding more than this sends the row to radixSort: insertion sort within it would cost more. */
const MAX_BUCKET_SIZE = 32;

/**
 * Sorts keys[0, count) ascending, stably, carrying vals along, when their distances spread evenly
 * enough: one bucket per key by linear interpolation between the smallest and largest distance
 * (monotonic, so buckets are in order), a stable counting scatter, then insertion sort of the
 * nearly sorted result, which moves keys only within their bucket: one scatter pass instead of
 * three and no 2,048-bin prefix sums, 23 µs a row of bench a2 against 28 (sqrt included, the
 * same loaded machine). Returns false,
 * having changed nothing, when a bucket would hold more than MAX_BUCKET_SIZE keys (clustered
 * distances) or the range is not finite.
 */
function bucketSort(
  dist: Float32Array,
  keys: Uint32Array,
  vals: Int32Array,
  count: number,
  lo: number,
  hi: number,
  tmpKeys: Uint32Array,
  tmpVals: Int32Array,
  hist: Int32Array,
): boolean {
  const buckets = Math.min(count, MAX_BUCKETS);
  const scale = (buckets - 1) / (hi - lo);
  if (!(scale > 0 && scale < Infinity)) return false;
  hist.fill(0, 0, buckets);
  let largest = 0;
  for (let t = 0; t < count; t++) {
    const b = Math.min(buckets - 1, Math.floor((dist[t] - lo) * scale));
    const c = ++hist[b];
    if (c > largest) largest = c;
  }
  if (largest > MAX_BUCKET_SIZE) return false;
  let sum = 0;
  for (let b = 0; b < buckets; b++) {
    const c = hist[b];
    hist[b] = sum;
    sum += c;
  }
  for (let t = 0; t < count; t++) {
    const p = hist[Math.min(buckets - 1, Math.floor((dist[t] - lo) * scale))]++;
    tmpKeys[p] = keys[t];
    tmpVals[p] = vals[t];
  }
  // Keys are the bits of non-negative float32 values, which order as the values do; only strictly
  // greater keys move, so equal ones keep their order (stable).
  for (let t = 1; t < count; t++) {
    const key = tmpKeys[t];
    if (tmpKeys[t - 1] <= key) continue;
    const val = tmpVals[t];
    let q = t - 1;
    while (q >= 0 && tmpKeys[q] > key) {
      tmpKeys[q + 1] = tmpKeys[q];
      tmpVals[q + 1] = tmpVals[q];
      q--;
    }
    tmpKeys[q + 1] = key;
    tmpVals[q + 1] = val;
  }
  keys.set(tmpKeys.subarray(0, count));
  vals.set(tmpVals.subarray(0, count));
  return true;
}

/** The n − 1 others of row i into dist (float32 √D̃²) and vals (their indices), sorted by distance, then index. */
export function sortRow(
  i: number,
  n: number,
  d2: Float64Array,
  dist: Float32Array,
  keys: Uint32Array,
  vals: Int32Array,
  tmpKeys: Uint32Array,
  tmpVals: Int32Array,
  hist: Int32Array,
): void {
  let w = 0;
  // The range of the squared distances, whose square roots rounded to float32 bound those of the
  // rounded distances (both monotonic).
  let lo = Infinity;
  let hi = 0;
  for (let j = 0; j < n; j++) {
    if (j === i) continue;
    const v = d2[j] > 0 ? d2[j] : 0;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
    dist[w] = Math.sqrt(v);
    vals[w++] = j;
  }
  lo = Math.fround(Math.sqrt(lo));
  hi = Math.fround(Math.sqrt(hi));
  if (!bucketSort(dist, keys, vals, w, lo, hi, tmpKeys, tmpVals, hist)) radixSort(keys, vals, w, tmpKeys, tmpVals, hist);
}

// Intra-sample entropy (paper §4.4.2): a feature map is treated as a bag of values, not as a point;
// its values are put into B equal-width bins and the Shannon entropy of the normalised histogram
// is taken, in bits. The paper normalises the values to (−1, 1) before binning; binning directly
// over the chosen [lo, hi] is the same partition, without the extra arithmetic.

import { CnnSlicerError } from '../../shared/errors';
import { ESTIMATOR_DEFAULTS, type EstimatorParams, type IntraNormalization } from './params';

export type IntraSampleParams = Pick<EstimatorParams, 'intraBins' | 'intraNormalization'>;

/**
 * Σ c·log2 c for counts c = 0..maxCount, so the entropy of a histogram of m values is
 * log2 m − (Σ c log2 c)/m with no logarithm per bin: with B = 32 bins and 7×7 maps a logarithm
 * per bin would cost more than the binning.
 */
function countLogTable(maxCount: number): Float64Array {
  const table = new Float64Array(maxCount + 1);
  for (let c = 2; c <= maxCount; c++) table[c] = c * Math.log2(c);
  return table;
}

/**
 * Bins `values[start, start + length)` into `hist` (which must be zeroed, length = bins) over
 * [lo, hi] and returns the number of finite values binned. Values outside [lo, hi] go to the end
 * bins, so a range taken from other maps never drops a value; non-finite values are skipped.
 * lo === hi puts every finite value in bin 0.
 */
function binRange(values: Float32Array, start: number, length: number, bins: number, lo: number, hi: number, hist: Int32Array): number {
  const scale = hi > lo ? bins / (hi - lo) : 0;
  const last = bins - 1;
  const end = start + length;
  let binned = 0;
  for (let p = start; p < end; p++) {
    const v = values[p];
    // v − v is 0 for finite v and NaN for NaN and ±Infinity: one test for both.
    if (v - v !== 0) continue;
    const x = (v - lo) * scale;
    // Compared as doubles before truncating: `x | 0` wraps for |x| ≥ 2^31.
    hist[x >= bins ? last : x > 0 ? x | 0 : 0]++;
    binned++;
  }
  return binned;
}

/**
 * Entropy in bits of the histogram of `total` values, leaving `hist` zeroed for the next map.
 * With the c·log2 c table the sweep is branch-free, which measured faster than skipping empty
 * bins and clearing the histogram separately.
 */
function takeEntropy(hist: Int32Array, total: number, cLogC: Float64Array): number {
  let sum = 0;
  for (let b = 0; b < hist.length; b++) {
    sum += cLogC[hist[b]];
    hist[b] = 0;
  }
  // Σ c·log2 c reaches m·log2 m only when one bin holds all m values (otherwise it falls short by
  // more than 1), and that case must give exactly 0 rather than log2 m − log2 m's rounding.
  if (sum === cLogC[total]) return 0;
  return Math.log2(total) - sum / total;
}

/**
 * Shannon entropy in bits of `values` binned into `bins` equal bins over [lo, hi] (0·log 0 = 0).
 * NaN and ±Infinity are excluded; `undefined` when no finite value is left.
 */
export function histogramEntropy(values: Float32Array, bins: number, lo: number, hi: number): number | undefined {
  if (!Number.isInteger(bins) || bins < 1) throw new CnnSlicerError('bad-request', `histogram bins must be an integer ≥ 1, got ${bins}`);
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || hi < lo)
    throw new CnnSlicerError('bad-request', `histogram range must be finite with lo ≤ hi, got [${lo}, ${hi}]`);
  const hist = new Int32Array(bins);
  const binned = binRange(values, 0, values.length, bins, lo, hi, hist);
  if (binned === 0) return undefined;
  let sum = 0;
  for (let b = 0; b < bins; b++) if (hist[b] > 1) sum += hist[b] * Math.log2(hist[b]);
  const all = binned * Math.log2(binned);
  // Only a one-bin histogram has Σ c·log2 c = m·log2 m; its entropy is exactly 0.
  return sum === all ? 0 : Math.log2(binned) - sum / binned;
}

/** Per-map intra-sample entropies of one layer's slice, n samples × C channels. */
export interface FeatureMapEntropies {
  readonly n: number;
  readonly channels: number;
  /** Entropy in bits of map (sample s, channel c) at s·channels + c; 0 where `defined` is 0. */
  readonly entropy: Float32Array;
  /** 1 where the map had at least one finite value; 0 where it had none and its entropy is undefined. */
  readonly defined: Uint8Array;
  /** NaN and ±Infinity values left out of the histograms, over the whole slice. */
  readonly nonFiniteValues: number;
}

/** Min and max of the finite values of data[start, start + length); [+∞, −∞] when there are none. */
function finiteRange(data: Float32Array, start: number, length: number, out: Float64Array): void {
  let lo = Infinity;
  let hi = -Infinity;
  const end = start + length;
  for (let p = start; p < end; p++) {
    const v = data[p];
    if (v - v !== 0) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  out[0] = lo;
  out[1] = hi;
}

/**
 * Intra-sample entropy of every feature map of a layer slice laid out N×C×mapSize (NCHW with
 * H·W = mapSize). Each map costs two linear passes for `map` normalisation (range, then bins) and
 * one for `channel`/`layer` (their ranges take one pass over the slice up front); nothing is
 * allocated per map.
 */
export function featureMapEntropies(
  data: Float32Array,
  n: number,
  channels: number,
  mapSize: number,
  params: IntraSampleParams = ESTIMATOR_DEFAULTS,
): FeatureMapEntropies {
  const bins = params.intraBins;
  const normalization: IntraNormalization = params.intraNormalization;
  if (!Number.isInteger(bins) || bins < 1) throw new CnnSlicerError('bad-request', `intraBins must be an integer ≥ 1, got ${bins}`);
  if (!Number.isInteger(n) || !Number.isInteger(channels) || !Number.isInteger(mapSize) || n < 0 || channels < 0 || mapSize < 0) {
    throw new CnnSlicerError('internal', `feature map shape must be non-negative integers, got n=${n}, channels=${channels}, mapSize=${mapSize}`);
  }
  if (data.length !== n * channels * mapSize) {
    throw new CnnSlicerError('internal', `feature maps: expected ${n}×${channels}×${mapSize} = ${n * channels * mapSize} values, got ${data.length}`);
  }

  // Per-channel [lo, hi] pairs; for `map` they are filled per map, for `layer` all channels share one.
  const ranges = new Float64Array(2 * channels);
  const scratch = new Float64Array(2);
  if (normalization === 'channel' || normalization === 'layer') {
    ranges.fill(Infinity);
    for (let c = 0; c < channels; c++) ranges[2 * c + 1] = -Infinity;
    for (let s = 0; s < n; s++) {
      for (let c = 0; c < channels; c++) {
        finiteRange(data, (s * channels + c) * mapSize, mapSize, scratch);
        if (scratch[0] < ranges[2 * c]) ranges[2 * c] = scratch[0];
        if (scratch[1] > ranges[2 * c + 1]) ranges[2 * c + 1] = scratch[1];
      }
    }
    if (normalization === 'layer') {
      let lo = Infinity;
      let hi = -Infinity;
      for (let c = 0; c < channels; c++) {
        if (ranges[2 * c] < lo) lo = ranges[2 * c];
        if (ranges[2 * c + 1] > hi) hi = ranges[2 * c + 1];
      }
      for (let c = 0; c < channels; c++) {
        ranges[2 * c] = lo;
        ranges[2 * c + 1] = hi;
      }
    }
  } else if (normalization !== 'map') {
    throw new CnnSlicerError('bad-request', `intraNormalization must be "map", "channel" or "layer", got ${String(normalization)}`);
  }

  const entropy = new Float32Array(n * channels);
  const defined = new Uint8Array(n * channels);
  const hist = new Int32Array(bins);
  const cLogC = countLogTable(mapSize);
  let nonFiniteValues = 0;
  for (let s = 0; s < n; s++) {
    for (let c = 0; c < channels; c++) {
      const m = s * channels + c;
      const start = m * mapSize;
      let lo: number;
      let hi: number;
      if (normalization === 'map') {
        finiteRange(data, start, mapSize, scratch);
        lo = scratch[0];
        hi = scratch[1];
      } else {
        lo = ranges[2 * c];
        hi = ranges[2 * c + 1];
      }
      // An all-non-finite map has lo = +∞ > hi and nothing to bin.
      const binned = hi >= lo ? binRange(data, start, mapSize, bins, lo, hi, hist) : 0;
      nonFiniteValues += mapSize - binned;
      if (binned > 0) {
        entropy[m] = takeEntropy(hist, binned, cLogC);
        defined[m] = 1;
      }
    }
  }
  return { n, channels, entropy, defined, nonFiniteValues };
}

/** Channel entropies averaged over samples: per class and over the whole slice (the channel view, §5.4). */
export interface ChannelEntropyByClass {
  readonly classes: number;
  readonly channels: number;
  /** Mean entropy of channel c over the defined maps of class k, at k·channels + c; 0 where the count is 0. */
  readonly perClass: Float32Array;
  /** Number of defined maps averaged into each perClass entry; 0 means the entry is undefined. */
  readonly perClassCount: Int32Array;
  /** 1 for each class with at least one sample in the slice. */
  readonly classHasSamples: Uint8Array;
  /** Mean entropy of channel c over the defined maps of every sample; 0 where allCount is 0. */
  readonly all: Float32Array;
  readonly allCount: Int32Array;
}

/**
 * H(dCNN(x, l, c, t)) per channel as the paper defines it (§4.4.2, §5.4.1): the mean of the
 * per-map entropies, once for x = each class and once for x = every sample of the slice.
 * `labels[s]` is sample s's class in [0, classes).
 */
export function channelEntropyByClass(maps: FeatureMapEntropies, labels: Int32Array, classes: number): ChannelEntropyByClass {
  const { n, channels, entropy, defined } = maps;
  if (labels.length !== n) throw new CnnSlicerError('internal', `channel entropy by class: ${n} maps per channel but ${labels.length} labels`);
  if (!Number.isInteger(classes) || classes < 0) throw new CnnSlicerError('bad-request', `classes must be an integer ≥ 0, got ${classes}`);
  const sums = new Float64Array(classes * channels);
  const perClassCount = new Int32Array(classes * channels);
  const classHasSamples = new Uint8Array(classes);
  const allSums = new Float64Array(channels);
  const allCount = new Int32Array(channels);
  for (let s = 0; s < n; s++) {
    const k = labels[s];
    if (!(k >= 0 && k < classes)) throw new CnnSlicerError('bad-request', `sample ${s} has label ${k}, outside [0, ${classes})`);
    classHasSamples[k] = 1;
    for (let c = 0; c < channels; c++) {
      const m = s * channels + c;
      if (defined[m] === 0) continue;
      sums[k * channels + c] += entropy[m];
      perClassCount[k * channels + c]++;
      allSums[c] += entropy[m];
      allCount[c]++;
    }
  }
  const perClass = new Float32Array(classes * channels);
  for (let i = 0; i < perClass.length; i++) if (perClassCount[i] > 0) perClass[i] = sums[i] / perClassCount[i];
  const all = new Float32Array(channels);
  for (let c = 0; c < channels; c++) if (allCount[c] > 0) all[c] = allSums[c] / allCount[c];
  return { classes, channels, perClass, perClassCount, classHasSamples, all, allCount };
}

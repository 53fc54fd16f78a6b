// Channel capacity between two layers (paper §5.3.1, §5.3.2). Feature maps of different layers
// live in spaces of different dimension, so a channel is represented by the distances between the
// maps it produces for every pair of probe samples: channel a of layer li and channel b of layer lj
// are compared through the joint distribution of (distance in a, distance in b) over the same
// sample pairs. Distances are binned once per channel; each (a, b) then costs one 2-D histogram
// and Capacity = H(A) − H(A|B) = H(A) + H(B) − H(A,B) (Eq. 3), the plug-in mutual information in bits.
//
// This file: the types, the binning (also chunk by chunk, so that no caller holds every channel's
// distances at once), the optional sample of pairs and the single-threaded matrix. The counting
// kernels are in capacityKernel.ts (JavaScript) and capacityWasm.ts (WebAssembly), the matrix on
// every core in capacityParallel.ts.

import { CnnSlicerError } from '../../shared/errors';
import { seededRandom } from '../../shared/seededRandom';
import { cellScratch, checkCompatible, entropyOfCounts, fillCapacityBlock, fillCapacityRows } from './capacityKernel';
import { allocateInArena, type CapacityArena } from './capacityWasm';
import type { CodedChannels } from './codedChannels';
import { ESTIMATOR_DEFAULTS, type EstimatorParams } from './params';

export { fillCapacityRows };

/**
 * Distances between the feature maps of every pair of probe samples (i < j), per channel of one
 * layer: channel c's distances at data[c·pairs, (c+1)·pairs). Two layers being compared must list
 * the pairs in the same order.
 */
export interface PairDistances {
  readonly channels: number;
  readonly pairs: number;
  readonly data: Float32Array;
}

export type CapacityParams = Pick<EstimatorParams, 'capacityBins' | 'capacityRange'>;

export type { CodedChannels } from './codedChannels';

export interface CapacityMatrix {
  /** Channels of layer lj: the heatmap's vertical axis. */
  readonly rowsChannels: number;
  /** Channels of layer li: the heatmap's horizontal axis. */
  readonly colsChannels: number;
  /** Capacity in bits of (column a of li, row b of lj) at b·colsChannels + a. */
  readonly capacity: Float32Array;
  /** H(A) per channel of li (columns), in bits. */
  readonly hA: Float32Array;
  /** H(B) per channel of lj (rows), in bits. */
  readonly hB: Float32Array;
}

/** Where a layer's codes go: a region of a WebAssembly arena, shared memory (for worker threads) or plain memory. */
export interface CodeStorage {
  readonly arena?: CapacityArena;
  readonly shared?: boolean;
}

function checkParams(params: CapacityParams): void {
  const bins = params.capacityBins;
  if (!Number.isInteger(bins) || bins < 1 || bins > 256) throw new CnnSlicerError('bad-request', `capacityBins must be an integer in [1, 256], got ${bins}`);
  if (params.capacityRange !== 'channel' && params.capacityRange !== 'layer') {
    throw new CnnSlicerError('bad-request', `capacityRange must be "channel" or "layer", got ${String(params.capacityRange)}`);
  }
}

/** The most bytes of codes one layer may take (one byte per channel and pair): what a 4 GiB WebAssembly memory holds for two layers. */
const MAX_CODE_BYTES = 2 ** 31;

/** Bytes of a layer's codes: its stride times its channels. */
export function codeBytes(channels: number, pairs: number): number {
  return channels * ((pairs + 15) & ~15);
}

/**
 * Empty codes for `channels` channels of `pairs` pairs (the sampled pairs' count when a sample is
 * used), to be filled channel by channel with codeChannelChunk.
 */
export function allocateCodes(channels: number, pairs: number, params: CapacityParams, storage: CodeStorage = {}): CodedChannels {
  checkParams(params);
  if (!Number.isInteger(channels) || !Number.isInteger(pairs) || channels < 0 || pairs < 1) {
    throw new CnnSlicerError('internal', `capacity codes: ${channels} channels × ${pairs} pairs (pairs ≥ 1)`);
  }
  const stride = (pairs + 15) & ~15;
  const bytes = channels * stride;
  if (bytes > MAX_CODE_BYTES) {
    throw new CnnSlicerError(
      'bad-request',
      `channel capacity: ${channels} channels × ${pairs} sample pairs need ${(bytes / 2 ** 30).toFixed(1)} GiB of codes (at most ${MAX_CODE_BYTES / 2 ** 30}); use fewer probe samples or a sample of pairs (capacityPairs)`,
    );
  }
  const codes =
    storage.arena !== undefined
      ? allocateInArena(storage.arena, bytes)
      : new Uint8Array(storage.shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
  // Shared storage is for other threads, which may fill the uppers and entropies too.
  const doubles = (): Float64Array =>
    new Float64Array(storage.arena !== undefined || storage.shared ? new SharedArrayBuffer(8 * channels) : new ArrayBuffer(8 * channels));
  return { channels, pairs, bins: params.capacityBins, codes, stride, upper: doubles(), entropy: doubles(), arena: storage.arena };
}

/**
 * The largest of distances[from, from + count), checking each is finite (a non-finite distance
 * comes from non-finite or overflowing activations and would make every bin meaningless).
 */
export function maxDistance(distances: Float32Array, from: number, count: number, channel: number): number {
  let max = 0;
  // x − x is 0 for finite x and NaN otherwise, so one sum flags any non-finite value without a
  // branch per element (twice as fast in V8 as testing each).
  let flag = 0;
  for (let p = from; p < from + count; p++) {
    const d = distances[p];
    flag += d - d;
    max = d > max ? d : max;
  }
  if (flag !== 0) {
    for (let p = from; p < from + count; p++) {
      const d = distances[p];
      if (d - d !== 0) throw new CnnSlicerError('internal', `pair distances: channel ${channel} has distance ${d} (non-finite activations?)`);
    }
  }
  return max;
}

/**
 * Codes channels [c0, c0 + k) of `target` from their distances to every sample pair,
 * `distances` holding k × allPairs values (channel by channel). Each channel's bins span
 * [0, its own max over all pairs], or [0, layerUpper] when that is given (capacityRange 'layer':
 * the layer's max, found by a first pass). With `sample` (increasing pair indices, see
 * samplePairs), only those pairs are coded, in that order; the bins still span every pair's range,
 * so the sample estimates exactly the matrix of all pairs.
 */
export function codeChannelChunk(target: CodedChannels, c0: number, distances: Float32Array, allPairs: number, layerUpper?: number, sample?: Int32Array): void {
  const { bins, codes, stride, pairs } = target;
  const k = distances.length / allPairs;
  if (!Number.isInteger(k) || c0 < 0 || c0 + k > target.channels) {
    throw new CnnSlicerError('internal', `capacity codes: ${distances.length} distances are not channels ${c0}… of ${target.channels} × ${allPairs} pairs`);
  }
  if ((sample === undefined ? allPairs : sample.length) !== pairs) throw new CnnSlicerError('internal', `capacity codes: ${pairs} pairs expected`);
  const hist = new Int32Array(bins);
  for (let c = 0; c < k; c++) {
    const from = c * allPairs;
    const channelMax = maxDistance(distances, from, allPairs, c0 + c);
    const upper = layerUpper ?? channelMax;
    target.upper[c0 + c] = upper;
    // upper = 0: every distance is 0 (a dead channel), all in bin 0, entropy 0.
    const scale = upper > 0 ? bins / upper : 0;
    hist.fill(0);
    if (sample === undefined) codeRun(distances, from, pairs, scale, bins, codes, (c0 + c) * stride, hist);
    else codeSample(distances, from, sample, scale, bins, codes, (c0 + c) * stride, hist);
    target.entropy[c0 + c] = entropyOfCounts(hist, 0, bins, pairs);
  }
}

// The two loops below are one rule, code = ⌊d·scale⌋ clamped to [0, bins − 1] (negative distances
// are rounding in a GEMM-based computation and join bin 0), kept as separate small functions so
// that V8 compiles each tight loop on its own (~2 ns a pair).

/** Codes distances[from, from + count) into codes[base, base + count), counting each bin. */
function codeRun(distances: Float32Array, from: number, count: number, scale: number, bins: number, codes: Uint8Array, base: number, hist: Int32Array): void {
  const last = bins - 1;
  for (let q = 0; q < count; q++) {
    const x = distances[from + q] * scale;
    const code = x >= bins ? last : x > 0 ? x | 0 : 0;
    codes[base + q] = code;
    hist[code]++;
  }
}

/** Codes distances[from + sample[q]] into codes[base + q], counting each bin. */
function codeSample(
  distances: Float32Array,
  from: number,
  sample: Int32Array,
  scale: number,
  bins: number,
  codes: Uint8Array,
  base: number,
  hist: Int32Array,
): void {
  const last = bins - 1;
  for (let q = 0; q < sample.length; q++) {
    const x = distances[from + sample[q]] * scale;
    const code = x >= bins ? last : x > 0 ? x | 0 : 0;
    codes[base + q] = code;
    hist[code]++;
  }
}

/** Bins every channel's distances over [0, upper] into `capacityBins` bins (done once per layer and epoch). */
export function codeDistances(
  distances: PairDistances,
  params: CapacityParams = ESTIMATOR_DEFAULTS,
  storage: CodeStorage = {},
  sample?: Int32Array,
): CodedChannels {
  const { channels, pairs, data } = distances;
  checkParams(params);
  if (!Number.isInteger(channels) || !Number.isInteger(pairs) || channels < 0 || pairs < 1 || data.length !== channels * pairs) {
    throw new CnnSlicerError('internal', `pair distances: expected ${channels} channels × ${pairs} pairs (pairs ≥ 1), got ${data.length} values`);
  }
  let layerUpper: number | undefined;
  if (params.capacityRange === 'layer') {
    layerUpper = 0;
    for (let c = 0; c < channels; c++) layerUpper = Math.max(layerUpper, maxDistance(data, c * pairs, pairs, c));
  }
  const coded = allocateCodes(channels, sample?.length ?? pairs, params, storage);
  if (channels > 0) codeChannelChunk(coded, 0, data, pairs, layerUpper, sample);
  return coded;
}

/**
 * `m` of the `pairs` sample pairs, uniformly without replacement, as increasing indices: the
 * same pairs for the same (pairs, m), whatever the run (selection sampling, Knuth's algorithm S,
 * from a fixed seed). m ≥ pairs gives every pair.
 */
export function samplePairs(pairs: number, m: number): Int32Array {
  if (!Number.isInteger(pairs) || !Number.isInteger(m) || pairs < 1 || m < 1) throw new CnnSlicerError('internal', `pair sample: ${m} of ${pairs} pairs`);
  const count = Math.min(m, pairs);
  const out = new Int32Array(count);
  // mulberry32 from a fixed seed: deterministic, and uniform enough for a sample of pairs.
  const random = seededRandom(0x9e3779b9);
  let chosen = 0;
  for (let p = 0; p < pairs && chosen < count; p++) {
    // Pair p is taken with probability (still wanted) / (still left): every m-subset equally likely.
    if ((pairs - p) * random() < count - chosen) out[chosen++] = p;
  }
  return out;
}

/**
 * Capacity matrix between layer li (channels on the horizontal axis) and layer lj (vertical), as
 * the paper's heatmap (Fig. 8). Single-threaded, in JavaScript; see `fillCapacityRows` to split
 * the work and channelCapacityParallel (capacityParallel.ts) for every core.
 */
export function channelCapacity(layerI: PairDistances, layerJ: PairDistances, params: CapacityParams = ESTIMATOR_DEFAULTS): CapacityMatrix {
  const columns = codeDistances(layerI, params);
  const rows = layerJ === layerI ? columns : codeDistances(layerJ, params);
  checkCompatible(columns, rows);
  const capacity = new Float32Array(rows.channels * columns.channels);
  fillCapacityBlock(columns, rows, 0, rows.channels, 0, columns.channels, capacity, cellScratch(columns, rows, 0, 'js'));
  return {
    rowsChannels: rows.channels,
    colsChannels: columns.channels,
    capacity,
    hA: Float32Array.from(columns.entropy),
    hB: Float32Array.from(rows.entropy),
  };
}

/**
 * The order of a matrix's rows or columns for the sorted heatmap (§5.3.2): compute each column's
 * (or row's) max or mean, sort, keep the indices. order[k] is the original index shown at position
 * k; equal statistics keep ascending index order, so the result is deterministic.
 */
export function sortOrder(
  matrix: Float32Array,
  rows: number,
  cols: number,
  axis: 'rows' | 'cols',
  by: 'max' | 'mean',
  direction: 'asc' | 'desc' = 'desc',
): Int32Array {
  if (matrix.length !== rows * cols) throw new CnnSlicerError('internal', `sort order: expected ${rows}×${cols} cells, got ${matrix.length}`);
  const count = axis === 'cols' ? cols : rows;
  const length = axis === 'cols' ? rows : cols;
  const stat = new Float64Array(count);
  for (let x = 0; x < count; x++) {
    let max = -Infinity;
    let sum = 0;
    for (let y = 0; y < length; y++) {
      const v = axis === 'cols' ? matrix[y * cols + x] : matrix[x * cols + y];
      if (v > max) max = v;
      sum += v;
    }
    const value = by === 'max' ? max : length > 0 ? sum / length : 0;
    // NaN would make the comparator inconsistent; it sorts as the smallest value instead.
    stat[x] = Number.isNaN(value) ? -Infinity : value;
  }
  const order = new Int32Array(count);
  for (let x = 0; x < count; x++) order[x] = x;
  const sign = direction === 'desc' ? -1 : 1;
  order.sort((x, y) => sign * (stat[x] - stat[y]) || x - y);
  return order;
}

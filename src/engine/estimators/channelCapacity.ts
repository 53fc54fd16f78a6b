// Channel capacity between two layers (paper §5.3.1, §5.3.2). Feature maps of different layers
// live in spaces of different dimension, so a channel is represented by the distances between the
// maps it produces for every pair of probe samples: channel a of layer li and channel b of layer lj
// are compared through the joint distribution of (distance in a, distance in b) over the same
// sample pairs. Distances are binned once per channel; each (a, b) then costs one 2-D histogram
// and Capacity = H(A) − H(A|B) = H(A) + H(B) − H(A,B) (Eq. 3), the plug-in mutual information in bits.

import { CnnSlicerError } from '../../shared/errors';
import { ESTIMATOR_DEFAULTS, type EstimatorParams } from './params';

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

/** A layer's pair distances turned into bin codes, ready for any number of capacity matrices. */
export interface CodedChannels {
  readonly channels: number;
  readonly pairs: number;
  readonly bins: number;
  /**
   * Bin of each distance, one byte per pair, channel c from c·stride. The stride is `pairs`
   * rounded up to a multiple of 4 so each channel starts on a 4-byte boundary and can be read as
   * 32-bit words, four pairs at a time.
   */
  readonly codes: Uint8Array;
  readonly stride: number;
  /** Upper end of each channel's bins: distances d go to bin ⌊d/upper·B⌋ (the largest to B − 1). */
  readonly upper: Float64Array;
  /** H of each channel's binned distances, in bits. */
  readonly entropy: Float64Array;
}

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

/** Entropy in bits of counts[start, start + length) summing to `total`, skipping empty cells (most of a 2-D histogram). */
function entropyOfCounts(counts: Int32Array, start: number, length: number, total: number): number {
  let sum = 0;
  for (let c = start; c < start + length; c++) {
    const count = counts[c];
    if (count > 1) sum += count * Math.log2(count);
  }
  // Only a one-cell histogram has Σ c·log2 c = m·log2 m (any split falls short by more than 1);
  // its entropy is exactly 0 rather than log2 m − log2 m's rounding.
  return sum === total * Math.log2(total) ? 0 : Math.log2(total) - sum / total;
}

/** Bins every channel's distances over [0, upper] into `capacityBins` bins (done once per layer and epoch). */
export function codeDistances(distances: PairDistances, params: CapacityParams = ESTIMATOR_DEFAULTS): CodedChannels {
  const { channels, pairs, data } = distances;
  const bins = params.capacityBins;
  if (!Number.isInteger(bins) || bins < 1 || bins > 256) throw new CnnSlicerError('bad-request', `capacityBins must be an integer in [1, 256], got ${bins}`);
  if (params.capacityRange !== 'channel' && params.capacityRange !== 'layer') {
    throw new CnnSlicerError('bad-request', `capacityRange must be "channel" or "layer", got ${String(params.capacityRange)}`);
  }
  if (!Number.isInteger(channels) || !Number.isInteger(pairs) || channels < 0 || pairs < 1 || data.length !== channels * pairs) {
    throw new CnnSlicerError('internal', `pair distances: expected ${channels} channels × ${pairs} pairs (pairs ≥ 1), got ${data.length} values`);
  }
  const upper = new Float64Array(channels);
  for (let c = 0; c < channels; c++) {
    let max = 0;
    for (let p = c * pairs; p < (c + 1) * pairs; p++) {
      const d = data[p];
      if (d - d !== 0) throw new CnnSlicerError('internal', `pair distances: channel ${c} has distance ${d} (non-finite activations?)`);
      if (d > max) max = d;
    }
    upper[c] = max;
  }
  if (params.capacityRange === 'layer') {
    let layerMax = 0;
    for (let c = 0; c < channels; c++) if (upper[c] > layerMax) layerMax = upper[c];
    upper.fill(layerMax);
  }

  const stride = (pairs + 3) & ~3;
  const codes = new Uint8Array(channels * stride);
  const entropy = new Float64Array(channels);
  const hist = new Int32Array(bins);
  const last = bins - 1;
  for (let c = 0; c < channels; c++) {
    // upper = 0: every distance is 0 (a dead channel), all in bin 0, entropy 0.
    const scale = upper[c] > 0 ? bins / upper[c] : 0;
    const base = c * stride;
    hist.fill(0);
    for (let p = 0; p < pairs; p++) {
      // Negative distances are rounding in a GEMM-based computation; they join bin 0.
      const x = data[c * pairs + p] * scale;
      const code = x >= bins ? last : x > 0 ? x | 0 : 0;
      codes[base + p] = code;
      hist[code]++;
    }
    entropy[c] = entropyOfCounts(hist, 0, bins, pairs);
  }
  return { channels, pairs, bins, codes, stride, upper, entropy };
}

function checkCompatible(columns: CodedChannels, rows: CodedChannels): void {
  if (columns.pairs !== rows.pairs) throw new CnnSlicerError('internal', `channel capacity: layers have ${columns.pairs} and ${rows.pairs} sample pairs`);
  if (columns.bins !== rows.bins) throw new CnnSlicerError('internal', `channel capacity: layers were binned with ${columns.bins} and ${rows.bins} bins`);
}

/**
 * Joint entropies of column channel a with row channels b and b + 1, for bins ≤ 16, into
 * out[0] and out[1]. Both codes of a pair fit a nibble each, so (codeA << 4) | codeB is one byte,
 * and four pairs come out of one 32-bit OR of packed codes; two rows share each load of the column
 * word. Each byte lane counts into its own 256-cell histogram so that consecutive equal cells
 * (common for correlated channels) do not serialise on one counter. When b + 1 reaches
 * rowCount only row b is counted, and out[1] is left 0.
 */
function jointEntropiesNibbles(
  columnWords: Uint32Array,
  columnCodes: Uint8Array,
  a: number,
  rowWords: Uint32Array,
  rowCodes: Uint8Array,
  b: number,
  rowCount: number,
  stride: number,
  pairs: number,
  hist: Int32Array,
  out: Float64Array,
): void {
  const second = b + 1 < rowCount;
  hist.fill(0, 0, 2048);
  const wordStride = stride >>> 2;
  const fullWords = pairs >>> 2;
  const aWord = a * wordStride;
  const b0Word = b * wordStride;
  // Without a second row the second lanes read row b again and are discarded.
  const b1Word = second ? b0Word + wordStride : b0Word;
  for (let q = 0; q < fullWords; q++) {
    // Each byte of a column word holds a code < 16, so shifting the word by 4 keeps every code in its own byte.
    const column = columnWords[aWord + q] << 4;
    const x = column | rowWords[b0Word + q];
    const y = column | rowWords[b1Word + q];
    hist[x & 255]++;
    hist[256 + ((x >>> 8) & 255)]++;
    hist[512 + ((x >>> 16) & 255)]++;
    hist[768 + (x >>> 24)]++;
    hist[1024 + (y & 255)]++;
    hist[1280 + ((y >>> 8) & 255)]++;
    hist[1536 + ((y >>> 16) & 255)]++;
    hist[1792 + (y >>> 24)]++;
  }
  const aBase = a * stride;
  const b0Base = b * stride;
  const b1Base = second ? b0Base + stride : b0Base;
  for (let p = fullWords << 2; p < pairs; p++) {
    hist[(columnCodes[aBase + p] << 4) | rowCodes[b0Base + p]]++;
    hist[1024 + ((columnCodes[aBase + p] << 4) | rowCodes[b1Base + p])]++;
  }
  for (let cell = 0; cell < 256; cell++) {
    hist[cell] += hist[256 + cell] + hist[512 + cell] + hist[768 + cell];
    hist[1024 + cell] += hist[1280 + cell] + hist[1536 + cell] + hist[1792 + cell];
  }
  out[0] = entropyOfCounts(hist, 0, 256, pairs);
  out[1] = second ? entropyOfCounts(hist, 1024, 256, pairs) : 0;
}

/** Joint entropy for bins > 16: one byte per code, the same four-lane counting as the nibble path. */
function jointEntropyBytes(columnCodes: Uint8Array, a: number, rowCodes: Uint8Array, b: number, stride: number, pairs: number, bins: number, hist: Int32Array): number {
  const cells = bins * bins;
  hist.fill(0, 0, 4 * cells);
  const aBase = a * stride;
  const bBase = b * stride;
  const fullQuads = pairs & ~3;
  for (let p = 0; p < fullQuads; p += 4) {
    hist[columnCodes[aBase + p] * bins + rowCodes[bBase + p]]++;
    hist[cells + columnCodes[aBase + p + 1] * bins + rowCodes[bBase + p + 1]]++;
    hist[2 * cells + columnCodes[aBase + p + 2] * bins + rowCodes[bBase + p + 2]]++;
    hist[3 * cells + columnCodes[aBase + p + 3] * bins + rowCodes[bBase + p + 3]]++;
  }
  for (let p = fullQuads; p < pairs; p++) hist[columnCodes[aBase + p] * bins + rowCodes[bBase + p]]++;
  for (let cell = 0; cell < cells; cell++) hist[cell] += hist[cells + cell] + hist[2 * cells + cell] + hist[3 * cells + cell];
  return entropyOfCounts(hist, 0, cells, pairs);
}

/**
 * Fills rows [rowStart, rowEnd) of a capacity matrix (row = channel of `rows`, column = channel of
 * `columns`, `out` of length rows.channels × columns.channels). Split so a caller can spread the
 * O(Ca·Cb·pairs) work over time slices or workers and stay responsive between them.
 */
export function fillCapacityRows(columns: CodedChannels, rows: CodedChannels, rowStart: number, rowEnd: number, out: Float32Array): void {
  checkCompatible(columns, rows);
  const { pairs, bins, stride } = columns;
  const cols = columns.channels;
  if (out.length !== rows.channels * cols) throw new CnnSlicerError('internal', `capacity matrix: expected ${rows.channels}×${cols} cells, got ${out.length}`);
  if (!Number.isInteger(rowStart) || !Number.isInteger(rowEnd) || rowStart < 0 || rowStart > rowEnd || rowEnd > rows.channels) {
    throw new CnnSlicerError('internal', `capacity rows [${rowStart}, ${rowEnd}) are not within [0, ${rows.channels})`);
  }
  const nibbles = bins <= 16;
  const hist = new Int32Array(nibbles ? 2048 : 4 * bins * bins);
  const columnWords = new Uint32Array(columns.codes.buffer, columns.codes.byteOffset, columns.codes.length >>> 2);
  const rowWords = new Uint32Array(rows.codes.buffer, rows.codes.byteOffset, rows.codes.length >>> 2);
  const joint = new Float64Array(2);
  const store = (a: number, b: number, hAB: number): void => {
    const hA = columns.entropy[a];
    const hB = rows.entropy[b];
    // The plug-in mutual information lies in [0, min(H(A), H(B))] exactly; clamping removes
    // only rounding in the three sums.
    const capacity = hA + hB - hAB;
    out[b * cols + a] = capacity < 0 ? 0 : Math.min(capacity, hA, hB);
  };
  if (nibbles) {
    for (let b = rowStart; b < rowEnd; b += 2) {
      for (let a = 0; a < cols; a++) {
        jointEntropiesNibbles(columnWords, columns.codes, a, rowWords, rows.codes, b, rowEnd, stride, pairs, hist, joint);
        store(a, b, joint[0]);
        if (b + 1 < rowEnd) store(a, b + 1, joint[1]);
      }
    }
  } else {
    for (let b = rowStart; b < rowEnd; b++) {
      for (let a = 0; a < cols; a++) store(a, b, jointEntropyBytes(columns.codes, a, rows.codes, b, stride, pairs, bins, hist));
    }
  }
}

/**
 * Capacity matrix between layer li (channels on the horizontal axis) and layer lj (vertical), as
 * the paper's heatmap (Fig. 8). Single-threaded; see `fillCapacityRows` to split the work.
 */
export function channelCapacity(layerI: PairDistances, layerJ: PairDistances, params: CapacityParams = ESTIMATOR_DEFAULTS): CapacityMatrix {
  const columns = codeDistances(layerI, params);
  const rows = layerJ === layerI ? columns : codeDistances(layerJ, params);
  checkCompatible(columns, rows);
  const capacity = new Float32Array(rows.channels * columns.channels);
  fillCapacityRows(columns, rows, 0, rows.channels, capacity);
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

// The counting kernels of the channel capacity (see channelCapacity.ts): for a column channel a and
// row channels b, the 2-D histogram of their bin codes over all sample pairs and its entropy
// H(A, B). Three kernels count the same integers, so every path gives the same doubles: the
// WebAssembly one (capacityWasm.ts, bins ≤ 16, codes in a CapacityArena), the JavaScript nibble
// kernel (bins ≤ 16, its fallback) and the JavaScript byte kernel (bins > 16).
import { CnnSlicerError } from '../../shared/errors';
import type { CodedChannels } from './codedChannels';
import { WASM_ROWS, WasmCounter } from './capacityWasm';

/** Entropy in bits of counts[start, start + length) summing to `total`, skipping empty cells (most of a 2-D histogram). */
export function entropyOfCounts(counts: Int32Array, start: number, length: number, total: number): number {
  let sum = 0;
  for (let c = start; c < start + length; c++) {
    const count = counts[c];
    if (count > 1) sum += count * Math.log2(count);
  }
  // Only a one-cell histogram has Σ c·log2 c = m·log2 m (any split falls short by more than 1);
  // its entropy is exactly 0 rather than log2 m − log2 m's rounding.
  return sum === total * Math.log2(total) ? 0 : Math.log2(total) - sum / total;
}

export function checkCompatible(columns: CodedChannels, rows: CodedChannels): void {
  if (columns.pairs !== rows.pairs) throw new CnnSlicerError('internal', `channel capacity: layers have ${columns.pairs} and ${rows.pairs} sample pairs`);
  if (columns.bins !== rows.bins) throw new CnnSlicerError('internal', `channel capacity: layers were binned with ${columns.bins} and ${rows.bins} bins`);
}

/** Row channels the nibble kernel counts against one load of a column word. */
export const NIBBLE_ROWS = 4;

/**
 * Joint entropies of column channel a with row channels b … b + 3, for bins ≤ 16, into
 * out[0 … 3]. Both codes of a pair fit a nibble each, so (codeA << 4) | codeB is one byte, and
 * four pairs come out of one 32-bit OR of packed codes; four rows share each load of the column
 * word (against two: ~15% less time on benchmark (b)). Each byte lane of each row counts
 * into its own 256-cell histogram (16 in all, 16 KiB) so that consecutive equal cells (common for
 * correlated channels) do not serialise on one counter. Rows from rowCount on are not counted
 * (their lanes read row b again and are discarded) and their out[] are left 0. The counts of row
 * b + r, hence out[r], do not depend on the other rows.
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
  const counted = Math.min(NIBBLE_ROWS, rowCount - b);
  hist.fill(0, 0, 4096);
  const wordStride = stride >>> 2;
  const fullWords = pairs >>> 2;
  const aWord = a * wordStride;
  const b0Word = b * wordStride;
  const b1Word = counted > 1 ? b0Word + wordStride : b0Word;
  const b2Word = counted > 2 ? b0Word + 2 * wordStride : b0Word;
  const b3Word = counted > 3 ? b0Word + 3 * wordStride : b0Word;
  for (let q = 0; q < fullWords; q++) {
    // Each byte of a column word holds a code < 16, so shifting the word by 4 keeps every code in its own byte.
    const column = columnWords[aWord + q] << 4;
    const x = column | rowWords[b0Word + q];
    const y = column | rowWords[b1Word + q];
    const z = column | rowWords[b2Word + q];
    const w = column | rowWords[b3Word + q];
    hist[x & 255]++;
    hist[256 + ((x >>> 8) & 255)]++;
    hist[512 + ((x >>> 16) & 255)]++;
    hist[768 + (x >>> 24)]++;
    hist[1024 + (y & 255)]++;
    hist[1280 + ((y >>> 8) & 255)]++;
    hist[1536 + ((y >>> 16) & 255)]++;
    hist[1792 + (y >>> 24)]++;
    hist[2048 + (z & 255)]++;
    hist[2304 + ((z >>> 8) & 255)]++;
    hist[2560 + ((z >>> 16) & 255)]++;
    hist[2816 + (z >>> 24)]++;
    hist[3072 + (w & 255)]++;
    hist[3328 + ((w >>> 8) & 255)]++;
    hist[3584 + ((w >>> 16) & 255)]++;
    hist[3840 + (w >>> 24)]++;
  }
  const aBase = a * stride;
  for (let r = 0; r < counted; r++) {
    const base = 1024 * r;
    const bBase = (b + r) * stride;
    for (let p = fullWords << 2; p < pairs; p++) hist[base + ((columnCodes[aBase + p] << 4) | rowCodes[bBase + p])]++;
    for (let cell = base; cell < base + 256; cell++) hist[cell] += hist[256 + cell] + hist[512 + cell] + hist[768 + cell];
    out[r] = entropyOfCounts(hist, base, 256, pairs);
  }
  for (let r = counted; r < NIBBLE_ROWS; r++) out[r] = 0;
}

/** Joint entropy for bins > 16: one byte per code, the same four-lane counting as the nibble path. */
function jointEntropyBytes(
  columnCodes: Uint8Array,
  a: number,
  rowCodes: Uint8Array,
  b: number,
  stride: number,
  pairs: number,
  bins: number,
  hist: Int32Array,
): number {
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
 * Joint entropies of column channels a and a + 1 (when a + 1 < colEnd) with row channels b … b + 3
 * by the WebAssembly kernel (codes in the counter's arena), into out[r] (column a) and out[4 + r]
 * (column a + 1): the same counts as jointEntropiesNibbles, the pairs past the last full 16
 * counted here.
 */
function jointEntropiesWasm(
  counter: WasmCounter,
  columns: CodedChannels,
  a: number,
  colEnd: number,
  rows: CodedChannels,
  b: number,
  rowEnd: number,
  out: Float64Array,
): void {
  const { pairs, stride } = columns;
  const counted = Math.min(WASM_ROWS, rowEnd - b);
  const pair = a + 1 < colEnd;
  const rowOffsets = [0, 1, 2, 3].map((r) => rows.codes.byteOffset + (b + (r < counted ? r : 0)) * stride);
  const blocks = pairs >>> 4;
  const column = columns.codes.byteOffset + a * stride;
  counter.countBlocks(column, pair ? column + stride : column, rowOffsets, blocks);
  const { first, second } = counter;
  const columnCodes = columns.codes;
  const rowCodes = rows.codes;
  const aBase = a * stride;
  for (let r = 0; r < counted; r++) {
    const base = 256 * r;
    const bBase = (b + r) * stride;
    for (let p = blocks << 4; p < pairs; p++) {
      const y = rowCodes[bBase + p];
      first[base + ((columnCodes[aBase + p] << 4) | y)]++;
      if (pair) second[base + ((columnCodes[aBase + stride + p] << 4) | y)]++;
    }
    out[r] = entropyOfCounts(first, base, 256, pairs);
    out[WASM_ROWS + r] = pair ? entropyOfCounts(second, base, 256, pairs) : 0;
  }
}

/** Scratch of one thread filling capacity cells: its histogram, the codes as 32-bit words, the joint entropies of a call, the WebAssembly kernel if the codes are in an arena. */
export interface CellScratch {
  readonly hist: Int32Array;
  readonly columnWords: Uint32Array;
  readonly rowWords: Uint32Array;
  readonly joint: Float64Array;
  readonly wasm: WasmCounter | undefined;
}

/**
 * Scratch for thread `slot` (0: the calling thread). The WebAssembly kernel serves bins ≤ 16 when
 * both layers' codes are in the same arena; otherwise, or when `kernel` is 'js', the JavaScript kernels.
 */
export function cellScratch(columns: CodedChannels, rows: CodedChannels, slot = 0, kernel: 'auto' | 'js' = 'auto'): CellScratch {
  const arena = columns.arena;
  const wasm = kernel === 'auto' && columns.bins <= 16 && arena !== undefined && rows.arena === arena ? new WasmCounter(arena, slot) : undefined;
  return {
    hist: new Int32Array(columns.bins <= 16 ? 4096 : 4 * columns.bins * columns.bins),
    columnWords: new Uint32Array(columns.codes.buffer, columns.codes.byteOffset, columns.codes.length >>> 2),
    rowWords: new Uint32Array(rows.codes.buffer, rows.codes.byteOffset, rows.codes.length >>> 2),
    joint: new Float64Array(2 * Math.max(NIBBLE_ROWS, WASM_ROWS)),
    wasm,
  };
}

/**
 * Fills the cells of rows [rowStart, rowEnd) and columns [colStart, colEnd) (ranges already
 * checked). A cell's value depends only on its two channels, never on the block it is computed in
 * (a row counted alone or beside the next gives the same histogram), so any split of the matrix
 * gives the same doubles.
 */
export function fillCapacityBlock(
  columns: CodedChannels,
  rows: CodedChannels,
  rowStart: number,
  rowEnd: number,
  colStart: number,
  colEnd: number,
  out: Float32Array,
  scratch: CellScratch,
): void {
  const { pairs, bins, stride } = columns;
  const cols = columns.channels;
  const { hist, columnWords, rowWords, joint, wasm } = scratch;
  const store = (a: number, b: number, hAB: number): void => {
    const hA = columns.entropy[a];
    const hB = rows.entropy[b];
    // The plug-in mutual information lies in [0, min(H(A), H(B))] exactly; clamping removes
    // only rounding in the three sums.
    const capacity = hA + hB - hAB;
    out[b * cols + a] = capacity < 0 ? 0 : Math.min(capacity, hA, hB);
  };
  if (wasm !== undefined) {
    for (let b = rowStart; b < rowEnd; b += WASM_ROWS) {
      const counted = Math.min(WASM_ROWS, rowEnd - b);
      for (let a = colStart; a < colEnd; a += 2) {
        jointEntropiesWasm(wasm, columns, a, colEnd, rows, b, rowEnd, joint);
        for (let r = 0; r < counted; r++) {
          store(a, b + r, joint[r]);
          if (a + 1 < colEnd) store(a + 1, b + r, joint[WASM_ROWS + r]);
        }
      }
    }
  } else if (bins <= 16) {
    for (let b = rowStart; b < rowEnd; b += NIBBLE_ROWS) {
      const counted = Math.min(NIBBLE_ROWS, rowEnd - b);
      for (let a = colStart; a < colEnd; a++) {
        jointEntropiesNibbles(columnWords, columns.codes, a, rowWords, rows.codes, b, rowEnd, stride, pairs, hist, joint);
        for (let r = 0; r < counted; r++) store(a, b + r, joint[r]);
      }
    }
  } else {
    for (let b = rowStart; b < rowEnd; b++) {
      for (let a = colStart; a < colEnd; a++) store(a, b, jointEntropyBytes(columns.codes, a, rows.codes, b, stride, pairs, bins, hist));
    }
  }
}

export function checkOut(columns: CodedChannels, rows: CodedChannels, out: Float32Array): void {
  if (out.length !== rows.channels * columns.channels) {
    throw new CnnSlicerError('internal', `capacity matrix: expected ${rows.channels}×${columns.channels} cells, got ${out.length}`);
  }
}

/**
 * Fills rows [rowStart, rowEnd) of a capacity matrix (row = channel of `rows`, column = channel of
 * `columns`, `out` of length rows.channels × columns.channels). Split so a caller can spread the
 * O(Ca·Cb·pairs) work over time slices or workers and stay responsive between them.
 */
export function fillCapacityRows(
  columns: CodedChannels,
  rows: CodedChannels,
  rowStart: number,
  rowEnd: number,
  out: Float32Array,
  kernel: 'auto' | 'js' = 'auto',
): void {
  checkCompatible(columns, rows);
  checkOut(columns, rows, out);
  if (!Number.isInteger(rowStart) || !Number.isInteger(rowEnd) || rowStart < 0 || rowStart > rowEnd || rowEnd > rows.channels) {
    throw new CnnSlicerError('internal', `capacity rows [${rowStart}, ${rowEnd}) are not within [0, ${rows.channels})`);
  }
  fillCapacityBlock(columns, rows, rowStart, rowEnd, 0, columns.channels, out, cellScratch(columns, rows, 0, kernel));
}

// A heatmap's pixels, computed from numbers (no DOM): the matrix in display order, then for every
// device pixel of the plot the cells it covers. When a pixel covers several cells (a 512 × 1,280
// matrix fitted to a 600-pixel panel) it shows their LARGEST capacity, so a strong channel pair
// never disappears between pixels as it would with nearest-neighbour sampling. The legend says so while cells are smaller than a pixel.
import type { ScaleRange } from './capacityModel';
import type { ViewTransform } from './viewport';

/** The matrix with its rows and columns in display order: ordered[r * cols + c] = capacity[rows[r]][columns[c]]. */
export function orderedMatrix(capacity: Float32Array, cols: number, rowOrder: Int32Array, columnOrder: Int32Array): Float32Array {
  const rows = rowOrder.length;
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const src = rowOrder[r] * cols;
    const dst = r * cols;
    for (let c = 0; c < cols; c++) out[dst + c] = capacity[src + columnOrder[c]];
  }
  return out;
}

/**
 * For each of `pixels` device pixels along an axis, the cells [start, end) it shows; -1 where it is
 * past the matrix. Cells at least a pixel wide: the one under the pixel's centre. Smaller cells:
 * those whose leading edge falls inside the pixel (the first pixel also takes the cell it starts
 * in), so the pixels partition the cells and every cell counts in exactly one pixel.
 */
export function pixelCells(pixels: number, origin: number, cellDevicePx: number, size: number): { start: Int32Array; end: Int32Array } {
  const start = new Int32Array(pixels);
  const end = new Int32Array(pixels);
  for (let p = 0; p < pixels; p++) {
    let s: number;
    let e: number;
    if (cellDevicePx >= 1) {
      s = Math.floor(origin + (p + 0.5) / cellDevicePx);
      e = s + 1;
    } else {
      const a = origin + p / cellDevicePx;
      s = p === 0 ? Math.floor(a) : Math.ceil(a);
      e = Math.max(s + 1, Math.ceil(origin + (p + 1) / cellDevicePx));
    }
    if (s >= size || e <= 0) {
      start[p] = -1;
      end[p] = -1;
    } else {
      start[p] = Math.max(0, s);
      end[p] = Math.min(size, e);
    }
  }
  return { start, end };
}

export interface RasterInput {
  readonly ordered: Float32Array;
  readonly rows: number;
  readonly cols: number;
  readonly range: ScaleRange;
  /** RAMP_STEPS colours as RGBA packed little-endian (ImageData's byte order), smallest first. */
  readonly lut: Uint32Array;
  /** The colour of a pixel whose cells are all non-finite. */
  readonly invalid: number;
}

/**
 * Fills `out` (widthPx × heightPx device pixels, row-major, RGBA packed) with the view: each pixel
 * the colour of the largest finite capacity among its cells, 0 (transparent) past the matrix.
 */
export function rasterize(input: RasterInput, t: ViewTransform, dpr: number, widthPx: number, heightPx: number, out: Uint32Array): void {
  const { ordered, rows, cols, range, lut, invalid } = input;
  const cellPx = t.cell * dpr;
  const xs = pixelCells(widthPx, t.originX, cellPx, cols);
  const ys = pixelCells(heightPx, t.originY, cellPx, rows);
  const steps = lut.length - 1;
  const span = range.hi - range.lo;
  const scale = span > 0 ? steps / span : 0;
  const rowMax = new Float32Array(widthPx);
  for (let py = 0; py < heightPx; py++) {
    const base = py * widthPx;
    const r0 = ys.start[py];
    if (r0 < 0) {
      out.fill(0, base, base + widthPx);
      continue;
    }
    const r1 = ys.end[py];
    rowMax.fill(-Infinity);
    for (let r = r0; r < r1; r++) {
      const rowBase = r * cols;
      for (let px = 0; px < widthPx; px++) {
        const c0 = xs.start[px];
        if (c0 < 0) continue;
        const c1 = xs.end[px];
        let m = rowMax[px];
        // Comparisons skip NaN: a pixel is "invalid" only when none of its cells is finite.
        for (let c = c0; c < c1; c++) {
          const v = ordered[rowBase + c];
          if (v > m) m = v;
        }
        rowMax[px] = m;
      }
    }
    for (let px = 0; px < widthPx; px++) {
      if (xs.start[px] < 0) {
        out[base + px] = 0;
        continue;
      }
      const m = rowMax[px];
      if (m === -Infinity || m === Infinity) out[base + px] = m === Infinity ? lut[steps] : invalid;
      else {
        const i = Math.round((m - range.lo) * scale);
        out[base + px] = lut[i < 0 ? 0 : i > steps ? steps : i];
      }
    }
  }
}

/** An RGBA colour packed as ImageData stores it on little-endian machines (every browser VS Code runs in). */
export function packRgba(r: number, g: number, b: number, a = 255): number {
  return ((a & 255) << 24) | ((b & 255) << 16) | ((g & 255) << 8) | (r & 255);
}

// What a channel-capacity heatmap shows, as plain numbers (no DOM): the order of its columns and
// rows (§5.3.2), the colour scale's ends, and the ramp between them. The canvas drawing is in
// heatmap.ts; the benchmark and the tests use these directly.
import type { ChannelCapacityResult } from '../../src/shared/measures';
import type { CapacitySort } from '../../src/shared/webviewProtocol';
import { mix, relativeLuminance, type Rgba, type ThemeColors } from '../shared/theme';
import { seriationOrder } from './seriation';

/** position → channel: which channel of li is the k-th column, which channel of lj the k-th row. */
export interface DisplayOrder {
  readonly columns: Int32Array;
  readonly rows: Int32Array;
}

const identities = new Map<number, Int32Array>();

/** 0, 1, …, n − 1, one shared array per n (display orders are read, never written). */
function identity(n: number): Int32Array {
  let order = identities.get(n);
  if (order === undefined) {
    order = Int32Array.from({ length: n }, (_, i) => i);
    identities.set(n, order);
  }
  return order;
}

/** Similarity orders already computed, per matrix: they cost O(n² m) and a re-sort must not pay it again. */
const seriations = new WeakMap<ChannelCapacityResult, { rows?: Int32Array; cols?: Int32Array }>();

/** The similarity order (seriation.ts) of the matrix's rows or columns, computed once per matrix. */
export function similarityOrder(result: ChannelCapacityResult, which: 'rows' | 'cols'): Int32Array {
  let entry = seriations.get(result);
  if (entry === undefined) {
    entry = {};
    seriations.set(result, entry);
  }
  const known = entry[which];
  if (known !== undefined) return known;
  const order = seriationOrder(result.capacity, result.rows, result.cols, which);
  entry[which] = order;
  return order;
}

/** Whether showing this sort needs a similarity order not computed yet (the view says so while it works). */
export function needsSeriation(result: ChannelCapacityResult, sortColumns: CapacitySort, sortRows: CapacitySort): boolean {
  const entry = seriations.get(result);
  return (sortColumns === 'similar' && entry?.cols === undefined) || (sortRows === 'similar' && entry?.rows === undefined);
}

/** The engine's orders (largest statistic first), a similarity order, or channel order for 'none'. */
export function displayOrder(result: ChannelCapacityResult, sortColumns: CapacitySort, sortRows: CapacitySort): DisplayOrder {
  const o = result.order;
  const columns =
    sortColumns === 'max'
      ? o.colsByMax
      : sortColumns === 'mean'
        ? o.colsByMean
        : sortColumns === 'similar'
          ? similarityOrder(result, 'cols')
          : identity(result.cols);
  const rows =
    sortRows === 'max' ? o.rowsByMax : sortRows === 'mean' ? o.rowsByMean : sortRows === 'similar' ? similarityOrder(result, 'rows') : identity(result.rows);
  return { columns, rows };
}

/** Capacity between channel `column` of li and channel `row` of lj, in bits. */
export function capacityAt(result: ChannelCapacityResult, row: number, column: number): number {
  return result.capacity[row * result.cols + column];
}

/** The largest or mean capacity of one channel of li (a column) over every channel of lj. */
export function columnStatistic(result: ChannelCapacityResult, column: number, stat: 'max' | 'mean'): number {
  let max = -Infinity;
  let sum = 0;
  for (let r = 0; r < result.rows; r++) {
    const v = capacityAt(result, r, column);
    max = Math.max(max, v);
    sum += v;
  }
  return stat === 'max' ? max : sum / result.rows;
}

export function rowStatistic(result: ChannelCapacityResult, row: number, stat: 'max' | 'mean'): number {
  let max = -Infinity;
  let sum = 0;
  for (let c = 0; c < result.cols; c++) {
    const v = capacityAt(result, row, c);
    max = Math.max(max, v);
    sum += v;
  }
  return stat === 'max' ? max : sum / result.cols;
}

/** The ends of the colour scale, in bits. */
export interface ScaleRange {
  readonly lo: number;
  readonly hi: number;
}

/** Smallest and largest finite capacity of the matrices; undefined when they hold none. */
export function valueRange(results: readonly ChannelCapacityResult[]): ScaleRange | undefined {
  let lo = Infinity;
  let hi = -Infinity;
  for (const r of results) {
    for (const v of r.capacity) {
      if (!Number.isFinite(v)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return lo <= hi ? { lo, hi } : undefined;
}

/** Where `value` lies on the scale, 0 (lo) … 1 (hi); everything at one value sits at 0. */
export function scalePosition(value: number, range: ScaleRange): number {
  if (!(range.hi > range.lo)) return 0;
  return Math.min(1, Math.max(0, (value - range.lo) / (range.hi - range.lo)));
}

/**
 * The paper's encoding, "a brighter color indicates a smaller channel capacity", in any theme:
 * the ramp runs between the editor background and a strong colour (the theme's foreground mixed
 * with its chart blue), and whichever of the two ends has the higher luminance is the small end.
 * In light themes that is the background (small capacities fade into the page, large ones are
 * dark); in dark themes the strong colour is the light end (small capacities glow, large ones sink
 * into the dark background).
 */
export interface CapacityRamp {
  /** The colour of the smallest capacity: the brighter end. */
  readonly small: Rgba;
  /** The colour of the largest capacity: the darker end. */
  readonly large: Rgba;
}

/**
 * Every RGB component moves the same way from `a` to `b`, so luminance changes monotonically
 * along the straight line between them (relative luminance is increasing in each component).
 */
function monotonicBetween(a: Rgba, b: Rgba): boolean {
  const d = [b.r - a.r, b.g - a.g, b.b - a.b];
  return d.every((x) => x >= 0) || d.every((x) => x <= 0);
}

export function capacityRamp(colors: ThemeColors): CapacityRamp {
  const background = colors.background;
  const mixed = { ...mix(colors.foreground, colors.accent, 0.5), a: 1 };
  const strong = monotonicBetween(background, mixed) ? mixed : colors.foreground;
  return relativeLuminance(background) >= relativeLuminance(strong) ? { small: background, large: strong } : { small: strong, large: background };
}

/** The colour of `value`: brighter the smaller it is. */
export function capacityColor(value: number, range: ScaleRange, ramp: CapacityRamp): Rgba {
  return mix(ramp.small, ramp.large, scalePosition(value, range));
}

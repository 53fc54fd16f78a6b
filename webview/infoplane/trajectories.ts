// The information plane as plain numbers (no DOM): the engine's points per epoch regrouped into one
// trajectory per representation (the input, then every layer in the model's order), the point of a
// trajectory at an epoch, the colour of a depth, and the nearest point to the pointer. Unit-tested
// without a browser.
import type { InfoPlaneEpoch } from '../../src/shared/information';

/** One point of a trajectory. A value the engine could not give (NaN, which postMessage turns into null) is undefined. */
export interface TrajectoryPoint {
  readonly epoch: number;
  readonly IXT: number | undefined;
  readonly ITY: number | undefined;
}

/** A representation T over the epochs, in epoch order. */
export interface Trajectory {
  readonly layer: string;
  readonly depth: number;
  readonly points: readonly TrajectoryPoint[];
}

function finite(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** Every representation's points over the epochs, shallowest first (the input is depth 0). */
export function trajectoriesOf(items: readonly InfoPlaneEpoch[]): Trajectory[] {
  const byLayer = new Map<string, { depth: number; points: TrajectoryPoint[] }>();
  for (const item of items) {
    for (const p of item.points) {
      let t = byLayer.get(p.layer);
      if (t === undefined) {
        t = { depth: p.depth, points: [] };
        byLayer.set(p.layer, t);
      }
      t.points.push({ epoch: item.epoch, IXT: finite(p.IXT), ITY: finite(p.ITY) });
    }
  }
  return [...byLayer.entries()]
    .map(([layer, t]) => ({ layer, depth: t.depth, points: t.points.sort((a, b) => a.epoch - b.epoch) }))
    .sort((a, b) => a.depth - b.depth || a.layer.localeCompare(b.layer));
}

/**
 * The point the marker sits on for `epoch`: that epoch's, or, while a live run's newest epoch is
 * still being computed, the latest one before it. Undefined before the first.
 */
export function pointAt(trajectory: Trajectory, epoch: number): TrajectoryPoint | undefined {
  let found: TrajectoryPoint | undefined;
  for (const p of trajectory.points) {
    if (p.epoch > epoch) break;
    found = p;
  }
  return found;
}

/** The epoch the markers show for `epoch`: the latest epoch of the plane at or before it. */
export function markedEpoch(items: readonly InfoPlaneEpoch[], epoch: number | undefined): number | undefined {
  if (epoch === undefined) return undefined;
  let found: number | undefined;
  for (const item of items) if (item.epoch <= epoch && (found === undefined || item.epoch > found)) found = item.epoch;
  return found;
}

/** Bits with six significant digits: what the tooltip and the table show as the exact value. */
export function formatBits(value: number | undefined): string {
  return value === undefined ? '–' : String(Number(value.toPrecision(6)));
}

/**
 * Viridis (matplotlib's perceptually uniform map, whose lightness rises monotonically), sampled at
 * nine stops. The plane colours depth along it: the input darkest on a light theme, the last
 * layer lightest, so depth reads as lightness in any hue perception.
 */
const VIRIDIS = ['#440154', '#472d7b', '#3b528b', '#2c728e', '#21918c', '#28ae80', '#5ec962', '#addc30', '#fde725'];

function hexRgb(hex: string): [number, number, number] {
  return [parseInt(hex.slice(1, 3), 16), parseInt(hex.slice(3, 5), 16), parseInt(hex.slice(5, 7), 16)];
}

/** Viridis at t in [0, 1], as `rgb(r, g, b)`. */
export function viridis(t: number): string {
  const u = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(u));
  const f = u - i;
  const a = hexRgb(VIRIDIS[i]);
  const b = hexRgb(VIRIDIS[i + 1]);
  const c = a.map((v, k) => Math.round(v + (b[k] - v) * f));
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}

/**
 * The colour of `depth` out of 0…maxDepth. The end of viridis that would vanish into the
 * background is left out: its light yellow on a light theme, its dark purple on a dark one.
 */
export function depthColor(depth: number, maxDepth: number, dark: boolean): string {
  const [lo, hi] = dark ? [0.25, 1] : [0, 0.82];
  const t = maxDepth > 0 ? depth / maxDepth : 0;
  return viridis(lo + (hi - lo) * t);
}

/** A point on screen (CSS pixels of the page) with what it stands for. */
export interface ScreenPoint {
  readonly layer: string;
  readonly depth: number;
  readonly epoch: number;
  readonly IXT: number;
  readonly ITY: number;
  readonly x: number;
  readonly y: number;
}

/** Points this close on screen (CSS pixels) are one to the eye: the input's points at every epoch are usually one. */
export const SAME_POINT_PX = 1;

/** The point nearest (x, y) within `radius` pixels; among equals, the later one (drawn on top). */
export function nearestPoint<P extends { readonly x: number; readonly y: number }>(points: readonly P[], x: number, y: number, radius: number): P | undefined {
  let best: P | undefined;
  let bestD = radius * radius;
  for (const p of points) {
    const d = (p.x - x) ** 2 + (p.y - y) ** 2;
    if (d <= bestD) {
      best = p;
      bestD = d;
    }
  }
  return best;
}

/**
 * The point under the pointer, and the epochs of its trajectory drawn at the same place. Where a
 * trajectory's points coincide (a representation that training does not change), the one of the
 * marked epoch is taken, so a click there keeps the epoch instead of jumping to whichever was drawn last.
 */
export function pointUnder(
  points: readonly ScreenPoint[],
  x: number,
  y: number,
  radius: number,
  marked: number | undefined,
): { readonly point: ScreenPoint; readonly sameEpochs: readonly number[] } | undefined {
  const nearest = nearestPoint(points, x, y, radius);
  if (nearest === undefined) return undefined;
  const same = points.filter((p) => p.layer === nearest.layer && Math.hypot(p.x - nearest.x, p.y - nearest.y) <= SAME_POINT_PX);
  const point = same.find((p) => p.epoch === marked) ?? nearest;
  return { point, sameEpochs: same.map((p) => p.epoch).sort((a, b) => a - b) };
}

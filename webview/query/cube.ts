// The geometry of the hypercube drawing (paper Fig. 3B, C): an oblique projection whose front face
// spans the layers (L, left to right) and channels (C, top to bottom), with the epochs (T) going
// back and up. Pure numbers, no DOM: main.ts draws with them and maps pointer positions back to
// layers, channels and epochs with them. The L axis spans a range of layers: all, or a block's
// when zoomed.
import { rangeCount, type LayerRange } from './hierarchy';

export interface Point {
  readonly x: number;
  readonly y: number;
}

export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

export interface CubeLayout {
  /** The SVG's viewBox size; the drawing scales to the view's width. */
  readonly width: number;
  readonly height: number;
  /** The L × C face. */
  readonly face: Rect;
  /** The T axis: from the face (first epoch) to the back (last epoch). */
  readonly depth: Point;
  /** Where dragging selects layers: a band under the face. */
  readonly lAxis: Rect;
  /** Under the L axis: the blocks of the layers it spans, a click zooms into one. */
  readonly lBlocks: Rect;
  /** Where dragging selects a channel: a band left of the face. */
  readonly cAxis: Rect;
  /** The T axis line, along the cube's lower right edge. */
  readonly tFrom: Point;
  readonly tTo: Point;
}

export const CUBE: CubeLayout = (() => {
  const width = 800;
  const height = 362;
  const depth = { x: 130, y: -80 };
  const face = { x: 92, y: 104, w: 470, h: 170 };
  return {
    width,
    height,
    face,
    depth,
    lAxis: { x: face.x, y: face.y + face.h + 6, w: face.w, h: 26 },
    lBlocks: { x: face.x, y: face.y + face.h + 34, w: face.w, h: 20 },
    cAxis: { x: face.x - 34, y: face.y, w: 28, h: face.h },
    tFrom: { x: face.x + face.w, y: face.y + face.h },
    tTo: { x: face.x + face.w + depth.x, y: face.y + face.h + depth.y },
  };
})();

export function contains(r: Rect, p: Point, slack = 0): boolean {
  return p.x >= r.x - slack && p.x <= r.x + r.w + slack && p.y >= r.y - slack && p.y <= r.y + r.h + slack;
}

function clampIndex(i: number, count: number): number {
  return Math.min(count - 1, Math.max(0, i));
}

/** Left and right x of layer `i` on the face, which spans the layers of `range`. */
export function layerSpan(layout: CubeLayout, i: number, range: LayerRange): readonly [number, number] {
  const w = layout.face.w / Math.max(1, rangeCount(range));
  return [layout.face.x + (i - range.from) * w, layout.face.x + (i - range.from + 1) * w];
}

/** Top and bottom y of channel `c` on a C axis of `scale` channels. */
export function channelSpan(layout: CubeLayout, c: number, scale: number): readonly [number, number] {
  const h = layout.face.h / Math.max(1, scale);
  return [layout.face.y + c * h, layout.face.y + (c + 1) * h];
}

/** The layer under x, clamped to the axis's range: a drag past either end keeps the end layer. */
export function layerAt(layout: CubeLayout, x: number, range: LayerRange): number {
  const count = rangeCount(range);
  return range.from + clampIndex(Math.floor(((x - layout.face.x) / layout.face.w) * count), count);
}

export function channelAt(layout: CubeLayout, y: number, scale: number): number {
  return clampIndex(Math.floor(((y - layout.face.y) / layout.face.h) * scale), scale);
}

/** How far back epoch index `k` of `count` lies, 0 (front) … 1 (back). */
export function epochDepth(k: number, count: number): number {
  return count > 1 ? k / (count - 1) : 0;
}

/** The epoch index nearest to where `p` projects onto the T axis. */
export function epochAt(layout: CubeLayout, p: Point, count: number): number {
  const ax = layout.tTo.x - layout.tFrom.x;
  const ay = layout.tTo.y - layout.tFrom.y;
  const t = ((p.x - layout.tFrom.x) * ax + (p.y - layout.tFrom.y) * ay) / (ax * ax + ay * ay);
  return clampIndex(Math.round(Math.min(1, Math.max(0, t)) * (count - 1)), count);
}

/** Distance from `p` to the T axis segment, to tell a press on the axis from one beside it. */
export function distanceToTAxis(layout: CubeLayout, p: Point): number {
  const ax = layout.tTo.x - layout.tFrom.x;
  const ay = layout.tTo.y - layout.tFrom.y;
  const t = Math.min(1, Math.max(0, ((p.x - layout.tFrom.x) * ax + (p.y - layout.tFrom.y) * ay) / (ax * ax + ay * ay)));
  return Math.hypot(p.x - (layout.tFrom.x + t * ax), p.y - (layout.tFrom.y + t * ay));
}

/** `x1,y1 x2,y2 …` for an SVG polygon. */
export function points(ps: readonly Point[]): string {
  return ps.map((p) => `${round(p.x)},${round(p.y)}`).join(' ');
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

/**
 * The three visible faces (front, top, right side) of the box spanning [x0, x1] × [y0, y1] on the
 * face and the whole T axis: a slab of layers, of channels, or their intersection.
 */
export function boxFaces(layout: CubeLayout, x0: number, x1: number, y0: number, y1: number): { front: Point[]; top: Point[]; side: Point[] } {
  const d = layout.depth;
  return {
    front: [
      { x: x0, y: y0 },
      { x: x1, y: y0 },
      { x: x1, y: y1 },
      { x: x0, y: y1 },
    ],
    top: [
      { x: x0, y: y0 },
      { x: x1, y: y0 },
      { x: x1 + d.x, y: y0 + d.y },
      { x: x0 + d.x, y: y0 + d.y },
    ],
    side: [
      { x: x1, y: y0 },
      { x: x1 + d.x, y: y0 + d.y },
      { x: x1 + d.x, y: y1 + d.y },
      { x: x1, y: y1 },
    ],
  };
}

/** At most `max` evenly spread tick indices of `count`, always with the first and the last. */
export function tickIndices(count: number, max: number): number[] {
  if (count <= 0) return [];
  if (count <= max) return Array.from({ length: count }, (_, i) => i);
  const step = (count - 1) / (max - 1);
  const out = new Set<number>();
  for (let i = 0; i < max; i++) out.add(Math.round(i * step));
  return [...out].sort((a, b) => a - b);
}

/** Round steps for the L axis's numbers: 1, 2, 5, 10, 20, 25, 50, 100, … */
const ROUND_STEPS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000];

/**
 * Layer indices of `range` whose numbers (index + 1) the L axis writes on an axis of `axisWidth`
 * units: the first, the multiples of a round step, and the last layer, never two closer than
 * their text needs (`charWidth` per digit plus `gap`), so 140 layers do not print "…133139140".
 */
export function layerLabelIndices(range: LayerRange, axisWidth: number, charWidth = 7, gap = 6): number[] {
  const count = rangeCount(range);
  if (count <= 0) return [];
  const need = String(range.to + 1).length * charWidth + gap;
  const minEvery = Math.max(1, Math.ceil(need / (axisWidth / count)));
  const step = ROUND_STEPS.find((s) => s >= minEvery) ?? minEvery;
  const candidates = [range.from];
  for (let n = Math.ceil((range.from + 2) / step) * step; n <= range.to + 1; n += step) candidates.push(n - 1);
  if (candidates[candidates.length - 1] !== range.to) candidates.push(range.to);
  const kept: number[] = [];
  for (const i of candidates) {
    if (kept.length === 0 || i - kept[kept.length - 1] >= minEvery) kept.push(i);
    // Too close: the last layer's number replaces the one before it (farther from the one before that).
    else if (i === range.to && kept.length > 1) kept[kept.length - 1] = i;
  }
  return kept;
}

/**
 * The first of `candidates` (a block's name, then shorter forms of it) whose text fits in `width`
 * units at `charWidth` per character with `gap` to spare, or undefined: a band's name is written
 * only inside its own band, so two names never overlap.
 */
export function fittingLabel(candidates: readonly string[], width: number, charWidth = 7, gap = 6): string | undefined {
  return candidates.find((text) => text.length * charWidth + gap <= width);
}

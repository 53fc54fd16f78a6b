// The small multiples' overview: every channel shown, in the order shown, as one thin column of
// colour (the sort key's value), with the rows in view outlined and the selected channel ticked.
// Clicking or dragging on it scrolls the small multiples there. A channel gets at least one pixel
// column: when the channels outnumber the strip's pixels (1,280 channels in a 700 px card) the
// strip wraps onto a second line rather than merging channels into one column.
import { clearedCanvasContext } from '../shared/canvas';
import { mix, toCss, type Rgba, type ThemeColors } from '../shared/theme';

const LINE_PX = 12;
const LINE_GAP_PX = 3;

export interface OverviewInput {
  /** The channels in the order shown. */
  readonly order: Int32Array;
  /** Every channel's value of the colouring key (by channel number); NaN where it has none. */
  readonly values: Float64Array;
  /** Whether the key is dead-or-alive (colours two ways) rather than a magnitude (a ramp). */
  readonly binary: boolean;
  /** The positions in the order that are in view, [first, end). */
  readonly visibleFirst: number;
  readonly visibleEnd: number;
  readonly highlighted: number | undefined;
}

/** A rectangle drawn on the strip, in CSS pixels. */
export interface StripRect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface OverviewGeometry {
  readonly width: number;
  readonly lines: number;
  /** Channels per line: the last line may hold fewer. */
  readonly perLine: number;
  /** The outline of the positions in view, one rectangle per line it crosses. */
  readonly marks: readonly StripRect[];
}

export class OverviewStrip {
  readonly canvas: HTMLCanvasElement;
  private geometryValue: OverviewGeometry | undefined;
  private count = 0;

  constructor(id: string) {
    this.canvas = document.createElement('canvas');
    this.canvas.id = id;
    this.canvas.className = 'overview-canvas';
    this.canvas.setAttribute('role', 'img');
    this.canvas.setAttribute(
      'aria-label',
      'Every channel shown, in order, coloured by the sort key, the boxes in view outlined; click or drag to scroll there',
    );
  }

  get geometry(): OverviewGeometry | undefined {
    return this.geometryValue;
  }

  render(input: OverviewInput, colors: ThemeColors, width: number, focus: Rgba): void {
    const n = input.order.length;
    this.count = n;
    const w = Math.max(1, Math.floor(width));
    const lines = Math.max(1, Math.ceil(n / w));
    const perLine = Math.max(1, Math.ceil(n / lines));
    const height = lines * LINE_PX + (lines - 1) * LINE_GAP_PX;
    const ctx = clearedCanvasContext(this.canvas, w, height);
    const marks = markRects(input.visibleFirst, input.visibleEnd, perLine, w);
    this.geometryValue = { width: w, lines, perLine, marks };
    if (ctx === null) return;
    let max = 0;
    let min = Infinity;
    for (let i = 0; i < n; i++) {
      const v = input.values[input.order[i]];
      if (Number.isFinite(v)) {
        max = Math.max(max, v);
        min = Math.min(min, v);
      }
    }
    const low = mix(colors.background, colors.foreground, 0.12);
    const span = max > min ? max - min : 1;
    const colorOf = (v: number): string => {
      if (!Number.isFinite(v)) return toCss(colors.background);
      if (input.binary) return v > 0 ? toCss(colors.error) : toCss(mix(colors.background, colors.foreground, 0.25));
      return toCss(mix(low, colors.accent, (v - min) / span));
    };
    const step = w / perLine;
    for (let i = 0; i < n; i++) {
      const x = (i % perLine) * step;
      const y = Math.floor(i / perLine) * (LINE_PX + LINE_GAP_PX);
      ctx.fillStyle = colorOf(input.values[input.order[i]]);
      // Whole pixels, at least one wide, so neighbours do not blur into each other.
      ctx.fillRect(Math.floor(x), y, Math.max(1, Math.floor(x + step) - Math.floor(x)), LINE_PX);
    }
    if (input.highlighted !== undefined) {
      const i = input.order.indexOf(input.highlighted);
      if (i >= 0) {
        ctx.fillStyle = toCss(focus);
        ctx.fillRect(Math.floor((i % perLine) * step + step / 2) - 1, Math.floor(i / perLine) * (LINE_PX + LINE_GAP_PX), 2, LINE_PX);
      }
    }
    ctx.strokeStyle = toCss(colors.foreground);
    ctx.lineWidth = 2;
    for (const m of marks) ctx.strokeRect(m.x + 1, m.y + 1, Math.max(1, m.width - 2), m.height - 2);
  }

  /** The position in the order under a pointer event, clamped to the strip. */
  indexAt(clientX: number, clientY: number): number | undefined {
    const g = this.geometryValue;
    if (g === undefined || this.count === 0) return undefined;
    const rect = this.canvas.getBoundingClientRect();
    const x = Math.max(0, Math.min(g.width - 1, clientX - rect.left));
    const line = Math.max(0, Math.min(g.lines - 1, Math.floor((clientY - rect.top) / (LINE_PX + LINE_GAP_PX))));
    return Math.min(this.count - 1, line * g.perLine + Math.floor((x / g.width) * g.perLine));
  }
}

/** The outline of positions [first, end) on a strip of `perLine` positions per line. */
function markRects(first: number, end: number, perLine: number, width: number): StripRect[] {
  const rects: StripRect[] = [];
  const step = width / perLine;
  for (let i = first; i < end;) {
    const line = Math.floor(i / perLine);
    const lineEnd = Math.min(end, (line + 1) * perLine);
    const x0 = Math.floor((i - line * perLine) * step);
    const x1 = Math.max(x0 + 2, Math.floor((lineEnd - line * perLine) * step));
    rects.push({ x: x0, y: line * (LINE_PX + LINE_GAP_PX), width: Math.min(width, x1) - x0, height: LINE_PX });
    i = lineEnd;
  }
  return rects;
}

// One channel-capacity heatmap (Fig. 8A) on one canvas: a cell per (channel of lj, channel of li)
// pair, drawn with fillRect, never one DOM node per cell (a 512-channel pair would be 262,144
// nodes). The pointer is mapped to a cell by arithmetic on its position.
import type { ChannelCapacityResult } from '../../src/shared/measures';
import { clearedCanvasContext } from '../shared/canvas';
import { mix, toCss, type Rgba, type ThemeColors } from '../shared/theme';
import { capacityAt, scalePosition, type CapacityRamp, type DisplayOrder, type ScaleRange } from './capacityModel';

/** Cell edge in CSS pixels: large enough to hit with the pointer, small enough for 64 channels side by side. */
export const MIN_CELL_PX = 2;
export const MAX_CELL_PX = 28;
/** Channel numbers are written along the axes only when a cell is at least this wide. */
const LABEL_CELL_PX = 14;
/** 256 colours along the ramp: 8-bit colour cannot show finer steps anyway, and a lookup is cheaper than a mix per cell. */
const RAMP_STEPS = 256;

export interface HeatmapInput {
  readonly result: ChannelCapacityResult;
  readonly order: DisplayOrder;
  readonly range: ScaleRange;
  readonly ramp: CapacityRamp;
  /** The clicked cell, by channels. */
  readonly selected?: { readonly column: number; readonly row: number };
  /** A channel chosen elsewhere (the linked selection): its column (a channel of li) or row (of lj) is outlined. */
  readonly linkedColumn?: number;
  readonly linkedRow?: number;
}

/** Where the cells are in the canvas, in CSS pixels; the tests read pixels at cell centres from it. */
export interface HeatmapGeometry {
  readonly x0: number;
  readonly y0: number;
  readonly cell: number;
  readonly rows: number;
  readonly cols: number;
}

export interface HeatmapHit {
  /** Display positions. */
  readonly rowPosition: number;
  readonly columnPosition: number;
  /** Channels: `column` of li, `row` of lj. */
  readonly column: number;
  readonly row: number;
  readonly value: number;
}

export function cellSizeFor(width: number, height: number, cols: number, rows: number): number {
  const fit = Math.floor(Math.min(width / Math.max(1, cols), height / Math.max(1, rows)));
  return Math.max(MIN_CELL_PX, Math.min(MAX_CELL_PX, fit));
}

export class HeatmapCanvas {
  readonly canvas: HTMLCanvasElement;
  private input: HeatmapInput | undefined;
  private geometryValue: HeatmapGeometry | undefined;
  private lut: string[] = [];
  private lutKey = '';

  constructor(id: string, label: string) {
    this.canvas = document.createElement('canvas');
    this.canvas.id = id;
    this.canvas.className = 'heatmap-canvas';
    this.canvas.setAttribute('role', 'img');
    this.canvas.setAttribute('aria-label', label);
  }

  get geometry(): HeatmapGeometry | undefined {
    return this.geometryValue;
  }

  get current(): HeatmapInput | undefined {
    return this.input;
  }

  /** Draws the heatmap with cells of `cell` CSS pixels. */
  render(input: HeatmapInput, colors: ThemeColors, cell: number, focus: Rgba): void {
    this.input = input;
    const { result, order, range, ramp } = input;
    const labels = cell >= LABEL_CELL_PX;
    const fontPx = Math.max(9, Math.min(11, cell - 3));
    const font = `${fontPx}px ${colors.fontFamily}`;
    const ctx0 = this.canvas.getContext('2d');
    if (ctx0 === null) return;
    ctx0.font = font;
    const digits = String(Math.max(result.rows, result.cols) - 1).length;
    const labelWidth = labels ? Math.ceil(ctx0.measureText('8'.repeat(digits)).width) + 6 : 0;
    // One pixel of room around the cells for the frame and outlines.
    const x0 = labelWidth + 2;
    const y0 = (labels ? fontPx + 6 : 0) + 2;
    const width = x0 + result.cols * cell + 2;
    const height = y0 + result.rows * cell + 2;
    const ctx = clearedCanvasContext(this.canvas, width, height);
    if (ctx === null) return;
    this.geometryValue = { x0, y0, cell, rows: result.rows, cols: result.cols };

    const lut = this.rampLut(ramp);
    const { columns, rows } = order;
    const cols = result.cols;
    for (let r = 0; r < result.rows; r++) {
      const base = rows[r] * cols;
      const y = y0 + r * cell;
      for (let c = 0; c < cols; c++) {
        const v = result.capacity[base + columns[c]];
        ctx.fillStyle = Number.isFinite(v) ? lut[Math.round(scalePosition(v, range) * (RAMP_STEPS - 1))] : toCss(colors.error);
        ctx.fillRect(x0 + c * cell, y, cell, cell);
      }
    }
    // A frame: in light themes the smallest capacities are the page's own colour.
    ctx.strokeStyle = toCss(colors.grid);
    ctx.lineWidth = 1;
    ctx.strokeRect(x0 - 0.5, y0 - 0.5, cols * cell + 1, result.rows * cell + 1);

    if (labels) {
      ctx.fillStyle = toCss(colors.muted);
      ctx.font = font;
      ctx.textAlign = 'center';
      ctx.textBaseline = 'bottom';
      for (let c = 0; c < cols; c++) ctx.fillText(String(columns[c]), x0 + (c + 0.5) * cell, y0 - 3);
      ctx.textAlign = 'right';
      ctx.textBaseline = 'middle';
      for (let r = 0; r < result.rows; r++) ctx.fillText(String(rows[r]), x0 - 4, y0 + (r + 0.5) * cell);
    }

    ctx.strokeStyle = toCss(focus);
    if (input.linkedColumn !== undefined) {
      const c = columns.indexOf(input.linkedColumn);
      if (c >= 0) {
        ctx.lineWidth = 1;
        ctx.setLineDash([3, 2]);
        ctx.strokeRect(x0 + c * cell - 0.5, y0 - 0.5, cell + 1, result.rows * cell + 1);
        ctx.setLineDash([]);
      }
    }
    if (input.linkedRow !== undefined) {
      const r = rows.indexOf(input.linkedRow);
      if (r >= 0) {
        ctx.lineWidth = 1;
        ctx.setLineDash([3, 2]);
        ctx.strokeRect(x0 - 0.5, y0 + r * cell - 0.5, cols * cell + 1, cell + 1);
        ctx.setLineDash([]);
      }
    }
    if (input.selected !== undefined) {
      const c = columns.indexOf(input.selected.column);
      const r = rows.indexOf(input.selected.row);
      if (c >= 0 && r >= 0) {
        ctx.lineWidth = 2;
        ctx.strokeRect(x0 + c * cell - 1, y0 + r * cell - 1, cell + 2, cell + 2);
      }
    }
  }

  /** The cell under a pointer event, by arithmetic on its position; undefined outside the cells. */
  hit(clientX: number, clientY: number): HeatmapHit | undefined {
    const g = this.geometryValue;
    const input = this.input;
    if (g === undefined || input === undefined) return undefined;
    const box = this.canvas.getBoundingClientRect();
    const x = clientX - box.left - g.x0;
    const y = clientY - box.top - g.y0;
    const columnPosition = Math.floor(x / g.cell);
    const rowPosition = Math.floor(y / g.cell);
    if (x < 0 || y < 0 || columnPosition >= g.cols || rowPosition >= g.rows) return undefined;
    const column = input.order.columns[columnPosition];
    const row = input.order.rows[rowPosition];
    return { rowPosition, columnPosition, column, row, value: capacityAt(input.result, row, column) };
  }

  private rampLut(ramp: CapacityRamp): string[] {
    const key = `${toCss(ramp.small)}|${toCss(ramp.large)}`;
    if (key !== this.lutKey) {
      this.lutKey = key;
      this.lut = Array.from({ length: RAMP_STEPS }, (_, i) => toCss(mix(ramp.small, ramp.large, i / (RAMP_STEPS - 1))));
    }
    return this.lut;
  }
}

/** The legend's gradient, drawn left (smallest, brightest) to right (largest). */
export function drawRampLegend(canvas: HTMLCanvasElement, ramp: CapacityRamp, colors: ThemeColors, width: number, height: number): void {
  const ctx = clearedCanvasContext(canvas, width, height);
  if (ctx === null) return;
  const gradient = ctx.createLinearGradient(0, 0, width, 0);
  gradient.addColorStop(0, toCss(ramp.small));
  gradient.addColorStop(1, toCss(ramp.large));
  ctx.fillStyle = gradient;
  ctx.fillRect(0, 0, width, height);
  ctx.strokeStyle = toCss(colors.grid);
  ctx.strokeRect(0.5, 0.5, width - 1, height - 1);
}

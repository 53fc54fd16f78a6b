// One channel-capacity heatmap (Fig. 8A) on one canvas, at any size: the matrix is fitted to the
// panel and can be zoomed and panned (viewport.ts); its pixels come from heatmapRaster.ts (one
// putImageData per frame, never a DOM node or a fillRect per cell: a 512 × 1,280 pair is 655,360
// cells); channel numbers are written along both axes at a step where they do not overlap; the
// pointer is mapped to a cell by arithmetic on its position.
import type { ChannelCapacityResult } from '../../src/shared/measures';
import { clearedCanvasContext } from '../shared/canvas';
import { mix, toCss, type Rgba, type ThemeColors } from '../shared/theme';
import { capacityAt, type CapacityRamp, type DisplayOrder, type ScaleRange } from './capacityModel';
import { orderedMatrix, packRgba, rasterize } from './heatmapRaster';
import {
  clampViewport,
  fitViewport,
  labelStep,
  panBy,
  revealCell,
  viewTransform,
  visibleRange,
  zoomAt,
  type PlotSize,
  type Viewport,
  type ViewTransform,
} from './viewport';

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

/**
 * Where the cells are in the canvas, in CSS pixels: cell (row r, column c) in display positions
 * has its centre at (x0 + (c + 0.5) · cell, y0 + (r + 0.5) · cell) while it lies inside `plot`.
 * The tests read pixels at cell centres from it.
 */
export interface HeatmapGeometry {
  readonly x0: number;
  readonly y0: number;
  readonly cell: number;
  readonly rows: number;
  readonly cols: number;
  readonly plot: { readonly left: number; readonly top: number; readonly width: number; readonly height: number };
  readonly zoom: number;
  /** Display positions [first, last) at least partly in view. */
  readonly visibleColumns: readonly [number, number];
  readonly visibleRows: readonly [number, number];
  /** The step between labelled positions on each axis (1 = every channel numbered). */
  readonly columnLabelStep: number;
  readonly rowLabelStep: number;
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

/** Room the heatmap may take, in CSS pixels, and the cell size at "fit" (shared by the heatmaps shown side by side). */
export interface HeatmapBox {
  readonly fit: number;
}

interface Drawn {
  readonly input: HeatmapInput;
  readonly colors: ThemeColors;
  readonly focus: Rgba;
  readonly fit: number;
}

export class HeatmapCanvas {
  readonly canvas: HTMLCanvasElement;
  /** Display positions of the keyboard's cell, outlined and described while the canvas has focus. */
  cursor: { columnPosition: number; rowPosition: number } | undefined;
  private drawn: Drawn | undefined;
  private viewportValue: Viewport = { zoom: 1, cx: 0, cy: 0 };
  private geometryValue: HeatmapGeometry | undefined;
  private plot: PlotSize = { width: 0, height: 0 };
  private lut = new Uint32Array(RAMP_STEPS);
  private lutKey = '';
  private ordered: { result: ChannelCapacityResult; columns: Int32Array; rows: Int32Array; values: Float32Array } | undefined;
  private image: ImageData | undefined;

  constructor(id: string, label: string) {
    this.canvas = document.createElement('canvas');
    this.canvas.id = id;
    this.canvas.className = 'heatmap-canvas';
    this.canvas.tabIndex = 0;
    this.canvas.setAttribute('role', 'img');
    this.canvas.setAttribute('aria-label', `${label}. Arrow keys move a cell cursor, Enter selects it, + and − zoom, 0 fits, Shift+arrows pan.`);
  }

  get geometry(): HeatmapGeometry | undefined {
    return this.geometryValue;
  }

  get current(): HeatmapInput | undefined {
    return this.drawn?.input;
  }

  get viewport(): Viewport {
    return this.viewportValue;
  }

  /** The matrix's display positions and values in display order, reused while the order is the same (a zoom frame reads it). */
  orderedValues(): { values: Float32Array; rows: number; cols: number } | undefined {
    const input = this.drawn?.input;
    if (input === undefined) return undefined;
    const o = this.ordered;
    if (o === undefined || o.result !== input.result || o.columns !== input.order.columns || o.rows !== input.order.rows) {
      const values = orderedMatrix(input.result.capacity, input.result.cols, input.order.rows, input.order.columns);
      this.ordered = { result: input.result, columns: input.order.columns, rows: input.order.rows, values };
    }
    return { values: this.ordered!.values, rows: input.result.rows, cols: input.result.cols };
  }

  /** Draws the heatmap fitted at `box.fit` CSS pixels per cell, times the viewport's zoom. */
  render(input: HeatmapInput, colors: ThemeColors, box: HeatmapBox, focus: Rgba): void {
    const previous = this.drawn?.input.result;
    // Another matrix shape (another pair) starts from "fit"; a new epoch of the same pair keeps the view.
    if (previous === undefined || previous.rows !== input.result.rows || previous.cols !== input.result.cols) {
      this.viewportValue = fitViewport(input.result);
      this.cursor = undefined;
    }
    this.drawn = { input, colors, focus, fit: box.fit };
    this.redraw();
  }

  /** Draws again what was last rendered, at the current viewport: zooming and panning cost only this. */
  redraw(): void {
    const d = this.drawn;
    if (d === undefined) return;
    const { input, colors, focus, fit } = d;
    const { result, order, range, ramp } = input;
    const m = { rows: result.rows, cols: result.cols };
    const fontPx = 10;
    const font = `${fontPx}px ${colors.fontFamily}`;
    const measure = this.canvas.getContext('2d');
    if (measure === null) return;
    measure.font = font;
    const digits = String(Math.max(result.rows, result.cols) - 1).length;
    const numberWidth = Math.ceil(measure.measureText('8'.repeat(digits)).width);
    // Axes: row numbers on the left, column numbers on top; one pixel of room for the frame.
    const left = numberWidth + 8;
    const top = fontPx + 8;
    this.plot = { width: Math.max(1, Math.round(m.cols * fit)), height: Math.max(1, Math.round(m.rows * fit)) };
    const plot = this.plot;
    this.viewportValue = clampViewport(this.viewportValue, plot, m, fit);
    const t = viewTransform(this.viewportValue, plot, m, fit);
    const width = left + plot.width + 2;
    const height = top + plot.height + 2;
    const ctx = clearedCanvasContext(this.canvas, width, height);
    if (ctx === null) return;

    const dpr = window.devicePixelRatio || 1;
    const pw = Math.max(1, Math.round(plot.width * dpr));
    const ph = Math.max(1, Math.round(plot.height * dpr));
    if (this.image === undefined || this.image.width !== pw || this.image.height !== ph) this.image = new ImageData(pw, ph);
    const ordered = this.orderedValues()!;
    const pixels = new Uint32Array(this.image.data.buffer);
    const e = colors.error;
    rasterize(
      { ordered: ordered.values, rows: m.rows, cols: m.cols, range, lut: this.rampLut(ramp), invalid: packRgba(e.r, e.g, e.b) },
      t,
      dpr,
      pw,
      ph,
      pixels,
    );
    ctx.putImageData(this.image, Math.round(left * dpr), Math.round(top * dpr));

    // A frame: in light themes the smallest capacities are the page's own colour.
    ctx.strokeStyle = toCss(colors.grid);
    ctx.lineWidth = 1;
    ctx.strokeRect(left - 0.5, top - 0.5, plot.width + 1, plot.height + 1);

    const columns = visibleRange(t.originX, plot.width / t.cell, m.cols);
    const rows = visibleRange(t.originY, plot.height / t.cell, m.rows);
    const columnStep = labelStep(t.cell, numberWidth + 6);
    const rowStep = labelStep(t.cell, fontPx + 3);
    ctx.fillStyle = toCss(colors.muted);
    ctx.font = font;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'bottom';
    for (let p = Math.ceil(columns.first / columnStep) * columnStep; p < columns.last; p += columnStep) {
      const x = left + (p - t.originX + 0.5) * t.cell;
      // A label whose centre is outside the plot would stand over the other axis.
      if (x < left || x > left + plot.width) continue;
      ctx.fillText(String(order.columns[p]), x, top - 3);
    }
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (let p = Math.ceil(rows.first / rowStep) * rowStep; p < rows.last; p += rowStep) {
      const y = top + (p - t.originY + 0.5) * t.cell;
      if (y < top || y > top + plot.height) continue;
      ctx.fillText(String(order.rows[p]), left - 4, y);
    }

    this.geometryValue = {
      x0: left - t.originX * t.cell,
      y0: top - t.originY * t.cell,
      cell: t.cell,
      rows: m.rows,
      cols: m.cols,
      plot: { left, top, width: plot.width, height: plot.height },
      zoom: this.viewportValue.zoom,
      visibleColumns: [columns.first, columns.last],
      visibleRows: [rows.first, rows.last],
      columnLabelStep: columnStep,
      rowLabelStep: rowStep,
    };
    ctx.save();
    ctx.beginPath();
    ctx.rect(left - 2, top - 2, plot.width + 4, plot.height + 4);
    ctx.clip();
    this.drawOutlines(ctx, input, t, left, top, focus);
    ctx.restore();
  }

  private drawOutlines(ctx: CanvasRenderingContext2D, input: HeatmapInput, t: ViewTransform, left: number, top: number, focus: Rgba): void {
    const { columns, rows } = input.order;
    const { cols } = input.result;
    const x = (c: number): number => left + (c - t.originX) * t.cell;
    const y = (r: number): number => top + (r - t.originY) * t.cell;
    // Outlines stay visible when a cell is a fraction of a pixel.
    const size = Math.max(t.cell, 2);
    ctx.strokeStyle = toCss(focus);
    ctx.lineWidth = 1;
    ctx.setLineDash([3, 2]);
    if (input.linkedColumn !== undefined) {
      const c = columns.indexOf(input.linkedColumn);
      if (c >= 0) ctx.strokeRect(x(c) - 0.5, top - 0.5, size + 1, input.result.rows * t.cell + 1);
    }
    if (input.linkedRow !== undefined) {
      const r = rows.indexOf(input.linkedRow);
      if (r >= 0) ctx.strokeRect(left - 0.5, y(r) - 0.5, cols * t.cell + 1, size + 1);
    }
    if (this.cursor !== undefined) ctx.strokeRect(x(this.cursor.columnPosition) - 1.5, y(this.cursor.rowPosition) - 1.5, size + 3, size + 3);
    ctx.setLineDash([]);
    if (input.selected !== undefined) {
      const c = columns.indexOf(input.selected.column);
      const r = rows.indexOf(input.selected.row);
      if (c >= 0 && r >= 0) {
        ctx.lineWidth = 2;
        ctx.strokeRect(x(c) - 1, y(r) - 1, size + 2, size + 2);
      }
    }
  }

  /** The plot position (CSS pixels from the plot's top-left) of a client point. */
  plotPoint(clientX: number, clientY: number): { x: number; y: number } | undefined {
    const g = this.geometryValue;
    if (g === undefined) return undefined;
    const box = this.canvas.getBoundingClientRect();
    return { x: clientX - box.left - g.plot.left, y: clientY - box.top - g.plot.top };
  }

  /** The cell under a client point, by arithmetic on its position; undefined outside the plot's cells. */
  hit(clientX: number, clientY: number): HeatmapHit | undefined {
    const g = this.geometryValue;
    const p = this.plotPoint(clientX, clientY);
    if (g === undefined || p === undefined || p.x < 0 || p.y < 0 || p.x >= g.plot.width || p.y >= g.plot.height) return undefined;
    const columnPosition = Math.floor((p.x + g.plot.left - g.x0) / g.cell);
    const rowPosition = Math.floor((p.y + g.plot.top - g.y0) / g.cell);
    return this.cellAt(columnPosition, rowPosition);
  }

  /** The cell at display positions, with its channels and value; undefined outside the matrix. */
  cellAt(columnPosition: number, rowPosition: number): HeatmapHit | undefined {
    const input = this.drawn?.input;
    if (input === undefined || columnPosition < 0 || rowPosition < 0 || columnPosition >= input.result.cols || rowPosition >= input.result.rows)
      return undefined;
    const column = input.order.columns[columnPosition];
    const row = input.order.rows[rowPosition];
    return { rowPosition, columnPosition, column, row, value: capacityAt(input.result, row, column) };
  }

  /** The client point at the centre of a cell (for a tooltip that follows the keyboard). */
  cellCentre(columnPosition: number, rowPosition: number): { x: number; y: number } | undefined {
    const g = this.geometryValue;
    if (g === undefined) return undefined;
    const box = this.canvas.getBoundingClientRect();
    return { x: box.left + g.x0 + (columnPosition + 0.5) * g.cell, y: box.top + g.y0 + (rowPosition + 0.5) * g.cell };
  }

  /** Zooms by `factor` about a plot point (CSS pixels from the plot's top-left; its centre when absent). */
  zoom(factor: number, at?: { x: number; y: number }): void {
    const d = this.drawn;
    if (d === undefined) return;
    const p = at ?? { x: this.plot.width / 2, y: this.plot.height / 2 };
    this.viewportValue = zoomAt(this.viewportValue, factor, p.x, p.y, this.plot, d.input.result, d.fit);
    this.redraw();
  }

  pan(dx: number, dy: number): void {
    const d = this.drawn;
    if (d === undefined) return;
    this.viewportValue = panBy(this.viewportValue, dx, dy, this.plot, d.input.result, d.fit);
    this.redraw();
  }

  /** Centres the view on a matrix position (in cells), as the minimap does. */
  centreOn(cx: number, cy: number): void {
    const d = this.drawn;
    if (d === undefined) return;
    this.viewportValue = clampViewport({ zoom: this.viewportValue.zoom, cx, cy }, this.plot, d.input.result, d.fit);
    this.redraw();
  }

  fitAll(): void {
    const d = this.drawn;
    if (d === undefined) return;
    this.viewportValue = fitViewport(d.input.result);
    this.redraw();
  }

  reveal(columnPosition: number, rowPosition: number): void {
    const d = this.drawn;
    if (d === undefined) return;
    this.viewportValue = revealCell(this.viewportValue, columnPosition, rowPosition, this.plot, d.input.result, d.fit);
    this.redraw();
  }

  /** The whole matrix's pixels at `cell` CSS pixels per cell, for the minimap. */
  overview(cell: number, widthPx: number, heightPx: number, out: Uint32Array): boolean {
    const d = this.drawn;
    const ordered = this.orderedValues();
    if (d === undefined || ordered === undefined) return false;
    const e = d.colors.error;
    rasterize(
      {
        ordered: ordered.values,
        rows: ordered.rows,
        cols: ordered.cols,
        range: d.input.range,
        lut: this.rampLut(d.input.ramp),
        invalid: packRgba(e.r, e.g, e.b),
      },
      { cell, originX: 0, originY: 0 },
      1,
      widthPx,
      heightPx,
      out,
    );
    return true;
  }

  private rampLut(ramp: CapacityRamp): Uint32Array {
    const key = `${toCss(ramp.small)}|${toCss(ramp.large)}`;
    if (key !== this.lutKey) {
      this.lutKey = key;
      fillRampLut(ramp, this.lut);
    }
    return this.lut;
  }
}

/** The ramp's colours, smallest capacity first, packed as rasterize() takes them (the exported figure draws with the same). */
export function fillRampLut(ramp: CapacityRamp, lut: Uint32Array = new Uint32Array(RAMP_STEPS)): Uint32Array {
  for (let i = 0; i < lut.length; i++) {
    const c = mix(ramp.small, ramp.large, i / (lut.length - 1));
    lut[i] = packRgba(Math.round(c.r), Math.round(c.g), Math.round(c.b));
  }
  return lut;
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

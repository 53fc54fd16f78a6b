// Which part of a heatmap is in view, as plain numbers (no DOM): the cell size that fits the whole
// matrix in the panel, a zoom factor on top of it, and the matrix position at the plot's centre.
// Wheel, drag, keyboard and the minimap all change a Viewport through these functions, so the
// clamping rules (never pan past the matrix, never zoom out past "fit") live in one place.

/** Cell edge, in CSS pixels, above which zooming in stops: 48 px shows a cell's number comfortably. */
export const MAX_ZOOM_CELL_PX = 48;
/** A small matrix is not blown up past this at "fit" (the sample run's 16 channels stay readable, not huge). */
export const MAX_FIT_CELL_PX = 28;

export interface Viewport {
  /** 1 = the whole matrix fits the plot; 2 = cells twice as large; never below 1. */
  readonly zoom: number;
  /** The matrix position (in cells, columns then rows) at the centre of the plot. */
  readonly cx: number;
  readonly cy: number;
}

export interface PlotSize {
  /** The plot's size in CSS pixels (the area the cells are drawn in, without the axes). */
  readonly width: number;
  readonly height: number;
}

export interface MatrixSize {
  readonly rows: number;
  readonly cols: number;
}

/** The cell edge in CSS pixels at which the whole matrix fits `plot`; may be below one pixel. */
export function fitCell(plot: PlotSize, m: MatrixSize): number {
  return Math.min(MAX_FIT_CELL_PX, plot.width / Math.max(1, m.cols), plot.height / Math.max(1, m.rows));
}

export function fitViewport(m: MatrixSize): Viewport {
  return { zoom: 1, cx: m.cols / 2, cy: m.rows / 2 };
}

/** The largest zoom: cells of MAX_ZOOM_CELL_PX, or 1 for a matrix already drawn that large. */
export function maxZoom(fit: number): number {
  return Math.max(1, MAX_ZOOM_CELL_PX / fit);
}

function clampAxis(centre: number, span: number, size: number): number {
  // When the whole axis is in view it is centred; otherwise the view stays inside the matrix.
  if (span >= size) return size / 2;
  return Math.min(size - span / 2, Math.max(span / 2, centre));
}

/** `v` with its zoom in [1, maxZoom] and its centre such that no empty space shows past the matrix. */
export function clampViewport(v: Viewport, plot: PlotSize, m: MatrixSize, fit: number): Viewport {
  const zoom = Math.min(maxZoom(fit), Math.max(1, Number.isFinite(v.zoom) ? v.zoom : 1));
  const cell = fit * zoom;
  return {
    zoom,
    cx: clampAxis(Number.isFinite(v.cx) ? v.cx : m.cols / 2, plot.width / cell, m.cols),
    cy: clampAxis(Number.isFinite(v.cy) ? v.cy : m.rows / 2, plot.height / cell, m.rows),
  };
}

/** Where the view's cells are: the cell edge and the matrix position at the plot's top-left corner. */
export interface ViewTransform {
  readonly cell: number;
  /** Matrix position (in cells, fractional) at the plot's left and top edges. */
  readonly originX: number;
  readonly originY: number;
}

export function viewTransform(v: Viewport, plot: PlotSize, m: MatrixSize, fit: number): ViewTransform {
  const cell = fit * v.zoom;
  // At fit the matrix sits at the plot's top-left corner, where a smaller matrix's axes start.
  const originX = plot.width / cell >= m.cols ? 0 : v.cx - plot.width / (2 * cell);
  const originY = plot.height / cell >= m.rows ? 0 : v.cy - plot.height / (2 * cell);
  return { cell, originX, originY };
}

/** The viewport zoomed by `factor`, keeping the matrix point under plot position (px, py) where it is. */
export function zoomAt(v: Viewport, factor: number, px: number, py: number, plot: PlotSize, m: MatrixSize, fit: number): Viewport {
  const before = viewTransform(v, plot, m, fit);
  const mx = before.originX + px / before.cell;
  const my = before.originY + py / before.cell;
  const zoom = Math.min(maxZoom(fit), Math.max(1, v.zoom * factor));
  const cell = fit * zoom;
  // The new centre puts (mx, my) back under (px, py).
  const next = { zoom, cx: mx - px / cell + plot.width / (2 * cell), cy: my - py / cell + plot.height / (2 * cell) };
  return clampViewport(next, plot, m, fit);
}

/** The viewport moved by (dx, dy) CSS pixels of the plot: a drag to the right shows what is left of it. */
export function panBy(v: Viewport, dx: number, dy: number, plot: PlotSize, m: MatrixSize, fit: number): Viewport {
  const cell = fit * v.zoom;
  return clampViewport({ zoom: v.zoom, cx: v.cx - dx / cell, cy: v.cy - dy / cell }, plot, m, fit);
}

/** The viewport moved just enough that cell (column, row), in display positions, is in view. */
export function revealCell(v: Viewport, column: number, row: number, plot: PlotSize, m: MatrixSize, fit: number): Viewport {
  const t = viewTransform(v, plot, m, fit);
  const spanX = plot.width / t.cell;
  const spanY = plot.height / t.cell;
  let { cx, cy } = v;
  if (column < t.originX) cx += column - t.originX;
  else if (column + 1 > t.originX + spanX) cx += column + 1 - (t.originX + spanX);
  if (row < t.originY) cy += row - t.originY;
  else if (row + 1 > t.originY + spanY) cy += row + 1 - (t.originY + spanY);
  return clampViewport({ zoom: v.zoom, cx, cy }, plot, m, fit);
}

/** The display positions [first, last) at least partly in view along one axis. */
export function visibleRange(origin: number, span: number, size: number): { first: number; last: number } {
  return { first: Math.max(0, Math.floor(origin)), last: Math.min(size, Math.ceil(origin + span)) };
}

const NICE = [1, 2, 5];

/**
 * The step between labelled positions so that labels `labelPx` CSS pixels apart never overlap:
 * the smallest of 1, 2, 5, 10, 20, 50, … whose spacing on screen (step × cell) is at least labelPx.
 */
export function labelStep(cell: number, labelPx: number): number {
  if (!(cell > 0)) return 1;
  for (let decade = 1; ; decade *= 10) {
    for (const n of NICE) {
      const step = n * decade;
      if (step * cell >= labelPx) return step;
    }
    if (decade > 1e9) return decade;
  }
}

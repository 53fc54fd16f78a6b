// The arithmetic of a virtualised grid: a scroll container whose content is as tall as every row,
// of which only the rows in (and just around) the viewport are drawn. A view with hundreds or
// thousands of items (a layer's 1,280 channels) keeps one viewport-sized canvas instead of one as
// tall as the content, which Chromium refuses past its canvas limits and which costs a full redraw
// of every item on each change. Plain numbers, no DOM: the view owns its elements.

/** Rows laid out top to bottom at a fixed pitch (row height plus the gap below it). */
export interface GridRows {
  readonly rows: number;
  /** CSS pixels from one row's top to the next one's. */
  readonly pitch: number;
  /** CSS pixels of one row (pitch minus the gap). */
  readonly rowHeight: number;
}

/** A half-open range of rows, [first, end). */
export interface RowRange {
  readonly first: number;
  readonly end: number;
}

/** The content's height: every row, without a gap after the last. */
export function contentHeight(g: GridRows): number {
  return g.rows === 0 ? 0 : (g.rows - 1) * g.pitch + g.rowHeight;
}

/** The rows that intersect [scrollTop, scrollTop + viewport). */
export function rowsInView(g: GridRows, scrollTop: number, viewport: number): RowRange {
  if (g.rows === 0 || g.pitch <= 0) return { first: 0, end: 0 };
  const first = Math.min(g.rows - 1, Math.max(0, Math.floor(scrollTop / g.pitch)));
  const end = Math.min(g.rows, Math.max(first + 1, Math.ceil((scrollTop + Math.max(0, viewport)) / g.pitch)));
  return { first, end };
}

/**
 * The rows to draw: those in view, `overscan` more on each side (so a short scroll shows drawn
 * rows before the next frame redraws), and never more than fit in `maxPx` CSS pixels: the rows in
 * view come first, then the overscan, which the budget trims.
 */
export function rowsToDraw(g: GridRows, scrollTop: number, viewport: number, overscan: number, maxPx: number): RowRange {
  const seen = rowsInView(g, scrollTop, viewport);
  const limit = Math.max(1, Math.floor((maxPx + (g.pitch - g.rowHeight)) / g.pitch));
  if (seen.end - seen.first >= limit) return { first: seen.first, end: seen.first + limit };
  const spare = limit - (seen.end - seen.first);
  const before = Math.min(overscan, seen.first, Math.ceil(spare / 2));
  const first = seen.first - before;
  return { first, end: Math.min(g.rows, seen.end + overscan, first + limit) };
}

/**
 * The scrollTop that brings `row` wholly into view, moving as little as possible: unchanged when it
 * is already in view, else the row just at the top or the bottom edge.
 */
export function scrollTopShowing(g: GridRows, row: number, scrollTop: number, viewport: number): number {
  const top = row * g.pitch;
  const bottom = top + g.rowHeight;
  if (top < scrollTop) return top;
  if (bottom > scrollTop + viewport) return Math.max(0, bottom - viewport);
  return scrollTop;
}

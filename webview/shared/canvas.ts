// Canvases drawn in CSS pixels at the screen's resolution.

/**
 * Gives `canvas` a CSS size of width × height and a backing store of that times the device pixel
 * ratio (sharp on high-DPI screens), and returns its 2D context scaled to CSS pixels and cleared;
 * null when the browser gives no 2D context. The backing store is reallocated only when its size
 * changes: that costs more than clearing it.
 */
export function clearedCanvasContext(canvas: HTMLCanvasElement, width: number, height: number): CanvasRenderingContext2D | null {
  const dpr = window.devicePixelRatio || 1;
  const pw = Math.round(width * dpr);
  const ph = Math.round(height * dpr);
  if (canvas.width !== pw || canvas.height !== ph) {
    canvas.width = pw;
    canvas.height = ph;
  }
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  const ctx = canvas.getContext('2d');
  if (ctx === null) return null;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  return ctx;
}

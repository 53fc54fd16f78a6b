// Moving around one heatmap: Ctrl/Cmd + wheel (and a trackpad's pinch) zooms about the pointer, the
// wheel pans while zoomed in, a drag pans, a click selects a cell; on the keyboard the arrows move a
// cell cursor (Ctrl: by 10), Enter or Space selects it, + and − zoom, 0 fits, Shift + arrows pan;
// a minimap of the whole matrix shows and moves the part in view, and a Fit button goes back.
import { clearedCanvasContext } from '../shared/canvas';
import { h } from '../shared/dom';
import { toCss, type Rgba } from '../shared/theme';
import type { HeatmapCanvas, HeatmapHit } from './heatmap';

/** The minimap's longer side, in CSS pixels. */
const MINIMAP_PX = 120;
/** A pointer that moves further than this between press and release pans instead of clicking. */
const DRAG_THRESHOLD_PX = 4;
const KEY_ZOOM = 1.5;

export interface HeatmapNavEvents {
  /** The cell under the pointer or the keyboard cursor, and where to show its tooltip. */
  hover(hit: HeatmapHit, clientX: number, clientY: number): void;
  leave(): void;
  select(hit: HeatmapHit): void;
}

export class HeatmapNav {
  readonly element: HTMLElement;
  readonly minimap: HTMLCanvasElement;
  private readonly fitButton: HTMLButtonElement;
  private readonly zoomLabel: HTMLElement;
  private drag: { id: number; x: number; y: number; moved: boolean } | undefined;
  private minimapDrag = false;
  private minimapImage: { key: unknown; image: ImageData } | undefined;

  constructor(
    private readonly heatmap: HeatmapCanvas,
    private readonly events: HeatmapNavEvents,
    private readonly frameColor: () => Rgba,
  ) {
    const id = heatmap.canvas.id;
    this.minimap = h('canvas', {
      className: 'heatmap-minimap',
      attrs: { id: `${id}-minimap`, role: 'img', 'aria-label': 'The whole matrix; the rectangle is the part in view. Click or drag to move it.' },
    });
    this.fitButton = h(
      'button',
      {
        className: 'icon-button heatmap-fit',
        attrs: { type: 'button', id: `${id}-fit`, title: 'Fit the whole matrix (0)', 'aria-label': 'Fit the whole matrix' },
      },
      'Fit',
    );
    this.zoomLabel = h('span', { className: 'heatmap-zoom note', attrs: { id: `${id}-zoom` } });
    // The minimap lies over the plot's corner (heatmapSlots.ts puts it in the canvas's box): showing
    // it must not move the page, or the heatmap under the pointer would shift while zooming.
    this.element = h('div', { className: 'heatmap-nav' }, this.fitButton, this.zoomLabel);
    this.fitButton.addEventListener('click', () => this.after(() => heatmap.fitAll()));
    this.wire();
  }

  /** Shows the zoom and the minimap for what the heatmap last drew. */
  update(): void {
    const g = this.heatmap.geometry;
    const zoomed = g !== undefined && g.zoom > 1.0001;
    this.minimap.hidden = !zoomed;
    this.fitButton.disabled = !zoomed;
    this.zoomLabel.textContent =
      g === undefined
        ? ''
        : `${zoomed ? `×${g.zoom.toFixed(1)}, ` : ''}positions ${g.visibleColumns[0]}–${g.visibleColumns[1] - 1} × ${g.visibleRows[0]}–${g.visibleRows[1] - 1}${g.cell < 1 ? '; a pixel shows the largest of its cells' : ''}`;
    this.zoomLabel.title = 'Ctrl+wheel, double-click or +/− zooms; drag, wheel or Shift+arrows pans; arrows move a cell cursor, Enter selects; 0 fits.';
    if (zoomed) this.drawMinimap();
  }

  private minimapScale(): number {
    const g = this.heatmap.geometry;
    return g === undefined ? 1 : MINIMAP_PX / Math.max(g.cols, g.rows);
  }

  private drawMinimap(): void {
    const g = this.heatmap.geometry;
    const input = this.heatmap.current;
    if (g === undefined || input === undefined) return;
    const scale = this.minimapScale();
    const width = Math.max(1, Math.round(g.cols * scale));
    const height = Math.max(1, Math.round(g.rows * scale));
    const ctx = clearedCanvasContext(this.minimap, width, height);
    if (ctx === null) return;
    const canvas = this.heatmap.canvas;
    this.minimap.style.left = `${canvas.offsetLeft + g.plot.left + g.plot.width - width - 8}px`;
    this.minimap.style.top = `${canvas.offsetTop + g.plot.top + g.plot.height - height - 8}px`;
    // One pixel per minimap CSS pixel: the overview is recomputed only when what it shows changes.
    const key = [input.result, input.order.columns, input.order.rows, input.range.lo, input.range.hi, input.ramp.small, input.ramp.large];
    const cached = this.minimapImage;
    if (cached === undefined || !sameKey(cached.key, key) || cached.image.width !== width || cached.image.height !== height) {
      const image = new ImageData(width, height);
      this.heatmap.overview(scale, width, height, new Uint32Array(image.data.buffer));
      this.minimapImage = { key, image };
    }
    const bitmap = document.createElement('canvas');
    bitmap.width = width;
    bitmap.height = height;
    bitmap.getContext('2d')?.putImageData(this.minimapImage!.image, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(bitmap, 0, 0, width, height);
    const [c0, c1] = g.visibleColumns;
    const [r0, r1] = g.visibleRows;
    ctx.strokeStyle = toCss(this.frameColor());
    ctx.lineWidth = 1.5;
    ctx.strokeRect(c0 * scale + 0.75, r0 * scale + 0.75, Math.max(2, (c1 - c0) * scale - 1.5), Math.max(2, (r1 - r0) * scale - 1.5));
  }

  private after(change: () => void): void {
    change();
    this.update();
  }

  private wire(): void {
    const heatmap = this.heatmap;
    const canvas = heatmap.canvas;
    canvas.addEventListener(
      'wheel',
      (e) => {
        const g = heatmap.geometry;
        const p = heatmap.plotPoint(e.clientX, e.clientY);
        if (g === undefined || p === undefined) return;
        if (e.ctrlKey || e.metaKey) {
          e.preventDefault();
          this.after(() => heatmap.zoom(Math.exp(-e.deltaY * 0.002), p));
        } else if (g.zoom > 1.0001) {
          // Zoomed in, the wheel moves the view; at "fit" it scrolls the page as everywhere else.
          e.preventDefault();
          const [dx, dy] = e.shiftKey ? [e.deltaY, e.deltaX] : [e.deltaX, e.deltaY];
          this.after(() => heatmap.pan(-dx, -dy));
        }
      },
      { passive: false },
    );
    canvas.addEventListener('pointerdown', (e) => {
      if (e.button !== 0) return;
      this.drag = { id: e.pointerId, x: e.clientX, y: e.clientY, moved: false };
    });
    canvas.addEventListener('pointermove', (e) => {
      const drag = this.drag;
      if (drag !== undefined && drag.id === e.pointerId) {
        const dx = e.clientX - drag.x;
        const dy = e.clientY - drag.y;
        if (!drag.moved && Math.hypot(dx, dy) > DRAG_THRESHOLD_PX && (heatmap.geometry?.zoom ?? 1) > 1.0001) {
          drag.moved = true;
          canvas.setPointerCapture(e.pointerId);
          canvas.classList.add('panning');
        }
        if (drag.moved) {
          drag.x = e.clientX;
          drag.y = e.clientY;
          this.events.leave();
          this.after(() => heatmap.pan(dx, dy));
          return;
        }
      }
      const hit = heatmap.hit(e.clientX, e.clientY);
      if (hit === undefined) this.events.leave();
      else this.events.hover(hit, e.clientX, e.clientY);
    });
    const endDrag = (e: PointerEvent, click: boolean): void => {
      const drag = this.drag;
      if (drag === undefined || drag.id !== e.pointerId) return;
      this.drag = undefined;
      canvas.classList.remove('panning');
      if (drag.moved || !click) return;
      const hit = heatmap.hit(e.clientX, e.clientY);
      if (hit !== undefined) this.events.select(hit);
    };
    canvas.addEventListener('pointerup', (e) => endDrag(e, true));
    canvas.addEventListener('pointercancel', (e) => endDrag(e, false));
    canvas.addEventListener('pointerleave', () => {
      if (this.drag === undefined) this.events.leave();
    });
    canvas.addEventListener('dblclick', (e) => {
      const p = heatmap.plotPoint(e.clientX, e.clientY);
      if (p !== undefined) this.after(() => heatmap.zoom(e.shiftKey ? 1 / 2 : 2, p));
    });
    canvas.addEventListener('keydown', (e) => this.key(e));
    canvas.addEventListener('blur', () => {
      heatmap.cursor = undefined;
      heatmap.redraw();
      this.events.leave();
    });
    const moveMinimap = (e: PointerEvent): void => {
      const box = this.minimap.getBoundingClientRect();
      const scale = this.minimapScale();
      this.after(() => heatmap.centreOn((e.clientX - box.left) / scale, (e.clientY - box.top) / scale));
    };
    this.minimap.addEventListener('pointerdown', (e) => {
      this.minimapDrag = true;
      this.minimap.setPointerCapture(e.pointerId);
      moveMinimap(e);
    });
    this.minimap.addEventListener('pointermove', (e) => {
      if (this.minimapDrag) moveMinimap(e);
    });
    this.minimap.addEventListener('pointerup', () => (this.minimapDrag = false));
    this.minimap.addEventListener('pointercancel', () => (this.minimapDrag = false));
  }

  private key(e: KeyboardEvent): void {
    const heatmap = this.heatmap;
    const g = heatmap.geometry;
    if (g === undefined) return;
    const arrows: Record<string, [number, number]> = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    const arrow = arrows[e.key];
    if (arrow !== undefined && e.shiftKey) {
      // A quarter of the view per press.
      this.after(() => heatmap.pan(-arrow[0] * g.plot.width * 0.25, -arrow[1] * g.plot.height * 0.25));
    } else if (arrow !== undefined) {
      const step = e.ctrlKey || e.metaKey ? 10 : 1;
      const from = heatmap.cursor ?? this.selectedPosition() ?? { columnPosition: g.visibleColumns[0], rowPosition: g.visibleRows[0] };
      const next = {
        columnPosition: Math.min(g.cols - 1, Math.max(0, from.columnPosition + arrow[0] * step)),
        rowPosition: Math.min(g.rows - 1, Math.max(0, from.rowPosition + arrow[1] * step)),
      };
      heatmap.cursor = next;
      this.after(() => heatmap.reveal(next.columnPosition, next.rowPosition));
      this.describeCursor();
    } else if (e.key === 'Enter' || e.key === ' ') {
      const c = heatmap.cursor;
      const hit = c !== undefined ? heatmap.cellAt(c.columnPosition, c.rowPosition) : undefined;
      if (hit === undefined) return;
      this.events.select(hit);
    } else if (e.key === '+' || e.key === '=') this.after(() => heatmap.zoom(KEY_ZOOM, this.cursorPoint()));
    else if (e.key === '-' || e.key === '_') this.after(() => heatmap.zoom(1 / KEY_ZOOM, this.cursorPoint()));
    else if (e.key === '0') this.after(() => heatmap.fitAll());
    else if (e.key === 'Escape' && heatmap.cursor !== undefined) {
      heatmap.cursor = undefined;
      heatmap.redraw();
      this.events.leave();
    } else return;
    e.preventDefault();
  }

  private selectedPosition(): { columnPosition: number; rowPosition: number } | undefined {
    const input = this.heatmap.current;
    if (input?.selected === undefined) return undefined;
    const columnPosition = input.order.columns.indexOf(input.selected.column);
    const rowPosition = input.order.rows.indexOf(input.selected.row);
    return columnPosition >= 0 && rowPosition >= 0 ? { columnPosition, rowPosition } : undefined;
  }

  /** The keyboard cursor's centre in plot coordinates, the point + and − zoom about. */
  private cursorPoint(): { x: number; y: number } | undefined {
    const c = this.heatmap.cursor;
    const g = this.heatmap.geometry;
    if (c === undefined || g === undefined) return undefined;
    return { x: g.x0 - g.plot.left + (c.columnPosition + 0.5) * g.cell, y: g.y0 - g.plot.top + (c.rowPosition + 0.5) * g.cell };
  }

  private describeCursor(): void {
    const c = this.heatmap.cursor;
    if (c === undefined) return;
    const hit = this.heatmap.cellAt(c.columnPosition, c.rowPosition);
    const at = this.heatmap.cellCentre(c.columnPosition, c.rowPosition);
    if (hit !== undefined && at !== undefined) this.events.hover(hit, at.x, at.y);
  }
}

function sameKey(a: unknown, b: unknown[]): boolean {
  return Array.isArray(a) && a.length === b.length && a.every((x, i) => x === b[i]);
}

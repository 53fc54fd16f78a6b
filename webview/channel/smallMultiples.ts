// Fig. 13(A): one small box per channel, x = epoch, y = intra-sample entropy, one line per class
// and one for all samples, every box on the same y scale so boxes compare at a glance. The boxes
// are drawn with the 2-D context on one canvas (64 chart.js instances would take seconds to build
// and each would keep its own listeners), and virtualised: a scroll container as tall as every
// row holds a canvas the size of the viewport and a few rows around it, moved to where the
// container is scrolled and redrawn there. A layer of 1,280 channels is 200 rows; drawn whole it
// was a canvas taller than Chromium allows. The pointer is mapped to a box by arithmetic.
import { clearedCanvasContext } from '../shared/canvas';
import { classDash, toCss, type Rgba, type ThemeColors } from '../shared/theme';
import { contentHeight, rowsInView, rowsToDraw, scrollTopShowing, type GridRows } from '../shared/virtualGrid';
import { lineValue, type EntropyLines } from './entropyModel';

const MIN_BOX_PX = 92;
const GAP_PX = 6;
const LABEL_PX = 13;
const PAD_PX = 4;
/** Rows drawn beyond each edge of the viewport, so a short scroll shows boxes before the next frame. */
const OVERSCAN_ROWS = 2;
/** The drawn canvas's most CSS pixels of height, far below Chromium's limits at any pixel ratio. */
export const MAX_CANVAS_PX = 2048;

export interface SmallMultiplesInput {
  readonly lines: EntropyLines;
  /** The channels shown, in the order shown (sorted and filtered). */
  readonly order: Int32Array;
  /** One colour per class; the all-samples line uses the theme's foreground. */
  readonly classColors: readonly string[];
  readonly hiddenLines: ReadonlySet<number>;
  /** The epoch marked in every box (the circle packing's epoch). */
  readonly epoch: number | undefined;
  readonly highlighted: number | undefined;
  readonly hovered: number | undefined;
}

export interface BoxGeometry {
  readonly columns: number;
  readonly boxWidth: number;
  readonly boxHeight: number;
  readonly gap: number;
  /** Rows of boxes in all: the scroll container's content is as tall as these. */
  readonly rows: number;
  /** The positions in `order` drawn on the canvas, [first, end): the rows in view and a few around them. */
  readonly drawnFirst: number;
  readonly drawnEnd: number;
  /** The positions in `order` of the rows in the viewport, [first, end). */
  readonly visibleFirst: number;
  readonly visibleEnd: number;
  /** Where the canvas's top is in the content, in CSS pixels (the drawn first row's top). */
  readonly canvasTop: number;
}

export interface BoxHit {
  readonly channel: number;
  /** Its position in the order shown. */
  readonly index: number;
  /** The epoch nearest the pointer, by index into lines.epochs. */
  readonly epochIndex: number;
}

export class SmallMultiples {
  /** The scroll container: focusable, the arrow keys move the selected channel in it. */
  readonly scroller: HTMLDivElement;
  readonly canvas: HTMLCanvasElement;
  private readonly content: HTMLDivElement;
  private input: SmallMultiplesInput | undefined;
  private colors: ThemeColors | undefined;
  private focus: Rgba | undefined;
  private geometryValue: BoxGeometry | undefined;

  constructor(id: string) {
    this.canvas = document.createElement('canvas');
    this.canvas.id = id;
    this.canvas.className = 'multiples-canvas';
    this.canvas.setAttribute('role', 'img');
    this.canvas.setAttribute('aria-label', 'Intra-sample entropy of the channels in view over the epochs, one box per channel, one line per class');
    this.content = document.createElement('div');
    this.content.className = 'multiples-content';
    this.content.appendChild(this.canvas);
    this.scroller = document.createElement('div');
    this.scroller.id = `${id}-scroll`;
    this.scroller.className = 'multiples-scroll';
    this.scroller.tabIndex = 0;
    this.scroller.setAttribute('role', 'group');
    this.scroller.setAttribute('aria-label', 'Channels, one box each: the arrow keys, Page Up, Page Down, Home and End move the selected channel');
    this.scroller.appendChild(this.content);
  }

  get geometry(): BoxGeometry | undefined {
    return this.geometryValue;
  }

  /** Lays the boxes out in `width` CSS pixels and draws the rows in and around the viewport. */
  render(input: SmallMultiplesInput, colors: ThemeColors, width: number, focus: Rgba): void {
    this.input = input;
    this.colors = colors;
    this.focus = focus;
    const n = input.order.length;
    const columns = Math.max(1, Math.floor((width + GAP_PX) / (MIN_BOX_PX + GAP_PX)));
    const boxWidth = Math.floor((width - GAP_PX * (columns - 1)) / columns);
    const boxHeight = Math.round(Math.min(88, Math.max(52, boxWidth * 0.62)));
    const grid: GridRows = { rows: Math.ceil(n / columns), pitch: boxHeight + GAP_PX, rowHeight: boxHeight };
    this.content.style.height = `${Math.max(1, contentHeight(grid))}px`;
    const viewport = this.viewportHeight();
    const scrollTop = this.scroller.scrollTop;
    const drawn = rowsToDraw(grid, scrollTop, viewport, OVERSCAN_ROWS, MAX_CANVAS_PX);
    const seen = rowsInView(grid, scrollTop, viewport);
    const canvasTop = drawn.first * grid.pitch;
    this.geometryValue = {
      columns,
      boxWidth,
      boxHeight,
      gap: GAP_PX,
      rows: grid.rows,
      drawnFirst: Math.min(n, drawn.first * columns),
      drawnEnd: Math.min(n, drawn.end * columns),
      visibleFirst: Math.min(n, seen.first * columns),
      visibleEnd: Math.min(n, seen.end * columns),
      canvasTop,
    };
    this.canvas.style.top = `${canvasTop}px`;
    const height = Math.max(1, contentHeight({ ...grid, rows: drawn.end - drawn.first }));
    const ctx = clearedCanvasContext(this.canvas, width, height);
    if (ctx === null) return;
    const g = this.geometryValue;
    for (let i = g.drawnFirst; i < g.drawnEnd; i++) this.drawBox(ctx, i, input.order[i], g, colors, focus);
  }

  /** Draws again where the container is scrolled now, with what was drawn last. */
  redraw(width: number): void {
    if (this.input !== undefined && this.colors !== undefined && this.focus !== undefined) this.render(this.input, this.colors, width, this.focus);
  }

  /** The viewport's height: the container's, or (before it is laid out) what its CSS allows. */
  private viewportHeight(): number {
    const h = this.scroller.clientHeight;
    return h > 0 ? h : Math.min(MAX_CANVAS_PX, window.innerHeight);
  }

  private drawBox(ctx: CanvasRenderingContext2D, index: number, c: number, g: BoxGeometry, colors: ThemeColors, focus: Rgba): void {
    const input = this.input;
    if (input === undefined) return;
    const { lines } = input;
    const bx = (index % g.columns) * (g.boxWidth + GAP_PX);
    const by = Math.floor(index / g.columns) * (g.boxHeight + GAP_PX) - g.canvasTop;
    const e = lines.epochs.length;
    const firstEpoch = lines.epochs[0] ?? 0;
    const lastEpoch = lines.epochs[e - 1] ?? 1;
    const span = lastEpoch > firstEpoch ? lastEpoch - firstEpoch : 1;
    const top = lines.max > 0 ? lines.max : 1;
    const muted = toCss(colors.muted);
    const foreground = toCss(colors.foreground);
    const lineWidth = colors.kind.startsWith('high-contrast') ? 1.5 : 1;
    ctx.font = `${Math.max(10, colors.fontSize - 3)}px ${colors.fontFamily}`;
    ctx.textBaseline = 'top';
    ctx.lineJoin = 'round';
    const x0 = bx + PAD_PX;
    const x1 = bx + g.boxWidth - PAD_PX;
    const y0 = by + LABEL_PX + 2;
    const y1 = by + g.boxHeight - PAD_PX;
    const xOf = (t: number): number => (e === 1 ? (x0 + x1) / 2 : x0 + ((lines.epochs[t] - firstEpoch) / span) * (x1 - x0));
    const yOf = (v: number): number => y1 - (v / top) * (y1 - y0);

    ctx.strokeStyle = toCss({ ...colors.grid, a: 0.6 });
    ctx.lineWidth = 1;
    ctx.strokeRect(bx + 0.5, by + 0.5, g.boxWidth - 1, g.boxHeight - 1);
    ctx.fillStyle = muted;
    ctx.fillText(`#${c}`, bx + PAD_PX, by + 2);

    if (input.epoch !== undefined) {
      const t = lines.epochs.indexOf(input.epoch);
      if (t >= 0) {
        ctx.strokeStyle = muted;
        ctx.setLineDash([2, 2]);
        ctx.beginPath();
        ctx.moveTo(Math.round(xOf(t)) + 0.5, y0);
        ctx.lineTo(Math.round(xOf(t)) + 0.5, y1);
        ctx.stroke();
        ctx.setLineDash([]);
      }
    }

    // Classes first, all samples on top: it is the line the paper's reader compares the classes against.
    for (let k = 0; k <= lines.classes; k++) {
      if (input.hiddenLines.has(k)) continue;
      const isAll = k === lines.classes;
      ctx.strokeStyle = isAll ? foreground : (input.classColors[k] ?? foreground);
      ctx.lineWidth = isAll ? lineWidth + 0.75 : lineWidth;
      // Beyond ten classes the palette repeats; the dash pattern tells those lines apart, as in the training view.
      ctx.setLineDash(isAll ? [] : classDash(k));
      ctx.beginPath();
      let drawing = false;
      for (let t = 0; t < e; t++) {
        const v = lineValue(lines, c, k, t);
        if (!Number.isFinite(v)) {
          drawing = false;
          continue;
        }
        const x = xOf(t);
        const y = yOf(v);
        if (!drawing) {
          ctx.moveTo(x, y);
          // A lone point (one epoch, or between gaps) is drawn as a short tick.
          ctx.lineTo(x + 0.01, y);
          drawing = true;
        } else ctx.lineTo(x, y);
      }
      ctx.stroke();
    }
    ctx.setLineDash([]);

    if (c === input.highlighted || c === input.hovered) {
      ctx.strokeStyle = c === input.highlighted ? toCss(focus) : foreground;
      ctx.lineWidth = c === input.highlighted ? 2 : 1;
      ctx.strokeRect(bx + 1, by + 1, g.boxWidth - 2, g.boxHeight - 2);
    }
  }

  /** The box and epoch under a pointer event; undefined between or outside boxes. */
  hit(clientX: number, clientY: number): BoxHit | undefined {
    const g = this.geometryValue;
    const input = this.input;
    if (g === undefined || input === undefined) return undefined;
    // The content's own coordinates: the canvas is only the part of it in view.
    const rect = this.content.getBoundingClientRect();
    const x = clientX - rect.left;
    const y = clientY - rect.top;
    const col = Math.floor(x / (g.boxWidth + g.gap));
    const row = Math.floor(y / (g.boxHeight + g.gap));
    if (x < 0 || y < 0 || col >= g.columns || x - col * (g.boxWidth + g.gap) > g.boxWidth || y - row * (g.boxHeight + g.gap) > g.boxHeight) return undefined;
    const index = row * g.columns + col;
    if (index >= input.order.length) return undefined;
    const epochs = input.lines.epochs;
    const x0 = col * (g.boxWidth + g.gap) + PAD_PX;
    const x1 = col * (g.boxWidth + g.gap) + g.boxWidth - PAD_PX;
    const first = epochs[0] ?? 0;
    const last = epochs[epochs.length - 1] ?? 0;
    const at = last > first ? first + ((x - x0) / (x1 - x0)) * (last - first) : first;
    let epochIndex = 0;
    for (let t = 1; t < epochs.length; t++) if (Math.abs(epochs[t] - at) < Math.abs(epochs[epochIndex] - at)) epochIndex = t;
    return { channel: input.order[index], index, epochIndex };
  }

  /** Scrolls so that the box at `index` of the order is wholly in view (as little as possible), or centred when `centre`. */
  scrollToIndex(index: number, centre = false): void {
    const g = this.geometryValue;
    if (g === undefined || index < 0) return;
    const grid: GridRows = { rows: g.rows, pitch: g.boxHeight + g.gap, rowHeight: g.boxHeight };
    const row = Math.floor(index / g.columns);
    const viewport = this.viewportHeight();
    const top = centre ? Math.max(0, row * grid.pitch + grid.rowHeight / 2 - viewport / 2) : scrollTopShowing(grid, row, this.scroller.scrollTop, viewport);
    if (Math.abs(top - this.scroller.scrollTop) >= 1) this.scroller.scrollTop = top;
  }

  /** How many boxes one page of the viewport holds: what Page Up and Page Down move by. */
  pageBoxes(): number {
    const g = this.geometryValue;
    if (g === undefined) return 1;
    return g.columns * Math.max(1, Math.floor((this.viewportHeight() + g.gap) / (g.boxHeight + g.gap)));
  }
}

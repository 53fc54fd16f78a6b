// Fig. 13(A): one small box per channel, x = epoch, y = intra-sample entropy, one line per class
// and one for all samples, every box on the same y scale so boxes compare at a glance. All boxes
// are drawn on one canvas with the 2-D context: 64 chart.js instances would take seconds to build
// and each would keep its own listeners. The pointer is mapped to a box by arithmetic.
import { clearedCanvasContext } from '../shared/canvas';
import { classDash, toCss, type Rgba, type ThemeColors } from '../shared/theme';
import { lineValue, type EntropyLines } from './entropyModel';

const MIN_BOX_PX = 92;
const GAP_PX = 6;
const LABEL_PX = 13;
const PAD_PX = 4;

export interface SmallMultiplesInput {
  readonly lines: EntropyLines;
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
}

export interface BoxHit {
  readonly channel: number;
  /** The epoch nearest the pointer, by index into lines.epochs. */
  readonly epochIndex: number;
}

export class SmallMultiples {
  readonly canvas: HTMLCanvasElement;
  private input: SmallMultiplesInput | undefined;
  private geometryValue: BoxGeometry | undefined;

  constructor(id: string) {
    this.canvas = document.createElement('canvas');
    this.canvas.id = id;
    this.canvas.className = 'multiples-canvas';
    this.canvas.setAttribute('role', 'img');
    this.canvas.setAttribute('aria-label', 'Intra-sample entropy of every channel over the epochs, one box per channel, one line per class');
  }

  get geometry(): BoxGeometry | undefined {
    return this.geometryValue;
  }

  /** Lays the boxes out in `width` CSS pixels and draws them. */
  render(input: SmallMultiplesInput, colors: ThemeColors, width: number, focus: Rgba): void {
    this.input = input;
    const { lines } = input;
    const columns = Math.max(1, Math.floor((width + GAP_PX) / (MIN_BOX_PX + GAP_PX)));
    const boxWidth = Math.floor((width - GAP_PX * (columns - 1)) / columns);
    const boxHeight = Math.round(Math.min(88, Math.max(52, boxWidth * 0.62)));
    const rows = Math.ceil(lines.channels / columns);
    const height = Math.max(1, rows * boxHeight + Math.max(0, rows - 1) * GAP_PX);
    this.geometryValue = { columns, boxWidth, boxHeight, gap: GAP_PX };
    const ctx = clearedCanvasContext(this.canvas, width, height);
    if (ctx === null) return;

    const e = lines.epochs.length;
    const firstEpoch = lines.epochs[0] ?? 0;
    const lastEpoch = lines.epochs[e - 1] ?? 1;
    const span = lastEpoch > firstEpoch ? lastEpoch - firstEpoch : 1;
    const top = lines.max > 0 ? lines.max : 1;
    const grid = toCss({ ...colors.grid, a: 0.6 });
    const muted = toCss(colors.muted);
    const foreground = toCss(colors.foreground);
    const lineWidth = colors.kind.startsWith('high-contrast') ? 1.5 : 1;
    ctx.font = `${Math.max(10, colors.fontSize - 3)}px ${colors.fontFamily}`;
    ctx.textBaseline = 'top';
    ctx.lineJoin = 'round';

    for (let c = 0; c < lines.channels; c++) {
      const bx = (c % columns) * (boxWidth + GAP_PX);
      const by = Math.floor(c / columns) * (boxHeight + GAP_PX);
      const x0 = bx + PAD_PX;
      const x1 = bx + boxWidth - PAD_PX;
      const y0 = by + LABEL_PX + 2;
      const y1 = by + boxHeight - PAD_PX;
      const xOf = (t: number): number => (e === 1 ? (x0 + x1) / 2 : x0 + ((lines.epochs[t] - firstEpoch) / span) * (x1 - x0));
      const yOf = (v: number): number => y1 - (v / top) * (y1 - y0);

      ctx.strokeStyle = grid;
      ctx.lineWidth = 1;
      ctx.strokeRect(bx + 0.5, by + 0.5, boxWidth - 1, boxHeight - 1);
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
        ctx.strokeRect(bx + 1, by + 1, boxWidth - 2, boxHeight - 2);
      }
    }
  }

  /** The box and epoch under a pointer event; undefined between or outside boxes. */
  hit(clientX: number, clientY: number): BoxHit | undefined {
    const g = this.geometryValue;
    const input = this.input;
    if (g === undefined || input === undefined) return undefined;
    const rect = this.canvas.getBoundingClientRect();
    const x = clientX - rect.left;
    const y = clientY - rect.top;
    const col = Math.floor(x / (g.boxWidth + g.gap));
    const row = Math.floor(y / (g.boxHeight + g.gap));
    if (x < 0 || y < 0 || col >= g.columns || x - col * (g.boxWidth + g.gap) > g.boxWidth || y - row * (g.boxHeight + g.gap) > g.boxHeight) return undefined;
    const channel = row * g.columns + col;
    if (channel >= input.lines.channels) return undefined;
    const epochs = input.lines.epochs;
    const x0 = col * (g.boxWidth + g.gap) + PAD_PX;
    const x1 = col * (g.boxWidth + g.gap) + g.boxWidth - PAD_PX;
    const first = epochs[0] ?? 0;
    const last = epochs[epochs.length - 1] ?? 0;
    const at = last > first ? first + ((x - x0) / (x1 - x0)) * (last - first) : first;
    let epochIndex = 0;
    for (let t = 1; t < epochs.length; t++) if (Math.abs(epochs[t] - at) < Math.abs(epochs[epochIndex] - at)) epochIndex = t;
    return { channel, epochIndex };
  }
}

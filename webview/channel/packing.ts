// Fig. 13(B): the two-level circle packing on one canvas. First-level circles are the classes
// (and all samples), coloured by class; inside each, a circle per channel sized by its entropy and
// coloured by channel index. Clicking a class circle zooms into it (Fig. 13E), animated unless the
// user asked for reduced motion; the pointer is mapped to a circle by its distance to the centres.
import { toCss, type Rgba, type ThemeColors } from '../shared/theme';
import { channelColor, type Circle, type GroupKey, type PackLayout } from './entropyModel';

const ZOOM_MS = 320;
/** A channel circle smaller than this on screen is too small to point at; its class circle answers instead. */
const MIN_HIT_RADIUS_PX = 1.5;

export interface PackingInput {
  readonly layout: PackLayout;
  readonly groupLabel: (key: GroupKey) => string;
  readonly groupColor: (key: GroupKey) => string;
  readonly highlighted: number | undefined;
  readonly hovered: Circle | undefined;
  readonly zoom: GroupKey | undefined;
}

interface View {
  readonly x: number;
  readonly y: number;
  readonly r: number;
}

/** A circle as drawn: its centre and radius in CSS pixels of the canvas. */
export interface ScreenCircle extends Circle {
  readonly sx: number;
  readonly sy: number;
  readonly sr: number;
}

export class CirclePacking {
  readonly canvas: HTMLCanvasElement;
  private input: PackingInput | undefined;
  private colors: ThemeColors | undefined;
  private focus: Rgba | undefined;
  private sizePx = 0;
  private view: View | undefined;
  private animation: { from: View; to: View; start: number } | undefined;
  private frame = 0;

  constructor(id: string) {
    this.canvas = document.createElement('canvas');
    this.canvas.id = id;
    this.canvas.className = 'packing-canvas';
    this.canvas.setAttribute('role', 'img');
    this.canvas.setAttribute(
      'aria-label',
      'Circle packing: one circle per class and one for all samples, with a circle per channel inside sized by its entropy',
    );
  }

  /** Whether a zoom is still moving; the tests wait for it to end. */
  get animating(): boolean {
    return this.animation !== undefined;
  }

  get size(): number {
    return this.sizePx;
  }

  /** Draws the packing `sizePx` square. A changed zoom moves the view there, animated when `animate`. */
  render(input: PackingInput, colors: ThemeColors, sizePx: number, focus: Rgba, animate: boolean): void {
    const target = this.targetView(input);
    const zoomChanged = this.input?.zoom !== input.zoom;
    this.input = input;
    this.colors = colors;
    this.focus = focus;
    if (this.sizePx !== sizePx) {
      this.sizePx = sizePx;
      const dpr = window.devicePixelRatio || 1;
      this.canvas.width = Math.round(sizePx * dpr);
      this.canvas.height = Math.round(sizePx * dpr);
      this.canvas.style.width = `${sizePx}px`;
      this.canvas.style.height = `${sizePx}px`;
    }
    if (zoomChanged && animate && this.view !== undefined && !reducedMotion()) {
      this.animation = { from: this.view, to: target, start: performance.now() };
      this.step();
      return;
    }
    if (this.animation !== undefined) {
      // A redraw during the zoom (new data, hover) keeps the zoom going to where it was going.
      this.animation = { ...this.animation, to: target };
      return;
    }
    this.view = target;
    this.draw();
  }

  private targetView(input: PackingInput): View {
    const layout = input.layout;
    const group = input.zoom !== undefined ? layout.groups.find((g) => g.group === input.zoom) : undefined;
    return group !== undefined ? { x: group.x, y: group.y, r: group.r } : layout.root;
  }

  private step(): void {
    cancelAnimationFrame(this.frame);
    this.frame = requestAnimationFrame((now) => {
      const a = this.animation;
      if (a === undefined) return;
      const t = Math.min(1, (now - a.start) / ZOOM_MS);
      const ease = t < 0.5 ? 2 * t * t : 1 - (-2 * t + 2) ** 2 / 2;
      this.view = { x: a.from.x + (a.to.x - a.from.x) * ease, y: a.from.y + (a.to.y - a.from.y) * ease, r: a.from.r + (a.to.r - a.from.r) * ease };
      this.draw();
      if (t < 1) this.step();
      else {
        this.animation = undefined;
        this.view = a.to;
        this.draw();
      }
    });
  }

  /** Layout units → CSS pixels of the canvas, for the current view. */
  private transform(): { scale: number; ox: number; oy: number } {
    const view = this.view ?? { x: 0, y: 0, r: 1 };
    const margin = 4;
    const scale = (this.sizePx / 2 - margin) / Math.max(view.r, 1e-9);
    return { scale, ox: this.sizePx / 2 - view.x * scale, oy: this.sizePx / 2 - view.y * scale };
  }

  /** Every circle as it is on screen now. */
  screenCircles(): { groups: ScreenCircle[]; channels: ScreenCircle[] } {
    const input = this.input;
    if (input === undefined) return { groups: [], channels: [] };
    const { scale, ox, oy } = this.transform();
    const place = (c: Circle): ScreenCircle => ({ ...c, sx: ox + c.x * scale, sy: oy + c.y * scale, sr: c.r * scale });
    return { groups: input.layout.groups.map(place), channels: input.layout.channels.map(place) };
  }

  private draw(): void {
    const input = this.input;
    const colors = this.colors;
    const ctx = this.canvas.getContext('2d');
    if (input === undefined || colors === undefined || ctx === null) return;
    const dpr = window.devicePixelRatio || 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, this.sizePx, this.sizePx);
    const { groups, channels } = this.screenCircles();
    const dark = colors.kind === 'dark' || colors.kind === 'high-contrast';
    const visible = (c: ScreenCircle): boolean => c.sx + c.sr >= 0 && c.sy + c.sr >= 0 && c.sx - c.sr <= this.sizePx && c.sy - c.sr <= this.sizePx;

    for (const g of groups) {
      if (!visible(g)) continue;
      const color = input.groupColor(g.group);
      ctx.beginPath();
      ctx.arc(g.sx, g.sy, g.sr, 0, 2 * Math.PI);
      ctx.globalAlpha = dark ? 0.2 : 0.14;
      ctx.fillStyle = color;
      ctx.fill();
      ctx.globalAlpha = 1;
      ctx.lineWidth = input.zoom === g.group ? 2 : 1.5;
      ctx.strokeStyle = color;
      ctx.stroke();
    }
    for (const c of channels) {
      if (!visible(c) || c.sr < 0.3) continue;
      ctx.beginPath();
      ctx.arc(c.sx, c.sy, c.sr, 0, 2 * Math.PI);
      ctx.fillStyle = channelColor(c.channel ?? 0, dark);
      ctx.fill();
      const highlighted = c.channel === input.highlighted;
      const hovered = input.hovered?.kind === 'channel' && input.hovered.channel === c.channel && input.hovered.group === c.group;
      if (highlighted || hovered) {
        ctx.lineWidth = highlighted ? 2.5 : 1.5;
        ctx.strokeStyle = highlighted && this.focus !== undefined ? toCss(this.focus) : toCss(colors.foreground);
        ctx.stroke();
      }
    }

    // Labels last, over the circles: class names at the top of their circles, channel numbers where they fit.
    const fontSize = Math.max(10, colors.fontSize - 2);
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.font = `${fontSize - 1}px ${colors.fontFamily}`;
    for (const c of channels) {
      if (!visible(c) || c.sr < fontSize * 0.8) continue;
      ctx.fillStyle = dark ? '#000000' : '#ffffff';
      ctx.fillText(String(c.channel), c.sx, c.sy);
    }
    ctx.font = `600 ${fontSize}px ${colors.fontFamily}`;
    for (const g of groups) {
      if (!visible(g) || g.sr < fontSize * 1.6) continue;
      const label = input.groupLabel(g.group);
      const y = Math.max(fontSize, g.sy - g.sr + fontSize * 0.9);
      const width = ctx.measureText(label).width;
      // A backdrop keeps the name readable over the channel circles it may cross.
      ctx.fillStyle = toCss({ ...colors.background, a: 0.8 });
      ctx.fillRect(g.sx - width / 2 - 3, y - fontSize * 0.65, width + 6, fontSize * 1.3);
      ctx.fillStyle = toCss(colors.foreground);
      ctx.fillText(label, g.sx, y, Math.max(20, 2 * g.sr - 8));
    }
  }

  /** The circle under a pointer event: a channel circle if one is there and big enough, else its class circle. */
  hit(clientX: number, clientY: number): ScreenCircle | undefined {
    const box = this.canvas.getBoundingClientRect();
    const x = clientX - box.left;
    const y = clientY - box.top;
    const { groups, channels } = this.screenCircles();
    const inside = (c: ScreenCircle): boolean => (x - c.sx) ** 2 + (y - c.sy) ** 2 <= c.sr ** 2;
    const channel = channels.find((c) => c.sr >= MIN_HIT_RADIUS_PX && inside(c));
    return channel ?? groups.find(inside);
  }
}

function reducedMotion(): boolean {
  return window.matchMedia('(prefers-reduced-motion: reduce)').matches;
}

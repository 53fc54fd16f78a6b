// Fig. 13(B): the two-level circle packing on one canvas. First-level circles are the classes
// (and all samples), outlined in the class's colour; inside each, a circle per channel sized and
// coloured by its entropy (a large layer: its top channels, and one grey circle for the rest).
// The paper colours channels by index, which at 512 or 1,280 channels repeats hues into confusion;
// the channel is named by its label where it fits and by the tooltip, and the selected one is
// outlined in every class. Clicking a class circle zooms into it (Fig. 13E), animated unless the
// user asked for reduced motion; at rest a zoom draws that class alone, so no circle is cut at the
// canvas's edge. The pointer is mapped to a circle by its distance to the centres.
import type { ChannelEntropiesResult } from '../../src/shared/measures';
import { contrastRatio, mix, over, toCss, type Rgba, type ThemeColors } from '../shared/theme';
import { type Circle, type GroupKey, type PackLayout } from './entropyModel';

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
  /** The layer's channel count: a selected channel below it that a class shows no circle of is in its rest circle. */
  readonly channels: number;
  /** The run, layer and epoch's entropies the layout was made from: the export names them and counts the samples. */
  readonly source: { readonly run: string; readonly layer: string; readonly item: ChannelEntropiesResult };
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
  /** Whether it is drawn now: on the canvas, and of the zoomed class when a zoom is at rest. */
  readonly shown: boolean;
  /** Whether its label (channel number, rest count or class name) was drawn, which it is only where it fits. */
  readonly labelled: boolean;
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
  private readonly labelled = new Set<string>();

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

  /** What was drawn last (the export draws it again as SVG). */
  get drawn(): PackingInput | undefined {
    return this.input;
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
    const size = this.sizePx;
    const alone = this.animation === undefined ? input.zoom : undefined;
    const place = (c: Circle): ScreenCircle => {
      const sx = ox + c.x * scale;
      const sy = oy + c.y * scale;
      const sr = c.r * scale;
      const onCanvas = sx + sr >= 0 && sy + sr >= 0 && sx - sr <= size && sy - sr <= size;
      return { ...c, sx, sy, sr, shown: onCanvas && (alone === undefined || c.group === alone), labelled: this.labelled.has(circleKey(c)) };
    };
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
    this.labelled.clear();
    const { groups, channels } = this.screenCircles();
    const dark = colors.kind === 'dark' || colors.kind === 'high-contrast';
    const ramp = valueRamp(colors, channelValueMax(input.layout));
    const focus = this.focus !== undefined ? toCss(this.focus) : toCss(colors.foreground);
    const foreground = toCss(colors.foreground);
    // The selected channel is outlined in every class; where it is not one of a class's circles, the rest circle holding it is.
    const drawnIn = new Set(channels.filter((c) => c.kind === 'channel' && c.channel === input.highlighted).map((c) => c.group));
    const hoveredChannel = input.hovered?.kind === 'channel' ? input.hovered.channel : undefined;

    for (const g of groups) {
      if (!g.shown) continue;
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
      if (!c.shown || c.sr < 0.3) continue;
      ctx.beginPath();
      ctx.arc(c.sx, c.sy, c.sr, 0, 2 * Math.PI);
      if (c.kind === 'rest') {
        ctx.fillStyle = toCss({ ...colors.muted, a: dark ? 0.22 : 0.16 });
        ctx.fill();
        const holds = input.highlighted !== undefined && !drawnIn.has(c.group) && input.highlighted < input.channels;
        const hovered = input.hovered?.kind === 'rest' && input.hovered.group === c.group;
        ctx.setLineDash([4, 3]);
        ctx.lineWidth = holds ? 2.5 : hovered ? 1.5 : 1;
        ctx.strokeStyle = holds ? focus : hovered ? foreground : toCss(colors.muted);
        ctx.stroke();
        ctx.setLineDash([]);
        continue;
      }
      ctx.fillStyle = toCss(ramp(c.value));
      ctx.fill();
      const highlighted = c.channel === input.highlighted;
      const hovered = hoveredChannel !== undefined && c.channel === hoveredChannel;
      if (highlighted || hovered) {
        ctx.lineWidth = highlighted ? 2.5 : 1.5;
        ctx.strokeStyle = highlighted ? focus : foreground;
        ctx.stroke();
      }
    }

    // Labels last, over the circles: class names at the top of their circles, channel numbers
    // (and a rest circle's count) only where the text fits inside the circle.
    const fontSize = Math.max(10, colors.fontSize - 2);
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.font = `${fontSize - 1}px ${colors.fontFamily}`;
    for (const c of channels) {
      if (!c.shown) continue;
      const label = c.kind === 'rest' ? `+${c.count ?? 0}` : String(c.channel);
      if (!fits(ctx, label, c.sr, fontSize - 1)) continue;
      const fill = c.kind === 'rest' ? over({ ...colors.muted, a: 0.2 }, colors.background) : ramp(c.value);
      ctx.fillStyle = c.kind === 'rest' ? foreground : textOn(fill);
      ctx.fillText(label, c.sx, c.sy);
      this.labelled.add(circleKey(c));
    }
    ctx.font = `600 ${fontSize}px ${colors.fontFamily}`;
    for (const g of groups) {
      if (!g.shown || g.sr < fontSize * 1.6) continue;
      const label = input.groupLabel(g.group);
      const y = Math.max(fontSize, g.sy - g.sr + fontSize * 0.9);
      const width = Math.min(ctx.measureText(label).width, Math.max(20, 2 * g.sr - 8));
      // A backdrop keeps the name readable over the channel circles it may cross.
      ctx.fillStyle = toCss({ ...colors.background, a: 0.8 });
      ctx.fillRect(g.sx - width / 2 - 3, y - fontSize * 0.65, width + 6, fontSize * 1.3);
      ctx.fillStyle = foreground;
      ctx.fillText(label, g.sx, y, Math.max(20, 2 * g.sr - 8));
      this.labelled.add(circleKey(g));
    }
  }

  /** The circle under a pointer event: a channel (or rest) circle if one is drawn there and big enough, else its class circle. */
  hit(clientX: number, clientY: number): ScreenCircle | undefined {
    const box = this.canvas.getBoundingClientRect();
    const x = clientX - box.left;
    const y = clientY - box.top;
    const { groups, channels } = this.screenCircles();
    const inside = (c: ScreenCircle): boolean => c.shown && (x - c.sx) ** 2 + (y - c.sy) ** 2 <= c.sr ** 2;
    const channel = channels.find((c) => c.sr >= MIN_HIT_RADIUS_PX && inside(c));
    return channel ?? groups.find(inside);
  }
}

function circleKey(c: Circle): string {
  return `${c.kind}:${c.group}:${c.channel ?? ''}`;
}

/** Whether `label` fits inside a circle of radius r: its width within the chord at the text's half height. */
function fits(ctx: CanvasRenderingContext2D, label: string, r: number, fontSize: number): boolean {
  if (r < fontSize * 0.75) return false;
  const half = fontSize / 2;
  const chord = 2 * Math.sqrt(Math.max(0, r * r - half * half));
  return ctx.measureText(label).width + 2 <= chord;
}

/** The largest channel circle's value: the top of the colour ramp (a rest circle's sum is not on it). */
export function channelValueMax(layout: PackLayout): number {
  let max = 0;
  for (const c of layout.channels) if (c.kind === 'channel' && c.value > max) max = c.value;
  return max;
}

/**
 * A channel circle's fill by its entropy, 0 … max: from a grey between the background and the
 * foreground to the theme's chart blue. One channel's circles compare across classes by colour
 * as by size; the channel number is in its label, the tooltip and the outline of the selection.
 */
export function valueRamp(colors: ThemeColors, max: number): (value: number) => Rgba {
  const low = mix(colors.background, colors.foreground, 0.22);
  return (value) => mix(low, colors.accent, max > 0 ? Math.max(0, Math.min(1, value / max)) : 0);
}

/** Black or white, whichever reads better on `fill`. */
export function textOn(fill: Rgba): string {
  return contrastRatio(fill, { r: 0, g: 0, b: 0, a: 1 }) >= contrastRatio(fill, { r: 255, g: 255, b: 255, a: 1 }) ? '#000000' : '#ffffff';
}

function reducedMotion(): boolean {
  return window.matchMedia('(prefers-reduced-motion: reduce)').matches;
}

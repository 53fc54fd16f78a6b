// Building an exported figure as SVG (issue 17): a standalone document with its title, axes,
// legend and units in it, whose colours are attributes (a file has no stylesheet and no theme
// variables). Elements are made with the DOM, never parsed from strings: run, layer and class
// names are arbitrary text and reach the file only as escaped Text nodes and attribute values.
// Only number work and the DOM; exportView.ts serialises and rasterises what is built here.
import { toCss, type Rgba, type ThemeColors } from './theme';

export const SVG_NS = 'http://www.w3.org/2000/svg';
const XLINK_NS = 'http://www.w3.org/1999/xlink';

export type SvgAttrs = Readonly<Record<string, string | number | undefined>>;
export type SvgChild = SVGElement | string | null | undefined | false;

/** An SVG element with presentation attributes and children (strings become Text nodes). Event handler attributes are refused. */
export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: SvgAttrs = {}, ...children: SvgChild[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined) continue;
    if (name.toLowerCase().startsWith('on')) throw new Error(`svg(): attribute "${name}" would be script`);
    el.setAttribute(name, String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return el;
}

/** A text line at (x, y), its baseline at y unless `attrs` say otherwise. */
export function svgText(x: number, y: number, text: string, attrs: SvgAttrs = {}): SVGTextElement {
  return svg('text', { x: round(x), y: round(y), ...attrs }, text);
}

/** Coordinates to 0.01 px: enough for any screen or printer, and a smaller file. */
export function round(v: number): number {
  return Math.round(v * 100) / 100;
}

/**
 * The step of a figure's axis ticks: the smallest m × 10ⁿ (m one of `multipliers`, in rising order
 * below 10) that is at least `atLeast` (> 0), so ticks fall on round numbers.
 */
export function roundStep(atLeast: number, multipliers: readonly number[] = [1, 2, 5]): number {
  const power = 10 ** Math.floor(Math.log10(atLeast));
  return multipliers.map((m) => m * power).find((s) => s >= atLeast) ?? 10 * power;
}

let measure: CanvasRenderingContext2D | null | undefined;

/** The width of `text` in CSS pixels in the CSS `font` (e.g. `12px system-ui`), for laying out labels. */
export function textWidth(text: string, font: string): number {
  measure ??= document.createElement('canvas').getContext('2d');
  if (measure === null) return text.length * 7;
  measure.font = font;
  return measure.measureText(text).width;
}

/** `text` broken at spaces into lines no wider than `width` (a word longer than that gets a line of its own). */
export function wrapText(text: string, width: number, font: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    const next = line === '' ? word : `${line} ${word}`;
    if (line !== '' && textWidth(next, font) > width) {
      lines.push(line);
      line = word;
    } else line = next;
  }
  if (line !== '') lines.push(line);
  return lines;
}

/** The CSS font of the figure's text at `size` pixels. */
export function figureFont(colors: ThemeColors, size: number, weight: 'normal' | 'bold' = 'normal'): string {
  return `${weight === 'bold' ? '600 ' : ''}${size}px ${colors.fontFamily}`;
}

/**
 * The figure's root: `width` × `height` CSS pixels, an opaque background in the theme's (or the
 * print palette's) editor colour, the theme's font, and a <title> and <desc> that viewers and
 * screen readers show. No xmlns attributes: XMLSerializer declares the SVG and xlink namespaces
 * itself, and one set by hand would be written twice.
 */
export function figureRoot(width: number, height: number, colors: ThemeColors, title: string, description: string): SVGSVGElement {
  const w = Math.ceil(width);
  const h = Math.ceil(height);
  return svg(
    'svg',
    {
      width: w,
      height: h,
      viewBox: `0 0 ${w} ${h}`,
      'font-family': colors.fontFamily,
      'font-size': colors.fontSize,
      fill: toCss(colors.foreground),
    },
    svg('title', {}, title),
    svg('desc', {}, description),
    svg('rect', { class: 'figure-background', x: 0, y: 0, width: w, height: h, fill: toCss(colors.background) }),
  );
}

/**
 * A raster (a heatmap's cells) placed at (x, y) with the size `width` × `height`, embedded as a PNG
 * data URL: the rest of the figure stays vector. Both `href` and `xlink:href`, for viewers that
 * know only SVG 1.1.
 */
export function rasterImage(pixels: ImageData, x: number, y: number, width: number, height: number): SVGImageElement {
  const canvas = document.createElement('canvas');
  canvas.width = pixels.width;
  canvas.height = pixels.height;
  canvas.getContext('2d')?.putImageData(pixels, 0, 0);
  const url = canvas.toDataURL('image/png');
  const image = svg('image', { x: round(x), y: round(y), width: round(width), height: round(height), preserveAspectRatio: 'none', href: url });
  image.setAttributeNS(XLINK_NS, 'xlink:href', url);
  return image;
}

export interface RampLegendOptions {
  /** Unique within the figure: the gradient's id. */
  readonly id: string;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  /** The colours at the left (lowest value) and right ends. */
  readonly from: Rgba;
  readonly to: Rgba;
  /** The values at the ends, with their unit. */
  readonly lowLabel: string;
  readonly highLabel: string;
  /** What the colour means, with its unit: "Channel capacity, bits (brighter = smaller)". */
  readonly caption: string;
  readonly colors: ThemeColors;
}

/** A colour bar as a vector gradient, its end values below its ends and its caption above it. */
export function rampLegend(o: RampLegendOptions): SVGGElement {
  const small = Math.max(9, o.colors.fontSize - 2);
  return svg(
    'g',
    { class: 'legend' },
    svg(
      'defs',
      {},
      svg(
        'linearGradient',
        { id: o.id, x1: 0, y1: 0, x2: 1, y2: 0 },
        svg('stop', { offset: 0, 'stop-color': toCss(o.from) }),
        svg('stop', { offset: 1, 'stop-color': toCss(o.to) }),
      ),
    ),
    svgText(o.x, o.y - 6, o.caption, { class: 'legend-caption' }),
    svg('rect', { x: round(o.x), y: round(o.y), width: round(o.width), height: round(o.height), fill: `url(#${o.id})`, stroke: toCss(o.colors.grid) }),
    svgText(o.x, o.y + o.height + small + 3, o.lowLabel, { class: 'legend-low', 'font-size': small, fill: toCss(o.colors.muted) }),
    svgText(o.x + o.width, o.y + o.height + small + 3, o.highLabel, {
      class: 'legend-high',
      'font-size': small,
      fill: toCss(o.colors.muted),
      'text-anchor': 'end',
    }),
  );
}

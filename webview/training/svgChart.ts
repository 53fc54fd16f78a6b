// A line chart over the epochs as SVG, for the training view's export (issue 17): the view's charts
// are chart.js canvases, which have no vector form to clone, so the exported figure draws the same
// series again as vector paths: axes with ticks and titles, one line per series broken at its
// gaps, the ∞ marks where a value is undefined, and the dashed line at the marked epoch. Only
// drawing; what is drawn (and its colours) is exportFigure.ts's choice.
import { figureFont, round, roundStep, svg, svgText, textWidth } from '../shared/svgFigure';
import { toCss, type ThemeColors } from '../shared/theme';
import { formatNumber, type XY } from './series';

export interface SvgSeries {
  readonly label: string;
  readonly color: string;
  /** The dash pattern of the line on screen (classDash); empty for solid. */
  readonly dash: readonly number[];
  readonly points: readonly XY[];
}

/** A glyph (the paper's ∞) at a point of the chart, in a series' colour. */
export interface SvgMark {
  readonly x: number;
  readonly y: number;
  readonly color: string;
  readonly series: string;
}

export interface SvgChartSpec {
  readonly width: number;
  readonly height: number;
  readonly xTitle: string;
  readonly yTitle: string;
  readonly xMin: number;
  readonly xMax: number;
  readonly yMin: number;
  readonly yMax: number;
  /** No tick label above this value: the band of ∞ marks holds no values (entropyAxis). */
  readonly yLabelsUpTo: number;
  readonly series: readonly SvgSeries[];
  readonly marks: readonly SvgMark[];
  readonly glyph: string;
  /** The epoch marked by a dashed vertical line, as on screen. */
  readonly cursor: number | undefined;
  /** Points drawn as dots, as chart.js does for up to 40 epochs. */
  readonly dots: boolean;
  /** A class for the chart's group, so a reader (and the tests) can tell the charts apart. */
  readonly id: string;
}

/** Tick values from `min` to `max`: steps of 1, 2 or 5 × 10ⁿ, about `count` of them; whole numbers when `integer`. */
export function niceTicks(min: number, max: number, count: number, integer: boolean): number[] {
  if (!(max > min)) return [min];
  const step = Math.max(integer ? 1 : 0, roundStep((max - min) / Math.max(1, count)));
  const ticks: number[] = [];
  // Whole multiples of the step, so 0.1 + 0.2 never writes 0.30000000000000004.
  for (let i = Math.ceil(min / step - 1e-9); i * step <= max + step * 1e-9; i++) ticks.push(Number((i * step).toPrecision(12)));
  return ticks;
}

/** The chart at (0, 0) of its group, `width` × `height` CSS pixels, its plot area inside the axes' labels. */
export function svgLineChart(spec: SvgChartSpec, colors: ThemeColors): SVGGElement {
  const small = Math.max(10, colors.fontSize - 2);
  const font = figureFont(colors, small);
  const yTicks = niceTicks(spec.yMin, spec.yLabelsUpTo, 6, false);
  const xTicks = niceTicks(spec.xMin, spec.xMax, 8, true);
  const tickWidth = Math.max(...yTicks.map((t) => textWidth(formatNumber(t), font)));
  const left = colors.fontSize + 8 + tickWidth + 6;
  const right = 12;
  const top = 8;
  const bottom = small + 6 + colors.fontSize + 10;
  const plotW = spec.width - left - right;
  const plotH = spec.height - top - bottom;
  const px = (x: number): number => left + ((x - spec.xMin) / (spec.xMax - spec.xMin)) * plotW;
  const py = (y: number): number => top + plotH - ((y - spec.yMin) / (spec.yMax - spec.yMin)) * plotH;
  const muted = toCss(colors.muted);
  const gridColor = toCss({ ...colors.grid, a: 0.35 });
  const g = svg('g', { class: `chart ${spec.id}` });

  const grid = svg('g', { class: 'grid', stroke: gridColor, 'stroke-width': 1 });
  for (const t of yTicks) grid.appendChild(svg('line', { x1: round(left), x2: round(left + plotW), y1: round(py(t)), y2: round(py(t)) }));
  for (const t of xTicks) grid.appendChild(svg('line', { x1: round(px(t)), x2: round(px(t)), y1: round(top), y2: round(top + plotH) }));
  g.appendChild(grid);
  g.appendChild(
    svg('rect', { class: 'plot-frame', x: round(left), y: round(top), width: round(plotW), height: round(plotH), fill: 'none', stroke: toCss(colors.grid) }),
  );

  const yLabels = svg('g', { class: 'axis-numbers axis-y', 'font-size': small, fill: toCss(colors.foreground), 'text-anchor': 'end' });
  for (const t of yTicks) yLabels.appendChild(svgText(left - 5, py(t) + small * 0.35, formatNumber(t)));
  g.appendChild(yLabels);
  const xLabels = svg('g', { class: 'axis-numbers axis-x', 'font-size': small, fill: toCss(colors.foreground), 'text-anchor': 'middle' });
  for (const t of xTicks) xLabels.appendChild(svgText(px(t), top + plotH + small + 4, String(t)));
  g.appendChild(xLabels);
  g.appendChild(svgText(left + plotW / 2, spec.height - 4, spec.xTitle, { class: 'axis-title axis-x', fill: muted, 'text-anchor': 'middle' }));
  const yTitleX = colors.fontSize;
  const yTitleY = top + plotH / 2;
  g.appendChild(
    svgText(yTitleX, yTitleY, spec.yTitle, {
      class: 'axis-title axis-y',
      fill: muted,
      'text-anchor': 'middle',
      transform: `rotate(-90 ${round(yTitleX)} ${round(yTitleY)})`,
    }),
  );

  const lines = svg('g', { class: 'series', fill: 'none', 'stroke-width': colors.kind.startsWith('high-contrast') ? 2.5 : 1.5 });
  for (const s of spec.series) {
    const line = svg('g', { class: 'line', 'data-series': s.label, stroke: s.color, 'stroke-dasharray': s.dash.length > 0 ? s.dash.join(' ') : undefined });
    // A gap (null) ends a segment, as chart.js with spanGaps false breaks the line there.
    let segment: string[] = [];
    const flush = (): void => {
      if (segment.length > 1) line.appendChild(svg('polyline', { points: segment.join(' ') }));
      segment = [];
    };
    for (const p of s.points) {
      if (p.y === null) flush();
      else segment.push(`${round(px(p.x))},${round(py(p.y))}`);
    }
    flush();
    if (spec.dots) {
      for (const p of s.points)
        if (p.y !== null) line.appendChild(svg('circle', { cx: round(px(p.x)), cy: round(py(p.y)), r: 2, fill: s.color, stroke: 'none' }));
    }
    lines.appendChild(line);
  }
  g.appendChild(lines);

  const glyphSize = Math.round(colors.fontSize * 1.6);
  const marks = svg('g', { class: 'marks', 'font-size': glyphSize, 'font-weight': 700, 'text-anchor': 'middle' });
  for (const m of spec.marks)
    marks.appendChild(svgText(px(m.x), py(m.y) + glyphSize * 0.35, spec.glyph, { class: 'mark', fill: m.color, 'data-series': m.series }));
  g.appendChild(marks);

  if (spec.cursor !== undefined && spec.cursor >= spec.xMin && spec.cursor <= spec.xMax) {
    const x = round(px(spec.cursor));
    g.appendChild(
      svg('line', { class: 'cursor', x1: x, x2: x, y1: round(top), y2: round(top + plotH), stroke: muted, 'stroke-width': 1, 'stroke-dasharray': '4 3' }),
    );
  }
  return g;
}

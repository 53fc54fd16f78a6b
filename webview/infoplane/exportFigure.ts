// What the information-plane view exports (issue 17). The figure is the plane as drawn: I(X; T) on
// x against I(T; Y) on y in bits, one trajectory per representation through its epochs in its
// depth's colour, the first epoch hollow and the marked epoch's large outlined marker, the selected
// layer thicker on top; its title names the run and the estimator's α and σ rule, its subtitle the
// samples, the epochs and the marked epoch. The legend is the view's table of layers by depth (each
// colour with its name) beside the depth colour scale and the marker key: the view colours by
// depth, not by epoch, and reads the epochs along each trajectory, so the file says the same. The
// chart on screen is a Chart.js canvas, so the figure is drawn again here as vector, from the same
// trajectories and colour rule, on axes of round ticks from zero as the chart's are.
//
// The table is every plotted value: one row per representation and epoch (shallowest first, epochs
// in order), the values as the engine gave them (float64, not rounded as the table on screen is)
// and empty where the engine had none. Its header names the run, the representations, the epochs,
// the marked epoch, the samples and the estimator's parameters as the engine reported using them.
// The export machinery is webview/shared/exportView.ts.
import type { ExportMetaValue, ExportTable } from '../../src/shared/exportTable';
import { NothingToExport, type ExportContext, type ExportProvider } from '../shared/exportView';
import { describeSamples, type LoadedRun } from '../shared/runs';
import { figureFont, figureRoot, round, roundStep, svg, svgText, textWidth, wrapText } from '../shared/svgFigure';
import { isDarkTheme, toCss, type ThemeColors } from '../shared/theme';
import { chosenEpoch, chosenRun, chosenSamples, seriesOf } from './choices';
import { estimatorText } from './paramsText';
import { session, type PlaneSeries } from './state';
import { depthColor, formatBits, markedEpoch, trajectoriesOf, viridis, type Trajectory } from './trajectories';

interface Exported {
  readonly run: LoadedRun;
  readonly series: PlaneSeries;
  readonly trajectories: readonly Trajectory[];
  readonly marked: number | undefined;
  readonly selectedLayer: string | undefined;
}

/** The plane the view shows now: the same series, marked epoch and selected layer as main.ts's render. */
function exported(): Exported {
  const run = chosenRun();
  if (run === undefined) throw new NothingToExport('The information plane shows no run yet.');
  const series = seriesOf(run);
  if (series === undefined || series.items.length === 0)
    throw new NothingToExport('The information plane has nothing to export yet: wait until its epochs are computed.');
  const trajectories = trajectoriesOf(series.items);
  const layer = session.selection.layer;
  return {
    run,
    series,
    trajectories,
    marked: markedEpoch(series.items, chosenEpoch(run)),
    selectedLayer: layer !== undefined && trajectories.some((t) => t.layer === layer) ? layer : undefined,
  };
}

function params(e: Exported): Readonly<Record<string, unknown>> {
  // Read by name, as the footer does (paramsText.ts): a parameter this build does not know is still exported.
  const all: Readonly<Record<string, unknown>> = { ...e.series.params };
  return all;
}

/** α and the σ rule as the title states them, from the parameters the engine reported. */
function estimatorShort(e: Exported): string {
  const p = params(e);
  const parts: string[] = [];
  if (typeof p.renyiAlpha === 'number') parts.push(`α = ${p.renyiAlpha}`);
  if (p.renyiSigma === 'fixed' && typeof p.renyiSigmaValue === 'number') parts.push(`σ = ${p.renyiSigmaValue}`);
  else if (typeof p.renyiSigma === 'string') parts.push(`σ by the ${p.renyiSigma} rule`);
  return parts.length > 0 ? `Rényi ${parts.join(', ')}` : 'Rényi, the engine’s default α and σ';
}

function title(e: Exported): string {
  return `Information plane of ${e.run.info.name} (${estimatorShort(e)})`;
}

function epochsOf(e: Exported): number[] {
  return e.series.items.map((i) => i.epoch);
}

function subtitle(e: Exported): string[] {
  const epochs = epochsOf(e);
  const n = e.series.items[0].n;
  return [
    `${e.trajectories.length} representations (the input and ${e.trajectories.length - 1} layers) over ${epochs.length} epoch${epochs.length === 1 ? '' : 's'} (${epochs[0]} to ${epochs[epochs.length - 1]}); kernels over n = ${n} samples (${describeSamples(e.run, chosenSamples())}).`,
    `Markers at epoch ${e.marked ?? '–'}${e.selectedLayer !== undefined ? `; ${e.selectedLayer} highlighted` : ''}.${e.series.items.some((i) => i.approximate) ? ' Above the exact limit the eigenvalues were estimated.' : ''}`,
  ];
}

/** Round ticks (1, 2, 2.5 or 5 times a power of ten) spanning [lo, hi], about `target` of them. */
function niceAxis(lo: number, hi: number, target = 5): { min: number; max: number; ticks: number[] } {
  const top = hi > lo ? hi : lo + 1;
  const step = roundStep((top - lo) / target, [1, 2, 2.5, 5]);
  const min = Math.floor(lo / step) * step;
  const max = Math.ceil(top / step) * step;
  const ticks: number[] = [];
  for (let k = 0; min + k * step <= max + step * 1e-9; k++) ticks.push(Number((min + k * step).toPrecision(12)));
  return { min, max, ticks };
}

/** The plotted points of a trajectory (those with both values), as the chart plots them. */
function plotted(t: Trajectory): { epoch: number; x: number; y: number }[] {
  return t.points.flatMap((p) => (p.IXT !== undefined && p.ITY !== undefined ? [{ epoch: p.epoch, x: p.IXT, y: p.ITY }] : []));
}

function withAlpha(rgb: string, alpha: number): string {
  const m = /^rgb\((\d+), (\d+), (\d+)\)$/.exec(rgb);
  return m === null ? rgb : `rgba(${m[1]}, ${m[2]}, ${m[3]}, ${alpha})`;
}

const MARGIN = 16;
const PLOT_W = 480;
const PLOT_H = 360;
const LEGEND_W = 250;
const WIDTH = MARGIN * 2 + 64 + PLOT_W + 28 + LEGEND_W;

interface Frame {
  readonly left: number;
  readonly top: number;
  readonly x: (v: number) => number;
  readonly y: (v: number) => number;
}

/** The axes: grid, ticks, tick numbers and the titles with their unit; returns the mapping from bits to the page. */
function axes(e: Exported, colors: ThemeColors, left: number, top: number, parts: SVGElement[]): Frame {
  const all = e.trajectories.flatMap(plotted);
  const xs = niceAxis(Math.min(0, ...all.map((p) => p.x)), Math.max(0, ...all.map((p) => p.x)));
  const ys = niceAxis(Math.min(0, ...all.map((p) => p.y)), Math.max(0, ...all.map((p) => p.y)));
  const x = (v: number): number => left + ((v - xs.min) / (xs.max - xs.min)) * PLOT_W;
  const y = (v: number): number => top + PLOT_H - ((v - ys.min) / (ys.max - ys.min)) * PLOT_H;
  const grid = toCss({ ...colors.grid, a: 0.35 });
  const small = Math.max(10, colors.fontSize - 1);
  const g = svg('g', { class: 'axes', 'font-size': small });
  const xTicks = svg('g', { class: 'ticks ticks-x', 'text-anchor': 'middle' });
  for (const t of xs.ticks) {
    g.appendChild(svg('line', { class: 'grid', x1: round(x(t)), y1: top, x2: round(x(t)), y2: top + PLOT_H, stroke: grid }));
    xTicks.appendChild(svgText(x(t), top + PLOT_H + small + 6, formatBits(t)));
  }
  const yTicks = svg('g', { class: 'ticks ticks-y', 'text-anchor': 'end', 'dominant-baseline': 'central' });
  for (const t of ys.ticks) {
    g.appendChild(svg('line', { class: 'grid', x1: left, y1: round(y(t)), x2: left + PLOT_W, y2: round(y(t)), stroke: grid }));
    yTicks.appendChild(svgText(left - 6, y(t), formatBits(t)));
  }
  g.appendChild(svg('rect', { class: 'frame', x: left, y: top, width: PLOT_W, height: PLOT_H, fill: 'none', stroke: toCss(colors.grid) }));
  g.appendChild(xTicks);
  g.appendChild(yTicks);
  const muted = toCss(colors.muted);
  g.appendChild(
    svgText(left + PLOT_W / 2, top + PLOT_H + 2 * small + 16, 'I(X; T), bits', { class: 'axis-title axis-x', 'text-anchor': 'middle', fill: muted }),
  );
  const yTitleX = left - 48;
  g.appendChild(
    svgText(yTitleX, top + PLOT_H / 2, 'I(T; Y), bits', {
      class: 'axis-title axis-y',
      'text-anchor': 'middle',
      fill: muted,
      transform: `rotate(-90 ${round(yTitleX)} ${round(top + PLOT_H / 2)})`,
    }),
  );
  parts.push(g);
  return { left, top, x, y };
}

/** The trajectories as the chart draws them: lines through the plotted points, the selected one last and thicker, the others faded. */
function trajectoriesLayer(e: Exported, colors: ThemeColors, depthColors: readonly string[], frame: Frame): SVGGElement {
  const g = svg('g', { class: 'trajectories' });
  const order = e.trajectories.map((t, i) => ({ t, i })).sort((a, b) => Number(a.t.layer === e.selectedLayer) - Number(b.t.layer === e.selectedLayer));
  for (const { t, i } of order) {
    const data = plotted(t);
    const selected = t.layer === e.selectedLayer;
    const color = e.selectedLayer !== undefined && !selected ? withAlpha(depthColors[i], 0.45) : depthColors[i];
    let markerIndex = -1;
    if (e.marked !== undefined) for (let k = 0; k < data.length && data[k].epoch <= e.marked; k++) markerIndex = k;
    const line = svg('g', { class: `trajectory${selected ? ' selected' : ''}`, 'data-layer': t.layer, 'data-depth': t.depth });
    line.appendChild(svg('title', {}, `${t.layer} (depth ${t.depth})`));
    if (data.length > 1)
      line.appendChild(
        svg('polyline', {
          points: data.map((p) => `${round(frame.x(p.x))},${round(frame.y(p.y))}`).join(' '),
          fill: 'none',
          stroke: color,
          'stroke-width': selected ? 3.5 : 1.75,
          'stroke-linejoin': 'round',
        }),
      );
    data.forEach((p, k) => {
      const marker = k === markerIndex;
      const first = k === 0 && !marker;
      line.appendChild(
        svg('circle', {
          class: marker ? 'marker' : first ? 'first-epoch' : 'epoch-point',
          'data-epoch': p.epoch,
          cx: round(frame.x(p.x)),
          cy: round(frame.y(p.y)),
          r: marker ? 7 : first ? 3.5 : 2.5,
          fill: first ? toCss(colors.background) : color,
          stroke: marker ? toCss(colors.foreground) : color,
          'stroke-width': marker ? 2 : first ? 1.5 : 0,
        }),
      );
    });
    g.appendChild(line);
  }
  return g;
}

/** The legend: each representation's colour and name by depth, the depth colour scale, and what the point styles mean. */
function legend(e: Exported, colors: ThemeColors, depthColors: readonly string[], x: number, top: number, dark: boolean): { g: SVGGElement; bottom: number } {
  const fs = colors.fontSize;
  const small = Math.max(9, fs - 2);
  const muted = toCss(colors.muted);
  const g = svg('g', { class: 'legend' });
  let y = top + fs;
  g.appendChild(svgText(x, y, 'Representations T by depth', { class: 'legend-caption', 'font-weight': 600 }));
  const nameFont = figureFont(colors, small);
  for (const [i, t] of e.trajectories.entries()) {
    y += small + 7;
    const color = depthColors[i];
    const entry = svg('g', { class: 'legend-entry', 'data-layer': t.layer });
    entry.appendChild(svg('line', { x1: x, y1: round(y - small / 3), x2: x + 22, y2: round(y - small / 3), stroke: color, 'stroke-width': 2.5 }));
    entry.appendChild(svg('circle', { cx: x + 11, cy: round(y - small / 3), r: 3, fill: color }));
    entry.appendChild(svgText(x + 30, y, String(t.depth), { class: 'legend-depth', 'font-size': small, fill: muted }));
    // A long module path is cut to the legend's width; the table keeps the full name.
    let name = t.layer;
    while (name.length > 4 && textWidth(name, nameFont) > LEGEND_W - 50) name = `${name.slice(0, -2)}…`;
    entry.appendChild(svgText(x + 46, y, name, { class: 'legend-name', 'font-size': small, 'font-weight': t.layer === e.selectedLayer ? 600 : undefined }));
    g.appendChild(entry);
  }
  // The depth colour scale: viridis over the part of it the theme uses (depthColor's rule).
  y += 26;
  const maxDepth = Math.max(0, ...e.trajectories.map((t) => t.depth));
  const [lo, hi] = dark ? [0.25, 1] : [0, 0.82];
  const gradient = svg('linearGradient', { id: 'depth-ramp', x1: 0, y1: 0, x2: 1, y2: 0 });
  for (let k = 0; k <= 8; k++) gradient.appendChild(svg('stop', { offset: k / 8, 'stop-color': viridis(lo + ((hi - lo) * k) / 8) }));
  g.appendChild(svg('defs', {}, gradient));
  g.appendChild(svgText(x, y - 6, 'Colour: depth (input 0 to the last layer)', { class: 'legend-caption depth-caption', 'font-size': small }));
  const rampW = LEGEND_W - 20;
  g.appendChild(svg('rect', { class: 'depth-ramp', x, y: round(y), width: rampW, height: 10, fill: 'url(#depth-ramp)', stroke: toCss(colors.grid) }));
  y += 10 + small + 3;
  g.appendChild(svgText(x, y, `0: ${e.trajectories[0]?.layer ?? ''}`, { class: 'legend-low', 'font-size': small, fill: muted }));
  g.appendChild(
    svgText(x + rampW, y, `${maxDepth}: ${e.trajectories[e.trajectories.length - 1]?.layer ?? ''}`, {
      class: 'legend-high',
      'font-size': small,
      fill: muted,
      'text-anchor': 'end',
    }),
  );
  // The epochs: along each trajectory, first to last.
  y += 22;
  g.appendChild(svgText(x, y, 'Epochs along each trajectory', { class: 'legend-caption epoch-caption', 'font-size': small, 'font-weight': 600 }));
  const epochs = epochsOf(e);
  const key: [string, Record<string, string | number>][] = [
    [`first epoch (${epochs[0]})`, { r: 3.5, fill: toCss(colors.background), stroke: toCss(colors.foreground), 'stroke-width': 1.5 }],
    ['the epochs after it, in order', { r: 2.5, fill: toCss(colors.foreground) }],
    [`marked epoch (${e.marked ?? '–'})`, { r: 7, fill: toCss(colors.muted), stroke: toCss(colors.foreground), 'stroke-width': 2 }],
  ];
  for (const [text, attrs] of key) {
    y += small + 10;
    g.appendChild(svg('circle', { class: 'epoch-key', cx: x + 11, cy: round(y - small / 3), ...attrs }));
    g.appendChild(svgText(x + 30, y, text, { class: 'epoch-key-label', 'font-size': small }));
  }
  return { g, bottom: y + small };
}

function figure({ colors }: ExportContext): SVGSVGElement {
  const e = exported();
  const fs = colors.fontSize;
  const dark = isDarkTheme(colors.kind);
  const maxDepth = Math.max(0, ...e.trajectories.map((t) => t.depth));
  const depthColors = e.trajectories.map((t) => depthColor(t.depth, maxDepth, dark));
  const heading = title(e);
  const parts: SVGElement[] = [];
  let y = MARGIN + fs + 3;
  for (const line of wrapText(heading, WIDTH - 2 * MARGIN, figureFont(colors, fs + 3, 'bold'))) {
    parts.push(svgText(MARGIN, y, line, { class: 'figure-title', 'font-size': fs + 3, 'font-weight': 600 }));
    y += fs + 7;
  }
  const subSize = Math.max(10, fs - 1);
  for (const line of subtitle(e).flatMap((s) => wrapText(s, WIDTH - 2 * MARGIN, figureFont(colors, subSize)))) {
    y += 1;
    parts.push(svgText(MARGIN, y, line, { class: 'figure-subtitle', 'font-size': subSize, fill: toCss(colors.muted) }));
    y += subSize + 4;
  }
  const top = y + 12;
  const left = MARGIN + 64;
  const frame = axes(e, colors, left, top, parts);
  parts.push(trajectoriesLayer(e, colors, depthColors, frame));
  const key = legend(e, colors, depthColors, left + PLOT_W + 28, top - fs, dark);
  parts.push(key.g);
  const height = Math.max(top + PLOT_H + 2 * Math.max(10, fs - 1) + 22, key.bottom) + MARGIN;
  const description = `${heading}. ${subtitle(e).join(' ')} x: I(X; T), y: I(T; Y), bits. ${estimatorText(params(e))}`;
  const root = figureRoot(WIDTH, height, colors, heading, description);
  for (const part of parts) root.appendChild(part);
  return root;
}

/** The estimator's parameters as header entries (`renyiAlpha` → `renyi_alpha`), every one the engine reported. */
function paramsMeta(e: Exported): Record<string, ExportMetaValue> {
  const out: Record<string, ExportMetaValue> = {};
  for (const [name, value] of Object.entries(params(e))) {
    if (!/^renyi/i.test(name)) continue;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') out[name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = value;
  }
  return out;
}

function table(): ExportTable {
  const e = exported();
  const meta: Record<string, ExportMetaValue> = {
    view: 'information plane',
    run: e.run.info.name,
    run_dir: e.run.dir,
    representations: e.trajectories.map((t) => t.layer),
    epochs: epochsOf(e),
    ...(e.marked !== undefined ? { marked_epoch: e.marked } : {}),
    ...(e.selectedLayer !== undefined ? { selected_layer: e.selectedLayer } : {}),
    samples: describeSamples(e.run, chosenSamples()),
    n: e.series.items[0].n,
    approximate: e.series.items.some((i) => i.approximate),
    measure: 'matrix-based Rényi α-order information I(X; T) and I(T; Y) (Giraldo, Rao & Príncipe 2015)',
    unit: 'bits',
    ...paramsMeta(e),
    estimator: estimatorText(params(e)),
    row_order: 'representations by depth (as the legend), each over its epochs in order',
  };
  const rows = e.trajectories.flatMap((t) => t.points.map((p) => [t.layer, t.depth, p.epoch, p.IXT ?? null, p.ITY ?? null]));
  return { title: title(e), meta, columns: ['layer', 'depth', 'epoch', 'ixt_bits', 'ity_bits'], rows };
}

/** The information-plane view's export: installExport(client, infoPlaneExport, header.actions) in main.ts. */
export const infoPlaneExport: ExportProvider = {
  fileName: () => {
    const e = exported();
    return [e.run.info.name, 'information-plane', e.marked !== undefined ? `epoch${e.marked}` : undefined];
  },
  figure,
  table,
};

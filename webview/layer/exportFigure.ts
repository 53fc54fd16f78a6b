// What the layer view exports (issue 17): the channel-capacity heatmaps shown, side by side on
// their one colour scale, as a figure (the cells one embedded raster each, the rest vector: title,
// channel numbers, axis titles, colour legend in bits), and their values as a table, in the order
// the view shows them. The export machinery is webview/shared/exportView.ts.
import { exportBaseName } from '../../src/shared/exportProtocol';
import type { ExportMetaValue, ExportTable } from '../../src/shared/exportTable';
import { shortestFloat32 } from '../../src/shared/exportTable';
import type { ChannelCapacityResult } from '../../src/shared/measures';
import type { CapacitySort } from '../../src/shared/webviewProtocol';
import { NothingToExport, pngScale, type ExportContext, type ExportProvider } from '../shared/exportView';
import { describeSamples, type LoadedRun } from '../shared/runs';
import { figureFont, figureRoot, rampLegend, rasterImage, round, svg, svgText, textWidth, wrapText } from '../shared/svgFigure';
import { toCss, type ThemeColors } from '../shared/theme';
import { capacityRamp, type DisplayOrder, type ScaleRange } from './capacityModel';
import { chosenEpoch, chosenLayer, chosenRun, chosenSamples } from './choices';
import { fillRampLut } from './heatmap';
import { orderedMatrix, packRgba, rasterize } from './heatmapRaster';
import { slotState } from './heatmapSlots';
import { captionOf, formatBits } from './legend';
import { session, view } from './state';
import { labelStep } from './viewport';

/** A heatmap as exported: its matrix and the order it is shown in. */
interface Shown {
  readonly other: string;
  readonly result: ChannelCapacityResult;
  readonly order: DisplayOrder;
}

interface Exported {
  readonly run: LoadedRun;
  readonly layer: string;
  readonly epoch: number;
  readonly heatmaps: readonly Shown[];
  readonly range: ScaleRange;
}

/** The largest a heatmap's plot is in the figure, CSS pixels; cells are at most MAX_CELL wide. */
const MAX_PLOT_WIDTH = 420;
const MAX_PLOT_HEIGHT = 480;
const MAX_CELL = 24;
/** The embedded raster's largest side in pixels: a 1,280-channel axis at 2× still fits. */
const MAX_RASTER_SIDE = 4096;
const MARGIN = 16;
const NUMBER_PX = 10;

const SORT_TEXT: Readonly<Record<CapacitySort, string>> = {
  none: 'channel order',
  max: 'by max, largest first',
  mean: 'by mean, largest first',
  similar: 'by similarity (average-linkage seriation)',
};

/**
 * The heatmaps on screen that show the chosen epoch's matrix. A heatmap still computing (or
 * dimmed, showing an older epoch until the new one arrives) is not what the user asked to see.
 */
function exported(): Exported {
  const run = chosenRun();
  if (run === undefined) throw new NothingToExport('The layer view shows no run yet.');
  const epoch = chosenEpoch(run);
  const range = slotState.range;
  const heatmaps: Shown[] = [];
  for (const slot of slotState.slots) {
    const input = slot.heatmap.current;
    if (input === undefined || slot.element.classList.contains('stale') || input.result.epoch !== epoch) continue;
    heatmaps.push({ other: slot.other, result: input.result, order: input.order });
  }
  if (epoch === undefined || range === undefined || heatmaps.length === 0)
    throw new NothingToExport('The layer view has no heatmap to export yet: wait until its channel capacities are computed.');
  return { run, layer: chosenLayer(run), epoch, heatmaps, range };
}

function estimatorText(e: Exported): string {
  const p = view.lastParams;
  const pairs = e.heatmaps[0].result.pairs.toLocaleString('en-US');
  const params = p === undefined ? '' : ` ${p.capacityBins} bins per distance axis, range ${p.capacityRange === 'channel' ? 'per channel' : 'per layer'},`;
  return `Channel capacity C = H(A) − H(A|B) in bits (§5.3.1):${params} ${pairs} sample pairs per histogram.`;
}

function scaleText(): string {
  return session.selection.scale === 'run' ? '0 to the largest capacity at any epoch' : 'the heatmaps shown, min to max';
}

function sorts(): { columns: CapacitySort; rows: CapacitySort } {
  return { columns: session.selection.sortColumns ?? 'none', rows: session.selection.sortRows ?? 'none' };
}

/** The cells of a heatmap at `cell` CSS pixels each, rasterised as the view does (a pixel over several cells shows their largest). */
function cellsImage(shown: Shown, cell: number, range: ScaleRange, colors: ThemeColors, x: number, y: number): SVGImageElement {
  const { result, order } = shown;
  const width = result.cols * cell;
  const height = result.rows * cell;
  const scale = Math.min(pngScale(), MAX_RASTER_SIDE / width, MAX_RASTER_SIDE / height);
  const pw = Math.max(1, Math.round(width * scale));
  const ph = Math.max(1, Math.round(height * scale));
  const image = new ImageData(pw, ph);
  const e = colors.error;
  rasterize(
    {
      ordered: orderedMatrix(result.capacity, result.cols, order.rows, order.columns),
      rows: result.rows,
      cols: result.cols,
      range,
      lut: fillRampLut(capacityRamp(colors)),
      invalid: packRgba(e.r, e.g, e.b),
    },
    { cell, originX: 0, originY: 0 },
    scale,
    pw,
    ph,
    new Uint32Array(image.data.buffer),
  );
  return rasterImage(image, x, y, width, height);
}

/** One heatmap: its title, the axis titles and channel numbers, the cells, a frame and its caption; returns its height. */
function heatmapPanel(shown: Shown, layer: string, cell: number, range: ScaleRange, colors: ThemeColors, width: number): { g: SVGGElement; height: number } {
  const { result, order } = shown;
  const fs = colors.fontSize;
  const numberFont = figureFont(colors, NUMBER_PX);
  const numberWidth = Math.ceil(textWidth('8'.repeat(String(Math.max(result.rows, result.cols) - 1).length), numberFont));
  const muted = toCss(colors.muted);
  const rowTitleWidth = fs + 6;
  const left = rowTitleWidth + numberWidth + 6;
  const plotW = result.cols * cell;
  const plotH = result.rows * cell;
  let y = fs;
  const g = svg('g', { class: 'heatmap', 'data-lj': shown.other });
  g.appendChild(svgText(0, y, `${layer} × ${shown.other}`, { class: 'heatmap-title', 'font-weight': 600 }));
  y += fs + 6;
  g.appendChild(svgText(left, y, `${layer} channels → (columns)`, { class: 'axis-title axis-columns', fill: muted }));
  y += NUMBER_PX + 6;
  const columns = svg('g', { class: 'axis-numbers axis-columns', 'font-size': NUMBER_PX, fill: muted, 'text-anchor': 'middle' });
  const columnStep = labelStep(cell, numberWidth + 6);
  for (let p = 0; p < result.cols; p += columnStep) columns.appendChild(svgText(left + (p + 0.5) * cell, y, String(order.columns[p])));
  g.appendChild(columns);
  const top = y + 4;
  const rows = svg('g', { class: 'axis-numbers axis-rows', 'font-size': NUMBER_PX, fill: muted, 'text-anchor': 'end', 'dominant-baseline': 'central' });
  const rowStep = labelStep(cell, NUMBER_PX + 3);
  for (let p = 0; p < result.rows; p += rowStep) rows.appendChild(svgText(left - 4, top + (p + 0.5) * cell, String(order.rows[p])));
  g.appendChild(rows);
  // A matrix of a few rows is shorter than its rotated axis title: the title gets the room it needs beside the plot.
  const rowTitle = `${shown.other} channels ↓ (rows)`;
  const bodyHeight = Math.max(plotH, textWidth(rowTitle, figureFont(colors, fs)) + 8);
  const rowTitleY = top + bodyHeight / 2;
  g.appendChild(
    svgText(fs, rowTitleY, rowTitle, {
      class: 'axis-title axis-rows',
      fill: muted,
      'text-anchor': 'middle',
      transform: `rotate(-90 ${round(fs)} ${round(rowTitleY)})`,
    }),
  );
  g.appendChild(cellsImage(shown, cell, range, colors, left, top));
  g.appendChild(
    svg('rect', {
      class: 'frame',
      x: round(left - 0.5),
      y: round(top - 0.5),
      width: round(plotW + 1),
      height: round(plotH + 1),
      fill: 'none',
      stroke: toCss(colors.grid),
    }),
  );
  y = top + bodyHeight + 6;
  const captionSize = Math.max(9, fs - 2);
  for (const line of wrapText(captionOf(result), width, figureFont(colors, captionSize))) {
    y += captionSize + 4;
    g.appendChild(svgText(0, y, line, { class: 'caption', 'font-size': captionSize, fill: muted }));
  }
  return { g, height: y };
}

function figure({ colors }: ExportContext): SVGSVGElement {
  const e = exported();
  const fs = colors.fontSize;
  const cell = Math.min(MAX_CELL, ...e.heatmaps.map(({ result }) => Math.min(MAX_PLOT_WIDTH / result.cols, MAX_PLOT_HEIGHT / result.rows)));
  const numberFont = figureFont(colors, NUMBER_PX);
  const panelWidths = e.heatmaps.map(({ result }) => {
    const numberWidth = textWidth('8'.repeat(String(Math.max(result.rows, result.cols) - 1).length), numberFont);
    return Math.max(240, fs + 6 + numberWidth + 6 + result.cols * cell + 4);
  });
  const gap = 32;
  const width = Math.max(560, MARGIN * 2 + panelWidths.reduce((a, b) => a + b, 0) + gap * (panelWidths.length - 1));
  const title = `Channel capacity between layers: ${e.run.info.name}`;
  const others = e.heatmaps.map((h) => h.other);
  const { columns, rows } = sorts();
  const subtitle = [
    `li = ${e.layer} (columns) against lj = ${others.join(', ')} (rows), epoch ${e.epoch}; ${describeSamples(e.run, chosenSamples())}.`,
    estimatorText(e),
    `Columns ${SORT_TEXT[columns]}; rows ${SORT_TEXT[rows]}. Colour scale: ${scaleText()}.`,
  ];
  const subtitleSize = Math.max(10, fs - 1);
  const subtitleFont = figureFont(colors, subtitleSize);
  const subtitleLines = subtitle.flatMap((s) => wrapText(s, width - 2 * MARGIN, subtitleFont));

  const parts: SVGElement[] = [];
  let y = MARGIN + fs + 3;
  parts.push(svgText(MARGIN, y, title, { class: 'figure-title', 'font-size': fs + 3, 'font-weight': 600 }));
  for (const line of subtitleLines) {
    y += subtitleSize + 5;
    parts.push(svgText(MARGIN, y, line, { class: 'figure-subtitle', 'font-size': subtitleSize, fill: toCss(colors.muted) }));
  }
  y += 18;
  let x = MARGIN;
  let panelsHeight = 0;
  e.heatmaps.forEach((shown, i) => {
    const panel = heatmapPanel(shown, e.layer, cell, e.range, colors, panelWidths[i]);
    panel.g.setAttribute('transform', `translate(${round(x)} ${round(y)})`);
    parts.push(panel.g);
    panelsHeight = Math.max(panelsHeight, panel.height);
    x += panelWidths[i] + gap;
  });
  y += panelsHeight + 16 + fs + 6;
  const ramp = capacityRamp(colors);
  const legendWidth = 240;
  parts.push(
    rampLegend({
      id: 'capacity-ramp',
      x: MARGIN,
      y,
      width: legendWidth,
      height: 12,
      from: ramp.small,
      to: ramp.large,
      lowLabel: `${formatBits(e.range.lo)} bits`,
      highLabel: `${formatBits(e.range.hi)} bits`,
      caption: 'Channel capacity, bits: brighter is smaller (more information lost)',
      colors,
    }),
  );
  y += 12 + Math.max(9, fs - 2) + 3 + MARGIN;
  const description = `${subtitle.join(' ')} Each heatmap's cell (row b, column a) is the capacity between channel a of ${e.layer} and channel b of lj.`;
  const root = figureRoot(width, y, colors, title, description);
  for (const part of parts) root.appendChild(part);
  return root;
}

function table(): ExportTable {
  const e = exported();
  const p = view.lastParams;
  const { columns, rows } = sorts();
  const meta: Record<string, ExportMetaValue> = {
    view: 'layer',
    run: e.run.info.name,
    run_dir: e.run.dir,
    li: e.layer,
    lj: e.heatmaps.map((h) => h.other),
    epoch: e.epoch,
    samples: describeSamples(e.run, chosenSamples()),
    measure: 'channel capacity C = H(A) - H(A|B) (Shen & Shen, section 5.3.1)',
    unit: 'bits',
    ...(p !== undefined
      ? { capacity_bins: p.capacityBins, capacity_range: p.capacityRange, capacity_pairs: p.capacityPairs === 0 ? 'all (exact)' : p.capacityPairs }
      : {}),
    sample_pairs_per_histogram: e.heatmaps[0].result.pairs,
    colour_scale: scaleText(),
    colour_scale_low_bits: shortestFloat32(e.range.lo),
    colour_scale_high_bits: shortestFloat32(e.range.hi),
    sort_columns: SORT_TEXT[columns],
    sort_rows: SORT_TEXT[rows],
    row_order: 'as shown: each heatmap row by row, top to bottom, left to right',
  };
  const out: (string | number)[][] = [];
  for (const { other, result, order } of e.heatmaps) {
    for (const row of order.rows) {
      for (const column of order.columns) out.push([other, row, column, shortestFloat32(result.capacity[row * result.cols + column])]);
    }
  }
  return { title: `Channel capacity between layers: ${e.run.info.name}`, meta, columns: ['lj', 'lj_channel', 'li_channel', 'capacity_bits'], rows: out };
}

/** The layer view's export: installExport(client, layerExport, header.actions) in main.ts. */
export const layerExport: ExportProvider = {
  fileName: () => {
    const e = exported();
    return [exportBaseName([e.run.info.name, e.layer, ...e.heatmaps.map((h) => h.other)]), `epoch${e.epoch}`];
  },
  figure,
  table,
};

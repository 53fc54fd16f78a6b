// What the query view exports (issue 17). The figure is the hypercube dCNN(X, L, C, T) as it is on
// screen, the drawing itself (cubeView.ts) with its colours resolved from the stylesheet and the
// theme (or the print palette): the layers' columns coloured by kind, the L, C and T axes with their
// titles and numbers, the blocks under L, and the slice selected in it (the layer slabs, the channel
// slab, their intersection, the epoch plane). Around it: a title with the run, the slice in the
// paper's notation, what each of X, L, C and T spans, what Query would open, and a legend of the
// layer kinds and of the selection's shapes present in the drawing, with the samples X (the one
// dimension the cube does not draw) named there.
//
// The query view measures nothing itself: Query sends the slice to the view that measures it. So
// the table is what the view shows of the model and the slice: one row per layer in the model's
// order (the row of blocks, A), with its kind, operation, output shape and channel count (its
// column's height on the cube's face), whether it is on the L axis (a zoom narrows it), selected,
// the focus, and the channel chosen of it. The header holds the rest of the selection: run, slice,
// layers, channel, epoch and the run's epochs, samples, the axes' extents, and the estimator's
// parameters, which are none here. The export machinery is webview/shared/exportView.ts.
import type { ExportMetaValue, ExportTable } from '../../src/shared/exportTable';
import type { LayerInfo, RunInfo } from '../../src/shared/runFormat';
import { NothingToExport, withInlinedStyles, type ExportContext, type ExportProvider } from '../shared/exportView';
import type { LoadedRun } from '../shared/runs';
import { figureFont, figureRoot, round, svg, svgText, textWidth, wrapText } from '../shared/svgFigure';
import { toCss, type ThemeColors } from '../shared/theme';
import { formatShape } from './blocksView';
import { chosenRun, describeSlice, samplesOf, shown, shownRange } from './choices';
import { CUBE } from './cube';
import { renderCube } from './cubeView';
import type { LayerRange } from './hierarchy';
import { cube, targetText } from './layout';
import { describeSamples } from './samples';
import { channelCount, channelScale, focusIndex, resolvedEpoch, selectedIndices } from './selection';
import { KIND_LABELS, type QueryViewSelection } from './state';

interface Exported {
  readonly run: LoadedRun;
  readonly info: RunInfo;
  readonly sel: QueryViewSelection;
  readonly layers: readonly LayerInfo[];
  readonly selected: readonly number[];
  readonly focus: number;
  readonly epoch: number | undefined;
  readonly range: LayerRange;
  /** The C axis's length. */
  readonly channels: number;
}

/** The run and the selection the view shows now (a drag's draft included, as the cube draws it). */
function exported(): Exported {
  const run = chosenRun();
  if (run === undefined) throw new NothingToExport('The query view shows no run yet.');
  const info = run.info;
  const layers = info.manifest.layers;
  const sel = shown();
  const range = shownRange(layers, sel);
  return {
    run,
    info,
    sel,
    layers,
    selected: selectedIndices(layers, sel),
    focus: focusIndex(layers, sel),
    epoch: resolvedEpoch(info, sel),
    range,
    channels: channelScale(layers, sel, range),
  };
}

function kindOf(layer: LayerInfo): keyof typeof KIND_LABELS {
  return layer.kind in KIND_LABELS ? layer.kind : 'other';
}

function samplesText(e: Exported): string {
  return describeSamples(samplesOf(e.sel), e.info.manifest.classes, e.info.manifest.probe.count);
}

function lAxisText(e: Exported): string {
  const n = e.layers.length;
  return e.sel.layerZoom !== undefined ? `layers ${e.range.from + 1}–${e.range.to + 1} of ${n} (${e.sel.layerZoom})` : `all ${n} layers`;
}

function cAxisText(e: Exported): string {
  return e.selected.length === 1 ? `the ${e.channels} channels of ${e.layers[e.focus].name}` : `up to ${e.channels} channels`;
}

function tAxisText(e: Exported): string {
  const epochs = e.info.manifest.epochs;
  return epochs.length === 0 ? 'no epoch yet' : `${epochs.length} epochs, ${epochs[0].epoch} to ${epochs[epochs.length - 1].epoch}`;
}

const MEASURE_NOTE = 'The query view measures nothing itself: Query sends this slice to the view that measures it, which states its estimator.';

function title(e: Exported): string {
  return `Hypercube dCNN(X, L, C, T) of ${e.info.name}`;
}

function subtitle(e: Exported): string[] {
  const target = targetText.textContent ?? '';
  return [
    `Slice ${describeSlice(e.info, e.sel)}.`,
    `X: ${samplesText(e)}; L: ${lAxisText(e)}; C: ${cAxisText(e)}; T: ${tAxisText(e)}.`,
    ...(target !== '' ? [target] : []),
    MEASURE_NOTE,
  ];
}

/** Paint attributes a legend swatch copies from the drawing's element it stands for. */
const PAINT = ['fill', 'fill-opacity', 'stroke', 'stroke-opacity', 'stroke-width', 'stroke-dasharray'];

function swatchPaint(from: Element): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of PAINT) {
    const value = from.getAttribute(name);
    if (value !== null) out[name] = value;
  }
  return out;
}

/**
 * The legend's entries: a swatch painted as the drawing's own element (found in the drawn copy,
 * so an entry is there only when its shape is), and its words.
 */
function legendEntries(e: Exported, drawn: Element): { paint: Record<string, string>; text: string; className: string }[] {
  const entries: { paint: Record<string, string>; text: string; className: string }[] = [];
  const kinds = new Set(e.layers.slice(e.range.from, e.range.to + 1).map(kindOf));
  for (const kind of Object.keys(KIND_LABELS) as (keyof typeof KIND_LABELS)[]) {
    const column = kinds.has(kind) ? drawn.querySelector(`.layer-column.kind-${kind}`) : null;
    if (column !== null) entries.push({ paint: swatchPaint(column), text: `${KIND_LABELS[kind]} layer`, className: `legend-kind kind-${kind}` });
  }
  const layerSlab = drawn.querySelector('.layer-slab .slab-front');
  if (layerSlab !== null)
    entries.push({ paint: swatchPaint(layerSlab), text: `selected layers (L slice, ${e.selected.length})`, className: 'legend-layer-slice' });
  const channelSlab = drawn.querySelector('.channel-slab .slab-front');
  if (channelSlab !== null) entries.push({ paint: swatchPaint(channelSlab), text: `channel ${e.sel.channel} (C slice)`, className: 'legend-channel-slice' });
  const cell = drawn.querySelector('.intersection .slab-front');
  if (cell !== null && e.focus >= 0)
    entries.push({ paint: swatchPaint(cell), text: `${e.layers[e.focus].name}, channel ${e.sel.channel}`, className: 'legend-intersection' });
  const plane = drawn.querySelector('.epoch-plane');
  if (plane !== null && e.epoch !== undefined) entries.push({ paint: swatchPaint(plane), text: `epoch ${e.epoch} (T slice)`, className: 'legend-epoch' });
  return entries;
}

/** The legend in rows as wide as the figure: the samples X first, then one swatch and its words per entry. */
function legend(e: Exported, drawn: Element, colors: ThemeColors, x: number, top: number, width: number): { g: SVGGElement; bottom: number } {
  const fs = colors.fontSize;
  const small = Math.max(10, fs - 1);
  const font = figureFont(colors, small);
  const g = svg('g', { class: 'legend', 'font-size': small });
  let y = top + small;
  const of = samplesOf(e.sel).kind === 'all' ? '' : `, of the ${e.info.manifest.probe.count} probe samples`;
  g.appendChild(svgText(x, y, `X (samples): ${samplesText(e)}${of}`, { class: 'legend-samples' }));
  y += small + 12;
  let cx = x;
  for (const entry of legendEntries(e, drawn)) {
    const w = 14 + 6 + textWidth(entry.text, font) + 18;
    if (cx > x && cx + w > x + width) {
      cx = x;
      y += small + 10;
    }
    g.appendChild(
      svg(
        'g',
        { class: `legend-entry ${entry.className}` },
        svg('rect', { x: round(cx), y: round(y - small + 1), width: 14, height: 14, ...entry.paint }),
        svgText(cx + 20, y, entry.text),
      ),
    );
    cx += w;
  }
  return { g, bottom: y + 6 };
}

/** The cube drawn now, restyled as attributes, its children moved into a group at (x, y). */
function drawnCube(e: Exported, x: number, y: number): SVGGElement {
  // Drawn again from the state the table reads, so a linked update still waiting for its frame is in both.
  renderCube(e.run);
  const copy = withInlinedStyles(cube);
  const g = svg('g', {
    class: 'hypercube',
    transform: `translate(${round(x)} ${round(y)})`,
    'font-family': copy.getAttribute('font-family') ?? undefined,
    'font-size': copy.getAttribute('font-size') ?? undefined,
  });
  while (copy.firstChild !== null) g.appendChild(copy.firstChild);
  return g;
}

const MARGIN = 16;

function figure({ colors }: ExportContext): SVGSVGElement {
  const e = exported();
  const fs = colors.fontSize;
  const width = CUBE.width + 2 * MARGIN;
  const heading = title(e);
  const parts: SVGElement[] = [];
  let y = MARGIN + fs + 3;
  for (const line of wrapText(heading, width - 2 * MARGIN, figureFont(colors, fs + 3, 'bold'))) {
    parts.push(svgText(MARGIN, y, line, { class: 'figure-title', 'font-size': fs + 3, 'font-weight': 600 }));
    y += fs + 7;
  }
  const subSize = Math.max(10, fs - 1);
  for (const line of subtitle(e).flatMap((s) => wrapText(s, width - 2 * MARGIN, figureFont(colors, subSize)))) {
    parts.push(svgText(MARGIN, y, line, { class: 'figure-subtitle', 'font-size': subSize, fill: toCss(colors.muted) }));
    y += subSize + 5;
  }
  const g = drawnCube(e, MARGIN, y);
  parts.push(g);
  y += CUBE.height + 4;
  const key = legend(e, g, colors, MARGIN, y, width - 2 * MARGIN);
  parts.push(key.g);
  const description = `${heading}. ${subtitle(e).join(' ')} The front face spans the layers (L, left to right) and channels (C, top to bottom); the epochs (T) go back.`;
  const root = figureRoot(width, key.bottom + MARGIN, colors, heading, description);
  for (const part of parts) root.appendChild(part);
  return root;
}

function table(): ExportTable {
  const e = exported();
  const epochs = e.info.manifest.epochs.map((x) => x.epoch);
  const chosen = new Set(e.selected);
  const meta: Record<string, ExportMetaValue> = {
    view: 'query',
    run: e.info.name,
    run_dir: e.run.dir,
    ...(e.info.manifest.model.name !== undefined ? { model: e.info.manifest.model.name } : {}),
    slice: describeSlice(e.info, e.sel),
    layers: e.selected.length > 0 ? e.selected.map((i) => e.layers[i].name) : 'none (the model’s input and output)',
    ...(e.focus >= 0 ? { focus_layer: e.layers[e.focus].name } : {}),
    channel: e.sel.channel !== undefined && e.focus >= 0 ? e.sel.channel : 'all',
    ...(e.epoch !== undefined ? { epoch: e.epoch } : {}),
    epoch_is_newest: e.sel.epoch === undefined,
    epochs,
    samples: samplesText(e),
    samples_selection: JSON.stringify(samplesOf(e.sel)),
    probe_samples: e.info.manifest.probe.count,
    classes: e.info.manifest.classes,
    l_axis: lAxisText(e),
    c_axis: cAxisText(e),
    t_axis: tAxisText(e),
    query_target: targetText.textContent ?? '',
    measure: 'none',
    estimator_parameters: `none. ${MEASURE_NOTE}`,
    row_order: 'the model’s layers in order, L1 first, as the row of blocks shows them',
  };
  const rows = e.layers.map((layer, i) => [
    i + 1,
    layer.name,
    KIND_LABELS[kindOf(layer)],
    layer.op ?? null,
    formatShape(layer.shape),
    channelCount(layer),
    i >= e.range.from && i <= e.range.to ? 1 : 0,
    chosen.has(i) ? 1 : 0,
    i === e.focus ? 1 : 0,
    i === e.focus && e.sel.channel !== undefined ? e.sel.channel : null,
  ]);
  return {
    title: title(e),
    meta,
    columns: ['l', 'layer', 'kind', 'op', 'output_shape', 'channels', 'on_l_axis', 'selected', 'focus', 'channel'],
    rows,
  };
}

/** The query view's export: installExport(client, queryExport, toolbarActions) in main.ts. */
export const queryExport: ExportProvider = {
  fileName: () => {
    const e = exported();
    return [
      e.info.name,
      'hypercube',
      e.focus >= 0 ? e.layers[e.focus].name : undefined,
      e.focus >= 0 && e.sel.channel !== undefined ? `c${e.sel.channel}` : undefined,
      e.epoch !== undefined ? `epoch${e.epoch}` : undefined,
    ];
  },
  figure,
  table,
};

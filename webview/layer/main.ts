// The layer view (paper §5.3, Fig. 8–12): the channel capacity between every channel of layer li
// (columns) and every channel of layer lj (rows) at one epoch, as a heatmap where a brighter cell
// is a smaller capacity; up to four lj side by side on one colour scale (Fig. 12); sorted by the
// columns' and rows' max or mean (§5.3.2); an epoch slider (Fig. 10, 11); and, for a clicked
// cell, the feature maps of its column filter and row filter for a few probe samples (Fig. 8C–D, 9).
//
// The view asks the engine for one matrix per (li, lj, epoch) and keeps what it got, so moving
// the slider back costs nothing; with the colour scale set to "all epochs" it asks for every epoch
// at once, which the slider then steps through without asking again.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import type { SampleSelection, SliceResult } from '../../src/shared/engineProtocol';
import type { LinkedSelection } from '../../src/shared/linkedSelection';
import type { ChannelCapacityResult, EstimatorParams, MeasureSeries } from '../../src/shared/measures';
import { parseLayerSelection } from '../../src/shared/messageValidation';
import { LOGITS_NAME } from '../../src/shared/runFormat';
import { MAX_LAYER_VIEW_OTHERS, type CapacitySort, type LayerSelection } from '../../src/shared/webviewProtocol';
import { byId, card, frameScheduler, h, replaceChildren, setText, Tooltip } from '../shared/dom';
import { epochSliderControl, epochToKeep, showEpochOnSlider } from '../shared/epochSlider';
import { RequestError } from '../shared/hostClient';
import { ViewSession } from '../shared/viewSession';
import { cancelUnwanted, errorText, fetchInto, progressText, type Fetched } from '../shared/requests';
import { RunHeader } from '../shared/runHeader';
import { runEpochs, runStatusLines, selectedOrFirstRun, selectedOrNewestEpoch, type LoadedRun } from '../shared/runs';
import { cssVar, onThemeChange, parseColor, themeColors, toCss, type Rgba, type ThemeColors } from '../shared/theme';
import { capacityRamp, displayOrder, valueRange, type ScaleRange } from './capacityModel';
import { cellSizeFor, drawRampLegend, HeatmapCanvas, type HeatmapGeometry } from './heatmap';
import { isImageShape, tensorImage } from '../shared/mapImages';

/** Probe samples whose feature maps a clicked cell shows (Fig. 9 shows a handful). */
const PROBE_IMAGES = 6;
/** Debounce of the epoch slider: dragging across 100 epochs should not queue 100 matrices. */
const SLIDER_SETTLE_MS = 150;

const session = new ViewSession<LayerSelection>((value) => parseLayerSelection(value));
const client = session.client;

/** A channel chosen in another view or the Runs tree: outlined where its layer is shown. */
let linked: { readonly layer: string; readonly channel: number } | undefined;

const matrices = new Map<string, Fetched<ChannelCapacityResult>>();
const series = new Map<string, Fetched<MeasureSeries<ChannelCapacityResult>>>();
const slices = new Map<string, Fetched<SliceResult>>();
/** Estimator parameters of the last result, for the footer. */
let lastParams: EstimatorParams | undefined;

// ---------------------------------------------------------------------------------------------
// Layout, built once.

const root = byId('root');
const tooltip = new Tooltip('view-tooltip');

const header = new RunHeader(client, () => chosenRun());
const status = h('div', { className: 'status', attrs: { id: 'status', role: 'status', 'aria-live': 'polite' } });

const layerSelect = h('vscode-single-select', { attrs: { id: 'layer-select', 'aria-label': 'Layer li: the columns of every heatmap' } });
const samplesSelect = h('vscode-single-select', { attrs: { id: 'samples-select', 'aria-label': 'Probe samples the capacities are computed from' } });
const sortColumnsSelect = sortSelect('sort-columns', 'Sort the columns');
const sortRowsSelect = sortSelect('sort-rows', 'Sort the rows');
const scaleSelect = h(
  'vscode-single-select',
  { attrs: { id: 'scale-select', 'aria-label': 'Colour scale' } },
  h('vscode-option', { attrs: { value: 'epoch' } }, 'this epoch (min to max)'),
  h('vscode-option', { attrs: { value: 'run' } }, 'all epochs (0 to max)'),
);
const epochControl = epochSliderControl('Epoch', 'Epoch');
const { slider: epochSlider, output: epochLabel } = epochControl;

const heatmapRow = h('div', { className: 'heatmap-row', attrs: { id: 'heatmaps' } });
const addOtherButton = h(
  'vscode-button',
  { attrs: { id: 'add-other', secondary: true, title: 'Compare li with one more layer, side by side on the same colour scale' } },
  'Compare with another layer',
);
const legendCanvas = h('canvas', {
  className: 'legend-ramp',
  attrs: { id: 'legend-ramp', role: 'img', 'aria-label': 'Colour scale: brighter is smaller capacity' },
});
const legendMin = h('span', { className: 'legend-value', attrs: { id: 'legend-min' } });
const legendMax = h('span', { className: 'legend-value', attrs: { id: 'legend-max' } });
const legendNote = h('span', { className: 'note', attrs: { id: 'legend-note' } });

const detailTitle = h('h2', { attrs: { id: 'detail-title' } }, 'Feature maps of a cell');
const detailCaption = h('p', { className: 'caption', attrs: { id: 'detail-caption' } });
const detailGrid = h('div', { className: 'map-grid', attrs: { id: 'feature-maps' } });
const detailMessage = h('p', { className: 'message', attrs: { id: 'detail-message' } });
const estimatorParams = h('footer', { className: 'params', attrs: { id: 'estimator-params' } });

type SingleSelect = HTMLElementTagNameMap['vscode-single-select'];

function sortSelect(id: string, label: string): SingleSelect {
  return h(
    'vscode-single-select',
    { attrs: { id, 'aria-label': label } },
    h('vscode-option', { attrs: { value: 'none' } }, 'channel order'),
    h('vscode-option', { attrs: { value: 'max' } }, 'by max, largest first'),
    h('vscode-option', { attrs: { value: 'mean' } }, 'by mean, largest first'),
  );
}

function control(label: string, forId: string, element: HTMLElement): HTMLElement {
  return h('div', { className: 'control' }, h('label', { attrs: { for: forId } }, label), element);
}

replaceChildren(
  root,
  header.element,
  status,
  card(
    'card-heatmaps',
    h('h2', { attrs: { id: 'heatmaps-title' } }, 'Channel capacity between layers'),
    h(
      'div',
      { className: 'controls' },
      control('li (columns)', 'layer-select', layerSelect),
      control('Samples', 'samples-select', samplesSelect),
      control('Sort columns', 'sort-columns', sortColumnsSelect),
      control('Sort rows', 'sort-rows', sortRowsSelect),
      control('Colour scale', 'scale-select', scaleSelect),
    ),
    h('div', { className: 'controls' }, epochControl.element, addOtherButton),
    heatmapRow,
    h(
      'div',
      { className: 'legend', attrs: { id: 'legend' } },
      h('span', { className: 'legend-end' }, 'smaller (brighter)'),
      legendMin,
      legendCanvas,
      legendMax,
      h('span', { className: 'legend-end' }, 'larger capacity, bits'),
      legendNote,
    ),
  ),
  card('card-detail', detailTitle, detailCaption, detailMessage, detailGrid),
  estimatorParams,
);
root.removeAttribute('aria-busy');

// ---------------------------------------------------------------------------------------------
// What is chosen, with defaults for what is not.

function chosenRun(): LoadedRun | undefined {
  return selectedOrFirstRun(session.runs, session.selection.run);
}

/** Layers a capacity can be computed between: the inputs (layer 0), the recorded layers, the logits. */
function layerNames(run: LoadedRun): string[] {
  return ['input', ...run.info.manifest.layers.map((l) => l.name), LOGITS_NAME];
}

function layerShapeText(run: LoadedRun, layer: string): string {
  const m = run.info.manifest;
  if (layer === 'input') return `probe inputs ${m.probe.inputShape.join('×')}`;
  if (layer === LOGITS_NAME) return `output ${m.classes.length}`;
  const info = m.layers.find((l) => l.name === layer);
  return info === undefined ? '' : `${info.kind} ${info.shape.join('×')}`;
}

function chosenLayer(run: LoadedRun): string {
  const names = layerNames(run);
  if (session.selection.layer !== undefined && names.includes(session.selection.layer)) return session.selection.layer;
  return run.info.manifest.layers[0]?.name ?? 'input';
}

/**
 * The layer compared with `layer` when nothing else is chosen: the next recorded layer with a
 * feature map (the paper's pairs: conv → activation → pool), else the next layer in the model's
 * order (the logits after the last layer), else the one before.
 */
function defaultOther(run: LoadedRun, layer: string): string {
  const names = layerNames(run);
  const layers = run.info.manifest.layers;
  const at = layers.findIndex((l) => l.name === layer);
  const after = layer === 'input' ? layers : at < 0 ? [] : layers.slice(at + 1);
  const nextMap = after.find((l) => l.shape.length === 3)?.name;
  if (nextMap !== undefined) return nextMap;
  const i = names.indexOf(layer);
  return names[i + 1] ?? names[i - 1] ?? layer;
}

function chosenOthers(run: LoadedRun): string[] {
  const names = layerNames(run);
  const layer = chosenLayer(run);
  const others = (session.selection.otherLayers ?? [])
    .filter((l, i, all) => names.includes(l) && l !== layer && all.indexOf(l) === i)
    .slice(0, MAX_LAYER_VIEW_OTHERS);
  return others.length > 0 ? others : [defaultOther(run, layer)];
}

function chosenEpoch(run: LoadedRun): number | undefined {
  return selectedOrNewestEpoch(run, session.selection.epoch);
}

function chosenSamples(): SampleSelection {
  return session.selection.samples ?? { kind: 'all' };
}

function samplesKey(samples: SampleSelection): string {
  return samples.kind === 'all' ? 'all' : samples.kind === 'class' ? `class:${samples.classIndex}` : `indices:${samples.indices.join(',')}`;
}

function describeSamples(run: LoadedRun, samples: SampleSelection): string {
  const n = run.info.manifest.probe.count;
  if (samples.kind === 'all') return `all ${n} probe samples`;
  if (samples.kind === 'class') return `the probe samples of class ${run.info.manifest.classes[samples.classIndex] ?? samples.classIndex}`;
  return `${samples.indices.length} chosen probe samples`;
}

function pairKey(run: LoadedRun, layer: string, other: string, samples: SampleSelection): string {
  return JSON.stringify([run.dir, layer, other, samplesKey(samples)]);
}

// ---------------------------------------------------------------------------------------------
// Requests.

function select(change: Partial<LayerSelection>, publish = false): void {
  session.select(change);
  if (publish) publishSelection();
}

/** Tells the other views what is chosen here: li, the lj compared with it, the epoch. */
function publishSelection(channel?: number): void {
  const run = chosenRun();
  if (run === undefined) return;
  const epoch = chosenEpoch(run);
  const out: LinkedSelection = {
    run: run.dir,
    layer: chosenLayer(run),
    otherLayers: chosenOthers(run),
    ...(channel !== undefined ? { channel } : {}),
    ...(epoch !== undefined ? { epoch } : {}),
    ...(session.selection.samples !== undefined ? { samples: session.selection.samples } : {}),
  };
  client.publish(out);
}

function epochsKey(run: LoadedRun): string {
  return runEpochs(run).join(',');
}

/** The matrix of a pair at an epoch: fetched alone, or part of an all-epochs series. */
function matrixOf(run: LoadedRun, other: string, epoch: number): ChannelCapacityResult | undefined {
  const key = pairKey(run, chosenLayer(run), other, chosenSamples());
  const one = matrices.get(`${key}|${epoch}`)?.value;
  if (one !== undefined) return one;
  for (const [k, entry] of series) {
    if (!k.startsWith(`${key}|all|`)) continue;
    const item = entry.value?.items.find((i) => i.epoch === epoch);
    if (item !== undefined) return item;
  }
  return undefined;
}

let requestTimer: ReturnType<typeof setTimeout> | undefined;

function requestSoon(): void {
  if (requestTimer !== undefined) clearTimeout(requestTimer);
  requestTimer = setTimeout(() => {
    requestTimer = undefined;
    requestData();
  }, SLIDER_SETTLE_MS);
}

function requestData(): void {
  const run = chosenRun();
  const epoch = run !== undefined ? chosenEpoch(run) : undefined;
  const wantedMatrices = new Set<string>();
  const wantedSeries = new Set<string>();
  const wantedSlices = new Set<string>();
  if (run !== undefined && epoch !== undefined) {
    const layer = chosenLayer(run);
    const samples = chosenSamples();
    for (const other of chosenOthers(run)) {
      const key = pairKey(run, layer, other, samples);
      if (session.selection.scale === 'run') {
        const seriesKey = `${key}|all|${epochsKey(run)}`;
        wantedSeries.add(seriesKey);
        fetchInto(
          series,
          seriesKey,
          (signal, onProgress) =>
            client.request('channelCapacity', { run: run.dir, samples, layerI: layer, layerJ: other, epoch: 'all' }, { signal, onProgress }),
          scheduleRender,
          (value) => {
            lastParams = value.params;
            // A live run's older series of this pair hold nothing this one does not.
            for (const k of [...series.keys()]) if (k !== seriesKey && k.startsWith(`${key}|all|`)) series.delete(k);
          },
        );
      }
      const matrixKey = `${key}|${epoch}`;
      wantedMatrices.add(matrixKey);
      if (matrixOf(run, other, epoch) === undefined) {
        fetchInto(
          matrices,
          matrixKey,
          (signal, onProgress) =>
            client.request('channelCapacity', { run: run.dir, samples, layerI: layer, layerJ: other, epoch }, { signal, onProgress }).then((s) => {
              lastParams = s.params;
              const item = s.items[0];
              if (item === undefined) throw new RequestError({ code: 'internal', message: `the engine returned no matrix for epoch ${epoch}` });
              return item;
            }),
          scheduleRender,
        );
      }
    }
    for (const request of sliceRequests(run, epoch)) {
      wantedSlices.add(request.key);
      fetchInto(slices, request.key, (signal) => client.request('slice', request.params, { signal }), scheduleRender);
    }
  }
  // A few hundred 64 × 64 matrices are a few megabytes; series hold every epoch, so fewer of them.
  cancelUnwanted(matrices, wantedMatrices, 400);
  cancelUnwanted(series, wantedSeries, 8);
  cancelUnwanted(slices, wantedSlices, 30);
}

/**
 * Which probe samples the feature maps show: spread evenly over the probe set when all samples are
 * chosen, otherwise the first of the chosen ones (the engine resolves a class to its samples).
 */
function mapSamples(run: LoadedRun): SampleSelection {
  const samples = chosenSamples();
  if (samples.kind !== 'all') return samples;
  const n = run.info.manifest.probe.count;
  const k = Math.min(PROBE_IMAGES, n);
  return { kind: 'indices', indices: Array.from({ length: k }, (_, i) => Math.floor((i * n) / k)) };
}

interface SliceRequest {
  readonly key: string;
  readonly role: 'input' | 'column' | 'row';
  readonly layer: string;
  readonly channel: number | 'all';
  readonly params: { run: string; samples: SampleSelection; layer: string; channel: number | 'all'; epoch: number };
}

/** The probe inputs and the two filters' maps of the clicked cell (Fig. 9: inputs, then filters). */
function sliceRequests(run: LoadedRun, epoch: number): SliceRequest[] {
  const cell = session.selection.cell;
  const layer = chosenLayer(run);
  if (cell === undefined || !chosenOthers(run).includes(cell.otherLayer)) return [];
  const samples = mapSamples(run);
  const make = (role: SliceRequest['role'], l: string, channel: number | 'all'): SliceRequest => {
    // The inputs are the same at every epoch.
    const e = l === 'input' && channel === 'all' ? (runEpochs(run)[0] ?? epoch) : epoch;
    const params = { run: run.dir, samples, layer: l, channel, epoch: e };
    return { key: JSON.stringify(params), role, layer: l, channel, params };
  };
  return [make('input', 'input', 'all'), make('column', layer, cell.column), make('row', cell.otherLayer, cell.row)];
}

// ---------------------------------------------------------------------------------------------
// Rendering.

const scheduleRender = frameScheduler(() => render());

interface Slot {
  readonly other: string;
  readonly element: HTMLElement;
  readonly heatmap: HeatmapCanvas;
  readonly select: SingleSelect;
  readonly message: HTMLElement;
  readonly caption: HTMLElement;
}

let slots: Slot[] = [];
let slotsSignature = '';

/**
 * What the view draws, for the webview's developer tools and the browser tests: each heatmap's
 * pair, epoch, order and where its cells are.
 */
export interface LayerViewModel {
  readonly layer: string | undefined;
  readonly epoch: number | undefined;
  readonly range: ScaleRange | undefined;
  readonly heatmaps: readonly {
    readonly canvasId: string;
    readonly otherLayer: string;
    readonly epoch: number | undefined;
    readonly rows: number;
    readonly cols: number;
    /** position → channel. */
    readonly columns: number[];
    readonly rowOrder: number[];
    /** capacity[row channel][column channel], bits. */
    readonly capacity: number[][];
    readonly geometry: HeatmapGeometry | undefined;
    /** The channels outlined for the linked selection, and the clicked cell, by channels. */
    readonly linkedColumn: number | undefined;
    readonly linkedRow: number | undefined;
    readonly selected: { readonly column: number; readonly row: number } | undefined;
  }[];
}

declare global {
  interface Window {
    cnnslicerLayerView?: () => LayerViewModel;
  }
}

let lastRange: ScaleRange | undefined;

window.cnnslicerLayerView = (): LayerViewModel => {
  const run = chosenRun();
  return {
    layer: run !== undefined ? chosenLayer(run) : undefined,
    epoch: run !== undefined ? chosenEpoch(run) : undefined,
    range: lastRange,
    heatmaps: slots.map((slot) => {
      const input = slot.heatmap.current;
      const r = input?.result;
      return {
        canvasId: slot.heatmap.canvas.id,
        otherLayer: slot.other,
        epoch: r?.epoch,
        rows: r?.rows ?? 0,
        cols: r?.cols ?? 0,
        columns: input !== undefined ? Array.from(input.order.columns) : [],
        rowOrder: input !== undefined ? Array.from(input.order.rows) : [],
        capacity: r !== undefined ? Array.from({ length: r.rows }, (_, b) => Array.from(r.capacity.subarray(b * r.cols, (b + 1) * r.cols))) : [],
        geometry: slot.heatmap.geometry,
        linkedColumn: input?.linkedColumn,
        linkedRow: input?.linkedRow,
        selected: input?.selected,
      };
    }),
  };
};

function render(): void {
  const colors = themeColors();
  const run = chosenRun();
  header.show(run, session.runs.length > 0);
  renderStatus(run);
  renderControls(run);
  renderHeatmaps(run, colors);
  renderDetail(run);
  renderParams(run);
}

function renderStatus(run: LoadedRun | undefined): void {
  const lines = runStatusLines(
    session.runs,
    session.runsReceived,
    'This view shows no run. Open it from a layer in the Runs tree, or with “CNNSlicer: Open Layer View”.',
  );
  if (run !== undefined && run.info.manifest.epochs.length === 0) lines.push(`${run.info.name} has no finished epoch yet.`);
  replaceChildren(status, ...lines.map((l) => h('p', {}, l)));
}

let optionsSignature = '';

function renderControls(run: LoadedRun | undefined): void {
  const signature =
    run === undefined
      ? ''
      : JSON.stringify([
          run.dir,
          layerNames(run),
          run.info.manifest.classes,
          session.selection.samples?.kind === 'indices' ? session.selection.samples.indices.length : 0,
        ]);
  if (signature !== optionsSignature) {
    optionsSignature = signature;
    if (run === undefined) {
      replaceChildren(layerSelect);
      replaceChildren(samplesSelect);
    } else {
      replaceChildren(
        layerSelect,
        ...layerNames(run).map((name) => h('vscode-option', { attrs: { value: name, description: layerShapeText(run, name) } }, name)),
      );
      const classes = run.info.manifest.classes;
      replaceChildren(
        samplesSelect,
        h('vscode-option', { attrs: { value: 'all' } }, `all ${run.info.manifest.probe.count} samples`),
        ...classes.map((name, i) => h('vscode-option', { attrs: { value: `class:${i}` } }, `class ${name}`)),
        session.selection.samples?.kind === 'indices'
          ? h('vscode-option', { attrs: { value: 'indices' } }, `${session.selection.samples.indices.length} chosen samples`)
          : null,
      );
    }
  }
  if (run !== undefined) {
    const layer = chosenLayer(run);
    if (layerSelect.value !== layer) layerSelect.value = layer;
    const samples = chosenSamples();
    const value = samples.kind === 'class' ? `class:${samples.classIndex}` : samples.kind;
    if (samplesSelect.value !== value) samplesSelect.value = value;
  }
  const sortColumns = session.selection.sortColumns ?? 'none';
  const sortRows = session.selection.sortRows ?? 'none';
  if (sortColumnsSelect.value !== sortColumns) sortColumnsSelect.value = sortColumns;
  if (sortRowsSelect.value !== sortRows) sortRowsSelect.value = sortRows;
  const scale = session.selection.scale ?? 'epoch';
  if (scaleSelect.value !== scale) scaleSelect.value = scale;
  for (const el of [layerSelect, samplesSelect, sortColumnsSelect, sortRowsSelect, scaleSelect]) el.toggleAttribute('disabled', run === undefined);

  const epochs = run !== undefined ? runEpochs(run) : [];
  const epoch = run !== undefined ? chosenEpoch(run) : undefined;
  showEpochOnSlider(epochSlider, epochLabel, epochs, epoch !== undefined ? epochs.indexOf(epoch) : -1);
  addOtherButton.toggleAttribute(
    'disabled',
    run === undefined || chosenOthers(run).length >= MAX_LAYER_VIEW_OTHERS || chosenOthers(run).length >= layerNames(run).length - 1,
  );
}

function buildSlots(run: LoadedRun, others: readonly string[]): void {
  const layer = chosenLayer(run);
  slots = others.map((other, i) => {
    const heatmap = new HeatmapCanvas(`heatmap-${i}`, `Channel capacity between ${layer} (columns) and ${other} (rows)`);
    const otherSelect = h(
      'vscode-single-select',
      { className: 'other-select', attrs: { id: `other-select-${i}`, 'aria-label': `Layer lj of heatmap ${i + 1}: its rows` } },
      ...layerNames(run)
        .filter((name) => name !== layer)
        .map((name) => h('vscode-option', { attrs: { value: name, description: layerShapeText(run, name) } }, name)),
    );
    otherSelect.value = other;
    otherSelect.addEventListener('change', () => {
      const value = otherSelect.value;
      const current = chosenOthers(run);
      if (value === '' || value === current[i]) return;
      const next = current.map((o, j) => (j === i ? value : o)).filter((o, j, all) => all.indexOf(o) === j);
      select({ otherLayers: next, cell: undefined }, true);
    });
    const remove =
      others.length > 1
        ? h(
            'button',
            {
              className: 'icon-button remove-other',
              attrs: { type: 'button', id: `remove-other-${i}`, title: `Stop comparing with ${other}`, 'aria-label': `Remove the heatmap of ${other}` },
            },
            '×',
          )
        : null;
    remove?.addEventListener('click', () => {
      const next = chosenOthers(run).filter((o) => o !== other);
      select({ otherLayers: next, cell: session.selection.cell?.otherLayer === other ? undefined : session.selection.cell }, true);
    });
    const message = h('p', { className: 'message heatmap-message', attrs: { id: `heatmap-message-${i}` } });
    const caption = h('p', { className: 'caption heatmap-caption', attrs: { id: `heatmap-caption-${i}` } });
    const axisY = h('div', { className: 'axis-title axis-rows' }, `${other} channels ↓ (rows)`);
    const axisX = h('div', { className: 'axis-title axis-columns' }, `${layer} channels → (columns)`);
    const element = h(
      'figure',
      { className: 'heatmap', attrs: { 'data-other': other } },
      h('div', { className: 'heatmap-head' }, h('span', { className: 'heatmap-title' }, `${layer} × `), otherSelect, remove),
      message,
      axisX,
      h('div', { className: 'heatmap-body' }, axisY, heatmap.canvas),
      caption,
    );
    const canvas = heatmap.canvas;
    canvas.addEventListener('pointermove', (e) => hoverCell(heatmap, other, e));
    canvas.addEventListener('pointerleave', () => tooltip.hide());
    canvas.addEventListener('click', (e) => clickCell(heatmap, other, e));
    return { other, element, heatmap, select: otherSelect, message, caption };
  });
  replaceChildren(heatmapRow, ...slots.map((s) => s.element));
}

function hoverCell(heatmap: HeatmapCanvas, other: string, e: PointerEvent): void {
  const hit = heatmap.hit(e.clientX, e.clientY);
  const input = heatmap.current;
  const run = chosenRun();
  if (hit === undefined || input === undefined || run === undefined) {
    tooltip.hide();
    return;
  }
  const layer = chosenLayer(run);
  tooltip.show(
    [
      `${layer} channel ${hit.column} (column) × ${other} channel ${hit.row} (row)`,
      `capacity ${formatBits(hit.value)} bits at epoch ${input.result.epoch}`,
      `H(A) = ${formatBits(input.result.hA[hit.column])} bits, H(B) = ${formatBits(input.result.hB[hit.row])} bits`,
    ],
    e.clientX,
    e.clientY,
  );
}

function clickCell(heatmap: HeatmapCanvas, other: string, e: MouseEvent): void {
  const hit = heatmap.hit(e.clientX, e.clientY);
  if (hit === undefined) return;
  session.selection = { ...session.selection, cell: { otherLayer: other, column: hit.column, row: hit.row } };
  session.save();
  requestData();
  scheduleRender();
  // The column filter's channel is the one the other views highlight: it is a channel of li, the layer in focus.
  publishSelection(hit.column);
}

export function formatBits(value: number): string {
  if (!Number.isFinite(value)) return '–';
  return Math.abs(value) >= 100 ? value.toFixed(0) : value.toPrecision(3);
}

function focusColor(colors: ThemeColors): Rgba {
  return parseColor(cssVar('--vscode-focusBorder', toCss(colors.accent))) ?? colors.accent;
}

function renderHeatmaps(run: LoadedRun | undefined, colors: ThemeColors): void {
  if (run === undefined) {
    if (slotsSignature !== '') {
      slotsSignature = '';
      slots = [];
      replaceChildren(heatmapRow);
    }
    lastRange = undefined;
    return;
  }
  const layer = chosenLayer(run);
  const others = chosenOthers(run);
  const signature = JSON.stringify([run.dir, layer, others, layerNames(run)]);
  if (signature !== slotsSignature) {
    slotsSignature = signature;
    buildSlots(run, others);
  }
  const epoch = chosenEpoch(run);
  const samples = chosenSamples();
  // What each slot draws: this epoch's matrix, or while it is computed the last one drawn (dimmed).
  const shown = slots.map((slot) => {
    const current = epoch !== undefined ? matrixOf(run, slot.other, epoch) : undefined;
    const previous = slot.heatmap.current?.result;
    const stale = current === undefined && previous !== undefined && previous.layerI === layer && previous.layerJ === slot.other;
    return { slot, result: current ?? (stale ? previous : undefined), stale };
  });
  const range = scaleRange(
    run,
    shown.map((s) => s.result).filter((r): r is ChannelCapacityResult => r !== undefined),
  );
  lastRange = range;
  const ramp = capacityRamp(colors);
  const focus = focusColor(colors);
  // One cell size for every heatmap, so they compare at a glance (Fig. 12).
  const gap = 16;
  const width = Math.max(120, (heatmapRow.clientWidth - gap * (slots.length - 1)) / Math.max(1, slots.length) - 48);
  // About half the panel's height, so the feature maps of a clicked cell are in view below.
  const height = Math.max(160, Math.min(window.innerHeight * 0.5, 640));
  const cell = Math.min(...shown.map(({ result }) => (result !== undefined ? cellSizeFor(width, height, result.cols, result.rows) : Infinity)));

  for (const { slot, result, stale } of shown) {
    const fetched = epoch !== undefined ? matrices.get(`${pairKey(run, layer, slot.other, samples)}|${epoch}`) : undefined;
    const seriesEntry = session.selection.scale === 'run' ? series.get(`${pairKey(run, layer, slot.other, samples)}|all|${epochsKey(run)}`) : undefined;
    let message = '';
    const error = fetched?.error ?? seriesEntry?.error;
    if (error !== undefined) message = `Channel capacity failed: ${errorText(error)}`;
    else if (result === undefined || stale) message = epoch === undefined ? '' : `Epoch ${epoch}: ${progressText(fetched?.progress ?? seriesEntry?.progress)}`;
    else if (seriesEntry?.abort !== undefined) message = `Every epoch, for the colour scale: ${progressText(seriesEntry.progress)}`;
    setText(slot.message, message);
    slot.message.classList.toggle('error', error !== undefined);
    slot.element.classList.toggle('stale', stale);
    if (slot.select.value !== slot.other) slot.select.value = slot.other;
    if (result === undefined || range === undefined) {
      slot.heatmap.canvas.hidden = true;
      setText(slot.caption, '');
      continue;
    }
    slot.heatmap.canvas.hidden = false;
    const order = displayOrder(result, session.selection.sortColumns ?? 'none', session.selection.sortRows ?? 'none');
    const cellSel = session.selection.cell?.otherLayer === slot.other ? { column: session.selection.cell.column, row: session.selection.cell.row } : undefined;
    slot.heatmap.render(
      {
        result,
        order,
        range,
        ramp,
        ...(cellSel !== undefined ? { selected: cellSel } : {}),
        ...(linked?.layer === layer ? { linkedColumn: linked.channel } : {}),
        ...(linked?.layer === slot.other ? { linkedRow: linked.channel } : {}),
      },
      colors,
      Number.isFinite(cell) ? cell : 8,
      focus,
    );
    setText(slot.caption, captionOf(result));
  }
  renderLegend(range, colors);
}

/** "max 1.21 bits (conv1 #5 × conv2 #4), mean 0.598 bits; 8 × 16 channels". */
function captionOf(result: ChannelCapacityResult): string {
  let best = -Infinity;
  let at = [0, 0];
  let sum = 0;
  for (let r = 0; r < result.rows; r++) {
    for (let c = 0; c < result.cols; c++) {
      const v = result.capacity[r * result.cols + c];
      sum += v;
      if (v > best) {
        best = v;
        at = [c, r];
      }
    }
  }
  const mean = sum / Math.max(1, result.rows * result.cols);
  return `Epoch ${result.epoch}: ${result.cols} × ${result.rows} channels; max ${formatBits(best)} bits (${result.layerI} #${at[0]} × ${result.layerJ} #${at[1]}), mean ${formatBits(mean)} bits.`;
}

/**
 * The colour scale's ends: the heatmaps shown (so Fig. 12's heatmaps share one scale), or with
 * "all epochs" from 0 to the largest capacity at any epoch of the pairs, so that a heatmap getting
 * brighter over the epochs (Fig. 11) is seen as such.
 */
function scaleRange(run: LoadedRun, shown: readonly ChannelCapacityResult[]): ScaleRange | undefined {
  if (session.selection.scale === 'run') {
    const layer = chosenLayer(run);
    const all: ChannelCapacityResult[] = [...shown];
    for (const other of chosenOthers(run)) {
      const s = series.get(`${pairKey(run, layer, other, chosenSamples())}|all|${epochsKey(run)}`)?.value;
      if (s !== undefined) all.push(...s.items);
    }
    const r = valueRange(all);
    return r === undefined ? undefined : { lo: Math.min(0, r.lo), hi: r.hi };
  }
  return valueRange(shown);
}

function renderLegend(range: ScaleRange | undefined, colors: ThemeColors): void {
  const ramp = capacityRamp(colors);
  drawRampLegend(legendCanvas, ramp, colors, 160, 12);
  setText(legendMin, range !== undefined ? `${formatBits(range.lo)}` : '–');
  setText(legendMax, range !== undefined ? `${formatBits(range.hi)}` : '–');
  const dark = ramp.small !== colors.background;
  setText(
    legendNote,
    `Brighter = smaller capacity: more information lost between the two channels (paper §5.3.2). ${dark ? 'In this dark theme the bright end is the light colour; large capacities fade into the background.' : 'Small capacities fade into the background; large ones are dark.'}${session.selection.scale === 'run' ? ' Scale: 0 to the largest capacity at any epoch.' : ' Scale: the heatmaps shown, min to max.'}`,
  );
}

function renderDetail(run: LoadedRun | undefined): void {
  const cell = session.selection.cell;
  const epoch = run !== undefined ? chosenEpoch(run) : undefined;
  if (run === undefined || epoch === undefined || cell === undefined || !chosenOthers(run).includes(cell.otherLayer)) {
    setText(detailTitle, 'Feature maps of a cell');
    setText(
      detailCaption,
      'Click a cell of a heatmap to see the feature maps of its column filter (a channel of li) and its row filter (a channel of lj) for a few probe samples, as in the paper’s Fig. 8(C–D) and Fig. 9.',
    );
    setText(detailMessage, '');
    replaceChildren(detailGrid);
    detailGridSignature = '';
    return;
  }
  const layer = chosenLayer(run);
  setText(detailTitle, `Feature maps: ${layer} channel ${cell.column} (column filter) and ${cell.otherLayer} channel ${cell.row} (row filter)`);
  const requests = sliceRequests(run, epoch);
  const fetched = requests.map((r) => ({ request: r, entry: slices.get(r.key) }));
  const errors = fetched.filter((f) => f.entry?.error !== undefined).map((f) => `${f.request.layer}: ${errorText(f.entry!.error!)}`);
  const loading = fetched.some((f) => f.entry?.value === undefined && f.entry?.error === undefined);
  setText(detailMessage, errors.length > 0 ? `Reading the feature maps failed: ${errors.join('; ')}` : loading ? 'Reading the feature maps…' : '');
  detailMessage.classList.toggle('error', errors.length > 0);
  const samples = mapSamples(run);
  setText(
    detailCaption,
    `Epoch ${epoch}; ${samples.kind === 'indices' && chosenSamples().kind === 'all' ? `${samples.indices.length} probe samples spread over the probe set` : `the first ${PROBE_IMAGES} of ${describeSamples(run, chosenSamples())}`}. Each map is scaled from its own minimum (black) to maximum (white).`,
  );
  if (loading || errors.length > 0) {
    // The maps of the previous cell would pass for this one's.
    replaceChildren(detailGrid);
    detailGridSignature = '';
    return;
  }
  const signature = JSON.stringify(requests.map((r) => r.key));
  if (signature === detailGridSignature) return;
  detailGridSignature = signature;
  const [input, column, row] = fetched.map((f) => f.entry!.value!);
  const count = Math.min(PROBE_IMAGES, input.sampleIndices.length);
  const header = [
    h('span', { className: 'map-corner' }),
    ...Array.from({ length: count }, (_, i) => h('span', { className: 'map-head' }, `sample #${input.sampleIndices[i]}`)),
  ];
  const rowOf = (label: string, result: SliceResult, role: string): HTMLElement[] => [
    h('span', { className: 'map-label' }, label),
    ...Array.from({ length: count }, (_, i) => mapCell(result, i, role)),
  ];
  detailGrid.style.setProperty('--map-count', String(count));
  replaceChildren(
    detailGrid,
    ...header,
    ...rowOf('probe input', input, 'input'),
    ...rowOf(`${layer} #${cell.column} (column filter)`, column, 'column'),
    ...rowOf(`${cell.otherLayer} #${cell.row} (row filter)`, row, 'row'),
  );
}

let detailGridSignature = '';

function mapCell(result: SliceResult, index: number, role: string): HTMLElement {
  if (!isImageShape(result.shape)) {
    // A dense layer's channel is one number per sample, not a map.
    const per = result.shape.slice(1).reduce((a, b) => a * b, 1);
    const v = result.data[index * per];
    return h('span', { className: 'map-value', attrs: { 'data-role': role } }, Number.isFinite(v) ? v.toPrecision(3) : '–');
  }
  const image = tensorImage(result.data, result.shape, index, 'range', 'map-image', 72);
  image.canvas.setAttribute('data-role', role);
  image.canvas.setAttribute('role', 'img');
  image.canvas.setAttribute(
    'aria-label',
    `${role} of sample ${result.sampleIndices[index]}, values ${image.min.toPrecision(3)} to ${image.max.toPrecision(3)}`,
  );
  image.canvas.title = `values ${image.min.toPrecision(3)} … ${image.max.toPrecision(3)}${image.flat ? ' (constant)' : ''}`;
  return h('span', { className: 'map-cell' }, image.canvas);
}

function renderParams(run: LoadedRun | undefined): void {
  if (run === undefined || lastParams === undefined) {
    setText(
      estimatorParams,
      'Channel capacity (§5.3.1): C = H(A) − H(A|B) from a 2-D histogram of the pairwise feature-map distances of channel a of li and channel b of lj.',
    );
    return;
  }
  const p = lastParams;
  const anyResult = slots.map((s) => s.heatmap.current?.result).find((r) => r !== undefined);
  const pairs =
    anyResult !== undefined ? `; ${anyResult.pairs.toLocaleString('en-US')} sample pairs per histogram (${describeSamples(run, chosenSamples())})` : '';
  setText(
    estimatorParams,
    `Channel capacity (§5.3.1): C = H(A) − H(A|B) in bits, from a 2-D histogram of the pairwise feature-map distances of channel a of li and channel b of lj: ${p.capacityBins} bins per distance axis, range ${p.capacityRange === 'channel' ? 'per channel (0 to the channel’s largest pair distance)' : 'per layer (0 to the layer’s largest pair distance)'}${pairs}. Sorting by max or mean puts the largest first (§5.3.2).`,
  );
}

// ---------------------------------------------------------------------------------------------
// Events.

layerSelect.addEventListener('change', () => {
  const run = chosenRun();
  const value = layerSelect.value;
  if (run === undefined || value === '' || value === chosenLayer(run)) return;
  const others = chosenOthers(run).filter((o) => o !== value);
  select({ layer: value, otherLayers: others.length > 0 ? others : [defaultOther(run, value)], cell: undefined }, true);
});

samplesSelect.addEventListener('change', () => {
  const value = samplesSelect.value;
  let samples: SampleSelection | undefined;
  if (value === 'all') samples = undefined;
  else if (value.startsWith('class:')) samples = { kind: 'class', classIndex: Number(value.slice('class:'.length)) };
  else return;
  if (samplesKey(samples ?? { kind: 'all' }) === samplesKey(chosenSamples())) return;
  select({ samples }, true);
});

function asSort(value: string): CapacitySort | undefined {
  return value === 'none' || value === 'max' || value === 'mean' ? value : undefined;
}

sortColumnsSelect.addEventListener('change', () => {
  const value = asSort(sortColumnsSelect.value);
  if (value !== undefined && value !== (session.selection.sortColumns ?? 'none')) select({ sortColumns: value });
});

sortRowsSelect.addEventListener('change', () => {
  const value = asSort(sortRowsSelect.value);
  if (value !== undefined && value !== (session.selection.sortRows ?? 'none')) select({ sortRows: value });
});

scaleSelect.addEventListener('change', () => {
  const value = scaleSelect.value;
  if ((value === 'epoch' || value === 'run') && value !== (session.selection.scale ?? 'epoch')) select({ scale: value });
});

epochSlider.addEventListener('input', () => {
  const run = chosenRun();
  if (run === undefined) return;
  const epochs = runEpochs(run);
  const i = Number(epochSlider.value);
  if (!(i >= 0 && i < epochs.length)) return;
  session.selection = { ...session.selection, epoch: epochToKeep(epochs, epochs[i]) };
  session.save();
  scheduleRender();
  requestSoon();
});
epochSlider.addEventListener('change', () => publishSelection());

addOtherButton.addEventListener('click', () => {
  const run = chosenRun();
  if (run === undefined) return;
  const layer = chosenLayer(run);
  const others = chosenOthers(run);
  const names = layerNames(run);
  // The next layer after the last one compared, in the model's order.
  const from = names.indexOf(others[others.length - 1]);
  const candidates = [...names.slice(from + 1), ...names.slice(0, from)].filter((n) => n !== layer && !others.includes(n));
  if (candidates.length === 0 || others.length >= MAX_LAYER_VIEW_OTHERS) return;
  select({ otherLayers: [...others, candidates[0]] }, true);
});

/** Another view's or the tree's choice: the layers compared, the epoch, a channel to outline. */
function followLinked(l: LinkedSelection): void {
  const run = chosenRun();
  if (run === undefined || l.run !== run.dir) return;
  const names = layerNames(run);
  const layer = chosenLayer(run);
  const shownLayers = [layer, ...chosenOthers(run)];
  let change: Partial<LayerSelection> = {};
  if (l.layer !== undefined && names.includes(l.layer)) {
    const onlyHighlight = l.channel !== undefined && l.otherLayers === undefined && shownLayers.includes(l.layer);
    if (!onlyHighlight && (l.layer !== layer || l.otherLayers !== undefined)) {
      const others = (l.otherLayers ?? chosenOthers(run)).filter((o) => names.includes(o) && o !== l.layer).slice(0, MAX_LAYER_VIEW_OTHERS);
      change = { layer: l.layer, otherLayers: others.length > 0 ? others : [defaultOther(run, l.layer)], cell: undefined };
    }
    linked = l.channel !== undefined ? { layer: l.layer, channel: l.channel } : undefined;
  }
  if (l.epoch !== undefined && runEpochs(run).includes(l.epoch)) change = { ...change, epoch: epochToKeep(runEpochs(run), l.epoch) };
  if (l.samples !== undefined) change = { ...change, samples: l.samples.kind === 'all' ? undefined : l.samples };
  select(change);
}

onThemeChange(() => render());
let observedWidth = 0;
// Heatmaps are sized to the row's width; a change of its height (drawn content) needs no redraw.
new ResizeObserver(() => {
  if (heatmapRow.clientWidth === observedWidth) return;
  observedWidth = heatmapRow.clientWidth;
  scheduleRender();
}).observe(heatmapRow);

scheduleRender();
session.start({
  // A command chose the layers (a layer's context menu in the Runs tree); the sorting stays.
  mergeSelection: (current, next) => {
    const layersChanged = (next.layer !== undefined && next.layer !== current.layer) || next.otherLayers !== undefined;
    return { ...current, ...next, ...(layersChanged && next.cell === undefined ? { cell: undefined } : {}) };
  },
  followLinked: (l) => {
    followLinked(l);
    return undefined;
  },
  refresh: () => {
    requestData();
    scheduleRender();
  },
});

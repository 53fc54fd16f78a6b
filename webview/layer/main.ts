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
import type { SampleSelection } from '../../src/shared/engineProtocol';
import type { LinkedSelection } from '../../src/shared/linkedSelection';
import type { ChannelCapacityResult } from '../../src/shared/measures';
import { MAX_LAYER_VIEW_OTHERS, type CapacitySort, type LayerSelection } from '../../src/shared/webviewProtocol';
import { frameScheduler, h, replaceChildren, setText } from '../shared/dom';
import { epochToKeep, showEpochOnSlider } from '../shared/epochSlider';
import { installExport } from '../shared/exportView';
import { RequestError } from '../shared/hostClient';
import type { ProgressState } from '../shared/progressLine';
import { cancelFetch, cancelUnwanted, errorText, fetchInto, progressText, retryFetch } from '../shared/requests';
import { describeSamples, runEpochs, runStatusLines, type LoadedRun } from '../shared/runs';
import { cssVar, onThemeChange, parseColor, themeColors, toCss, type Rgba, type ThemeColors } from '../shared/theme';
import { capacityRamp, displayOrder, needsSeriation } from './capacityModel';
import { buildSlots, clearSlots, slotState } from './heatmapSlots';
import { askBeforeReplacing, clearPending } from './pendingLayer';
import { renderInformation } from './informationCard';
import { fitCell } from './viewport';
import {
  chosenEpoch,
  chosenLayer,
  chosenOthers,
  chosenRun,
  chosenSamples,
  defaultOther,
  epochsKey,
  layerNames,
  layerShapeText,
  pairKey,
  publishSelection,
  samplesKey,
  select,
} from './choices';
import { renderDetail, sliceRequests } from './detail';
import { layerExport } from './exportFigure';
import {
  addOtherButton,
  epochLabel,
  epochSlider,
  estimatorParams,
  header,
  heatmapRow,
  layerSelect,
  samplesSelect,
  scaleSelect,
  sortColumnsSelect,
  sortRowsSelect,
  status,
} from './layout';
import { client, matrices, series, session, slices, view } from './state';
import { captionOf, renderLegend, scaleRange } from './legend';

/** Debounce of the epoch slider: dragging across 100 epochs should not queue 100 matrices. */
const SLIDER_SETTLE_MS = 150;

// ---------------------------------------------------------------------------------------------
// What is chosen, with defaults for what is not.

// ---------------------------------------------------------------------------------------------
// Requests.

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
            view.lastParams = value.params;
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
              view.lastParams = s.params;
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
  // A request just started is one the user can cancel: the progress line must say so now.
  scheduleRender();
}

// ---------------------------------------------------------------------------------------------
// Rendering.

const scheduleRender = frameScheduler(() => render());

function render(): void {
  const colors = themeColors();
  const run = chosenRun();
  header.show(run, session.runs.length > 0);
  renderStatus(run);
  renderControls(run);
  renderHeatmaps(run, colors);
  renderDetail(run);
  renderInformation(run, colors, scheduleRender);
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

function focusColor(colors: ThemeColors): Rgba {
  return parseColor(cssVar('--vscode-focusBorder', toCss(colors.accent))) ?? colors.accent;
}

/** What a heatmap's line says about its matrix: computing (with Cancel), cancelled or failed (with Compute again). */
function slotProgress(
  run: LoadedRun,
  other: string,
  epoch: number | undefined,
  waiting: boolean,
  stale: boolean,
  ordering: ChannelCapacityResult | undefined,
): ProgressState {
  if (epoch === undefined) return { text: '' };
  const key = pairKey(run, chosenLayer(run), other, chosenSamples());
  const matrixKey = `${key}|${epoch}`;
  const seriesKey = `${key}|all|${epochsKey(run)}`;
  const fetched = matrices.get(matrixKey);
  const seriesEntry = session.selection.scale === 'run' ? series.get(seriesKey) : undefined;
  const retry = (): void => {
    retryFetch(matrices, matrixKey);
    retryFetch(series, seriesKey);
    requestData();
    scheduleRender();
  };
  const cancel = (): void => {
    cancelFetch(fetched);
    cancelFetch(seriesEntry);
    scheduleRender();
  };
  const error = fetched?.error ?? seriesEntry?.error;
  const kept = stale ? ' The heatmap shown is the last one computed, dimmed, until the new one arrives.' : '';
  if (error !== undefined) return { text: `Channel capacity failed: ${errorText(error)}`, error: true, retry };
  if (waiting && (fetched?.cancelled || seriesEntry?.cancelled)) return { text: `Epoch ${epoch}: cancelled.${kept}`, retry };
  const running = fetched?.abort !== undefined || seriesEntry?.abort !== undefined;
  if (waiting) return { text: `Epoch ${epoch}: ${progressText(fetched?.progress ?? seriesEntry?.progress)}${kept}`, ...(running ? { cancel } : {}) };
  if (ordering !== undefined) return { text: `Ordering ${ordering.cols} columns and ${ordering.rows} rows by similarity…` };
  if (seriesEntry?.cancelled) return { text: 'Every epoch, for the colour scale: cancelled; the scale spans the epochs computed.', retry };
  if (seriesEntry?.abort !== undefined) return { text: `Every epoch, for the colour scale: ${progressText(seriesEntry.progress)}`, cancel };
  return { text: '' };
}

/** Similarity orders being computed: one at a time, after a frame that says so (it takes ~0.4 s at 1,280 channels). */
let seriationPending = false;

function renderHeatmaps(run: LoadedRun | undefined, colors: ThemeColors): void {
  if (run === undefined) {
    if (slotState.signature !== '') clearSlots();
    slotState.range = undefined;
    return;
  }
  const layer = chosenLayer(run);
  const others = chosenOthers(run);
  const signature = JSON.stringify([run.dir, layer, others, layerNames(run)]);
  if (signature !== slotState.signature) {
    slotState.signature = signature;
    buildSlots(run, others, { cellChosen: () => (requestData(), scheduleRender()), focusColor: () => focusColor(themeColors()) });
  }
  const slots = slotState.slots;
  const epoch = chosenEpoch(run);
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
  slotState.range = range;
  const ramp = capacityRamp(colors);
  const focus = focusColor(colors);
  // One cell size for every heatmap, so they compare at a glance (Fig. 12); the axes' numbers take about 48 px.
  const gap = 16;
  const width = Math.max(120, (heatmapRow.clientWidth - gap * (slots.length - 1)) / Math.max(1, slots.length) - 48 - 40);
  // About 60% of the panel's height, so the feature maps of a clicked cell are near below.
  const height = Math.max(160, Math.min(window.innerHeight * 0.6, 800));
  const fit = Math.min(...shown.map(({ result }) => (result !== undefined ? fitCell({ width, height }, result) : Infinity)));
  const sortColumns = session.selection.sortColumns ?? 'none';
  const sortRows = session.selection.sortRows ?? 'none';

  for (const { slot, result, stale } of shown) {
    const ordering = result !== undefined && needsSeriation(result, sortColumns, sortRows);
    slot.message.show(slotProgress(run, slot.other, epoch, result === undefined || stale, stale, ordering ? result : undefined));
    slot.element.classList.toggle('stale', stale);
    if (slot.select.value !== slot.other) slot.select.value = slot.other;
    if (result === undefined || range === undefined) {
      slot.heatmap.canvas.hidden = true;
      setText(slot.caption, '');
      slot.nav.update();
      continue;
    }
    if (ordering) {
      // The message is painted first; the order is computed once per matrix, then drawn.
      if (!seriationPending) {
        seriationPending = true;
        setTimeout(() => {
          seriationPending = false;
          displayOrder(result, sortColumns, sortRows);
          scheduleRender();
        }, 30);
      }
      if (slot.heatmap.current !== undefined) continue;
    }
    slot.heatmap.canvas.hidden = false;
    const order = displayOrder(result, ordering ? 'none' : sortColumns, ordering ? 'none' : sortRows);
    const cellSel = session.selection.cell?.otherLayer === slot.other ? { column: session.selection.cell.column, row: session.selection.cell.row } : undefined;
    slot.heatmap.render(
      {
        result,
        order,
        range,
        ramp,
        ...(cellSel !== undefined ? { selected: cellSel } : {}),
        ...(view.linked?.layer === layer ? { linkedColumn: view.linked.channel } : {}),
        ...(view.linked?.layer === slot.other ? { linkedRow: view.linked.channel } : {}),
      },
      colors,
      { fit: Number.isFinite(fit) ? fit : 8 },
      focus,
    );
    slot.nav.update();
    setText(slot.caption, captionOf(result));
  }
  renderLegend(range, colors);
}

function renderParams(run: LoadedRun | undefined): void {
  if (run === undefined || view.lastParams === undefined) {
    setText(
      estimatorParams,
      'Channel capacity (§5.3.1): C = H(A) − H(A|B) from a 2-D histogram of the pairwise feature-map distances of channel a of li and channel b of lj.',
    );
    return;
  }
  const p = view.lastParams;
  const anyResult = slotState.slots.map((s) => s.heatmap.current?.result).find((r) => r !== undefined);
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
  return value === 'none' || value === 'max' || value === 'mean' || value === 'similar' ? value : undefined;
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

/** Whether a heatmap of li `layer` computed for this view is on screen (not a dimmed one waiting for its epoch). */
function showsComputedHeatmap(layer: string): boolean {
  return slotState.slots.some((slot) => slot.heatmap.current?.result.layerI === layer && !slot.element.classList.contains('stale'));
}

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
      const layerChange = { layer: l.layer, otherLayers: others.length > 0 ? others : [defaultOther(run, l.layer)], cell: undefined };
      if (l.otherLayers === undefined && l.layer !== layer && showsComputedHeatmap(layer)) askBeforeReplacing(layer, layerChange);
      else {
        clearPending();
        change = layerChange;
      }
    }
    view.linked = l.channel !== undefined ? { layer: l.layer, channel: l.channel } : undefined;
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

installExport(client, layerExport, header.actions);
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

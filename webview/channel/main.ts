// The channel view (paper §5.4, Fig. 13–15) of one layer: (A) small multiples of every channel's
// intra-sample entropy over the epochs, one line per class and one for all samples, on one shared
// y scale, virtualised, sortable and filterable, with an overview strip (multiplesCard.ts); (B) a
// two-level circle packing at one epoch, a circle per class (and one for all samples) holding a
// circle per channel sized by its entropy (in a large layer, its top channels and one circle for
// the rest), zoomable; (C) the deconvnet projections of a clicked channel for probe images of the
// clicked class (Fig. 15).
//
// One engine request (channelEntropies, every epoch) feeds (A) and (B); a new epoch of a live run
// asks again and the engine's cache answers the old epochs. (C) asks for the projections of one
// channel at the chosen epoch, which needs that epoch's checkpoint; without one the engine says so
// and the view shows its words, never a picture it does not have. Export… in the toolbar saves (B)
// as a vector figure or its circles' values as a table (exportFigure.ts).
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import type { LinkedSelection } from '../../src/shared/linkedSelection';
import type { ChannelEntropiesResult, EstimatorParams, MeasureSeries } from '../../src/shared/measures';
import type { ChannelSelection } from '../../src/shared/webviewProtocol';
import { frameScheduler, h, replaceChildren, setText } from '../shared/dom';
import { epochToKeep, showEpochOnSlider } from '../shared/epochSlider';
import { installExport } from '../shared/exportView';
import { markMilestone } from '../shared/milestones';
import type { ProgressState } from '../shared/progressLine';
import { cancelFetch, cancelUnwanted, errorText, fetchInto, progressText, retryFetch, type Fetched } from '../shared/requests';
import { runEpochs, runStatusLines, type LoadedRun } from '../shared/runs';
import { classColors, cssVar, onThemeChange, parseColor, themeColors, toCss, type Rgba, type ThemeColors } from '../shared/theme';
import { formatBits, layoutPacking, packingGroups, packTopFor, type Circle, type GroupKey, type PackLayout, type PackTop } from './entropyModel';
import { chosenEpoch, chosenLayer, chosenRun, entropyKey, groupName, projectedGroup, publish, select, seriesOf } from './choices';
import { deconvParams, inputParams, renderDeconv } from './deconv';
import { channelExport } from './exportFigure';
import {
  backButton,
  classLegend,
  dataProgress,
  epochLabel,
  epochSlider,
  estimatorParams,
  header,
  layerSelect,
  multiples,
  multiplesBox,
  packing,
  packingBox,
  packingCaption,
  packingTitle,
  packTopSelect,
  projectSelect,
  root,
  showAllButton,
  status,
  tooltip,
} from './layout';
import { multiplesModel, renderMultiples, startMultiples } from './multiplesCard';
import { channelValueMax } from './packing';
import { client, entropies, hiddenLines, inputSlices, projections, session, view } from './state';
import type { ChannelViewModel } from './viewModel';

markMilestone('script-start');

let hoveredCircle: Circle | undefined;

markMilestone('page-built');

// ---------------------------------------------------------------------------------------------
// What is chosen, with defaults for what is not.

// ---------------------------------------------------------------------------------------------
// Requests.

function requestData(): void {
  const run = chosenRun();
  const wantedEntropies = new Set<string>();
  const wantedProjections = new Set<string>();
  const wantedInputs = new Set<string>();
  const layer = run !== undefined ? chosenLayer(run) : undefined;
  if (run !== undefined && layer !== undefined && run.info.manifest.epochs.length > 0) {
    const key = entropyKey(run, layer);
    wantedEntropies.add(key);
    fetchInto(
      entropies,
      key,
      (signal, onProgress) => client.request('channelEntropies', { run: run.dir, layer, epoch: 'all' }, { signal, onProgress }),
      scheduleRender,
    );
    const params = deconvParams(run);
    if (params !== undefined) {
      const pkey = JSON.stringify(params);
      wantedProjections.add(pkey);
      // The projection names the samples it used; their inputs are asked for once it is here.
      fetchInto(
        projections,
        pkey,
        (signal, onProgress) => client.request('deconvnet', params, { signal, onProgress }),
        scheduleRender,
        () => requestData(),
      );
      const result = projections.get(pkey)?.value;
      if (result !== undefined && result.sampleIndices.length > 0) {
        const ip = inputParams(run, result);
        const ikey = JSON.stringify(ip);
        wantedInputs.add(ikey);
        fetchInto(inputSlices, ikey, (signal) => client.request('slice', ip, { signal }), scheduleRender);
      }
    }
  }
  // Each epoch of a live run makes a new series of every epoch: only the newest few are kept.
  cancelUnwanted(entropies, wantedEntropies, 4);
  cancelUnwanted(projections, wantedProjections, 16);
  cancelUnwanted(inputSlices, wantedInputs, 16);
  // A request just started is one the user can cancel: the progress lines must say so now.
  scheduleRender();
}

// ---------------------------------------------------------------------------------------------
// Rendering.

const scheduleRender = frameScheduler(() => render());

/** The packing's largest side in CSS pixels: beyond it, circles only grow, and the card beside (A) would crowd it. */
const PACKING_MAX_PX = 640;

/** The layout of the packing last drawn, with what it was computed from, and its circles per class (undefined: every channel). */
let packed: { key: string; layout: PackLayout; top: number | undefined } | undefined;
let nextRenderAnimates = false;

window.cnnslicerChannelView = (): ChannelViewModel => {
  const run = chosenRun();
  const screen = packing.screenCircles();
  const card = multiplesModel();
  const lines = card.lines;
  return {
    layer: run !== undefined ? chosenLayer(run) : undefined,
    epoch: run !== undefined ? chosenEpoch(run) : undefined,
    channel: session.selection.channel,
    zoom: session.selection.zoom,
    // A zoom asked for but not drawn yet counts as moving: the circles are not where they will be.
    animating: packing.animating || nextRenderAnimates,
    lines: lines !== undefined ? { epochs: lines.epochs, channels: lines.channels, classes: lines.classes, max: lines.max } : undefined,
    sort: card.sort,
    order: card.order,
    boxes: card.boxes,
    overview: card.overview,
    packTop: packed?.top,
    packingSize: packing.canvas.hidden ? 0 : packing.size,
    groups: screen.groups,
    circles: screen.channels,
  };
};

/** The entropies' line: computing (with Cancel; the last series stays on screen), cancelled or failed (with Compute again). */
function entropyProgress(run: LoadedRun | undefined, layer: string | undefined, fetched: Fetched<unknown> | undefined, shown: boolean): ProgressState {
  if (run === undefined || layer === undefined || run.info.manifest.epochs.length === 0) return { text: '' };
  const key = entropyKey(run, layer);
  const retry = (): void => {
    retryFetch(entropies, key);
    requestData();
    scheduleRender();
  };
  if (fetched?.error !== undefined) return { text: `Intra-sample entropies failed: ${errorText(fetched.error)}`, error: true, retry };
  if (fetched?.cancelled && fetched.abort === undefined)
    return { text: `Intra-sample entropies of ${layer}: cancelled.${shown ? ' Showing the epochs computed before.' : ''}`, retry };
  if (fetched?.abort !== undefined)
    return {
      text: `Intra-sample entropies of ${layer}: ${progressText(fetched.progress)}${shown ? ' Showing the epochs computed before until then.' : ''}`,
      cancel: () => {
        cancelFetch(fetched);
        scheduleRender();
      },
    };
  if (!shown) return { text: `Intra-sample entropies of ${layer}: ${progressText(fetched?.progress)}` };
  return { text: '' };
}

function render(): void {
  const colors = themeColors();
  const run = chosenRun();
  const layer = run !== undefined ? chosenLayer(run) : undefined;
  header.show(run, session.runs.length > 0);
  renderStatus(run);
  renderControls(run, layer);
  const fetched = run !== undefined && layer !== undefined ? entropies.get(entropyKey(run, layer)) : undefined;
  const series = run !== undefined && layer !== undefined ? seriesOf(run, layer) : undefined;
  if (fetched?.value !== undefined && run !== undefined && layer !== undefined)
    view.lastSeries = { key: entropyKey(run, layer), layer, run: run.dir, value: fetched.value };
  dataProgress.show(entropyProgress(run, layer, fetched, series !== undefined));
  const palette = classColors(run?.info.manifest.classes.length ?? 0);
  const focus = parseColor(cssVar('--vscode-focusBorder', toCss(colors.accent))) ?? colors.accent;
  renderLegend(run, palette, colors);
  if (renderMultiples(run, series, palette, colors, focus)) markMilestone('first-data');
  renderPacking(run, layer, series, palette, colors, focus);
  renderDeconv(run, layer, { changed: scheduleRender, request: requestData });
  renderParams(series?.params);
}

function renderStatus(run: LoadedRun | undefined): void {
  const lines = runStatusLines(
    session.runs,
    session.runsReceived,
    'This view shows no run. Open it from a layer in the Runs tree, or with “CNNSlicer: Open Channel View”.',
  );
  if (run !== undefined && run.info.manifest.epochs.length === 0) lines.push(`${run.info.name} has no finished epoch yet.`);
  if (run !== undefined && run.info.manifest.layers.length === 0) lines.push(`${run.info.name} records no layer.`);
  replaceChildren(status, ...lines.map((l) => h('p', {}, l)));
}

let optionsSignature = '';

function renderControls(run: LoadedRun | undefined, layer: string | undefined): void {
  const signature = run === undefined ? '' : JSON.stringify([run.dir, run.info.manifest.layers.map((l) => l.name), run.info.manifest.classes]);
  if (signature !== optionsSignature) {
    optionsSignature = signature;
    replaceChildren(
      layerSelect,
      ...(run?.info.manifest.layers ?? []).map((l) => h('vscode-option', { attrs: { value: l.name, description: `${l.kind} ${l.shape.join('×')}` } }, l.name)),
    );
    replaceChildren(
      projectSelect,
      h('vscode-option', { attrs: { value: 'all' } }, 'all samples (spread over the probe set)'),
      ...(run?.info.manifest.classes ?? []).map((name, i) => h('vscode-option', { attrs: { value: String(i) } }, `class ${name}`)),
    );
  }
  if (layer !== undefined && layerSelect.value !== layer) layerSelect.value = layer;
  const group = String(projectedGroup());
  if (projectSelect.value !== group) projectSelect.value = group;
  layerSelect.toggleAttribute('disabled', run === undefined);
  const epochs = run !== undefined ? runEpochs(run) : [];
  const epoch = run !== undefined ? chosenEpoch(run) : undefined;
  showEpochOnSlider(epochSlider, epochLabel, epochs, epoch !== undefined ? epochs.indexOf(epoch) : -1);
}

let legendSignature = '';

function renderLegend(run: LoadedRun | undefined, palette: readonly string[], colors: ThemeColors): void {
  const classes = run?.info.manifest.classes ?? [];
  const signature = JSON.stringify([classes, palette, [...hiddenLines], toCss(colors.foreground)]);
  if (signature === legendSignature) return;
  legendSignature = signature;
  const item = (line: number, name: string, color: string, all: boolean): HTMLElement => {
    const swatch = h('span', { className: all ? 'swatch line all' : 'swatch line', attrs: { 'aria-hidden': 'true' } });
    swatch.style.backgroundColor = color;
    const button = h(
      'button',
      {
        className: 'legend-item',
        attrs: { type: 'button', 'aria-pressed': hiddenLines.has(line) ? 'false' : 'true', title: `Show or hide ${name}`, 'data-line': line },
      },
      swatch,
      name,
    );
    button.addEventListener('click', () => {
      if (hiddenLines.has(line)) hiddenLines.delete(line);
      else hiddenLines.add(line);
      scheduleRender();
    });
    return h('li', {}, button);
  };
  replaceChildren(
    classLegend,
    ...classes.map((name, k) => item(k, name, palette[k], false)),
    item(classes.length, 'all samples', toCss(colors.foreground), true),
  );
}

function renderPacking(
  run: LoadedRun | undefined,
  layer: string | undefined,
  series: MeasureSeries<ChannelEntropiesResult> | undefined,
  palette: readonly string[],
  colors: ThemeColors,
  focus: Rgba,
): void {
  const epoch = run !== undefined ? chosenEpoch(run) : undefined;
  const item = series?.items.find((i) => i.epoch === epoch);
  if (run === undefined || layer === undefined || item === undefined) {
    packing.canvas.hidden = true;
    backButton.hidden = true;
    setText(packingTitle, '(B) Channels per class');
    setText(packingCaption, '');
    return;
  }
  packing.canvas.hidden = false;
  // Never wider than its box: a canvas wider than the card is cut at the panel's edge.
  const boxWidth = packingBox.clientWidth;
  const size = boxWidth > 0 ? Math.min(boxWidth, PACKING_MAX_PX) : 200;
  const top = packTopFor(item.channels, session.selection.packTop);
  const packTop = String(session.selection.packTop ?? 'auto');
  if (packTopSelect.value !== packTop) packTopSelect.value = packTop;
  const key = JSON.stringify([run.dir, layer, item.epoch, size, top]);
  if (packed?.key !== key) packed = { key, layout: layoutPacking(packingGroups(item, top), size), top };
  const layout = packed.layout;
  // A zoom into a class that has no circle (no samples) is a zoom into nothing.
  const zoom = session.selection.zoom !== undefined && layout.groups.some((g) => g.group === session.selection.zoom) ? session.selection.zoom : undefined;
  backButton.hidden = zoom === undefined;
  setText(packingTitle, `(B) Channels per class at epoch ${item.epoch}${zoom !== undefined ? `: ${groupName(run, zoom)}` : ''}`);
  packing.render(
    {
      layout,
      groupLabel: (g) => groupName(run, g),
      groupColor: (g) => (g === 'all' ? toCss(colors.foreground) : palette[g]),
      highlighted: session.selection.channel,
      hovered: hoveredCircle,
      zoom,
      channels: item.channels,
      source: { run: run.dir, layer, item },
    },
    colors,
    size,
    focus,
    nextRenderAnimates,
  );
  nextRenderAnimates = false;
  const sums = layout.groups.map((g) => `${groupName(run, g.group)} ${formatBits(g.value)}`);
  const inside =
    top === undefined
      ? 'inside, a circle per channel with area proportional to its entropy'
      : `inside, the class’s ${top} highest-entropy channels of ${item.channels}, each a circle with area proportional to its entropy, and one dashed grey circle standing for a typical one of the other ${item.channels - top} (area: their mean entropy; the tooltip gives their sum). Areas compare within a class; across classes the class circles do`;
  setText(
    packingCaption,
    `A circle per class and one for all samples, its size the total entropy of the layer’s channels for those samples (bits: ${sums.join(', ')}); ${inside}. Channel circles are coloured by entropy, grey at 0 to blue at ${formatBits(channelValueMax(layout))} bits; the selected channel is outlined in every class${top === undefined ? '' : ' (or the grey circle holding it)'}, and numbers are written where they fit. ${zoom === undefined ? 'Click a class circle to zoom in; click' : 'Click'} a channel circle to project it with the deconvnet.`,
  );
}

function renderParams(params: EstimatorParams | undefined): void {
  const base =
    'Intra-sample entropy (§4.4.2, §5.4.1): the Shannon entropy in bits of each feature map’s histogram, averaged over the samples of a class (or all samples).';
  if (params === undefined) {
    setText(estimatorParams, base);
    return;
  }
  const range =
    params.intraNormalization === 'map'
      ? 'each map’s own min to max'
      : params.intraNormalization === 'channel'
        ? 'the channel’s min to max over the samples'
        : 'the layer’s min to max over the samples';
  setText(
    estimatorParams,
    `${base} ${params.intraBins} equal-width bins over ${range}, so the largest possible entropy is ${Math.log2(params.intraBins)} bits.`,
  );
}

// ---------------------------------------------------------------------------------------------
// Events.

function chooseChannel(channel: number, group?: GroupKey): void {
  view.showAllProjections = false;
  select({ channel, ...(group !== undefined ? { projectClass: group } : {}) });
  publish(true);
}

packing.canvas.addEventListener('pointermove', (e) => {
  const hit = packing.hit(e.clientX, e.clientY);
  const run = chosenRun();
  const same = hit?.kind === hoveredCircle?.kind && hit?.group === hoveredCircle?.group && hit?.channel === hoveredCircle?.channel;
  if (!same) {
    hoveredCircle = hit;
    scheduleRender();
  }
  if (hit === undefined || run === undefined) {
    tooltip.hide();
    return;
  }
  const zoomHint = session.selection.zoom === hit.group ? '' : 'click to zoom in';
  const count = hit.count ?? 0;
  tooltip.show(
    hit.kind === 'channel'
      ? [`channel ${hit.channel}`, `${groupName(run, hit.group)}: ${formatBits(hit.value)} bits`]
      : hit.kind === 'rest'
        ? [
            `the other ${count} channels`,
            `${groupName(run, hit.group)}: ${formatBits(hit.value)} bits in all, ${formatBits(count > 0 ? hit.value / count : NaN)} on average`,
            zoomHint,
          ].filter((l) => l !== '')
        : [groupName(run, hit.group), `total over the channels: ${formatBits(hit.value)} bits`, zoomHint].filter((l) => l !== ''),
    e.clientX,
    e.clientY,
  );
});
packing.canvas.addEventListener('pointerleave', () => {
  hoveredCircle = undefined;
  tooltip.hide();
  scheduleRender();
});
packing.canvas.addEventListener('click', (e) => {
  const hit = packing.hit(e.clientX, e.clientY);
  if (hit === undefined) {
    if (session.selection.zoom !== undefined) zoomTo(undefined);
    return;
  }
  if (hit.kind === 'channel' && hit.channel !== undefined) {
    chooseChannel(hit.channel, hit.group);
    return;
  }
  // The rest circle stands for many channels: a click on it zooms into its class like a click beside it.
  if (session.selection.zoom !== hit.group) zoomTo(hit.group);
});

function zoomTo(group: GroupKey | undefined): void {
  nextRenderAnimates = true;
  tooltip.hide();
  select({ zoom: group });
}

backButton.addEventListener('click', () => zoomTo(undefined));
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && session.selection.zoom !== undefined) zoomTo(undefined);
});

layerSelect.addEventListener('change', () => {
  const run = chosenRun();
  const value = layerSelect.value;
  if (run === undefined || value === '' || value === chosenLayer(run)) return;
  select({ layer: value, channel: undefined, zoom: undefined });
  publish(false);
});

projectSelect.addEventListener('change', () => {
  const value = projectSelect.value;
  const group: GroupKey | undefined = value === 'all' ? 'all' : /^\d+$/.test(value) ? Number(value) : undefined;
  if (group === undefined || group === projectedGroup()) return;
  view.showAllProjections = false;
  select({ projectClass: group });
});

showAllButton.addEventListener('click', () => {
  view.showAllProjections = !view.showAllProjections;
  requestData();
  scheduleRender();
});

epochSlider.addEventListener('input', () => {
  const run = chosenRun();
  if (run === undefined) return;
  const epochs = runEpochs(run);
  const i = Number(epochSlider.value);
  if (!(i >= 0 && i < epochs.length)) return;
  select({ epoch: epochToKeep(epochs, epochs[i]) });
});
epochSlider.addEventListener('change', () => publish(false));

/** Another view's or the tree's choice: its layer, the channel to highlight (and project), the epoch. */
function followLinked(l: LinkedSelection): void {
  const run = chosenRun();
  if (run === undefined || l.run !== run.dir) return;
  let change: Partial<ChannelSelection> = {};
  const recorded = l.layer !== undefined && run.info.manifest.layers.some((x) => x.name === l.layer);
  if (recorded && l.layer !== chosenLayer(run)) change = { layer: l.layer, channel: l.channel, zoom: undefined };
  else if (l.channel !== undefined && (l.layer === undefined || recorded)) change = { channel: l.channel };
  if (l.epoch !== undefined && runEpochs(run).includes(l.epoch)) change = { ...change, epoch: epochToKeep(runEpochs(run), l.epoch) };
  view.showAllProjections = false;
  select(change);
}

onThemeChange(() => {
  legendSignature = '';
  view.deconvSignature = '';
  render();
});

let observedSizes = '';
const resizes = new ResizeObserver(() => {
  // The boxes' widths lay out (A) and (B); the scroll container's height is how many rows (A) draws.
  const sizes = `${multiplesBox.clientWidth}|${packingBox.clientWidth}|${multiples.scroller.clientHeight}`;
  if (sizes === observedSizes) return;
  observedSizes = sizes;
  scheduleRender();
});
resizes.observe(root);
resizes.observe(multiples.scroller);

packTopSelect.addEventListener('change', () => {
  const value = packTopSelect.value;
  const choice: PackTop | undefined = value === 'all' ? 'all' : /^\d+$/.test(value) ? Number(value) : undefined;
  if (choice === session.selection.packTop) return;
  select({ packTop: choice });
});

startMultiples({ chooseChannel: (channel) => chooseChannel(channel) });
installExport(client, channelExport, header.actions);

scheduleRender();
session.start({
  // A command chose a layer (and maybe a channel): a channel of the previous layer means nothing here.
  mergeSelection: (current, next) => {
    const layerChanged = next.layer !== undefined && next.layer !== current.layer;
    return { ...current, ...next, ...(layerChanged && next.channel === undefined ? { channel: undefined, zoom: undefined } : {}) };
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

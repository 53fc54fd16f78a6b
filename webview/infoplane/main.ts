// The information-plane view (issue 16; Shwartz-Ziv & Tishby 2017): for the input and every
// recorded layer T of one run, I(X; T) on x against I(T; Y) on y in bits, one trajectory per layer
// over the epochs coloured by depth, a marker on each at the epoch of the slider, a table of the
// values at that epoch that is also the colour legend.
//
// One engine request (infoPlane, every epoch) feeds it all; a new epoch of a live run asks again,
// the engine's cache answers the old epochs, and the plane already drawn stays until the new one
// arrives. An engine that does not compute the plane says so, and the view shows its words.
import { INPUT_REPRESENTATION } from '../../src/shared/information';
import { frameScheduler, h, replaceChildren, setText } from '../shared/dom';
import { epochToKeep, showEpochOnSlider } from '../shared/epochSlider';
import { installExport } from '../shared/exportView';
import { markMilestone } from '../shared/milestones';
import type { ProgressState } from '../shared/progressLine';
import { cancelFetch, cancelUnwanted, errorText, fetchInto, progressText, retryFetch, type Fetched } from '../shared/requests';
import { runEpochs, runStatusLines, type LoadedRun } from '../shared/runs';
import { isDarkTheme, onThemeChange, themeColors } from '../shared/theme';
import { chosenEpoch, chosenRun, chosenSamples, choosePoint, planeKey, publishEpoch, select, seriesOf } from './choices';
import { dataProgress, epochLabel, epochSlider, estimatorParams, header, layerTable, planeCanvas, planeCaption, planeTitle, status, tooltip } from './layout';
import { infoPlaneExport } from './exportFigure';
import { estimatorText } from './paramsText';
import { HIT_RADIUS_PX, PlaneChart } from './planeChart';
import { client, planes, session, view, type PlaneSeries } from './state';
import { depthColor, formatBits, markedEpoch, pointAt, pointUnder, trajectoriesOf, type Trajectory } from './trajectories';
import type { InfoPlaneViewModel } from './viewModel';

markMilestone('script-start');

const chart = new PlaneChart(planeCanvas);

// ---------------------------------------------------------------------------------------------
// Requests.

function requestData(): void {
  const run = chosenRun();
  const wanted = new Set<string>();
  if (run !== undefined && run.info.manifest.epochs.length > 0) {
    const key = planeKey(run);
    wanted.add(key);
    const samples = chosenSamples();
    fetchInto(
      planes,
      key,
      (signal, onProgress) => client.request('infoPlane', { run: run.dir, samples, epoch: 'all' }, { signal, onProgress }),
      scheduleRender,
    );
  }
  // Each epoch of a live run makes a new plane of every epoch: only the newest few are kept.
  cancelUnwanted(planes, wanted, 4);
  // A request just started is one the user can cancel: the progress line must say so now.
  scheduleRender();
}

// ---------------------------------------------------------------------------------------------
// Rendering.

const scheduleRender = frameScheduler(() => render());

/** What the last render drew, for the hover, the clicks and the tests. */
let drawn:
  { run: LoadedRun; series: PlaneSeries; trajectories: Trajectory[]; colors: string[]; marked: number | undefined; layer: string | undefined } | undefined;

/** The selected layer when the plane has it. */
function selectedLayer(trajectories: readonly Trajectory[]): string | undefined {
  const layer = session.selection.layer;
  return layer !== undefined && trajectories.some((t) => t.layer === layer) ? layer : undefined;
}

function render(): void {
  const run = chosenRun();
  header.show(run, session.runs.length > 0);
  renderStatus(run);
  const epochs = run !== undefined ? runEpochs(run) : [];
  const epoch = run !== undefined ? chosenEpoch(run) : undefined;
  showEpochOnSlider(epochSlider, epochLabel, epochs, epoch !== undefined ? epochs.indexOf(epoch) : -1);
  const fetched = run !== undefined ? planes.get(planeKey(run)) : undefined;
  if (run !== undefined && fetched?.value !== undefined) view.lastSeries = { run: run.dir, samples: JSON.stringify(chosenSamples()), value: fetched.value };
  const series = run !== undefined ? seriesOf(run) : undefined;
  dataProgress.show(planeProgress(run, fetched, series !== undefined));
  if (run === undefined || series === undefined || series.items.length === 0) {
    drawn = undefined;
    planeCanvas.hidden = true;
    setText(planeTitle, 'Information plane');
    setText(planeCaption, '');
    replaceChildren(layerTable);
    renderParams(series);
    return;
  }
  const trajectories = trajectoriesOf(series.items);
  const maxDepth = trajectories.reduce((m, t) => Math.max(m, t.depth), 0);
  const dark = isDarkTheme();
  const colors = trajectories.map((t) => depthColor(t.depth, maxDepth, dark));
  const marked = markedEpoch(series.items, epoch);
  const layer = selectedLayer(trajectories);
  drawn = { run, series, trajectories, colors, marked, layer };
  planeCanvas.hidden = false;
  chart.render({ trajectories, colors, marked, selectedLayer: layer }, themeColors());
  setText(planeTitle, `Information plane of ${run.info.name}${marked !== undefined ? `, marked at epoch ${marked}` : ''}`);
  renderCaption(series, trajectories, epoch, marked);
  renderTable(trajectories, colors, marked, layer);
  renderParams(series);
  markMilestone('first-data');
}

function renderStatus(run: LoadedRun | undefined): void {
  const lines = runStatusLines(
    session.runs,
    session.runsReceived,
    'This view shows no run. Open it on a run in the Runs tree, or with “CNNSlicer: Open Information Plane”.',
  );
  if (run !== undefined && run.info.manifest.epochs.length === 0) lines.push(`${run.info.name} has no finished epoch yet.`);
  replaceChildren(status, ...lines.map((l) => h('p', {}, l)));
}

/** An engine without the information plane answers that it knows no such method; the view says what that means. */
function failureText(fetched: Fetched<PlaneSeries>): string {
  const error = fetched.error!;
  const unknown = error.code === 'bad-request' && /unknown method/.test(error.message);
  return `Information plane failed: ${errorText(error)}${unknown ? ' (this engine does not compute the information plane)' : ''}`;
}

function planeProgress(run: LoadedRun | undefined, fetched: Fetched<PlaneSeries> | undefined, shown: boolean): ProgressState {
  if (run === undefined || run.info.manifest.epochs.length === 0) return { text: '' };
  const key = planeKey(run);
  const retry = (): void => {
    retryFetch(planes, key);
    requestData();
  };
  const kept = shown ? ' Showing the epochs computed before until then.' : '';
  if (fetched?.error !== undefined) return { text: failureText(fetched), error: true, retry };
  if (fetched?.cancelled && fetched.abort === undefined)
    return { text: `Information plane: cancelled.${shown ? ' Showing the epochs computed before.' : ''}`, retry };
  if (fetched?.abort !== undefined)
    return {
      text: `Information plane of every layer and epoch: ${progressText(fetched.progress)}${kept}`,
      cancel: () => {
        cancelFetch(fetched);
        scheduleRender();
      },
    };
  return { text: '' };
}

function renderCaption(series: PlaneSeries, trajectories: readonly Trajectory[], epoch: number | undefined, marked: number | undefined): void {
  const epochs = series.items.map((i) => i.epoch);
  const n = series.items[0]?.n;
  let text = `${trajectories.length} representations (the input and ${trajectories.length - 1} layers) over ${epochs.length} epoch${epochs.length === 1 ? '' : 's'} (${epochs[0]} to ${epochs[epochs.length - 1]}), from n = ${n} samples.`;
  if (epoch !== undefined && marked !== epoch)
    text += ` Epoch ${epoch} is not in the plane yet; the markers stay at ${marked !== undefined ? `epoch ${marked}` : 'no epoch'} until it is.`;
  if (series.items.some((i) => i.approximate)) text += ' Above the exact limit the eigenvalues were estimated (docs/estimators.md gives the error).';
  setText(planeCaption, text);
}

let tableSignature = '';

function renderTable(trajectories: readonly Trajectory[], colors: readonly string[], marked: number | undefined, layer: string | undefined): void {
  const signature = JSON.stringify([trajectories, colors, marked, layer]);
  if (signature === tableSignature) return;
  tableSignature = signature;
  const rows = trajectories.map((t, i) => {
    const p = marked !== undefined ? pointAt(t, marked) : undefined;
    const swatch = h('span', { className: 'swatch line', attrs: { 'aria-hidden': 'true' } });
    swatch.style.backgroundColor = colors[i];
    return h(
      'tr',
      {
        className: t.layer === layer ? 'selected' : '',
        attrs: { 'data-layer': t.layer, tabindex: 0, 'aria-selected': t.layer === layer ? 'true' : 'false', title: `Highlight ${t.layer}` },
      },
      h('td', { className: 'depth' }, t.depth),
      h('td', { className: 'layer-name' }, swatch, t.layer),
      h('td', { className: 'value' }, formatBits(p?.IXT)),
      h('td', { className: 'value' }, formatBits(p?.ITY)),
    );
  });
  replaceChildren(
    layerTable,
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { attrs: { scope: 'col' } }, 'Depth'),
        h('th', { attrs: { scope: 'col' } }, 'Representation T'),
        h('th', { attrs: { scope: 'col' } }, `I(X; T)${marked !== undefined ? ` at ${marked}` : ''}`),
        h('th', { attrs: { scope: 'col' } }, `I(T; Y)${marked !== undefined ? ` at ${marked}` : ''}`),
      ),
    ),
    h('tbody', {}, ...rows),
  );
}

function renderParams(series: PlaneSeries | undefined): void {
  setText(estimatorParams, estimatorText(series?.params as Readonly<Record<string, unknown>> | undefined));
}

// ---------------------------------------------------------------------------------------------
// Events.

function hit(e: PointerEvent | MouseEvent): ReturnType<typeof pointUnder> {
  return drawn === undefined ? undefined : pointUnder(chart.screenPoints(), e.clientX, e.clientY, HIT_RADIUS_PX, drawn.marked);
}

planeCanvas.addEventListener('pointermove', (e) => {
  const under = hit(e);
  planeCanvas.classList.toggle('pointing', under !== undefined);
  if (under === undefined) {
    tooltip.hide();
    return;
  }
  const { point: p, sameEpochs: same } = under;
  const epochText = same.length > 1 ? `epoch ${p.epoch} (the same point at ${same.length} epochs, ${same[0]} to ${same[same.length - 1]})` : `epoch ${p.epoch}`;
  tooltip.show(
    [`${p.layer} (depth ${p.depth})`, epochText, `I(X; T) = ${formatBits(p.IXT)} bits`, `I(T; Y) = ${formatBits(p.ITY)} bits`, 'click to select'],
    e.clientX,
    e.clientY,
  );
});
planeCanvas.addEventListener('pointerleave', () => tooltip.hide());
planeCanvas.addEventListener('click', (e) => {
  const under = hit(e);
  if (under === undefined || drawn === undefined) return;
  choosePoint(drawn.run, under.point.layer, under.point.epoch);
});

function chooseRow(target: EventTarget | null): void {
  const row = target instanceof Element ? target.closest('tr[data-layer]') : null;
  const layer = row?.getAttribute('data-layer');
  if (layer === null || layer === undefined || drawn === undefined) return;
  choosePoint(drawn.run, layer, undefined);
}

layerTable.addEventListener('click', (e) => chooseRow(e.target));
layerTable.addEventListener('keydown', (e) => {
  if (e.key !== 'Enter' && e.key !== ' ') return;
  e.preventDefault();
  chooseRow(e.target);
});

epochSlider.addEventListener('input', () => {
  const run = chosenRun();
  if (run === undefined) return;
  const epochs = runEpochs(run);
  const i = Number(epochSlider.value);
  if (!(i >= 0 && i < epochs.length)) return;
  select({ epoch: epochToKeep(epochs, epochs[i]) });
});
epochSlider.addEventListener('change', () => {
  const run = chosenRun();
  if (run !== undefined) publishEpoch(run);
});

onThemeChange(() => {
  tableSignature = '';
  render();
});

window.cnnslicerInfoPlaneView = (): InfoPlaneViewModel => {
  const run = chosenRun();
  const points = chart.screenPoints();
  // What was drawn last, not the selection a frame ahead of it.
  const d = drawn;
  return {
    run: run?.dir,
    epochs: run !== undefined ? runEpochs(run) : [],
    epoch: run !== undefined ? chosenEpoch(run) : undefined,
    marked: d?.marked,
    selectedLayer: d?.layer,
    n: d?.series.items[0]?.n,
    approximate: d?.series.items.some((i) => i.approximate) ?? false,
    planeEpochs: d?.series.items.map((i) => i.epoch) ?? [],
    trajectories:
      d?.trajectories.map((t, i) => ({
        layer: t.layer,
        depth: t.depth,
        color: d.colors[i],
        epochs: t.points.map((p) => p.epoch),
        IXT: t.points.map((p) => p.IXT ?? null),
        ITY: t.points.map((p) => p.ITY ?? null),
      })) ?? [],
    markers:
      d?.marked === undefined
        ? []
        : d.trajectories.flatMap((t) => {
            const at = pointAt(t, d.marked!);
            const p = at !== undefined ? points.find((q) => q.layer === t.layer && q.epoch === at.epoch) : undefined;
            return p !== undefined ? [p] : [];
          }),
    points,
  };
};

installExport(client, infoPlaneExport, header.actions);

scheduleRender();
session.start({
  // Another view's or the tree's choice: its layer is highlighted when the plane has it, its epoch marked.
  followLinked: (l) => {
    const run = chosenRun();
    if (run === undefined || l.run !== run.dir) return undefined;
    let next = session.selection;
    const planeLayers = drawn?.trajectories.map((t) => t.layer) ?? [];
    if (
      l.layer !== undefined &&
      (l.layer === INPUT_REPRESENTATION || planeLayers.includes(l.layer) || run.info.manifest.layers.some((x) => x.name === l.layer))
    )
      next = { ...next, layer: l.layer };
    const epochs = runEpochs(run);
    if (l.epoch !== undefined && epochs.includes(l.epoch)) next = { ...next, epoch: epochToKeep(epochs, l.epoch) };
    return next;
  },
  refresh: () => {
    requestData();
    scheduleRender();
  },
});

// The query view (paper §5.1, Fig. 3): (A) the model's architecture as a row of layer blocks, (B) the
// hypercube dCNN(X, L, C, T) drawn with its L, C and T axes, where dragging along L selects layers
// and dragging across L and C selects a channel (their intersection highlighted, Fig. 3C), the
// epoch on T, and the samples x. The Query button sends the slice to the other views: the host
// publishes it as the linked selection and opens the view that shows it.
//
// Clicking a layer publishes it at once (the Runs tree follows); the Query button is what asks the
// other views for their (costly) measures, as in the paper.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import type { SampleSelection } from '../../src/shared/engineProtocol';
import type { LinkedSelection } from '../../src/shared/linkedSelection';
import type { RunInfo } from '../../src/shared/runFormat';
import { MAX_VIEW_RUNS, type QuerySamples } from '../../src/shared/webviewProtocol';
import { frameScheduler, h, replaceChildren, setText } from '../shared/dom';
import { installExport } from '../shared/exportView';
import { RequestError } from '../shared/hostClient';
import { errorText } from '../shared/requests';
import { loadedRuns, runName, runStatusLines, selectedOrFirstRun, type LoadedRun } from '../shared/runs';
import { directSampleSelection, unionIndices } from './samples';
import {
  applyLinked,
  channelCount,
  clearChannel,
  clearLayers,
  clickLayer,
  focusIndex,
  queryTargetOf,
  reconcile,
  resolvedEpoch,
  selectChannel,
  selectedIndices,
} from './selection';
import { renderBlocks } from './blocksView';
import { chosenRun, describeSlice, followZoom, samplesOf, shown, shownRange } from './choices';
import { listenToCube } from './cubeGestures';
import { renderCube } from './cubeView';
import { queryExport } from './exportFigure';
import {
  channelInput,
  channelRange,
  classList,
  clearChannelButton,
  countInput,
  countMode,
  epochLabel,
  epochSlider,
  infoPlaneButton,
  layerRangeText,
  queryButton,
  queryProgress,
  runSelect,
  runTitle,
  samplesAll,
  samplesClasses,
  samplesCount,
  seedInput,
  seedLabel,
  selectAllClasses,
  selectNoClass,
  sliceText,
  sourceButton,
  status,
  targetText,
  toolbarActions,
  zoomOutButton,
} from './layout';
import { client, session, view, type QueryViewSelection } from './state';

// ---------------------------------------------------------------------------------------------
// State helpers.

/** Commits a change the user made; publishes the focus layer when it changed, so the Runs tree and the views showing this run follow. */
function commit(next: QueryViewSelection): void {
  // The run of the new selection: the run picker changes it.
  const run = selectedOrFirstRun(session.runs, next.run ?? session.selection.run);
  const before = session.selection;
  session.selection = run !== undefined ? reconcile(run.info, followZoom(run.info.manifest.layers, before, { ...next, run: run.dir })) : next;
  view.draft = undefined;
  view.queryStatus = { text: '', error: false };
  session.save();
  // At once rather than on the next frame: a click or key shows its effect before the next event.
  render();
  if (run === undefined) return;
  if (session.selection.layer !== undefined && (session.selection.layer !== before.layer || session.selection.channel !== before.channel)) {
    const linked: LinkedSelection = {
      run: run.dir,
      layer: session.selection.layer,
      ...(session.selection.channel !== undefined ? { channel: session.selection.channel } : {}),
    };
    client.publish(linked);
  }
}

// ---------------------------------------------------------------------------------------------
// Rendering.

const scheduleRender = frameScheduler(() => render());

function render(): void {
  const run = chosenRun();
  renderToolbar(run);
  renderStatus();
  renderBlocks(run, {
    pick: (index, modifier) => {
      const chosen = chosenRun();
      if (chosen !== undefined) commit(clickLayer(chosen.info.manifest.layers, session.selection, index, modifier));
    },
    zoom: (path) => commit({ ...session.selection, layerZoom: path }),
    redraw: () => render(),
  });
  renderCube(run);
  renderControls(run);
  renderSamples(run);
  renderQueryBar(run);
}

let runOptionsSignature = '';

function renderToolbar(run: LoadedRun | undefined): void {
  setText(runTitle, run !== undefined ? run.info.name : session.runs.length > 0 ? runName(session.runs[0]) : 'Query');
  runTitle.title = run?.dir ?? '';
  const loaded = loadedRuns(session.runs);
  const signature = JSON.stringify(loaded.map((r) => [r.dir, r.info.name]));
  if (signature !== runOptionsSignature) {
    runOptionsSignature = signature;
    replaceChildren(runSelect, ...loaded.map((r) => h('option', { attrs: { value: r.dir } }, r.info.name)));
  }
  runSelect.hidden = loaded.length < 2;
  if (run !== undefined && runSelect.value !== run.dir) runSelect.value = run.dir;
}

function renderStatus(): void {
  const lines = runStatusLines(session.runs, session.runsReceived, 'This view shows no run. Open one with CNNSlicer: Analyze Model.');
  const run = chosenRun();
  if (run !== undefined && run.info.manifest.layers.length === 0) lines.push('This run records no layer; only its input and output can be queried.');
  replaceChildren(status, ...lines.map((l) => h('p', {}, l)));
}

// The hypercube ------------------------------------------------------------------------------

// Controls -----------------------------------------------------------------------------------

function renderControls(run: LoadedRun | undefined): void {
  const info = run?.info;
  const layers = info?.manifest.layers ?? [];
  const sel = shown();
  const focus = focusIndex(layers, sel);
  const range = shownRange(layers, sel);
  const outside = selectedIndices(layers, sel).filter((i) => i < range.from || i > range.to).length;
  setText(
    layerRangeText,
    sel.layerZoom !== undefined
      ? `${sel.layerZoom}: ${range.from + 1}–${range.to + 1} of ${layers.length}${outside > 0 ? ` (${outside} selected outside)` : ''}`
      : layers.length > 0
        ? `all ${layers.length}`
        : 'none',
  );
  zoomOutButton.disabled = sel.layerZoom === undefined;
  const count = focus >= 0 ? channelCount(layers[focus]) : 0;
  channelInput.disabled = count === 0;
  channelInput.max = String(Math.max(0, count - 1));
  const wanted = sel.channel !== undefined ? String(sel.channel) : '';
  if (document.activeElement !== channelInput && channelInput.value !== wanted) channelInput.value = wanted;
  channelInput.placeholder = count > 0 ? 'all' : '–';
  setText(channelRange, count > 0 ? `of ${layers[focus].name}: 0–${count - 1}` : 'select a layer first');
  clearChannelButton.disabled = sel.channel === undefined;

  const epochs = info?.manifest.epochs ?? [];
  const epoch = info !== undefined ? resolvedEpoch(info, sel) : undefined;
  const index = epochs.findIndex((e) => e.epoch === epoch);
  epochSlider.max = String(Math.max(0, epochs.length - 1));
  epochSlider.value = String(Math.max(0, index));
  epochSlider.disabled = epochs.length < 2;
  setText(epochLabel, epoch === undefined ? 'no epoch yet' : `${epoch}${sel.epoch === undefined ? ' (newest)' : ''}`);
}

let classesSignature = '';

function renderSamples(run: LoadedRun | undefined): void {
  const info = run?.info;
  const classes = info?.manifest.classes ?? [];
  const samples = samplesOf(session.selection);
  const signature = JSON.stringify([run?.dir, classes]);
  if (signature !== classesSignature) {
    classesSignature = signature;
    replaceChildren(
      classList,
      ...classes.map((name, i) => {
        const box = h('input', { attrs: { type: 'checkbox', id: `class-${i}`, 'data-class': i } });
        box.addEventListener('change', () => toggleClass(i, box.checked));
        return h('li', {}, box, h('label', { attrs: { for: `class-${i}` } }, name));
      }),
    );
  }
  samplesAll.checked = samples.kind === 'all';
  samplesClasses.checked = samples.kind === 'classes';
  samplesCount.checked = samples.kind === 'first' || samples.kind === 'random';
  const chosenClasses = new Set(samples.kind === 'classes' ? samples.classes : []);
  classList.querySelectorAll<HTMLInputElement>('input[type=checkbox]').forEach((box) => {
    box.checked = chosenClasses.has(Number(box.dataset.class));
  });
  classList.classList.toggle('inactive', samples.kind !== 'classes');
  const probeCount = info?.manifest.probe.count ?? 0;
  countInput.max = String(Math.max(1, probeCount));
  if (samples.kind === 'first' || samples.kind === 'random') {
    if (document.activeElement !== countInput) countInput.value = String(samples.count);
    countMode.value = samples.kind;
  } else if (document.activeElement !== countInput && probeCount > 0 && (countInput.value === '' || Number(countInput.value) > probeCount)) {
    countInput.value = String(Math.min(100, probeCount));
  }
  const random = samples.kind === 'random';
  seedInput.disabled = !random && countMode.value !== 'random';
  seedLabel.classList.toggle('inactive', seedInput.disabled);
  if (random && document.activeElement !== seedInput) seedInput.value = String(samples.seed);
  else if (seedInput.value === '') seedInput.value = '0';
}

function renderQueryBar(run: LoadedRun | undefined): void {
  const info = run?.info;
  infoPlaneButton.toggleAttribute('disabled', info === undefined);
  if (info === undefined) {
    setText(sliceText, '');
    setText(targetText, '');
    queryButton.toggleAttribute('disabled', true);
    sourceButton.toggleAttribute('disabled', true);
    return;
  }
  const sel = shown();
  setText(sliceText, describeSlice(info, sel));
  const layers = info.manifest.layers;
  const selected = selectedIndices(layers, sel);
  const focus = focusIndex(layers, sel);
  const samples = samplesOf(sel);
  const noClass = samples.kind === 'classes' && samples.classes.length === 0;
  let target = '';
  switch (queryTargetOf(sel)) {
    case 'layer': {
      const others = selected.filter((i) => i !== focus).map((i) => layers[i].name);
      const sent = others.slice(0, MAX_VIEW_RUNS);
      target = `Query opens the layer view: channel capacity of ${layers[focus].name} against ${sent.join(', ')}.`;
      if (others.length > sent.length) target += ` (The first ${MAX_VIEW_RUNS} other layers are sent.)`;
      break;
    }
    case 'channel':
      target = `Query opens the channel view of ${layers[focus].name}${sel.channel !== undefined ? `, channel ${sel.channel}` : ''}.`;
      break;
    case 'training':
      target = 'Query opens the training view: the model’s input and output (select layers to look inside).';
      break;
  }
  if (info.manifest.epochs.length === 0) target = 'The run has no finished epoch yet: nothing to query.';
  else if (noClass) target = 'Choose at least one class.';
  setText(targetText, target);
  const querying = view.querying;
  queryProgress.show({ ...view.queryStatus, ...(querying !== undefined ? { cancel: () => querying.abort() } : {}) });
  queryButton.toggleAttribute('disabled', info.manifest.epochs.length === 0 || noClass || view.querying !== undefined);

  const focusLayer = focus >= 0 ? layers[focus] : undefined;
  const src = focusLayer?.source;
  sourceButton.toggleAttribute('disabled', src === undefined);
  const label =
    src !== undefined ? `Go to source (${baseName(src.file)}:${src.line})` : focusLayer !== undefined ? 'Go to source (not recorded)' : 'Go to source';
  if (sourceButton.textContent !== label) sourceButton.textContent = label;
  sourceButton.title =
    src !== undefined
      ? `Open ${src.file} at line ${src.line}, where ${focusLayer?.name ?? ''} is constructed`
      : 'Select a layer whose source line the probe recorded';
}

function baseName(file: string): string {
  const parts = file.split(/[\\/]/);
  return parts[parts.length - 1] ?? file;
}

// ---------------------------------------------------------------------------------------------
// The hypercube's gestures (cubeGestures.ts).

listenToCube({ commit, scheduleRender });

// ---------------------------------------------------------------------------------------------
// Controls.

runSelect.addEventListener('change', () => {
  const run = loadedRuns(session.runs).find((r) => r.dir === runSelect.value);
  if (run === undefined || run.dir === chosenRun()?.dir) return;
  commit({ ...clearLayers(session.selection), run: run.dir });
});

channelInput.addEventListener('change', () => {
  const run = chosenRun();
  if (run === undefined) return;
  const layers = run.info.manifest.layers;
  const focus = focusIndex(layers, session.selection);
  if (focus < 0) return;
  const text = channelInput.value.trim();
  const value = Number(text);
  if (text === '') commit(clearChannel(session.selection));
  else if (Number.isInteger(value) && value >= 0 && value < channelCount(layers[focus])) commit(selectChannel(layers, session.selection, focus, value, true));
  else {
    view.queryStatus = { text: `${layers[focus].name} has channels 0 to ${channelCount(layers[focus]) - 1}.`, error: true };
    channelInput.value = session.selection.channel !== undefined ? String(session.selection.channel) : '';
    scheduleRender();
  }
});

clearChannelButton.addEventListener('click', () => commit(clearChannel(session.selection)));

zoomOutButton.addEventListener('click', () => {
  const { layerZoom: _zoom, ...rest } = session.selection;
  commit(rest);
});

epochSlider.addEventListener('input', () => {
  const epochs = chosenRun()?.info.manifest.epochs ?? [];
  const k = Number(epochSlider.value);
  if (!(k >= 0 && k < epochs.length)) return;
  const { epoch: _epoch, ...rest } = session.selection;
  // At the right end the view follows the newest epoch of a run still training.
  commit(k === epochs.length - 1 ? rest : { ...session.selection, epoch: epochs[k].epoch });
});

function countSamples(): QuerySamples {
  const probeCount = chosenRun()?.info.manifest.probe.count ?? 1;
  const n = Math.min(probeCount, Math.max(1, Math.floor(Number(countInput.value)) || 1));
  const seed = Math.max(0, Math.floor(Number(seedInput.value)) || 0);
  return countMode.value === 'random' ? { kind: 'random', count: n, seed } : { kind: 'first', count: n };
}

samplesAll.addEventListener('change', () => commit({ ...session.selection, samples: { kind: 'all' } }));
samplesClasses.addEventListener('change', () => {
  const classes = chosenRun()?.info.manifest.classes ?? [];
  const previous = session.selection.samples?.kind === 'classes' ? session.selection.samples.classes : classes.map((_, i) => i);
  commit({ ...session.selection, samples: { kind: 'classes', classes: previous } });
});
samplesCount.addEventListener('change', () => commit({ ...session.selection, samples: countSamples() }));
for (const input of [countInput, countMode, seedInput]) {
  input.addEventListener('change', () => commit({ ...session.selection, samples: countSamples() }));
}

function toggleClass(index: number, on: boolean): void {
  const current = session.selection.samples?.kind === 'classes' ? session.selection.samples.classes : [];
  const next = new Set(current);
  if (on) next.add(index);
  else next.delete(index);
  commit({ ...session.selection, samples: { kind: 'classes', classes: [...next].sort((a, b) => a - b) } });
}

selectAllClasses.addEventListener('click', () => {
  const classes = chosenRun()?.info.manifest.classes ?? [];
  commit({ ...session.selection, samples: { kind: 'classes', classes: classes.map((_, i) => i) } });
});
selectNoClass.addEventListener('click', () => commit({ ...session.selection, samples: { kind: 'classes', classes: [] } }));

sourceButton.addEventListener('click', () => {
  const run = chosenRun();
  if (run === undefined) return;
  const layers = run.info.manifest.layers;
  const focus = focusIndex(layers, session.selection);
  if (focus < 0 || layers[focus].source === undefined) return;
  client.request('revealSource', { run: run.dir, layer: layers[focus].name }).catch((err: unknown) => {
    view.queryStatus = { text: `Could not open the source: ${err instanceof RequestError ? errorText(err.info) : String(err)}`, error: true };
    scheduleRender();
  });
});

/** The engine's selection for the chosen samples; several classes need their samples' indices, which only the engine knows. */
async function sampleSelection(info: RunInfo, dir: string, samples: QuerySamples, epoch: number, signal: AbortSignal): Promise<SampleSelection> {
  const direct = directSampleSelection(samples, info.manifest.probe.count, info.manifest.classes.length);
  if (direct !== undefined) return direct;
  const classes = samples.kind === 'classes' ? samples.classes : [];
  // One channel of the inputs is the smallest slice that carries a class's sample indices.
  const slices = await Promise.all(
    classes.map((classIndex) => client.request('slice', { run: dir, samples: { kind: 'class', classIndex }, layer: 'input', channel: 0, epoch }, { signal })),
  );
  return { kind: 'indices', indices: unionIndices(slices.map((r) => r.sampleIndices)) };
}

// The information plane is of every layer: the focus layer is only highlighted there, the epoch marked.
infoPlaneButton.addEventListener('click', () => {
  const run = chosenRun();
  if (run === undefined) return;
  const layers = run.info.manifest.layers;
  const focus = focusIndex(layers, session.selection);
  const epoch = session.selection.epoch;
  const choice = { run: run.dir, ...(focus >= 0 ? { layer: layers[focus].name } : {}), ...(epoch !== undefined ? { epoch } : {}) };
  client.request('openInfoPlane', choice).catch((err: unknown) => {
    view.queryStatus = { text: `Could not open the information plane: ${err instanceof RequestError ? errorText(err.info) : String(err)}`, error: true };
    scheduleRender();
  });
});

queryButton.addEventListener('click', () => {
  void runQuery();
});

async function runQuery(): Promise<void> {
  const run = chosenRun();
  if (run === undefined || view.querying !== undefined) return;
  const info = run.info;
  const epoch = resolvedEpoch(info, session.selection);
  if (epoch === undefined) return;
  const layers = info.manifest.layers;
  const selected = selectedIndices(layers, session.selection);
  const focus = focusIndex(layers, session.selection);
  const abort = new AbortController();
  view.querying = abort;
  view.queryStatus = { text: 'Querying…', error: false };
  scheduleRender();
  try {
    const samples = await sampleSelection(info, run.dir, samplesOf(session.selection), epoch, abort.signal);
    const others = selected
      .filter((i) => i !== focus)
      .map((i) => layers[i].name)
      .slice(0, MAX_VIEW_RUNS);
    const linked: LinkedSelection = {
      run: run.dir,
      ...(focus >= 0 ? { layer: layers[focus].name } : {}),
      ...(others.length > 0 ? { otherLayers: others } : {}),
      ...(focus >= 0 && session.selection.channel !== undefined ? { channel: session.selection.channel } : {}),
      epoch,
      samples,
    };
    const result = await client.request('query', linked, { signal: abort.signal });
    const names = { layer: 'layer view', channel: 'channel view', training: 'training view' } as const;
    view.queryStatus = result.opened
      ? { text: `Sent to the ${names[result.target]}.`, error: false }
      : { text: `Sent to the views showing this run; this version has no ${names[result.target]} to open.`, error: false };
  } catch (err) {
    if (err instanceof RequestError && err.cancelled) view.queryStatus = { text: 'Query cancelled.', error: false };
    else view.queryStatus = { text: `Query failed: ${err instanceof RequestError ? errorText(err.info) : String(err)}`, error: true };
  } finally {
    view.querying = undefined;
    scheduleRender();
  }
}

installExport(client, queryExport, toolbarActions);

scheduleRender();
session.start({
  // A command chose what to show (Analyze Model, a CodeLens): it replaces the layer selection.
  mergeSelection: (current, next) => {
    const merged = { ...current, ...next };
    const chosen = next.layers !== undefined && next.channel === undefined ? clearChannel(merged) : merged;
    const run = selectedOrFirstRun(session.runs, chosen.run);
    return run !== undefined ? followZoom(run.info.manifest.layers, current, chosen) : chosen;
  },
  // The Runs tree or another view chose a layer of this run; one outside the zoomed block shows all layers again.
  followLinked: (linked) => {
    const run = loadedRuns(session.runs).find((r) => r.dir === linked.run);
    return run !== undefined ? followZoom(run.info.manifest.layers, session.selection, applyLinked(run.info, session.selection, linked)) : session.selection;
  },
  reconcile: (sel) => {
    const run = chosenRun();
    // A zoom into a block the run no longer has (another run, a new manifest) is dropped.
    return run !== undefined ? reconcile(run.info, followZoom(run.info.manifest.layers, sel, { ...sel, run: run.dir })) : sel;
  },
  refresh: () => render(),
});

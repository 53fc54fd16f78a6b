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
import { parseQuerySelection } from '../../src/shared/messageValidation';
import type { LayerInfo, LayerKind, RunInfo } from '../../src/shared/runFormat';
import { MAX_VIEW_RUNS, type QuerySamples, type QuerySelection } from '../../src/shared/webviewProtocol';
import { byId, card, frameScheduler, h, replaceChildren, setText } from '../shared/dom';
import { epochSliderControl } from '../shared/epochSlider';
import { RequestError } from '../shared/hostClient';
import { errorText } from '../shared/requests';
import { loadedRuns, runName, runStatusLines, selectedOrFirstRun, type LoadedRun } from '../shared/runs';
import {
  boxFaces,
  channelAt,
  channelSpan,
  contains,
  CUBE,
  distanceToTAxis,
  epochAt,
  epochDepth,
  layerAt,
  layerSpan,
  points,
  tickIndices,
  type Point,
} from './cube';
import { describeSamples, directSampleSelection, unionIndices } from './samples';
import {
  applyLinked,
  channelCount,
  channelScale,
  clearChannel,
  clearLayers,
  clickLayer,
  focusIndex,
  queryTargetOf,
  reconcile,
  resolvedEpoch,
  selectChannel,
  selectedIndices,
  selectRange,
} from './selection';
import { s, titled } from './svg';
import { ViewSession } from '../shared/viewSession';

const session = new ViewSession<QuerySelection>((value) => parseQuerySelection(value));
const client = session.client;

/** A selection being dragged on the hypercube: drawn, not yet committed. */
let draft: QuerySelection | undefined;
let queryStatus: { text: string; error: boolean } = { text: '', error: false };
let querying: AbortController | undefined;

const KIND_LABELS: Readonly<Record<LayerKind, string>> = {
  conv: 'convolution',
  pool: 'pooling',
  norm: 'normalisation',
  activation: 'activation',
  linear: 'fully connected',
  flatten: 'flatten',
  dropout: 'dropout',
  block: 'block',
  other: 'other',
};

// ---------------------------------------------------------------------------------------------
// Layout, built once; render() fills it.

const root = byId('root');

const runSelect = h('select', { attrs: { id: 'run-select', 'aria-label': 'Run' } });
const runTitle = h('h1', { className: 'run-title', attrs: { id: 'run-title' } });
const status = h('div', { className: 'status', attrs: { id: 'status', role: 'status', 'aria-live': 'polite' } });

const blocks = h('ol', { className: 'blocks', attrs: { id: 'blocks', 'aria-label': 'Layers of the model, input to output' } });

const cube = s('svg', {
  id: 'cube',
  class: 'cube',
  viewBox: `0 0 ${CUBE.width} ${CUBE.height}`,
  role: 'application',
  tabindex: 0,
  'aria-roledescription': 'hypercube',
  'aria-describedby': 'cube-help',
});
const cubeHelp = h(
  'p',
  { className: 'note', attrs: { id: 'cube-help' } },
  'Drag along L to select layers; drag across L and C (on the front face, or along C) to select one channel of a layer; click or drag along T to pick the epoch. ',
  'Keys: ← → move the layer (Shift extends), ↑ ↓ pick a channel, Page Up/Down the epoch, Esc clears the channel, then the layers.',
);
const channelInput = h('input', { attrs: { id: 'channel-input', type: 'number', min: 0, step: 1, inputmode: 'numeric', 'aria-describedby': 'channel-range' } });
const channelRange = h('span', { className: 'note', attrs: { id: 'channel-range' } });
const clearChannelButton = h('button', { className: 'link-button', attrs: { id: 'clear-channel', type: 'button' } }, 'All channels');
const epochControl = epochSliderControl('Epoch (T)', 'Epoch (T)');
const { slider: epochSlider, output: epochLabel } = epochControl;

const samplesAll = h('input', { attrs: { id: 'samples-all', type: 'radio', name: 'samples', value: 'all' } });
const samplesClasses = h('input', { attrs: { id: 'samples-classes', type: 'radio', name: 'samples', value: 'classes' } });
const samplesCount = h('input', { attrs: { id: 'samples-count', type: 'radio', name: 'samples', value: 'count' } });
const classList = h('ul', { className: 'class-list', attrs: { id: 'class-list', 'aria-label': 'Classes' } });
const selectAllClasses = h('button', { className: 'link-button', attrs: { id: 'classes-all', type: 'button' } }, 'All');
const selectNoClass = h('button', { className: 'link-button', attrs: { id: 'classes-none', type: 'button' } }, 'None');
const countInput = h('input', { attrs: { id: 'sample-count', type: 'number', min: 1, step: 1, inputmode: 'numeric', 'aria-label': 'Number of samples' } });
const countMode = h(
  'select',
  { attrs: { id: 'sample-mode', 'aria-label': 'Which samples' } },
  h('option', { attrs: { value: 'first' } }, 'first'),
  h('option', { attrs: { value: 'random' } }, 'random'),
);
const seedInput = h('input', { attrs: { id: 'sample-seed', type: 'number', min: 0, step: 1, inputmode: 'numeric', 'aria-label': 'Random seed' } });
const seedLabel = h('label', { className: 'seed', attrs: { for: 'sample-seed' } }, 'seed');

const sliceText = h('p', { className: 'slice', attrs: { id: 'slice-text' } });
const targetText = h('p', { className: 'note', attrs: { id: 'query-target' } });
const queryButton = h('vscode-button', { attrs: { id: 'query-button', title: 'Send this slice to the other views' } }, 'Query');
const sourceButton = h('vscode-button', { attrs: { id: 'go-to-source', secondary: true } }, 'Go to source');
const queryStatusEl = h('p', { className: 'message', attrs: { id: 'query-status', role: 'status', 'aria-live': 'polite' } });

replaceChildren(
  root,
  h('header', { className: 'toolbar' }, runTitle, h('div', { className: 'toolbar-actions' }, runSelect)),
  status,
  card(
    'card-architecture',
    '(A) Architecture',
    blocks,
    h(
      'p',
      { className: 'note' },
      'Click a layer to select it; Shift-click selects a range, Ctrl-click (⌘-click) adds or removes a layer. Enter or Space on a focused block does the same.',
    ),
  ),
  h(
    'div',
    { className: 'query-columns' },
    card(
      'card-cube',
      '(B, C) The hypercube dCNN(X, L, C, T)',
      h('div', { className: 'cube-box' }, cube),
      h(
        'div',
        { className: 'controls' },
        h('div', { className: 'control' }, h('label', { attrs: { for: 'channel-input' } }, 'Channel (C)'), channelInput, channelRange, clearChannelButton),
        epochControl.element,
      ),
      cubeHelp,
    ),
    card(
      'card-samples',
      'Samples (X)',
      h(
        'fieldset',
        { className: 'samples' },
        h('legend', { className: 'visually-hidden' }, 'Which probe samples the slice takes'),
        h('div', { className: 'radio' }, samplesAll, h('label', { attrs: { for: 'samples-all' } }, 'All samples')),
        h(
          'div',
          { className: 'radio' },
          samplesClasses,
          h('label', { attrs: { for: 'samples-classes' } }, 'Some classes'),
          h('span', { className: 'class-actions' }, selectAllClasses, selectNoClass),
        ),
        classList,
        h(
          'div',
          { className: 'radio' },
          samplesCount,
          h('label', { attrs: { for: 'samples-count' } }, 'A number of samples:'),
          countMode,
          countInput,
          seedLabel,
          seedInput,
        ),
      ),
    ),
  ),
  h(
    'section',
    { className: 'query-bar', attrs: { id: 'query-bar', 'aria-label': 'Query' } },
    h('div', { className: 'query-text' }, sliceText, targetText, queryStatusEl),
    h('div', { className: 'query-actions' }, sourceButton, queryButton),
  ),
);
root.removeAttribute('aria-busy');

// ---------------------------------------------------------------------------------------------
// State helpers.

function chosenRun(): LoadedRun | undefined {
  return selectedOrFirstRun(session.runs, session.selection.run);
}

function samplesOf(sel: QuerySelection): QuerySamples {
  return sel.samples ?? { kind: 'all' };
}

/** Commits a change the user made; publishes the focus layer when it changed, so the Runs tree and the views showing this run follow. */
function commit(next: QuerySelection): void {
  const run = chosenRun();
  const before = session.selection;
  session.selection = run !== undefined ? reconcile(run.info, { ...next, run: run.dir }) : next;
  draft = undefined;
  queryStatus = { text: '', error: false };
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

function shown(): QuerySelection {
  return draft ?? session.selection;
}

// ---------------------------------------------------------------------------------------------
// Rendering.

const scheduleRender = frameScheduler(() => render());

function render(): void {
  const run = chosenRun();
  renderToolbar(run);
  renderStatus();
  renderBlocks(run);
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

function formatShape(shape: readonly number[]): string {
  return shape.join('×');
}

let blocksSignature = '';

function renderBlocks(run: LoadedRun | undefined): void {
  const info = run?.info;
  const signature = JSON.stringify(info === undefined ? null : [run?.dir, info.manifest.layers, info.manifest.probe.inputShape, info.manifest.classes.length]);
  if (signature !== blocksSignature) {
    blocksSignature = signature;
    if (info === undefined) replaceChildren(blocks);
    else
      replaceChildren(
        blocks,
        ioBlock('input', 'Input', formatShape(info.manifest.probe.inputShape), 'probe inputs (layer 0)'),
        ...info.manifest.layers.map((layer, i) => layerBlock(layer, i)),
        ioBlock('output', 'Output', String(info.manifest.classes.length), 'logits, one per class'),
      );
  }
  if (info === undefined) return;
  const sel = shown();
  const selected = new Set(selectedIndices(info.manifest.layers, sel));
  const focus = focusIndex(info.manifest.layers, sel);
  blocks.querySelectorAll<HTMLButtonElement>('button.block').forEach((button) => {
    const i = Number(button.dataset.index);
    button.setAttribute('aria-pressed', selected.has(i) ? 'true' : 'false');
    button.classList.toggle('focus', i === focus);
  });
}

function ioBlock(id: string, name: string, shape: string, detail: string): HTMLElement {
  return h(
    'li',
    { className: 'block-item' },
    h(
      'div',
      { className: 'block io', attrs: { id: `block-${id}`, title: detail } },
      h('span', { className: 'block-name' }, name),
      h('span', { className: 'block-shape' }, shape),
    ),
  );
}

function layerBlock(layer: LayerInfo, index: number): HTMLElement {
  const kind = layer.kind in KIND_LABELS ? layer.kind : 'other';
  const tooltip = [`${layer.name}: ${KIND_LABELS[kind]}${layer.op !== undefined ? ` (${layer.op})` : ''}`, `output ${formatShape(layer.shape)} per sample`];
  if (layer.source !== undefined) tooltip.push(`defined at ${layer.source.file}:${layer.source.line}`);
  const button = h(
    'button',
    { className: `block kind-${kind}`, attrs: { type: 'button', 'data-index': index, 'aria-pressed': 'false', title: tooltip.join('\n') } },
    h('span', { className: 'kind-bar', attrs: { 'aria-hidden': 'true' } }),
    h('span', { className: 'block-index' }, `L${index + 1}`),
    h('span', { className: 'block-name' }, layer.name),
    h('span', { className: 'block-op' }, layer.op ?? KIND_LABELS[kind]),
    h('span', { className: 'block-shape' }, formatShape(layer.shape)),
  );
  button.addEventListener('click', (event) => {
    const run = chosenRun();
    if (run === undefined) return;
    const modifier = event.shiftKey ? 'range' : event.ctrlKey || event.metaKey ? 'toggle' : 'none';
    commit(clickLayer(run.info.manifest.layers, session.selection, index, modifier));
  });
  return h('li', { className: 'block-item' }, button);
}

// The hypercube ------------------------------------------------------------------------------

function renderCube(run: LoadedRun | undefined): void {
  const children: SVGElement[] = [];
  const info = run?.info;
  const layers = info?.manifest.layers ?? [];
  const epochs = info?.manifest.epochs ?? [];
  const sel = shown();
  const L = layers.length;
  const C = channelScale(layers, sel);
  const E = epochs.length;
  const f = CUBE.face;
  const d = CUBE.depth;
  const whole = boxFaces(CUBE, f.x, f.x + f.w, f.y, f.y + f.h);

  // Back edges first, then the faces, so the slabs drawn after them sit inside the cube.
  children.push(s('polygon', { class: 'cube-face top', points: points(whole.top) }), s('polygon', { class: 'cube-face side', points: points(whole.side) }));
  children.push(s('rect', { id: 'cube-face', class: 'cube-face front', x: f.x, y: f.y, width: f.w, height: f.h }));

  // Each layer's column on the front face, as tall as its share of the C axis: the architecture's silhouette.
  layers.forEach((layer, i) => {
    const [x0, x1] = layerSpan(CUBE, i, L);
    const share = Math.min(1, channelCount(layer) / C);
    const kind = layer.kind in KIND_LABELS ? layer.kind : 'other';
    children.push(s('rect', { class: `layer-column kind-${kind}`, x: x0 + 0.5, y: f.y, width: Math.max(0, x1 - x0 - 1), height: f.h * share }));
    if (i > 0) children.push(s('line', { class: 'grid', x1: x0, y1: f.y, x2: x0 + d.x, y2: f.y + d.y }));
  });

  // The epoch slice: a plane parallel to the front face at its depth on T.
  const epochIndex = info !== undefined ? epochs.findIndex((e) => e.epoch === resolvedEpoch(info, sel)) : -1;
  if (epochIndex >= 0 && E > 1) {
    const t = epochDepth(epochIndex, E);
    children.push(s('rect', { id: 'epoch-plane', class: 'epoch-plane', x: f.x + t * d.x, y: f.y + t * d.y, width: f.w, height: f.h }));
  }

  const selected = selectedIndices(layers, sel);
  const focus = focusIndex(layers, sel);
  // The layer slices (Fig. 3B), one box per run of adjacent selected layers.
  for (const [a, b] of runsOf(selected)) {
    const [x0] = layerSpan(CUBE, a, L);
    const [, x1] = layerSpan(CUBE, b, L);
    const box = boxFaces(CUBE, x0, x1, f.y, f.y + f.h);
    children.push(
      s(
        'g',
        { class: 'slab layer-slab', 'data-from': a, 'data-to': b },
        s('polygon', { class: 'slab-front', points: points(box.front) }),
        s('polygon', { class: 'slab-top', points: points(box.top) }),
        s('polygon', { class: 'slab-side', points: points(box.side) }),
      ),
    );
  }
  // The channel slice and its intersection with the focus layer (Fig. 3C).
  if (sel.channel !== undefined && focus >= 0) {
    const [y0, y1] = channelSpan(CUBE, sel.channel, C);
    const slab = boxFaces(CUBE, f.x, f.x + f.w, y0, y1);
    children.push(
      s(
        'g',
        { class: 'slab channel-slab' },
        s('polygon', { class: 'slab-front', points: points(slab.front) }),
        s('polygon', { class: 'slab-side', points: points(slab.side) }),
      ),
    );
    const [x0, x1] = layerSpan(CUBE, focus, L);
    const cell = boxFaces(CUBE, x0, x1, y0, y1);
    children.push(
      titled(
        s(
          'g',
          { id: 'intersection', class: 'intersection', 'data-layer': focus, 'data-channel': sel.channel },
          s('polygon', { class: 'slab-front', points: points(cell.front) }),
          s('polygon', { class: 'slab-top', points: points(cell.top) }),
          s('polygon', { class: 'slab-side', points: points(cell.side) }),
        ),
        `${layers[focus].name}, channel ${sel.channel}`,
      ),
    );
  }
  children.push(
    s('rect', { class: 'cube-outline', x: f.x, y: f.y, width: f.w, height: f.h }),
    s('polygon', { class: 'cube-outline', points: points(whole.top) }),
    s('polygon', { class: 'cube-outline', points: points(whole.side) }),
  );

  children.push(lAxis(layers, selected), cAxis(layers, sel, C, focus), tAxis(info, epochIndex));
  replaceChildren(cube as unknown as Element, ...children);
  cube.setAttribute(
    'aria-label',
    info === undefined
      ? 'Hypercube (no run loaded)'
      : `Hypercube of ${info.name}: ${L} layers, up to ${Math.max(1, ...layers.map(channelCount))} channels, ${E} epochs. ${describeSlice(info, sel)}`,
  );
}

/** Runs of consecutive indices: [[0, 2], [5, 5]] for 0, 1, 2, 5. */
function runsOf(indices: readonly number[]): [number, number][] {
  const out: [number, number][] = [];
  for (const i of indices) {
    const last = out[out.length - 1];
    if (last !== undefined && last[1] === i - 1) last[1] = i;
    else out.push([i, i]);
  }
  return out;
}

function lAxis(layers: readonly LayerInfo[], selected: readonly number[]): SVGElement {
  const a = CUBE.lAxis;
  const L = layers.length;
  const g = s('g', { id: 'l-axis', class: 'axis l-axis', 'data-layers': L });
  g.appendChild(s('rect', { class: 'axis-band', x: a.x, y: a.y, width: a.w, height: a.h }));
  const labelEvery = Math.max(1, Math.ceil(L / 24));
  layers.forEach((layer, i) => {
    const [x0, x1] = layerSpan(CUBE, i, L);
    const tick = titled(
      s('rect', { class: `l-tick${selected.includes(i) ? ' selected' : ''}`, 'data-index': i, x: x0, y: a.y, width: x1 - x0, height: a.h }),
      `L${i + 1}: ${layer.name}`,
    );
    g.appendChild(tick);
    if (i % labelEvery === 0 || i === L - 1)
      g.appendChild(s('text', { class: 'tick-label', x: (x0 + x1) / 2, y: a.y + a.h / 2 + 4, 'text-anchor': 'middle' }, String(i + 1)));
  });
  g.appendChild(s('text', { class: 'axis-title', x: a.x + a.w / 2, y: a.y + a.h + 20, 'text-anchor': 'middle' }, 'L (layers)'));
  return g;
}

function cAxis(layers: readonly LayerInfo[], sel: QuerySelection, C: number, focus: number): SVGElement {
  const a = CUBE.cAxis;
  const single = selectedIndices(layers, sel).length === 1 ? layers[focus] : undefined;
  const g = s('g', { id: 'c-axis', class: 'axis c-axis', 'data-channels': C });
  g.appendChild(s('rect', { class: 'axis-band', x: a.x, y: a.y, width: a.w, height: a.h }));
  for (const c of tickIndices(C, 6)) {
    const [y0, y1] = channelSpan(CUBE, c, C);
    g.appendChild(s('text', { class: 'tick-label', x: a.x + a.w / 2, y: (y0 + y1) / 2 + 4, 'text-anchor': 'middle' }, String(c)));
  }
  if (sel.channel !== undefined && focus >= 0) {
    const [y0, y1] = channelSpan(CUBE, sel.channel, C);
    g.appendChild(s('rect', { class: 'c-marker', x: a.x, y: y0, width: a.w, height: Math.max(2, y1 - y0) }));
  }
  const title = single !== undefined ? `C (${C} channels of ${single.name})` : `C (channels, up to ${C})`;
  g.appendChild(
    s('text', { class: 'axis-title', x: a.x - 10, y: a.y + a.h / 2, 'text-anchor': 'middle', transform: `rotate(-90 ${a.x - 10} ${a.y + a.h / 2})` }, title),
  );
  return g;
}

function tAxis(info: RunInfo | undefined, epochIndex: number): SVGElement {
  const epochs = info?.manifest.epochs ?? [];
  const E = epochs.length;
  const g = s('g', { id: 't-axis', class: 'axis t-axis', 'data-epochs': E });
  g.appendChild(s('line', { class: 'axis-hit', x1: CUBE.tFrom.x, y1: CUBE.tFrom.y, x2: CUBE.tTo.x, y2: CUBE.tTo.y }));
  g.appendChild(s('line', { class: 'axis-line', x1: CUBE.tFrom.x, y1: CUBE.tFrom.y, x2: CUBE.tTo.x, y2: CUBE.tTo.y }));
  const at = (k: number): Point => {
    const t = epochDepth(k, E);
    return { x: CUBE.tFrom.x + t * (CUBE.tTo.x - CUBE.tFrom.x), y: CUBE.tFrom.y + t * (CUBE.tTo.y - CUBE.tFrom.y) };
  };
  for (const k of tickIndices(E, 6)) {
    const p = at(k);
    g.appendChild(s('circle', { class: 'tick-dot', cx: p.x, cy: p.y, r: 2 }));
    g.appendChild(s('text', { class: 'tick-label', x: p.x + 8, y: p.y + 4 }, String(epochs[k].epoch)));
  }
  if (epochIndex >= 0) {
    const p = at(epochIndex);
    g.appendChild(s('circle', { id: 't-marker', class: 't-marker', cx: p.x, cy: p.y, r: 5 }));
  }
  g.appendChild(s('text', { class: 'axis-title', x: CUBE.tTo.x + 8, y: CUBE.tTo.y - 10 }, 'T (epochs)'));
  return g;
}

// Controls -----------------------------------------------------------------------------------

function renderControls(run: LoadedRun | undefined): void {
  const info = run?.info;
  const layers = info?.manifest.layers ?? [];
  const sel = shown();
  const focus = focusIndex(layers, sel);
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

function describeSlice(info: RunInfo, sel: QuerySelection): string {
  const layers = info.manifest.layers;
  const selected = selectedIndices(layers, sel);
  const x = describeSamples(samplesOf(sel), info.manifest.classes, info.manifest.probe.count);
  let l: string;
  if (selected.length === 0) l = '−';
  else if (selected.length === 1) l = layers[selected[0]].name;
  else {
    const runsList = runsOf(selected).map(([a, b]) => (a === b ? layers[a].name : `${layers[a].name}…${layers[b].name}`));
    l = `{${runsList.join(', ')}} (${selected.length} layers)`;
  }
  const c = sel.channel !== undefined && selected.length > 0 ? `channel ${sel.channel}` : '−';
  const epoch = resolvedEpoch(info, sel);
  const t = epoch === undefined ? '−' : `epoch ${epoch}`;
  return `dCNN(x = ${x}, l = ${l}, c = ${c}, t = ${t})`;
}

function renderQueryBar(run: LoadedRun | undefined): void {
  const info = run?.info;
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
  setText(queryStatusEl, queryStatus.text);
  queryStatusEl.classList.toggle('error', queryStatus.error);
  queryButton.toggleAttribute('disabled', info.manifest.epochs.length === 0 || noClass || querying !== undefined);

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
// The hypercube's gestures.

type DragMode = 'layers' | 'cell' | 'channel' | 'epoch';

interface Drag {
  readonly mode: DragMode;
  readonly pointerId: number;
  readonly startLayer: number;
  /** The C axis's scale when the drag began: it must not change under the pointer. */
  readonly scale: number;
  readonly base: QuerySelection;
}

let drag: Drag | undefined;

function svgPoint(event: PointerEvent): Point {
  const m = cube.getScreenCTM();
  if (m === null) return { x: 0, y: 0 };
  const p = new DOMPoint(event.clientX, event.clientY).matrixTransform(m.inverse());
  return { x: p.x, y: p.y };
}

function dragged(d: Drag, p: Point, info: RunInfo): QuerySelection {
  const layers = info.manifest.layers;
  const L = layers.length;
  switch (d.mode) {
    case 'layers':
      return selectRange(layers, d.base, d.startLayer, layerAt(CUBE, p.x, L));
    case 'cell': {
      const layer = layerAt(CUBE, p.x, L);
      const from = selectRange(layers, d.base, d.startLayer, layer);
      const channel = channelAt(CUBE, p.y, d.scale);
      // The channel belongs to the layer where the drag started; the L extent of the drag adds layers.
      return channel < channelCount(layers[d.startLayer]) ? { ...from, channel } : clearChannel(from);
    }
    case 'channel': {
      const focus = focusIndex(layers, d.base);
      return selectChannel(layers, d.base, focus, channelAt(CUBE, p.y, d.scale), true);
    }
    case 'epoch': {
      const epochs = info.manifest.epochs;
      const k = epochAt(CUBE, p, epochs.length);
      const { epoch: _epoch, ...rest } = d.base;
      return k === epochs.length - 1 ? rest : { ...d.base, epoch: epochs[k].epoch };
    }
  }
}

cube.addEventListener('pointerdown', (event: PointerEvent) => {
  const run = chosenRun();
  if (run === undefined || event.button !== 0) return;
  const info = run.info;
  const layers = info.manifest.layers;
  const p = svgPoint(event);
  let mode: DragMode | undefined;
  if (layers.length > 0 && contains(CUBE.lAxis, p, 2)) mode = 'layers';
  else if (layers.length > 0 && contains(CUBE.face, p)) mode = 'cell';
  else if (contains(CUBE.cAxis, p, 2)) {
    if (focusIndex(layers, session.selection) >= 0) mode = 'channel';
    else {
      queryStatus = { text: 'Select a layer first: a channel is one of its channels.', error: false };
      scheduleRender();
    }
  } else if (info.manifest.epochs.length > 0 && distanceToTAxis(CUBE, p) <= 14) mode = 'epoch';
  if (mode === undefined) return;
  event.preventDefault();
  cube.focus();
  cube.setPointerCapture(event.pointerId);
  drag = {
    mode,
    pointerId: event.pointerId,
    startLayer: layerAt(CUBE, p.x, layers.length),
    scale: channelScale(layers, session.selection),
    base: session.selection,
  };
  draft = dragged(drag, p, info);
  scheduleRender();
});

cube.addEventListener('pointermove', (event: PointerEvent) => {
  const run = chosenRun();
  if (drag === undefined || run === undefined || event.pointerId !== drag.pointerId) return;
  draft = dragged(drag, svgPoint(event), run.info);
  scheduleRender();
});

function endDrag(event: PointerEvent, keep: boolean): void {
  const run = chosenRun();
  if (drag === undefined || event.pointerId !== drag.pointerId) return;
  const d = drag;
  drag = undefined;
  if (cube.hasPointerCapture(event.pointerId)) cube.releasePointerCapture(event.pointerId);
  if (!keep || run === undefined) {
    draft = undefined;
    scheduleRender();
    return;
  }
  commit(dragged(d, svgPoint(event), run.info));
}

cube.addEventListener('pointerup', (event: PointerEvent) => endDrag(event, true));
cube.addEventListener('pointercancel', (event: PointerEvent) => endDrag(event, false));

cube.addEventListener('keydown', (event: KeyboardEvent) => {
  const run = chosenRun();
  if (run === undefined) return;
  const info = run.info;
  const layers = info.manifest.layers;
  const epochs = info.manifest.epochs;
  const focus = focusIndex(layers, session.selection);
  const selected = selectedIndices(layers, session.selection);
  let next: QuerySelection | undefined;
  switch (event.key) {
    case 'ArrowLeft':
    case 'ArrowRight': {
      if (layers.length === 0) return;
      const step = event.key === 'ArrowLeft' ? -1 : 1;
      if (event.shiftKey && focus >= 0) {
        // Extends (or shrinks) the far end of the range, keeping the focus where the range began.
        const far = selected[0] === focus ? selected[selected.length - 1] : selected[0];
        next = selectRange(layers, session.selection, focus, Math.min(layers.length - 1, Math.max(0, far + step)));
      } else
        next = selectRange(
          layers,
          session.selection,
          focus < 0 ? 0 : Math.min(layers.length - 1, Math.max(0, focus + step)),
          focus < 0 ? 0 : Math.min(layers.length - 1, Math.max(0, focus + step)),
        );
      break;
    }
    case 'Home':
    case 'End':
      if (layers.length === 0) return;
      next = event.key === 'Home' ? selectRange(layers, session.selection, 0, 0) : selectRange(layers, session.selection, layers.length - 1, layers.length - 1);
      break;
    case 'ArrowUp':
    case 'ArrowDown': {
      if (focus < 0 || channelCount(layers[focus]) === 0) return;
      const current = session.selection.channel ?? (event.key === 'ArrowDown' ? -1 : channelCount(layers[focus]));
      next = selectChannel(layers, session.selection, focus, current + (event.key === 'ArrowUp' ? -1 : 1), true);
      break;
    }
    case 'PageUp':
    case 'PageDown': {
      if (epochs.length === 0) return;
      const at = epochs.findIndex((e) => e.epoch === resolvedEpoch(info, session.selection));
      const k = Math.min(epochs.length - 1, Math.max(0, at + (event.key === 'PageUp' ? 1 : -1)));
      const { epoch: _epoch, ...rest } = session.selection;
      next = k === epochs.length - 1 ? rest : { ...session.selection, epoch: epochs[k].epoch };
      break;
    }
    case 'Escape':
      if (session.selection.channel !== undefined) next = clearChannel(session.selection);
      else if (selected.length > 0) next = clearLayers(session.selection);
      else return;
      break;
    default:
      return;
  }
  event.preventDefault();
  commit(next);
});

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
    queryStatus = { text: `${layers[focus].name} has channels 0 to ${channelCount(layers[focus]) - 1}.`, error: true };
    channelInput.value = session.selection.channel !== undefined ? String(session.selection.channel) : '';
    scheduleRender();
  }
});

clearChannelButton.addEventListener('click', () => commit(clearChannel(session.selection)));

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
    queryStatus = { text: `Could not open the source: ${err instanceof RequestError ? errorText(err.info) : String(err)}`, error: true };
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

queryButton.addEventListener('click', () => {
  void runQuery();
});

async function runQuery(): Promise<void> {
  const run = chosenRun();
  if (run === undefined || querying !== undefined) return;
  const info = run.info;
  const epoch = resolvedEpoch(info, session.selection);
  if (epoch === undefined) return;
  const layers = info.manifest.layers;
  const selected = selectedIndices(layers, session.selection);
  const focus = focusIndex(layers, session.selection);
  const abort = new AbortController();
  querying = abort;
  queryStatus = { text: 'Querying…', error: false };
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
    queryStatus = result.opened
      ? { text: `Sent to the ${names[result.target]}.`, error: false }
      : { text: `Sent to the views showing this run; this version has no ${names[result.target]} to open.`, error: false };
  } catch (err) {
    if (err instanceof RequestError && err.cancelled) queryStatus = { text: '', error: false };
    else queryStatus = { text: `Query failed: ${err instanceof RequestError ? errorText(err.info) : String(err)}`, error: true };
  } finally {
    querying = undefined;
    scheduleRender();
  }
}

scheduleRender();
session.start({
  // A command chose what to show (Analyze Model, a CodeLens): it replaces the layer selection.
  mergeSelection: (current, next) => {
    const merged = { ...current, ...next };
    return next.layers !== undefined && next.channel === undefined ? clearChannel(merged) : merged;
  },
  // The Runs tree or another view chose a layer of this run.
  followLinked: (linked) => {
    const run = loadedRuns(session.runs).find((r) => r.dir === linked.run);
    return run !== undefined ? applyLinked(run.info, session.selection, linked) : session.selection;
  },
  reconcile: (sel) => {
    const run = chosenRun();
    return run !== undefined ? reconcile(run.info, { ...sel, run: run.dir }) : sel;
  },
  refresh: () => render(),
});

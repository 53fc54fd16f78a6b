// The query view's (A): the model's architecture as a row of blocks, input to output. A run of at
// most 16 layers is a row of layers; a deeper one is a row of its modules (hierarchy.ts), each a
// chip collapsed by default that opens its layers (and sub-modules) in place. The selection is
// always on screen: the modules holding it open when it changes, and the row scrolls to the focus.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import type { LayerInfo } from '../../src/shared/runFormat';
import { h, replaceChildren } from '../shared/dom';
import { type LoadedRun } from '../shared/runs';
import { archTree, groupsHolding, isGroup, partition, type ArchNode } from './hierarchy';
import { focusIndex, selectedIndices } from './selection';
import { shown } from './choices';
import { blocks } from './layout';
import { KIND_LABELS, view } from './state';

export function formatShape(shape: readonly number[]): string {
  return shape.join('×');
}

export let blocksSignature = '';

/** A click on a layer block: its index, and whether Shift (a range) or Ctrl/Cmd (a toggle) was held. */
export type PickLayer = (index: number, modifier: 'range' | 'toggle' | 'none') => void;

export interface BlockActions {
  readonly pick: PickLayer;
  /** Zooms the hypercube's L axis into the module `path`. */
  readonly zoom: (path: string) => void;
  /** Draws again after a module opened or closed. */
  readonly redraw: () => void;
}

function isOpen(path: string): boolean {
  return view.expanded.has(path) || view.revealed.has(path);
}

export function renderBlocks(run: LoadedRun | undefined, actions: BlockActions): void {
  const info = run?.info;
  const layers = info?.manifest.layers ?? [];
  const sel = shown();
  const focus = focusIndex(layers, sel);
  const selected = new Set(selectedIndices(layers, sel));
  const tree = archTree(layers);
  // The modules holding selected layers open when the selection changes (a layer chosen in the
  // tree, Go to Layer, the hypercube), and close again when it leaves them, unless the user opened
  // them: the selection is always on screen.
  const selectionKey = `${run?.dir}|${[...selected].join(',')}`;
  if (selectionKey !== lastSelectionKey) view.revealed = new Set([...selected].flatMap((i) => groupsHolding(tree, i).map((g) => g.path)));
  lastSelectionKey = selectionKey;
  const focusKey = `${run?.dir}|${focus}`;
  const focusMoved = focusKey !== lastFocusKey;
  const signature = JSON.stringify(
    info === undefined
      ? null
      : [run?.dir, layers, info.manifest.probe.inputShape, info.manifest.classes.length, [...view.expanded], [...view.revealed], sel.layerZoom],
  );
  if (signature !== blocksSignature) {
    blocksSignature = signature;
    const active = document.activeElement instanceof HTMLElement && blocks.contains(document.activeElement) ? document.activeElement : undefined;
    if (info === undefined) replaceChildren(blocks);
    else
      replaceChildren(
        blocks,
        ioBlock('input', 'Input', formatShape(info.manifest.probe.inputShape), 'probe inputs (layer 0)'),
        ...items(partition(tree, { from: 0, to: layers.length - 1 }), layers, actions, sel.layerZoom),
        ioBlock('output', 'Output', String(info.manifest.classes.length), 'logits, one per class'),
      );
    // The row was rebuilt under the keyboard: the same block or chip keeps the focus.
    if (active !== undefined) refocus(active);
  }
  if (info === undefined) return;
  let focusButton: HTMLButtonElement | undefined;
  blocks.querySelectorAll<HTMLButtonElement>('button.block').forEach((button) => {
    const i = Number(button.dataset.index);
    button.setAttribute('aria-pressed', selected.has(i) ? 'true' : 'false');
    button.classList.toggle('focus', i === focus);
    if (i === focus) focusButton = button;
  });
  // A module the user closed over selected layers says so: marked, and its chip counts them.
  const holdingFocus = new Set(focus >= 0 ? groupsHolding(tree, focus).map((g) => g.path) : []);
  const holdingSelected = new Map<string, number>();
  for (const i of selected) for (const g of groupsHolding(tree, i)) holdingSelected.set(g.path, (holdingSelected.get(g.path) ?? 0) + 1);
  blocks.querySelectorAll<HTMLButtonElement>('button.group-chip').forEach((chip) => {
    const path = chip.dataset.path ?? '';
    const closed = chip.getAttribute('aria-expanded') === 'false';
    const n = closed ? (holdingSelected.get(path) ?? 0) : 0;
    chip.classList.toggle('holds-selection', n > 0);
    chip.classList.toggle('holds-focus', closed && holdingFocus.has(path));
    const note = chip.querySelector('.group-selected');
    if (note !== null) note.textContent = n === 0 ? '' : holdingFocus.has(path) ? `${n} selected, focus inside` : `${n} selected`;
    if (closed && holdingFocus.has(path)) focusButton ??= chip;
  });
  // The row follows the selection: at 50–150 layers the focus block is usually off screen. Only
  // when the focus changes, so a row the user scrolled by hand stays where it is.
  if (focusButton !== undefined && focusMoved) scrollIntoRow(focusButton);
  lastFocusKey = focusKey;
}

let lastFocusKey = '';
let lastSelectionKey = '';

function refocus(was: HTMLElement): void {
  const selector =
    was.dataset.index !== undefined
      ? `button.block[data-index="${was.dataset.index}"]`
      : was.dataset.path !== undefined
        ? `button.${was.classList.contains('group-zoom') ? 'group-zoom' : 'group-chip'}[data-path="${CSS.escape(was.dataset.path)}"]`
        : undefined;
  if (selector !== undefined) blocks.querySelector<HTMLElement>(selector)?.focus();
}

/** Scrolls the row of blocks sideways so that `button` is in view, centred when it was out of it; never the page. */
function scrollIntoRow(button: HTMLElement): void {
  const row = blocks.getBoundingClientRect();
  const b = button.getBoundingClientRect();
  if (b.left >= row.left && b.right <= row.right) return;
  blocks.scrollLeft += b.left - row.left - (row.width - b.width) / 2;
}

/** The row's entries for `nodes`: a layer's block, a closed module's chip, or an open module's chip followed by its own entries. */
function items(nodes: readonly ArchNode[], layers: readonly LayerInfo[], actions: BlockActions, zoom: string | undefined): HTMLElement[] {
  return nodes.map((node) => {
    if (!isGroup(node)) return layerBlock(layers[node.layer ?? 0], node.layer ?? 0, actions.pick);
    const open = isOpen(node.path);
    const chip = h(
      'button',
      {
        className: 'group-chip',
        attrs: {
          type: 'button',
          'data-path': node.path,
          'aria-expanded': open ? 'true' : 'false',
          title: `${node.path}: layers ${node.from + 1}–${node.to + 1}. ${open ? 'Close' : 'Open'} it.`,
        },
      },
      h('span', { className: 'group-name' }, node.path),
      h('span', { className: 'group-count' }, `${open ? '▾' : '▸'} ${node.count} layers`),
      h('span', { className: 'block-index' }, `L${node.from + 1}–L${node.to + 1}`),
      h('span', { className: 'group-selected' }),
    );
    chip.addEventListener('click', () => {
      if (isOpen(node.path)) {
        view.expanded.delete(node.path);
        view.revealed.delete(node.path);
      } else view.expanded.add(node.path);
      actions.redraw();
    });
    if (!open) return h('li', { className: 'block-item group-item' }, chip);
    const zoomButton = h(
      'button',
      {
        className: 'link-button group-zoom',
        attrs: {
          type: 'button',
          'data-path': node.path,
          'aria-pressed': zoom === node.path ? 'true' : 'false',
          title: `Zoom the hypercube's L axis to ${node.path}`,
        },
      },
      'Zoom L',
    );
    zoomButton.addEventListener('click', () => actions.zoom(node.path));
    return h(
      'li',
      { className: 'block-item group-item open' },
      h(
        'div',
        { className: 'group-box' },
        h('div', { className: 'group-head' }, chip, zoomButton),
        h('ol', { className: 'blocks group-children' }, ...items(node.children, layers, actions, zoom)),
      ),
    );
  });
}

export function ioBlock(id: string, name: string, shape: string, detail: string): HTMLElement {
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

export function layerBlock(layer: LayerInfo, index: number, pick: PickLayer): HTMLElement {
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
  button.addEventListener('click', (event) => pick(index, event.shiftKey ? 'range' : event.ctrlKey || event.metaKey ? 'toggle' : 'none'));
  return h('li', { className: 'block-item' }, button);
}

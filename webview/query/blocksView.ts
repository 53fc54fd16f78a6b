// The query view's (A): the model's architecture as a row of layer blocks, input to output.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import type { LayerInfo } from '../../src/shared/runFormat';
import { h, replaceChildren } from '../shared/dom';
import { type LoadedRun } from '../shared/runs';
import { focusIndex, selectedIndices } from './selection';
import { shown } from './choices';
import { blocks } from './layout';
import { KIND_LABELS } from './state';

export function formatShape(shape: readonly number[]): string {
  return shape.join('×');
}

export let blocksSignature = '';

/** A click on a layer block: its index, and whether Shift (a range) or Ctrl/Cmd (a toggle) was held. */
export type PickLayer = (index: number, modifier: 'range' | 'toggle' | 'none') => void;

export function renderBlocks(run: LoadedRun | undefined, pick: PickLayer): void {
  const info = run?.info;
  const signature = JSON.stringify(info === undefined ? null : [run?.dir, info.manifest.layers, info.manifest.probe.inputShape, info.manifest.classes.length]);
  if (signature !== blocksSignature) {
    blocksSignature = signature;
    if (info === undefined) replaceChildren(blocks);
    else
      replaceChildren(
        blocks,
        ioBlock('input', 'Input', formatShape(info.manifest.probe.inputShape), 'probe inputs (layer 0)'),
        ...info.manifest.layers.map((layer, i) => layerBlock(layer, i, pick)),
        ioBlock('output', 'Output', String(info.manifest.classes.length), 'logits, one per class'),
      );
  }
  if (info === undefined) return;
  const sel = shown();
  const selected = new Set(selectedIndices(info.manifest.layers, sel));
  const focus = focusIndex(info.manifest.layers, sel);
  let focusButton: HTMLButtonElement | undefined;
  blocks.querySelectorAll<HTMLButtonElement>('button.block').forEach((button) => {
    const i = Number(button.dataset.index);
    button.setAttribute('aria-pressed', selected.has(i) ? 'true' : 'false');
    button.classList.toggle('focus', i === focus);
    if (i === focus) focusButton = button;
  });
  // The row follows the selection (a layer chosen in the tree, Go to Layer, the hypercube): at
  // 50–150 layers the focus block is usually off screen. Only when the focus changes, so a row the
  // user scrolled by hand stays where it is.
  const focusKey = `${run?.dir}|${focus}`;
  if (focusButton !== undefined && focusKey !== lastFocusKey) scrollIntoRow(focusButton);
  lastFocusKey = focusKey;
}

let lastFocusKey = '';

/** Scrolls the row of blocks sideways so that `button` is in view, centred when it was out of it; never the page. */
function scrollIntoRow(button: HTMLElement): void {
  const row = blocks.getBoundingClientRect();
  const b = button.getBoundingClientRect();
  if (b.left >= row.left && b.right <= row.right) return;
  blocks.scrollLeft += b.left - row.left - (row.width - b.width) / 2;
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

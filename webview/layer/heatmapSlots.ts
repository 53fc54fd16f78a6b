// The layer view's heatmaps side by side (Fig. 12): one slot per lj, each with its layer picker,
// its canvas and navigation, its message and caption; what the pointer or keyboard does on a cell;
// and the numbers the browser tests read (window.cnnslicerLayerView).
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import { h, replaceChildren } from '../shared/dom';
import { ProgressLine } from '../shared/progressLine';
import { type LoadedRun } from '../shared/runs';
import { chosenEpoch, chosenLayer, chosenOthers, chosenRun, layerNames, layerShapeText, publishSelection, select } from './choices';
import { HeatmapCanvas, type HeatmapHit } from './heatmap';
import { HeatmapNav } from './heatmapNav';
import { heatmapRow, tooltip, type SingleSelect } from './layout';
import { formatBits } from './legend';
import type { ScaleRange } from './capacityModel';
import { session } from './state';
import type { Rgba } from '../shared/theme';
import type { LayerViewModel } from './viewModel';

export interface Slot {
  readonly other: string;
  readonly element: HTMLElement;
  readonly heatmap: HeatmapCanvas;
  readonly nav: HeatmapNav;
  readonly select: SingleSelect;
  readonly message: ProgressLine;
  readonly caption: HTMLElement;
}

/** Matrices larger than this are left out of the test model's `capacity` (the tests of large ones read geometry and order). */
const MODEL_CAPACITY_CELLS = 65_536;

export const slotState = {
  slots: [] as Slot[],
  signature: '',
  /** The colour scale last drawn, for the test model. */
  range: undefined as ScaleRange | undefined,
};

export interface SlotActions {
  /** A cell was chosen: ask for its feature maps and draw again. */
  cellChosen(): void;
  focusColor(): Rgba;
}

export function clearSlots(): void {
  slotState.signature = '';
  slotState.slots = [];
  replaceChildren(heatmapRow);
}

export function buildSlots(run: LoadedRun, others: readonly string[], actions: SlotActions): void {
  const layer = chosenLayer(run);
  slotState.slots = others.map((other, i) => {
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
    const message = new ProgressLine(`heatmap-message-${i}`, 'message heatmap-message');
    const caption = h('p', { className: 'caption heatmap-caption', attrs: { id: `heatmap-caption-${i}` } });
    const axisY = h('div', { className: 'axis-title axis-rows' }, `${other} channels ↓ (rows)`);
    const axisX = h('div', { className: 'axis-title axis-columns' }, `${layer} channels → (columns)`);
    const nav = new HeatmapNav(
      heatmap,
      {
        hover: (hit, x, y) => showCell(heatmap, other, hit, x, y),
        leave: () => tooltip.hide(),
        select: (hit) => chooseCell(other, hit, actions),
      },
      () => actions.focusColor(),
    );
    const element = h(
      'figure',
      { className: 'heatmap', attrs: { 'data-other': other } },
      h('div', { className: 'heatmap-head' }, h('span', { className: 'heatmap-title' }, `${layer} × `), otherSelect, remove),
      message.element,
      axisX,
      h('div', { className: 'heatmap-body' }, axisY, heatmap.canvas, nav.minimap),
      nav.element,
      caption,
    );
    return { other, element, heatmap, nav, select: otherSelect, message, caption };
  });
  replaceChildren(heatmapRow, ...slotState.slots.map((s) => s.element));
}

function showCell(heatmap: HeatmapCanvas, other: string, hit: HeatmapHit, x: number, y: number): void {
  const input = heatmap.current;
  const run = chosenRun();
  if (input === undefined || run === undefined) return;
  tooltip.show(
    [
      `${chosenLayer(run)} channel ${hit.column} (column) × ${other} channel ${hit.row} (row)`,
      `capacity ${formatBits(hit.value)} bits at epoch ${input.result.epoch}`,
      `H(A) = ${formatBits(input.result.hA[hit.column])} bits, H(B) = ${formatBits(input.result.hB[hit.row])} bits`,
    ],
    x,
    y,
  );
}

function chooseCell(other: string, hit: HeatmapHit, actions: SlotActions): void {
  session.selection = { ...session.selection, cell: { otherLayer: other, column: hit.column, row: hit.row } };
  session.save();
  actions.cellChosen();
  // The column filter's channel is the one the other views highlight: it is a channel of li, the layer in focus.
  publishSelection(hit.column);
}

/**
 * What the view draws, for the webview's developer tools and the browser tests: each heatmap's
 * pair, epoch, order and where its cells are.
 */
window.cnnslicerLayerView = (): LayerViewModel => {
  const run = chosenRun();
  return {
    layer: run !== undefined ? chosenLayer(run) : undefined,
    epoch: run !== undefined ? chosenEpoch(run) : undefined,
    range: slotState.range,
    heatmaps: slotState.slots.map((slot) => {
      const input = slot.heatmap.current;
      const r = input?.result;
      const small = r !== undefined && r.rows * r.cols <= MODEL_CAPACITY_CELLS;
      return {
        canvasId: slot.heatmap.canvas.id,
        otherLayer: slot.other,
        epoch: r?.epoch,
        rows: r?.rows ?? 0,
        cols: r?.cols ?? 0,
        columns: input !== undefined ? Array.from(input.order.columns) : [],
        rowOrder: input !== undefined ? Array.from(input.order.rows) : [],
        capacity: small ? Array.from({ length: r.rows }, (_, b) => Array.from(r.capacity.subarray(b * r.cols, (b + 1) * r.cols))) : [],
        geometry: slot.heatmap.geometry,
        linkedColumn: input?.linkedColumn,
        linkedRow: input?.linkedRow,
        selected: input?.selected,
        cursor: slot.heatmap.cursor,
      };
    }),
  };
};

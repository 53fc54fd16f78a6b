// The layer view's layout, built once; the view's other files fill it.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import { byId, card, h, replaceChildren, Tooltip } from '../shared/dom';
import { epochSliderControl } from '../shared/epochSlider';
import { RunHeader } from '../shared/runHeader';
import { chosenRun } from './choices';
import { informationCard } from './informationCard';
import { pendingBanner } from './pendingLayer';
import { client } from './state';

export const root = byId('root');
export const tooltip = new Tooltip('view-tooltip');

export const header = new RunHeader(client, () => chosenRun());
export const status = h('div', { className: 'status', attrs: { id: 'status', role: 'status', 'aria-live': 'polite' } });

export const layerSelect = h('vscode-single-select', { attrs: { id: 'layer-select', 'aria-label': 'Layer li: the columns of every heatmap' } });
export const samplesSelect = h('vscode-single-select', { attrs: { id: 'samples-select', 'aria-label': 'Probe samples the capacities are computed from' } });
export const sortColumnsSelect = sortSelect('sort-columns', 'Sort the columns');
export const sortRowsSelect = sortSelect('sort-rows', 'Sort the rows');
export const scaleSelect = h(
  'vscode-single-select',
  { attrs: { id: 'scale-select', 'aria-label': 'Colour scale' } },
  h('vscode-option', { attrs: { value: 'epoch' } }, 'this epoch (min to max)'),
  h('vscode-option', { attrs: { value: 'run' } }, 'all epochs (0 to max)'),
);
export const epochControl = epochSliderControl('Epoch', 'Epoch');
export const { slider: epochSlider, output: epochLabel } = epochControl;

export const heatmapRow = h('div', { className: 'heatmap-row', attrs: { id: 'heatmaps' } });
export const addOtherButton = h(
  'vscode-button',
  { attrs: { id: 'add-other', secondary: true, title: 'Compare li with one more layer, side by side on the same colour scale' } },
  'Compare with another layer',
);
export const legendCanvas = h('canvas', {
  className: 'legend-ramp',
  attrs: { id: 'legend-ramp', role: 'img', 'aria-label': 'Colour scale: brighter is smaller capacity' },
});
export const legendMin = h('span', { className: 'legend-value', attrs: { id: 'legend-min' } });
export const legendMax = h('span', { className: 'legend-value', attrs: { id: 'legend-max' } });
export const legendNote = h('span', { className: 'note', attrs: { id: 'legend-note' } });

export const detailTitle = h('h2', { attrs: { id: 'detail-title' } }, 'Feature maps of a cell');
export const detailCaption = h('p', { className: 'caption', attrs: { id: 'detail-caption' } });
export const detailGrid = h('div', { className: 'map-grid', attrs: { id: 'feature-maps' } });
export const detailMessage = h('p', { className: 'message', attrs: { id: 'detail-message' } });
export const estimatorParams = h('footer', { className: 'params', attrs: { id: 'estimator-params' } });

export type SingleSelect = HTMLElementTagNameMap['vscode-single-select'];

export function sortSelect(id: string, label: string): SingleSelect {
  return h(
    'vscode-single-select',
    { attrs: { id, 'aria-label': label } },
    h('vscode-option', { attrs: { value: 'none' } }, 'channel order'),
    h('vscode-option', { attrs: { value: 'max' } }, 'by max, largest first'),
    h('vscode-option', { attrs: { value: 'mean' } }, 'by mean, largest first'),
    h(
      'vscode-option',
      { attrs: { value: 'similar', description: 'Channels with similar capacity patterns next to each other (average-linkage seriation)' } },
      'by similarity',
    ),
  );
}

export function control(label: string, forId: string, element: HTMLElement): HTMLElement {
  return h('div', { className: 'control' }, h('label', { attrs: { for: forId } }, label), element);
}

replaceChildren(
  root,
  header.element,
  status,
  pendingBanner,
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
  informationCard,
  estimatorParams,
);
root.removeAttribute('aria-busy');

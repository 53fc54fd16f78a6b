// The information-plane view's layout, built once; main.ts fills it.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import { byId, card, h, replaceChildren, Tooltip } from '../shared/dom';
import { epochSliderControl } from '../shared/epochSlider';
import { ProgressLine } from '../shared/progressLine';
import { RunHeader } from '../shared/runHeader';
import { chosenRun } from './choices';
import { client } from './state';

export const root = byId('root');
export const tooltip = new Tooltip('view-tooltip');

export const header = new RunHeader(client, () => chosenRun());
export const status = h('div', { className: 'status', attrs: { id: 'status', role: 'status', 'aria-live': 'polite' } });
export const epochControl = epochSliderControl('Epoch', 'Epoch marked on every trajectory');
export const { slider: epochSlider, output: epochLabel } = epochControl;
/** The plane's line: progress with Cancel, the engine's error, or Compute again. */
export const dataProgress = new ProgressLine('plane-message');

export const planeCanvas = h('canvas', {
  attrs: {
    id: 'chart-infoplane',
    role: 'img',
    'aria-label': 'Information plane: I(X; T) against I(T; Y) of every layer over the epochs; the table beside gives the values at the marked epoch',
  },
});
export const planeTitle = h('h2', { attrs: { id: 'plane-title' } }, 'Information plane');
export const planeCaption = h('p', { className: 'caption', attrs: { id: 'plane-caption' } });
export const layerTable = h('table', { className: 'layer-table', attrs: { id: 'layer-table', 'aria-describedby': 'layers-note' } });
export const layersTitle = h('h2', { attrs: { id: 'layers-title' } }, 'Layers by depth');
export const estimatorParams = h('footer', { className: 'params', attrs: { id: 'estimator-params' } });

replaceChildren(
  root,
  header.element,
  status,
  h('div', { className: 'controls top-controls' }, epochControl.element),
  dataProgress.element,
  h(
    'div',
    { className: 'plane-cards' },
    card(
      'card-plane',
      planeTitle,
      h(
        'p',
        { className: 'note' },
        'x: I(X; T), what the representation T keeps of the input; y: I(T; Y), what it tells of the label, in bits. One trajectory per layer from the first epoch to the last, coloured by depth (the input darkest, the last layer lightest); a hollow dot is the first epoch, the large markers the chosen one. Hover a point for its values; click one to select its layer and epoch here and in the other views.',
      ),
      h('div', { className: 'chart-box plane-box' }, planeCanvas),
      planeCaption,
    ),
    card(
      'card-layers',
      layersTitle,
      h(
        'p',
        { className: 'note', attrs: { id: 'layers-note' } },
        'The colour of each depth, and each representation’s values at the marked epoch. Click a row to highlight its trajectory.',
      ),
      h('div', { className: 'layer-table-box' }, layerTable),
    ),
  ),
  estimatorParams,
);
root.removeAttribute('aria-busy');

// The channel view's layout, built once; the view's other files fill it.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import { byId, card, h, replaceChildren, Tooltip } from '../shared/dom';
import { epochSliderControl } from '../shared/epochSlider';
import { RunHeader } from '../shared/runHeader';
import { CirclePacking } from './packing';
import { SmallMultiples } from './smallMultiples';
import { chosenRun } from './choices';
import { client } from './state';

export const root = byId('root');
export const tooltip = new Tooltip('view-tooltip');

export const header = new RunHeader(client, () => chosenRun());
export const status = h('div', { className: 'status', attrs: { id: 'status', role: 'status', 'aria-live': 'polite' } });
export const layerSelect = h('vscode-single-select', { attrs: { id: 'layer-select', 'aria-label': 'Layer whose channels are shown' } });
export const epochControl = epochSliderControl('Epoch', 'Epoch of the circle packing and the deconvnet');
export const { slider: epochSlider, output: epochLabel } = epochControl;
export const dataMessage = h('p', { className: 'message', attrs: { id: 'data-message' } });

export const multiples = new SmallMultiples('multiples');
export const multiplesCaption = h('p', { className: 'caption', attrs: { id: 'multiples-caption' } });
export const classLegend = h('ul', { className: 'class-legend', attrs: { id: 'class-legend', 'aria-label': 'Classes (click to hide or show a line)' } });

export const packing = new CirclePacking('packing');
export const backButton = h('vscode-button', { attrs: { id: 'zoom-out', secondary: true, title: 'Back to every class (Escape)' } }, '← All classes');
export const packingTitle = h('h2', { attrs: { id: 'packing-title' } }, '(B) Channels per class');
export const packingCaption = h('p', { className: 'caption', attrs: { id: 'packing-caption' } });

export const projectSelect = h('vscode-single-select', { attrs: { id: 'project-class', 'aria-label': 'Probe images to project' } });
export const showAllButton = h('vscode-button', { attrs: { id: 'show-all-projections', secondary: true } }, 'Show all');
export const deconvTitle = h('h2', { attrs: { id: 'deconv-title' } }, '(C) Deconvnet projections');
export const deconvCaption = h('p', { className: 'caption', attrs: { id: 'deconv-caption' } });
export const deconvMessage = h('p', { className: 'message', attrs: { id: 'deconv-message', role: 'status' } });
export const deconvGrid = h('div', { className: 'map-grid', attrs: { id: 'deconv-images' } });
export const estimatorParams = h('footer', { className: 'params', attrs: { id: 'estimator-params' } });

export const multiplesBox = h('div', { className: 'multiples-box', attrs: { id: 'multiples-box' } }, multiples.canvas);
export const packingBox = h('div', { className: 'packing-box', attrs: { id: 'packing-box' } }, packing.canvas);

replaceChildren(
  root,
  header.element,
  status,
  h(
    'div',
    { className: 'controls top-controls' },
    h('div', { className: 'control' }, h('label', { attrs: { for: 'layer-select' } }, 'Layer'), layerSelect),
    epochControl.element,
  ),
  dataMessage,
  h(
    'div',
    { className: 'channel-cards' },
    card(
      'card-multiples',
      '(A) Intra-sample entropy of each channel over the epochs',
      h(
        'p',
        { className: 'note' },
        'One box per channel: x = epoch, y = entropy in bits, one line per class and one for all samples. Every box has the same y scale. Click a box to select its channel.',
      ),
      classLegend,
      multiplesBox,
      multiplesCaption,
    ),
    card('card-packing', packingTitle, h('div', { className: 'controls' }, backButton), packingBox, packingCaption),
  ),
  card(
    'card-deconv',
    deconvTitle,
    h(
      'div',
      { className: 'controls' },
      h('div', { className: 'control' }, h('label', { attrs: { for: 'project-class' } }, 'Probe images of'), projectSelect),
      showAllButton,
    ),
    deconvCaption,
    deconvMessage,
    deconvGrid,
  ),
  estimatorParams,
);
root.removeAttribute('aria-busy');

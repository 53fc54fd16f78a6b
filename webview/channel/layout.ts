// The channel view's layout, built once; the view's other files fill it.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import { ProgressLine } from '../shared/progressLine';
import { byId, card, h, replaceChildren, Tooltip } from '../shared/dom';
import { epochSliderControl } from '../shared/epochSlider';
import { RunHeader } from '../shared/runHeader';
import { CHANNEL_SORT_KEYS, DEAD_DEFINITION, sortKeyLabel } from './channelOrder';
import { PACK_ALL_UP_TO, PACK_TOP_CHOICES, PACK_TOP_DEFAULT } from './entropyModel';
import { OverviewStrip } from './overviewStrip';
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
/** The intra-sample entropies' line: progress with Cancel, or Compute again. */
export const dataProgress = new ProgressLine('data-message');

export const multiples = new SmallMultiples('multiples');
export const overview = new OverviewStrip('channel-overview');
export const sortSelect = h(
  'vscode-single-select',
  { attrs: { id: 'sort-select', 'aria-label': 'Order of the channels' } },
  ...CHANNEL_SORT_KEYS.map((key) =>
    h('vscode-option', { attrs: { value: key, ...(key === 'dead' ? { description: DEAD_DEFINITION } : {}) } }, sortKeyLabel(key)),
  ),
);
export const channelFilter = h('input', {
  className: 'channel-filter',
  attrs: {
    id: 'channel-filter',
    type: 'text',
    spellcheck: 'false',
    autocomplete: 'off',
    placeholder: 'e.g. 12, 40-63',
    'aria-describedby': 'filter-message',
    title: 'Channel numbers and ranges to show, separated by commas; empty shows every channel',
  },
});
export const deadSelect = h(
  'vscode-single-select',
  { attrs: { id: 'dead-select', 'aria-label': 'Dead channels', title: DEAD_DEFINITION } },
  h('vscode-option', { attrs: { value: 'all' } }, 'dead and live'),
  h('vscode-option', { attrs: { value: 'hide', description: DEAD_DEFINITION } }, 'hide dead'),
  h('vscode-option', { attrs: { value: 'only', description: DEAD_DEFINITION } }, 'dead only'),
);
export const shownCount = h('span', { className: 'shown-count', attrs: { id: 'shown-count', role: 'status' } });
export const filterMessage = h('p', { className: 'message', attrs: { id: 'filter-message' } });
export const overviewCaption = h('p', { className: 'caption', attrs: { id: 'overview-caption' } });
export const multiplesCaption = h('p', { className: 'caption', attrs: { id: 'multiples-caption' } });
export const classLegend = h('ul', { className: 'class-legend', attrs: { id: 'class-legend', 'aria-label': 'Classes (click to hide or show a line)' } });

export const packing = new CirclePacking('packing');
export const backButton = h('vscode-button', { attrs: { id: 'zoom-out', secondary: true, title: 'Back to every class (Escape)' } }, '← All classes');
export const packingTitle = h('h2', { attrs: { id: 'packing-title' } }, '(B) Channels per class');
export const packingCaption = h('p', { className: 'caption', attrs: { id: 'packing-caption' } });
export const packTopSelect = h(
  'vscode-single-select',
  { attrs: { id: 'pack-top', 'aria-label': 'Channel circles per class' } },
  h('vscode-option', { attrs: { value: 'auto' } }, `auto (every channel up to ${PACK_ALL_UP_TO}, else top ${PACK_TOP_DEFAULT})`),
  ...PACK_TOP_CHOICES.map((n) => h('vscode-option', { attrs: { value: String(n) } }, `top ${n}`)),
  h('vscode-option', { attrs: { value: 'all' } }, 'all channels'),
);

export const projectSelect = h('vscode-single-select', { attrs: { id: 'project-class', 'aria-label': 'Probe images to project' } });
export const showAllButton = h('vscode-button', { attrs: { id: 'show-all-projections', secondary: true } }, 'Show all');
export const deconvTitle = h('h2', { attrs: { id: 'deconv-title' } }, '(C) Deconvnet projections');
export const deconvCaption = h('p', { className: 'caption', attrs: { id: 'deconv-caption' } });
/** The deconvnet's line: progress with Cancel, the engine's refusal, or Compute again. */
export const deconvProgress = new ProgressLine('deconv-message');
export const deconvGrid = h('div', { className: 'map-grid', attrs: { id: 'deconv-images' } });
export const estimatorParams = h('footer', { className: 'params', attrs: { id: 'estimator-params' } });

export const multiplesBox = h('div', { className: 'multiples-box', attrs: { id: 'multiples-box' } }, multiples.scroller);
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
  dataProgress.element,
  h(
    'div',
    { className: 'channel-cards' },
    card(
      'card-multiples',
      '(A) Intra-sample entropy of each channel over the epochs',
      h(
        'p',
        { className: 'note' },
        'One box per channel: x = epoch, y = entropy in bits, one line per class and one for all samples. Every box has the same y scale. Click a box to select its channel; the arrow keys move the selection. The strip above the boxes is every channel shown: click or drag on it to scroll there.',
      ),
      h(
        'div',
        { className: 'controls' },
        h('div', { className: 'control' }, h('label', { attrs: { for: 'sort-select' } }, 'Sort by'), sortSelect),
        h('div', { className: 'control' }, h('label', { attrs: { for: 'channel-filter' } }, 'Channels'), channelFilter),
        h('div', { className: 'control' }, h('label', { attrs: { for: 'dead-select' } }, 'Show'), deadSelect),
        shownCount,
      ),
      filterMessage,
      classLegend,
      overview.canvas,
      overviewCaption,
      multiplesBox,
      multiplesCaption,
    ),
    card(
      'card-packing',
      packingTitle,
      h(
        'div',
        { className: 'controls' },
        h('div', { className: 'control' }, h('label', { attrs: { for: 'pack-top' } }, 'Circles per class'), packTopSelect),
        backButton,
      ),
      packingBox,
      packingCaption,
    ),
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
    deconvProgress.element,
    deconvGrid,
  ),
  estimatorParams,
);
root.removeAttribute('aria-busy');

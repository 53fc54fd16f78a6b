// The query view's layout, built once; render() fills it.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import { ProgressLine } from '../shared/progressLine';
import { byId, card, h, replaceChildren } from '../shared/dom';
import { epochSliderControl } from '../shared/epochSlider';
import { CUBE } from './cube';
import { s } from './svg';

export const root = byId('root');

export const runSelect = h('select', { attrs: { id: 'run-select', 'aria-label': 'Run' } });
export const runTitle = h('h1', { className: 'run-title', attrs: { id: 'run-title' } });
export const infoPlaneButton = h(
  'vscode-button',
  { attrs: { id: 'open-infoplane', secondary: true, title: 'Open the information plane of this run at the epoch and layer chosen here' } },
  'Information plane',
);
export const status = h('div', { className: 'status', attrs: { id: 'status', role: 'status', 'aria-live': 'polite' } });
/** The toolbar's buttons: the run picker, the information plane, and Export (installed by main.ts). */
export const toolbarActions = h('div', { className: 'toolbar-actions' }, runSelect, infoPlaneButton);

export const blocks = h('ol', { className: 'blocks', attrs: { id: 'blocks', 'aria-label': 'Layers of the model, input to output' } });

export const cube = s('svg', {
  id: 'cube',
  class: 'cube',
  viewBox: `0 0 ${CUBE.width} ${CUBE.height}`,
  role: 'application',
  tabindex: 0,
  'aria-roledescription': 'hypercube',
  'aria-describedby': 'cube-help',
});
export const cubeHelp = h(
  'p',
  { className: 'note', attrs: { id: 'cube-help' } },
  'Drag along L to select layers; drag across L and C (on the front face, or along C) to select one channel of a layer; click or drag along T to pick the epoch. ',
  'Click a block’s band under L to zoom the L axis into its layers. ',
  'Keys: ← → move the layer (Shift extends), ↑ ↓ pick a channel, Page Up/Down the epoch, Esc clears the channel, then the layers.',
);
export const layerRangeText = h('span', { className: 'note', attrs: { id: 'l-range', role: 'status' } });
export const zoomOutButton = h(
  'button',
  { className: 'link-button', attrs: { id: 'l-zoom-out', type: 'button', title: 'Show every layer on the L axis again' } },
  'All layers',
);
export const channelInput = h('input', {
  attrs: { id: 'channel-input', type: 'number', min: 0, step: 1, inputmode: 'numeric', 'aria-describedby': 'channel-range' },
});
export const channelRange = h('span', { className: 'note', attrs: { id: 'channel-range' } });
export const clearChannelButton = h('button', { className: 'link-button', attrs: { id: 'clear-channel', type: 'button' } }, 'All channels');
export const epochControl = epochSliderControl('Epoch (T)', 'Epoch (T)');
export const { slider: epochSlider, output: epochLabel } = epochControl;

export const samplesAll = h('input', { attrs: { id: 'samples-all', type: 'radio', name: 'samples', value: 'all' } });
export const samplesClasses = h('input', { attrs: { id: 'samples-classes', type: 'radio', name: 'samples', value: 'classes' } });
export const samplesCount = h('input', { attrs: { id: 'samples-count', type: 'radio', name: 'samples', value: 'count' } });
export const classList = h('ul', { className: 'class-list', attrs: { id: 'class-list', 'aria-label': 'Classes' } });
export const selectAllClasses = h('button', { className: 'link-button', attrs: { id: 'classes-all', type: 'button' } }, 'All');
export const selectNoClass = h('button', { className: 'link-button', attrs: { id: 'classes-none', type: 'button' } }, 'None');
export const countInput = h('input', {
  attrs: { id: 'sample-count', type: 'number', min: 1, step: 1, inputmode: 'numeric', 'aria-label': 'Number of samples' },
});
export const countMode = h(
  'select',
  { attrs: { id: 'sample-mode', 'aria-label': 'Which samples' } },
  h('option', { attrs: { value: 'first' } }, 'first'),
  h('option', { attrs: { value: 'random' } }, 'random'),
);
export const seedInput = h('input', { attrs: { id: 'sample-seed', type: 'number', min: 0, step: 1, inputmode: 'numeric', 'aria-label': 'Random seed' } });
export const seedLabel = h('label', { className: 'seed', attrs: { for: 'sample-seed' } }, 'seed');

export const sliceText = h('p', { className: 'slice', attrs: { id: 'slice-text' } });
export const targetText = h('p', { className: 'note', attrs: { id: 'query-target' } });
export const queryButton = h('vscode-button', { attrs: { id: 'query-button', title: 'Send this slice to the other views' } }, 'Query');
export const sourceButton = h('vscode-button', { attrs: { id: 'go-to-source', secondary: true } }, 'Go to source');
/** The Query button's status: "Querying…" with Cancel while it runs (a class-balanced selection reads every class's inputs first). */
export const queryProgress = new ProgressLine('query-status');

replaceChildren(
  root,
  h('header', { className: 'toolbar' }, runTitle, toolbarActions),
  status,
  card(
    'card-architecture',
    '(A) Architecture',
    blocks,
    h(
      'p',
      { className: 'note' },
      'Click a layer to select it; Shift-click selects a range, Ctrl-click (⌘-click) adds or removes a layer. Enter or Space on a focused block does the same. ',
      'A module’s chip (▸) opens its layers in place; Zoom L narrows the hypercube’s L axis to them.',
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
        h('div', { className: 'control' }, h('span', { className: 'control-title' }, 'Layers (L)'), layerRangeText, zoomOutButton),
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
    h('div', { className: 'query-text' }, sliceText, targetText, queryProgress.element),
    h('div', { className: 'query-actions' }, sourceButton, queryButton),
  ),
);
root.removeAttribute('aria-busy');

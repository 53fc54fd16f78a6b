// The training view's layout, built once; render() fills it.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import { ProgressLine } from '../shared/progressLine';
import { byId, card, h, replaceChildren, Tooltip } from '../shared/dom';
import { epochSliderControl } from '../shared/epochSlider';
import { markMilestone } from '../shared/milestones';
import { ConfusionMatrixView } from './confusionMatrix';

export const root = byId('root');
export const tooltip = new Tooltip('view-tooltip');

export const addRunsButton = h('vscode-button', { attrs: { id: 'add-runs', secondary: true, title: 'Add runs to compare' } }, 'Add Runs…');
export const summaryButton = h('vscode-button', { attrs: { id: 'show-summary', secondary: true, title: 'Open the chosen run’s summary' } }, 'Run Summary');
export const runChips = h('ul', { className: 'run-chips', attrs: { id: 'runs', 'aria-label': 'Runs in this view' } });
export const status = h('div', { className: 'status', attrs: { id: 'status', role: 'status', 'aria-live': 'polite' } });

export const runSelect = h('vscode-single-select', { attrs: { id: 'run-select', 'aria-label': 'Run shown in (A), (B) and (C)' } });
export const epochControl = epochSliderControl('Epoch', 'Epoch of the confusion matrix');
export const { slider: epochSlider, output: epochLabel } = epochControl;
export const matrixContainer = h('div', { className: 'matrix-wrap', attrs: { id: 'confusion' } });
export const matrixCaption = h('p', { className: 'caption', attrs: { id: 'matrix-caption' } });
/** The confusion matrix's label entropies: progress with Cancel, or Compute again. */
export const matrixProgress = new ProgressLine('matrix-message');

export const labelGivenPredictionCanvas = h('canvas', {
  attrs: { id: 'chart-label-given-prediction', role: 'img', 'aria-label': 'H(label | y = i) per class over epochs' },
});
export const predictionGivenLabelCanvas = h('canvas', {
  attrs: { id: 'chart-prediction-given-label', role: 'img', 'aria-label': 'H(y | label = i) per class over epochs' },
});
export const classLegend = h('ul', { className: 'class-legend', attrs: { id: 'class-legend', 'aria-label': 'Classes (click to hide or show a line)' } });
export const labelMessage = h('p', { className: 'message', attrs: { id: 'label-message' } });

export const inputEntropyCanvas = h('canvas', {
  attrs: { id: 'chart-input-entropy', role: 'img', 'aria-label': 'Inter-sample entropy of each run’s input set' },
});
export const inputEntropyValues = h('ul', { className: 'values', attrs: { id: 'input-entropy-values' } });
/** The inputs' entropies being computed: one line with Cancel for every run's, or Compute again. */
export const inputEntropyProgress = new ProgressLine('input-entropy-progress');

export const lossCanvas = h('canvas', { attrs: { id: 'chart-loss', role: 'img', 'aria-label': 'Training loss over epochs, one line per run' } });
export const lossValues = h('ul', { className: 'values', attrs: { id: 'loss-values' } });
export const logLossCheckbox = h('vscode-checkbox', { attrs: { id: 'log-loss', label: 'Log scale' } });

/** The toolbar's buttons: Add Runs…, Run Summary and Export… (exportView.ts adds it). */
export const toolbarActions = h('div', { className: 'toolbar-actions' }, addRunsButton, summaryButton);

export const estimatorParams = h('footer', { className: 'params', attrs: { id: 'estimator-params' } });

replaceChildren(
  root,
  h('header', { className: 'toolbar' }, runChips, toolbarActions),
  status,
  h(
    'div',
    { className: 'cards' },
    card(
      'card-confusion',
      '(A) Confusion matrix',
      h('div', { className: 'controls' }, h('label', { className: 'control' }, h('span', {}, 'Run'), runSelect), epochControl.element),
      matrixProgress.element,
      matrixContainer,
      matrixCaption,
    ),
    card(
      'card-label-entropies',
      'Label entropies over epochs',
      h('h3', {}, '(B) H(label | y = i): uncertainty of the true class among samples predicted as i'),
      h('div', { className: 'chart-box' }, labelGivenPredictionCanvas),
      h(
        'p',
        { className: 'note infinity-note' },
        '∞ = never predicted: no sample was predicted as i at that epoch, so H(label | y = i) is undefined (a gap, not 0).',
      ),
      h('h3', {}, '(C) H(y | label = i): spread of the predictions for the samples of class i'),
      h('div', { className: 'chart-box' }, predictionGivenLabelCanvas),
      h('p', { className: 'note infinity-note' }, '∞ = no probe sample of class i.'),
      labelMessage,
      classLegend,
    ),
    card(
      'card-input-entropy',
      '(D) Inter-sample entropy of the input set',
      h('p', { className: 'note' }, 'Diversity of each run’s probe inputs, H(dCNN(x, 0, −, 0)); higher means more diverse data.'),
      h('div', { className: 'chart-box short' }, inputEntropyCanvas),
      inputEntropyValues,
      inputEntropyProgress.element,
    ),
    card(
      'card-loss',
      '(E) Training loss',
      h('div', { className: 'controls' }, logLossCheckbox),
      h('div', { className: 'chart-box short' }, lossCanvas),
      lossValues,
    ),
  ),
  estimatorParams,
);
root.removeAttribute('aria-busy');
markMilestone('page-built');

export const matrix = new ConfusionMatrixView(matrixContainer, tooltip);

// The layer view's card of information between layers (issue 16): the matrix-based Rényi I_α
// between the inputs, layers and labels at the chosen epoch, beside the channel-capacity heatmaps,
// which compare channels. Asked for on request (its cost grows with the square of the layers: a
// joint entropy per pair, each an n × n eigenvalue problem), with progress and Cancel; a cell's
// tooltip gives the exact value.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import type { InformationMatrixParams, InformationMatrixResult } from '../../src/shared/information';
import { card, h, replaceChildren, setText } from '../shared/dom';
import { ProgressLine } from '../shared/progressLine';
import { cancelFetch, errorText, fetchInto, progressText, retryFetch, type Fetched } from '../shared/requests';
import { type LoadedRun } from '../shared/runs';
import { mix, toCss, type ThemeColors } from '../shared/theme';
import { capacityRamp } from './capacityModel';
import { chosenEpoch, chosenLayer, chosenOthers, chosenSamples } from './choices';
import { client } from './state';

function formatBits(v: number): string {
  return Number.isFinite(v) ? v.toFixed(3) : '–';
}

/** Every recorded layer is in the matrix up to this many; above, the layers the heatmaps compare. */
export const INFORMATION_ALL_LAYERS_MAX = 16;

const matrices = new Map<string, Fetched<InformationMatrixResult>>();
let asked: string | undefined;

const computeButton = h(
  'vscode-button',
  { attrs: { id: 'information-compute', title: 'Compute I_α between the representations at this epoch (one eigenvalue problem per pair)' } },
  'Compute',
);
const progress = new ProgressLine('information-message');
const caption = h('p', { className: 'caption', attrs: { id: 'information-caption' } });
const table = h('table', { className: 'information-table', attrs: { id: 'information-table' } });

export const informationCard = card(
  'card-information',
  h('h2', {}, 'Information between layers (matrix-based Rényi, I_α)'),
  h(
    'p',
    { className: 'note' },
    'I_α(A; B) = S_α(A) + S_α(B) − S_α(A, B) in bits, from each representation’s normalised Gram matrix over the same probe samples (docs/estimators.md); the diagonal is S_α. Beyond the paper: it compares whole layers, where the heatmaps compare channels.',
  ),
  h('div', { className: 'controls' }, computeButton),
  progress.element,
  h('div', { className: 'information-scroll' }, table),
  caption,
);

/** The representations of the matrix: input, the layers (all, or li and the lj of the heatmaps), labels. */
function layersOf(run: LoadedRun): string[] {
  const recorded = run.info.manifest.layers.map((l) => l.name);
  const shown = [chosenLayer(run), ...chosenOthers(run)].filter((l) => recorded.includes(l));
  const layers = recorded.length <= INFORMATION_ALL_LAYERS_MAX ? recorded : recorded.filter((l) => shown.includes(l));
  return ['input', ...layers, 'labels'];
}

function paramsOf(run: LoadedRun): InformationMatrixParams | undefined {
  const epoch = chosenEpoch(run);
  if (epoch === undefined) return undefined;
  return { run: run.dir, samples: chosenSamples(), epoch, layers: layersOf(run) };
}

export function renderInformation(run: LoadedRun | undefined, colors: ThemeColors, changed: () => void): void {
  const params = run !== undefined ? paramsOf(run) : undefined;
  computeButton.toggleAttribute('disabled', params === undefined);
  const key = params !== undefined ? JSON.stringify(params) : '';
  computeButton.onclick = () => {
    if (params === undefined) return;
    asked = key;
    retryFetch(matrices, key);
    fetchInto(matrices, key, (signal, onProgress) => client.request('informationMatrix', params, { signal, onProgress }), changed);
    changed();
  };
  const entry = matrices.get(key);
  if (params === undefined || asked !== key || entry === undefined) {
    progress.show({
      text: params === undefined ? '' : `Not computed for epoch ${params.epoch} and ${params.layers?.length ?? 0} representations: press Compute.`,
    });
    replaceChildren(table);
    setText(caption, '');
    return;
  }
  if (entry.error !== undefined) progress.show({ text: `I_α failed: ${errorText(entry.error)}`, error: true, retry: () => computeButton.click() });
  else if (entry.cancelled && entry.abort === undefined) progress.show({ text: 'I_α: cancelled.', retry: () => computeButton.click() });
  else if (entry.abort !== undefined)
    progress.show({
      text: `I_α at epoch ${params.epoch}: ${progressText(entry.progress)}`,
      cancel: () => {
        cancelFetch(entry);
        changed();
      },
    });
  else progress.show({ text: '' });
  const m = entry.value;
  if (m === undefined) {
    replaceChildren(table);
    setText(caption, '');
    return;
  }
  drawTable(m, colors);
  const p = m.params;
  setText(
    caption,
    `Epoch ${m.epoch}, n = ${m.n} probe samples; α = ${p.renyiAlpha}, σ = ${p.renyiSigma === 'fixed' ? p.renyiSigmaValue : p.renyiSigma} (per representation)${m.approximate ? '; eigenvalue sums estimated (n above renyiExactMax)' : ''}. A darker cell is more information.`,
  );
}

function drawTable(m: InformationMatrixResult, colors: ThemeColors): void {
  const k = m.layers.length;
  let hi = 0;
  for (const v of m.information) if (Number.isFinite(v) && v > hi) hi = v;
  const ramp = capacityRamp(colors);
  const head = h('tr', {}, h('th', {}), ...m.layers.map((l) => h('th', { attrs: { scope: 'col', title: l } }, l)));
  const rows = m.layers.map((row, i) =>
    h(
      'tr',
      {},
      h('th', { attrs: { scope: 'row', title: row } }, row),
      ...Array.from({ length: k }, (_, j) => {
        const v = m.information[i * k + j];
        const cell = h(
          'td',
          { attrs: { 'data-row': row, 'data-col': m.layers[j], title: `${i === j ? `S_α(${row})` : `I_α(${row}; ${m.layers[j]})`} = ${v} bits` } },
          formatBits(v),
        );
        const c = mix(ramp.small, ramp.large, hi > 0 ? Math.max(0, v) / hi : 0);
        cell.style.backgroundColor = toCss(c);
        // Text stays readable on either end of the ramp.
        cell.style.color = toCss(0.2126 * c.r + 0.7152 * c.g + 0.0722 * c.b > 140 ? { r: 0, g: 0, b: 0, a: 1 } : { r: 255, g: 255, b: 255, a: 1 });
        return cell;
      }),
    ),
  );
  replaceChildren(table, h('thead', {}, head), h('tbody', {}, ...rows));
}

// The layer view's detail card: the feature maps of a clicked cell's column and row filters for a
// few probe samples (paper Fig. 8C–D, 9).
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import type { SampleSelection, SliceResult } from '../../src/shared/engineProtocol';
import { h, replaceChildren, setText } from '../shared/dom';
import { errorText } from '../shared/requests';
import { describeSamples, runEpochs, type LoadedRun } from '../shared/runs';
import { isImageShape, tensorImage } from '../shared/mapImages';
import { chosenEpoch, chosenLayer, chosenOthers, chosenSamples } from './choices';
import { detailCaption, detailGrid, detailMessage, detailTitle } from './layout';
import { PROBE_IMAGES, session, slices } from './state';

/**
 * Which probe samples the feature maps show: spread evenly over the probe set when all samples are
 * chosen, otherwise the first of the chosen ones (the engine resolves a class to its samples).
 */
export function mapSamples(run: LoadedRun): SampleSelection {
  const samples = chosenSamples();
  if (samples.kind !== 'all') return samples;
  const n = run.info.manifest.probe.count;
  const k = Math.min(PROBE_IMAGES, n);
  return { kind: 'indices', indices: Array.from({ length: k }, (_, i) => Math.floor((i * n) / k)) };
}

export interface SliceRequest {
  readonly key: string;
  readonly role: 'input' | 'column' | 'row';
  readonly layer: string;
  readonly channel: number | 'all';
  readonly params: { run: string; samples: SampleSelection; layer: string; channel: number | 'all'; epoch: number };
}

/** The probe inputs and the two filters' maps of the clicked cell (Fig. 9: inputs, then filters). */
export function sliceRequests(run: LoadedRun, epoch: number): SliceRequest[] {
  const cell = session.selection.cell;
  const layer = chosenLayer(run);
  if (cell === undefined || !chosenOthers(run).includes(cell.otherLayer)) return [];
  const samples = mapSamples(run);
  const make = (role: SliceRequest['role'], l: string, channel: number | 'all'): SliceRequest => {
    // The inputs are the same at every epoch.
    const e = l === 'input' && channel === 'all' ? (runEpochs(run)[0] ?? epoch) : epoch;
    const params = { run: run.dir, samples, layer: l, channel, epoch: e };
    return { key: JSON.stringify(params), role, layer: l, channel, params };
  };
  return [make('input', 'input', 'all'), make('column', layer, cell.column), make('row', cell.otherLayer, cell.row)];
}

export function renderDetail(run: LoadedRun | undefined): void {
  const cell = session.selection.cell;
  const epoch = run !== undefined ? chosenEpoch(run) : undefined;
  if (run === undefined || epoch === undefined || cell === undefined || !chosenOthers(run).includes(cell.otherLayer)) {
    setText(detailTitle, 'Feature maps of a cell');
    setText(
      detailCaption,
      'Click a cell of a heatmap to see the feature maps of its column filter (a channel of li) and its row filter (a channel of lj) for a few probe samples, as in the paper’s Fig. 8(C–D) and Fig. 9.',
    );
    setText(detailMessage, '');
    replaceChildren(detailGrid);
    detailGridSignature = '';
    return;
  }
  const layer = chosenLayer(run);
  setText(detailTitle, `Feature maps: ${layer} channel ${cell.column} (column filter) and ${cell.otherLayer} channel ${cell.row} (row filter)`);
  const requests = sliceRequests(run, epoch);
  const fetched = requests.map((r) => ({ request: r, entry: slices.get(r.key) }));
  const errors = fetched.filter((f) => f.entry?.error !== undefined).map((f) => `${f.request.layer}: ${errorText(f.entry!.error!)}`);
  const loading = fetched.some((f) => f.entry?.value === undefined && f.entry?.error === undefined);
  setText(detailMessage, errors.length > 0 ? `Reading the feature maps failed: ${errors.join('; ')}` : loading ? 'Reading the feature maps…' : '');
  detailMessage.classList.toggle('error', errors.length > 0);
  const samples = mapSamples(run);
  setText(
    detailCaption,
    `Epoch ${epoch}; ${samples.kind === 'indices' && chosenSamples().kind === 'all' ? `${samples.indices.length} probe samples spread over the probe set` : `the first ${PROBE_IMAGES} of ${describeSamples(run, chosenSamples())}`}. Each map is scaled from its own minimum (black) to maximum (white).`,
  );
  if (loading || errors.length > 0) {
    // The maps of the previous cell would pass for this one's.
    replaceChildren(detailGrid);
    detailGridSignature = '';
    return;
  }
  const signature = JSON.stringify(requests.map((r) => r.key));
  if (signature === detailGridSignature) return;
  detailGridSignature = signature;
  const [input, column, row] = fetched.map((f) => f.entry!.value!);
  const count = Math.min(PROBE_IMAGES, input.sampleIndices.length);
  const header = [
    h('span', { className: 'map-corner' }),
    ...Array.from({ length: count }, (_, i) => h('span', { className: 'map-head' }, `sample #${input.sampleIndices[i]}`)),
  ];
  const rowOf = (label: string, result: SliceResult, role: string): HTMLElement[] => [
    h('span', { className: 'map-label' }, label),
    ...Array.from({ length: count }, (_, i) => mapCell(result, i, role)),
  ];
  detailGrid.style.setProperty('--map-count', String(count));
  replaceChildren(
    detailGrid,
    ...header,
    ...rowOf('probe input', input, 'input'),
    ...rowOf(`${layer} #${cell.column} (column filter)`, column, 'column'),
    ...rowOf(`${cell.otherLayer} #${cell.row} (row filter)`, row, 'row'),
  );
}

export let detailGridSignature = '';

export function mapCell(result: SliceResult, index: number, role: string): HTMLElement {
  if (!isImageShape(result.shape)) {
    // A dense layer's channel is one number per sample, not a map.
    const per = result.shape.slice(1).reduce((a, b) => a * b, 1);
    const v = result.data[index * per];
    return h('span', { className: 'map-value', attrs: { 'data-role': role } }, Number.isFinite(v) ? v.toPrecision(3) : '–');
  }
  const image = tensorImage(result.data, result.shape, index, 'range', 'map-image', 72);
  image.canvas.setAttribute('data-role', role);
  image.canvas.setAttribute('role', 'img');
  image.canvas.setAttribute(
    'aria-label',
    `${role} of sample ${result.sampleIndices[index]}, values ${image.min.toPrecision(3)} to ${image.max.toPrecision(3)}`,
  );
  image.canvas.title = `values ${image.min.toPrecision(3)} … ${image.max.toPrecision(3)}${image.flat ? ' (constant)' : ''}`;
  return h('span', { className: 'map-cell' }, image.canvas);
}

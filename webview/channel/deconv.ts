// The channel view's card (C): the deconvnet projections of the chosen channel onto probe images
// of the chosen class (paper Fig. 14), beside the inputs themselves.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import type { DeconvnetResult } from '../../src/shared/deconvnet';
import type { SampleSelection } from '../../src/shared/engineProtocol';
import { h, replaceChildren, setText } from '../shared/dom';
import { cancelFetch, errorText, progressText, retryFetch } from '../shared/requests';
import { runEpochs, type LoadedRun } from '../shared/runs';
import { isImageShape, tensorImage } from '../shared/mapImages';
import { type GroupKey } from './entropyModel';
import { chosenEpoch, chosenLayer, groupName, projectedGroup } from './choices';
import { deconvCaption, deconvGrid, deconvProgress, deconvTitle, showAllButton } from './layout';
import { inputSlices, PROJECTIONS_SHOWN, projections, session, view } from './state';

/** Samples whose projections are asked for: a class's (the engine takes its first 64), or some spread over all samples. */
export function projectionSamples(run: LoadedRun, group: GroupKey): SampleSelection {
  if (group !== 'all') return { kind: 'class', classIndex: group };
  const n = run.info.manifest.probe.count;
  const k = Math.min(PROJECTIONS_SHOWN, n);
  return { kind: 'indices', indices: Array.from({ length: k }, (_, i) => Math.floor((i * n) / k)) };
}

export function deconvParams(run: LoadedRun): { run: string; layer: string; channel: number; epoch: number; samples: SampleSelection } | undefined {
  const layer = chosenLayer(run);
  const epoch = chosenEpoch(run);
  if (layer === undefined || epoch === undefined || session.selection.channel === undefined) return undefined;
  return { run: run.dir, layer, channel: session.selection.channel, epoch, samples: projectionSamples(run, projectedGroup()) };
}

export function inputParams(run: LoadedRun, result: DeconvnetResult): { run: string; samples: SampleSelection; layer: string; channel: 'all'; epoch: number } {
  const shown = Array.from(result.sampleIndices.subarray(0, view.showAllProjections ? result.sampleIndices.length : PROJECTIONS_SHOWN));
  // The inputs are the same at every epoch.
  return { run: run.dir, samples: { kind: 'indices', indices: shown }, layer: 'input', channel: 'all', epoch: runEpochs(run)[0] ?? result.epoch };
}

/** What the deconvnet's line needs from the view: draw again, and ask for what is wanted. */
export interface DeconvActions {
  changed(): void;
  request(): void;
}

export function renderDeconv(run: LoadedRun | undefined, layer: string | undefined, actions: DeconvActions): void {
  const params = run !== undefined ? deconvParams(run) : undefined;
  showAllButton.hidden = true;
  if (run === undefined || layer === undefined || params === undefined) {
    setText(deconvTitle, '(C) Deconvnet projections');
    setText(
      deconvCaption,
      'Click a channel circle in (B) or a box in (A): its feature maps are projected back to the input space (Zeiler & Fergus’s deconvnet, one channel at a time), to show what of the input the channel keeps.',
    );
    deconvProgress.show({ text: '' });
    replaceChildren(deconvGrid);
    view.deconvSignature = '';
    return;
  }
  const group = projectedGroup();
  setText(
    deconvTitle,
    `(C) Deconvnet projections of ${layer} channel ${params.channel}, ${group === 'all' ? 'samples of every class' : `class ${groupName(run, group)}`}, epoch ${params.epoch}`,
  );
  const key = JSON.stringify(params);
  const fetched = projections.get(key);
  const retry = (): void => {
    retryFetch(projections, key);
    actions.request();
    actions.changed();
  };
  if (fetched?.error !== undefined || (fetched?.cancelled && fetched.abort === undefined)) {
    // The engine's own words: e.g. that this epoch has no checkpoint to project with.
    deconvProgress.show(
      fetched.error !== undefined
        ? { text: `No projection: ${errorText(fetched.error)}`, error: true, retry }
        : { text: `Projecting channel ${params.channel} of ${layer}: cancelled.`, retry },
    );
    setText(deconvCaption, '');
    replaceChildren(deconvGrid);
    view.deconvSignature = '';
    return;
  }
  const result = fetched?.value;
  if (result === undefined) {
    deconvProgress.show({
      text: `Projecting channel ${params.channel} of ${layer}: ${progressText(fetched?.progress)}`,
      ...(fetched?.abort !== undefined
        ? {
            cancel: () => {
              cancelFetch(fetched);
              actions.changed();
            },
          }
        : {}),
    });
    setText(deconvCaption, '');
    // The previous channel's projections would pass for this one's.
    replaceChildren(deconvGrid);
    view.deconvSignature = '';
    return;
  }
  if (result.sampleIndices.length === 0) {
    deconvProgress.show({ text: `No probe sample of ${groupName(run, group)} to project.` });
    replaceChildren(deconvGrid);
    view.deconvSignature = '';
    return;
  }
  const shown = view.showAllProjections ? result.sampleIndices.length : Math.min(PROJECTIONS_SHOWN, result.sampleIndices.length);
  showAllButton.hidden = result.sampleIndices.length <= PROJECTIONS_SHOWN;
  setText(showAllButton, view.showAllProjections ? `Show ${PROJECTIONS_SHOWN}` : `Show all ${result.sampleIndices.length}`);
  const inputs = inputSlices.get(JSON.stringify(inputParams(run, result)));
  deconvProgress.show(inputs?.error !== undefined ? { text: `The probe inputs could not be read: ${errorText(inputs.error)}`, error: true } : { text: '' });
  setText(
    deconvCaption,
    `${shown} of ${result.selectedCount} probe sample${result.selectedCount === 1 ? '' : 's'}${group === 'all' ? ' (spread over the probe set)' : ` of class ${groupName(run, group)}`}. Top: the input; below: the projection of channel ${result.channel} alone, mid-grey = 0, white and black = the largest positive and negative values of that image (each image scaled on its own).`,
  );
  const signature = JSON.stringify([JSON.stringify(params), shown, inputs?.value !== undefined]);
  if (signature === view.deconvSignature) return;
  view.deconvSignature = signature;
  const cells: HTMLElement[] = [];
  const imageShape = isImageShape(result.shape);
  for (let i = 0; i < shown; i++) {
    const sample = result.sampleIndices[i];
    const inputSlice = inputs?.value;
    const at = inputSlice !== undefined ? Array.from(inputSlice.sampleIndices).indexOf(sample) : -1;
    const input =
      inputSlice !== undefined && at >= 0 && isImageShape(inputSlice.shape)
        ? tensorImage(inputSlice.data, inputSlice.shape, at, 'range', 'map-image input-image', 84)
        : undefined;
    const projection = imageShape ? tensorImage(result.images, result.shape, i, 'signed', 'map-image projection-image', 84) : undefined;
    projection?.canvas.setAttribute('data-sample', String(sample));
    projection?.canvas.setAttribute('role', 'img');
    projection?.canvas.setAttribute('aria-label', `Projection of channel ${result.channel} for sample ${sample}`);
    if (projection !== undefined)
      projection.canvas.title = `sample #${sample}: projection ${projection.min.toPrecision(3)} … ${projection.max.toPrecision(3)}${projection.flat ? ' (all equal: the channel is not active for this sample)' : ''}`;
    cells.push(
      h(
        'figure',
        { className: 'projection' },
        input?.canvas ?? h('span', { className: 'map-placeholder' }, inputSlice === undefined ? '…' : ''),
        projection?.canvas ?? h('span', { className: 'map-value' }, 'not an image'),
        h('figcaption', {}, `#${sample}`, h('br'), `max act. ${formatActivation(result.activation[i])}`),
      ),
    );
  }
  replaceChildren(deconvGrid, ...cells);
}

export function formatActivation(v: number): string {
  return Number.isFinite(v) ? v.toPrecision(3) : '–';
}

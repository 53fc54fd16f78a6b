// What is chosen in the layer view, with defaults for what is not, and how a choice is made and
// told to the other views.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import type { SampleSelection } from '../../src/shared/engineProtocol';
import type { LinkedSelection } from '../../src/shared/linkedSelection';
import { LOGITS_NAME } from '../../src/shared/runFormat';
import { MAX_LAYER_VIEW_OTHERS, type LayerSelection } from '../../src/shared/webviewProtocol';
import { runEpochs, selectedOrFirstRun, selectedOrNewestEpoch, type LoadedRun } from '../shared/runs';
import { client, session } from './state';

export function chosenRun(): LoadedRun | undefined {
  return selectedOrFirstRun(session.runs, session.selection.run);
}

/** Layers a capacity can be computed between: the inputs (layer 0), the recorded layers, the logits. */
export function layerNames(run: LoadedRun): string[] {
  return ['input', ...run.info.manifest.layers.map((l) => l.name), LOGITS_NAME];
}

export function layerShapeText(run: LoadedRun, layer: string): string {
  const m = run.info.manifest;
  if (layer === 'input') return `probe inputs ${m.probe.inputShape.join('×')}`;
  if (layer === LOGITS_NAME) return `output ${m.classes.length}`;
  const info = m.layers.find((l) => l.name === layer);
  return info === undefined ? '' : `${info.kind} ${info.shape.join('×')}`;
}

export function chosenLayer(run: LoadedRun): string {
  const names = layerNames(run);
  if (session.selection.layer !== undefined && names.includes(session.selection.layer)) return session.selection.layer;
  return run.info.manifest.layers[0]?.name ?? 'input';
}

/**
 * The layer compared with `layer` when nothing else is chosen: the next recorded layer with a
 * feature map (the paper's pairs: conv → activation → pool), else the next layer in the model's
 * order (the logits after the last layer), else the one before.
 */
export function defaultOther(run: LoadedRun, layer: string): string {
  const names = layerNames(run);
  const layers = run.info.manifest.layers;
  const at = layers.findIndex((l) => l.name === layer);
  const after = layer === 'input' ? layers : at < 0 ? [] : layers.slice(at + 1);
  const nextMap = after.find((l) => l.shape.length === 3)?.name;
  if (nextMap !== undefined) return nextMap;
  const i = names.indexOf(layer);
  return names[i + 1] ?? names[i - 1] ?? layer;
}

export function chosenOthers(run: LoadedRun): string[] {
  const names = layerNames(run);
  const layer = chosenLayer(run);
  const others = (session.selection.otherLayers ?? [])
    .filter((l, i, all) => names.includes(l) && l !== layer && all.indexOf(l) === i)
    .slice(0, MAX_LAYER_VIEW_OTHERS);
  return others.length > 0 ? others : [defaultOther(run, layer)];
}

export function chosenEpoch(run: LoadedRun): number | undefined {
  return selectedOrNewestEpoch(run, session.selection.epoch);
}

export function chosenSamples(): SampleSelection {
  return session.selection.samples ?? { kind: 'all' };
}

export function samplesKey(samples: SampleSelection): string {
  return samples.kind === 'all' ? 'all' : samples.kind === 'class' ? `class:${samples.classIndex}` : `indices:${samples.indices.join(',')}`;
}

export function pairKey(run: LoadedRun, layer: string, other: string, samples: SampleSelection): string {
  return JSON.stringify([run.dir, layer, other, samplesKey(samples)]);
}

export function select(change: Partial<LayerSelection>, publish = false): void {
  session.select(change);
  if (publish) publishSelection();
}

/** Tells the other views what is chosen here: li, the lj compared with it, the epoch. */
export function publishSelection(channel?: number): void {
  const run = chosenRun();
  if (run === undefined) return;
  const epoch = chosenEpoch(run);
  const out: LinkedSelection = {
    run: run.dir,
    layer: chosenLayer(run),
    otherLayers: chosenOthers(run),
    ...(channel !== undefined ? { channel } : {}),
    ...(epoch !== undefined ? { epoch } : {}),
    ...(session.selection.samples !== undefined ? { samples: session.selection.samples } : {}),
  };
  client.publish(out);
}

export function epochsKey(run: LoadedRun): string {
  return runEpochs(run).join(',');
}

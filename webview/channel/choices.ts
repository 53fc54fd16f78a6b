// What is chosen in the channel view, with defaults for what is not, and how a choice is made and
// told to the other views.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import type { ChannelEntropiesResult, MeasureSeries } from '../../src/shared/measures';
import { selectedOrFirstRun, selectedOrNewestEpoch, type LoadedRun } from '../shared/runs';
import { type GroupKey } from './entropyModel';
import { client, entropies, session, view } from './state';
import type { ChannelViewSelection } from './viewSelection';

export function chosenRun(): LoadedRun | undefined {
  return selectedOrFirstRun(session.runs, session.selection.run);
}

export function chosenLayer(run: LoadedRun): string | undefined {
  const layers = run.info.manifest.layers;
  if (session.selection.layer !== undefined && layers.some((l) => l.name === session.selection.layer)) return session.selection.layer;
  return (layers.find((l) => l.shape.length === 3) ?? layers[0])?.name;
}

export function epochsKey(run: LoadedRun): string {
  return run.info.manifest.epochs.map((e) => e.epoch).join(',');
}

export function entropyKey(run: LoadedRun, layer: string): string {
  return JSON.stringify([run.dir, layer, epochsKey(run)]);
}

export function seriesOf(run: LoadedRun, layer: string): MeasureSeries<ChannelEntropiesResult> | undefined {
  const current = entropies.get(entropyKey(run, layer))?.value;
  if (current !== undefined) return current;
  return view.lastSeries !== undefined && view.lastSeries.run === run.dir && view.lastSeries.layer === layer ? view.lastSeries.value : undefined;
}

export function chosenEpoch(run: LoadedRun): number | undefined {
  return selectedOrNewestEpoch(run, session.selection.epoch);
}

export function groupName(run: LoadedRun, key: GroupKey): string {
  return key === 'all' ? 'all samples' : (run.info.manifest.classes[key] ?? `class ${key}`);
}

/** Whose probe images are projected: the class chosen, else the zoomed class, else all samples. */
export function projectedGroup(): GroupKey {
  return session.selection.projectClass ?? session.selection.zoom ?? 'all';
}

export function select(change: Partial<ChannelViewSelection>): void {
  session.select(change);
}

export function publish(withChannel: boolean): void {
  const run = chosenRun();
  if (run === undefined) return;
  const layer = chosenLayer(run);
  const epoch = chosenEpoch(run);
  client.publish({
    run: run.dir,
    ...(layer !== undefined ? { layer } : {}),
    ...(withChannel && session.selection.channel !== undefined ? { channel: session.selection.channel } : {}),
    ...(epoch !== undefined ? { epoch } : {}),
  });
}

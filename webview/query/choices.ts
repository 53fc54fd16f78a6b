// What is chosen in the query view: the run, and the selection shown (a drag's draft, else the
// committed one).
import '@vscode-elements/elements/dist/vscode-button/index.js';
import type { RunInfo } from '../../src/shared/runFormat';
import { type QuerySamples, type QuerySelection } from '../../src/shared/webviewProtocol';
import { selectedOrFirstRun, type LoadedRun } from '../shared/runs';
import { describeSamples } from './samples';
import { resolvedEpoch, selectedIndices } from './selection';
import { session, view } from './state';

export function chosenRun(): LoadedRun | undefined {
  return selectedOrFirstRun(session.runs, session.selection.run);
}

export function samplesOf(sel: QuerySelection): QuerySamples {
  return sel.samples ?? { kind: 'all' };
}

export function shown(): QuerySelection {
  return view.draft ?? session.selection;
}

/** Runs of consecutive indices: [[0, 2], [5, 5]] for 0, 1, 2, 5. */
export function runsOf(indices: readonly number[]): [number, number][] {
  const out: [number, number][] = [];
  for (const i of indices) {
    const last = out[out.length - 1];
    if (last !== undefined && last[1] === i - 1) last[1] = i;
    else out.push([i, i]);
  }
  return out;
}

export function describeSlice(info: RunInfo, sel: QuerySelection): string {
  const layers = info.manifest.layers;
  const selected = selectedIndices(layers, sel);
  const x = describeSamples(samplesOf(sel), info.manifest.classes, info.manifest.probe.count);
  let l: string;
  if (selected.length === 0) l = '−';
  else if (selected.length === 1) l = layers[selected[0]].name;
  else {
    const runsList = runsOf(selected).map(([a, b]) => (a === b ? layers[a].name : `${layers[a].name}…${layers[b].name}`));
    l = `{${runsList.join(', ')}} (${selected.length} layers)`;
  }
  const c = sel.channel !== undefined && selected.length > 0 ? `channel ${sel.channel}` : '−';
  const epoch = resolvedEpoch(info, sel);
  const t = epoch === undefined ? '−' : `epoch ${epoch}`;
  return `dCNN(x = ${x}, l = ${l}, c = ${c}, t = ${t})`;
}

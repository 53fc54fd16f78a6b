// What is chosen in the query view: the run, the selection shown (a drag's draft, else the
// committed one), and the layers the L axis spans (all, or a zoomed block's).
import '@vscode-elements/elements/dist/vscode-button/index.js';
import type { LayerInfo, RunInfo } from '../../src/shared/runFormat';
import { type QuerySamples, type QuerySelection } from '../../src/shared/webviewProtocol';
import { selectedOrFirstRun, type LoadedRun } from '../shared/runs';
import { archTree, axisRange, findGroup, type LayerRange } from './hierarchy';
import { describeSamples } from './samples';
import { focusIndex, resolvedEpoch, selectedIndices } from './selection';
import { session, view, type QueryViewSelection } from './state';

export function chosenRun(): LoadedRun | undefined {
  return selectedOrFirstRun(session.runs, session.selection.run);
}

/** The layers the L axis spans for `sel`: the zoomed block's, else all. */
export function shownRange(layers: readonly LayerInfo[], sel: QueryViewSelection): LayerRange {
  return axisRange(layers, sel.layerZoom);
}

/**
 * The zoom after the selection changed from `before` to `next`: kept while the run has its block
 * and, when the focus layer moved, it moved inside the zoomed range. A layer chosen outside it (in
 * the row of blocks, the Runs tree, another view) shows all layers again, so that the selection is
 * always on the axis.
 */
export function followZoom(layers: readonly LayerInfo[], before: QueryViewSelection, next: QueryViewSelection): QueryViewSelection {
  if (next.layerZoom === undefined) return next;
  const group = findGroup(archTree(layers), next.layerZoom);
  const focus = focusIndex(layers, next);
  const moved = focus >= 0 && focus !== focusIndex(layers, before);
  if (group !== undefined && !(moved && (focus < group.from || focus > group.to))) return next;
  const { layerZoom: _zoom, ...rest } = next;
  return rest;
}

export function samplesOf(sel: QuerySelection): QuerySamples {
  return sel.samples ?? { kind: 'all' };
}

export function shown(): QueryViewSelection {
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

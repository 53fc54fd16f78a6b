// The query view (paper §5.1, Fig. 3) as a ViewKind, and what its Query button does on the host:
// publish the slice as the linked selection and open the view that shows it. What it draws is
// webview/query/.
import * as path from 'node:path';
import { CnnSlicerError } from '../../shared/errors';
import type { LinkedSelection } from '../../shared/linkedSelection';
import { parseQuerySelection } from '../../shared/messageValidation';
import type { RunInfo } from '../../shared/runFormat';
import type { PanelRun, QueryResult, QuerySelection } from '../../shared/webviewProtocol';
import { openChannelView } from './channelView';
import { openLayerView } from './layerView';
import { TRAINING_VIEW } from './trainingView';
import type { ViewKind } from './viewPanel';
import type { ViewPanels } from './viewPanels';

function runLabel(run: PanelRun): string {
  return run.state === 'loaded' ? run.info.name : path.basename(run.dir);
}

/** `Query: mnist-100`. */
export function queryViewTitle(runs: readonly PanelRun[]): string {
  return runs.length === 0 ? 'Query' : `Query: ${runLabel(runs[0])}`;
}

export const QUERY_VIEW: ViewKind<QuerySelection> = {
  name: 'query',
  title: queryViewTitle,
  parseSelection: parseQuerySelection,
  initialSelection: (runs) => (runs.length > 0 ? { run: runs[0] } : {}),
};

/** The query view's selection of one layer of a run (a tree click, a CodeLens). */
export function querySelectionOfLayer(run: string, layer: string, channel?: number): QuerySelection {
  return { run, layers: [layer], layer, ...(channel !== undefined ? { channel } : {}) };
}

/** Which view a query goes to: several layers compare in the layer view, one layer's channels in the channel view, none is about input and output. */
export function queryTarget(selection: LinkedSelection): QueryResult['target'] {
  if (selection.layer === undefined) return 'training';
  return (selection.otherLayers?.length ?? 0) > 0 ? 'layer' : 'channel';
}

/**
 * Opens (or reveals) the view a query goes to, on the query's run. The keyboard stays in the query
 * view, so the next query is one click away. The linked selection published after this carries the
 * epoch and samples to the view.
 */
export async function openQueryTarget(panels: ViewPanels, info: RunInfo, selection: LinkedSelection): Promise<QueryResult> {
  const target = queryTarget(selection);
  const options = { preserveFocus: true };
  switch (target) {
    case 'layer':
      return { target, opened: await openLayerView(panels, info, { layer: selection.layer, otherLayers: selection.otherLayers }, options) };
    case 'channel':
      return { target, opened: await openChannelView(panels, info, { layer: selection.layer, channel: selection.channel }, options) };
    case 'training':
      panels.show(TRAINING_VIEW, [info.dir], {
        selection: { run: info.dir, ...(selection.epoch !== undefined ? { epoch: selection.epoch } : {}) },
        ...options,
      });
      return { target, opened: true };
  }
}

/** The layer's recorded source line, or why there is none. */
export function layerSource(info: RunInfo, layer: string): { readonly file: string; readonly line: number } {
  const found = info.manifest.layers.find((l) => l.name === layer);
  if (found === undefined) throw new CnnSlicerError('bad-request', `the run ${info.name} has no layer ${layer}`);
  if (found.source === undefined) throw new CnnSlicerError('not-found', `the probe recorded no source line for ${layer}`);
  return found.source;
}

// Opening the views of a run that are not opened through their own module (layerView.ts and
// channelView.ts open theirs): the query view at a layer, and the training view.
import type { RunInfo } from '../../shared/runFormat';
import type { QuerySelection } from '../../shared/webviewProtocol';
import { QUERY_VIEW, querySelectionOfLayer } from './queryView';
import { TRAINING_VIEW } from './trainingView';
import type { ViewPanel } from './viewPanel';
import type { ViewPanels } from './viewPanels';

/** Opens (or reveals) the training-performance view of one run, showing that run. */
export function openTrainingView(panels: ViewPanels, info: RunInfo, options: { preserveFocus?: boolean } = {}): void {
  panels.show(TRAINING_VIEW, [info.dir], { selection: { run: info.dir }, preserveFocus: options.preserveFocus });
}

/** Opens (or reveals) the query view of one run; with `layer`, that layer selected. */
export function openQueryView(
  panels: ViewPanels,
  info: RunInfo,
  options: { layer?: string; channel?: number; preserveFocus?: boolean } = {},
): ViewPanel<QuerySelection> {
  const selection = options.layer !== undefined ? querySelectionOfLayer(info.dir, options.layer, options.channel) : { run: info.dir };
  return panels.show(QUERY_VIEW, [info.dir], { selection, preserveFocus: options.preserveFocus });
}

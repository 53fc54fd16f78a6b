// The information-plane view (issue 16) as a ViewKind, and how a command or the query view opens it
// on a run. What it draws is webview/infoplane/.
import * as path from 'node:path';
import { parseInfoPlaneSelection } from '../../shared/messageValidation';
import type { RunInfo } from '../../shared/runFormat';
import type { InfoPlaneSelection, PanelRun } from '../../shared/webviewProtocol';
import type { ViewKind } from './viewPanel';
import type { ShowViewOptions, ViewPanels } from './viewPanels';

function runLabel(run: PanelRun): string {
  return run.state === 'loaded' ? run.info.name : path.basename(run.dir);
}

/** `Information plane: mnist-100`. The view shows one run. */
export function infoPlaneViewTitle(runs: readonly PanelRun[]): string {
  return runs.length === 0 ? 'Information plane' : `Information plane: ${runLabel(runs[0])}`;
}

export const INFO_PLANE_VIEW: ViewKind<InfoPlaneSelection> = {
  name: 'infoplane',
  title: infoPlaneViewTitle,
  parseSelection: parseInfoPlaneSelection,
  initialSelection: (runs) => (runs.length > 0 ? { run: runs[0] } : {}),
};

/** Opens (or reveals) the run's information plane; `choice` says which layer to highlight and which epoch to mark. */
export function openInfoPlaneView(
  panels: ViewPanels,
  info: RunInfo,
  choice: Omit<InfoPlaneSelection, 'run'> = {},
  options: Pick<ShowViewOptions<InfoPlaneSelection>, 'preserveFocus'> = {},
): void {
  panels.show(INFO_PLANE_VIEW, [info.dir], { selection: { ...choice, run: info.dir }, preserveFocus: options.preserveFocus });
}

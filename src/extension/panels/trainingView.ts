// The training-performance view (paper §5.2, Fig. 4–7) as a ViewKind: its tab title and selection.
// What it draws is webview/training/.
import * as path from 'node:path';
import { parseTrainingSelection } from '../../shared/messageValidation';
import type { PanelRun, TrainingSelection } from '../../shared/webviewProtocol';
import type { ViewKind } from './viewPanel';

function runLabel(run: PanelRun): string {
  return run.state === 'loaded' ? run.info.name : path.basename(run.dir);
}

/** `Training: mnist-100`, `Training: mnist-100, mnist-500 +2`. */
export function trainingViewTitle(runs: readonly PanelRun[]): string {
  if (runs.length === 0) return 'Training';
  const shown = runs.slice(0, 2).map(runLabel).join(', ');
  return runs.length > 2 ? `Training: ${shown} +${runs.length - 2}` : `Training: ${shown}`;
}

export const TRAINING_VIEW: ViewKind<TrainingSelection> = {
  name: 'training',
  title: trainingViewTitle,
  parseSelection: parseTrainingSelection,
  initialSelection: (runs) => (runs.length > 0 ? { run: runs[0] } : {}),
};

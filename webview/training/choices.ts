// What is chosen in the training view, with defaults for what is not, and how a choice is made
// and told to the other views.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import type { TrainingSelection } from '../../src/shared/webviewProtocol';
import { selectedOrFirstRun, type LoadedRun } from '../shared/runs';
import { epochIndex } from './series';
import { client, labelData, session } from './state';

/** The run (A)–(C) show. */
export function chosenRun(): LoadedRun | undefined {
  return selectedOrFirstRun(session.runs, session.selection.run);
}

export function runColorOf(dir: string, palette: readonly string[]): string {
  const i = session.runs.findIndex((r) => r.dir === dir);
  return palette[Math.max(0, i)];
}

export function select(change: Partial<TrainingSelection>): void {
  // Another run chosen needs its label entropies (the refresh requests them); otherwise nothing is requested.
  session.select(change);
  if ('run' in change || 'epoch' in change) publishSelection();
}

/** The epoch (A) shows for the chosen run, once its label entropies are here. */
export function shownEpoch(chosen: LoadedRun | undefined): number | undefined {
  const items = chosen !== undefined ? (labelData.get(chosen.dir)?.value?.items ?? []) : [];
  const index = epochIndex(
    items.map((i) => i.epoch),
    session.selection.epoch,
  );
  return index >= 0 ? items[index].epoch : undefined;
}

/** Tells the other views (layer, channel) which run and epoch the user is looking at here. */
export function publishSelection(): void {
  const chosen = chosenRun();
  if (chosen === undefined) return;
  const epoch = shownEpoch(chosen);
  client.publish(epoch !== undefined ? { run: chosen.dir, epoch } : { run: chosen.dir });
}

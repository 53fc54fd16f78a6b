// What every view repeats: the runs it shows, its selection, the state VS Code keeps for it across
// reloads, and the dispatch of the host's updates (the runs changed on disk, a command chose
// something, another view or the Runs tree chose something linked). A view keeps its layout,
// its requests and its drawing; it hands this its own rules in a ViewBehaviour.
import type { LinkedSelection } from '../../src/shared/linkedSelection';
import type { Parsed } from '../../src/shared/parse';
import type { PanelRun, ViewUpdate } from '../../src/shared/webviewProtocol';
import { HostClient } from './hostClient';

export interface ViewBehaviour<S> {
  /** A command's selection (a click in the Runs tree, a CodeLens) merged into the current one; default: its fields replace those they name. */
  mergeSelection?(current: S, next: S): S;
  /**
   * Another view's or the tree's choice: the new selection, or undefined when the view handled it
   * itself (through select) or ignores it.
   */
  followLinked(linked: LinkedSelection): S | undefined;
  /** After every update: the selection made consistent with the runs now shown (default: as it is). */
  reconcile?(selection: S): S;
  /** After every change: request what is missing and draw. */
  refresh(): void;
}

export class ViewSession<S extends object> {
  readonly client = new HostClient<S>();
  /** The runs shown, as the host last sent them (at first, the saved ones, loading). */
  runs: readonly PanelRun[];
  selection: S;
  /** Whether the host has said which runs the view shows (before that, the saved ones are a guess). */
  runsReceived = false;
  private behaviour: ViewBehaviour<S> | undefined;

  constructor(parseSelection: (value: unknown) => Parsed<S>) {
    const saved = this.client.savedState(parseSelection);
    this.runs = (saved?.runs ?? []).map((dir): PanelRun => ({ dir, state: 'loading' }));
    this.selection = saved?.selection ?? ({} as S);
  }

  /** Keeps the runs and the selection for the next reload of the view. */
  save(): void {
    this.client.saveState(
      this.runs.map((r) => r.dir),
      this.selection,
    );
  }

  /** Merges `change` into the selection, keeps it, and refreshes the view. */
  select(change: Partial<S>): void {
    this.selection = { ...this.selection, ...change };
    this.save();
    this.behaviour?.refresh();
  }

  /** Follows the host's updates with `behaviour`, then tells the host the view listens. */
  start(behaviour: ViewBehaviour<S>): void {
    this.behaviour = behaviour;
    this.client.onUpdate((update: ViewUpdate<S>) => {
      switch (update.kind) {
        case 'runs':
          this.runs = update.runs;
          this.runsReceived = true;
          break;
        case 'selection':
          this.selection = behaviour.mergeSelection?.(this.selection, update.selection) ?? { ...this.selection, ...update.selection };
          break;
        case 'linked': {
          const next = behaviour.followLinked(update.selection);
          if (next === undefined) return;
          this.selection = next;
          break;
        }
      }
      if (behaviour.reconcile !== undefined) this.selection = behaviour.reconcile(this.selection);
      this.save();
      behaviour.refresh();
    });
    this.client.ready();
  }
}

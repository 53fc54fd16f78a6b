// The one place the linked selection lives in the host: the Runs tree, the CodeLens and every
// view publish here, and every view listens. Plain listeners, no vscode import, so it is tested
// in mocha.
import type { LinkedSelection, SelectionSource } from '../../shared/linkedSelection';

export type SelectionListener = (selection: LinkedSelection, source: SelectionSource) => void;

export class SelectionHub {
  private last: LinkedSelection | undefined;
  private readonly listeners = new Set<SelectionListener>();

  get current(): LinkedSelection | undefined {
    return this.last;
  }

  /** Publishes a selection; every listener hears it, including the source's (it may ignore its own). */
  select(selection: LinkedSelection, source: SelectionSource): void {
    this.last = selection;
    for (const listener of [...this.listeners]) {
      try {
        listener(selection, source);
      } catch {
        // One broken view must not stop the others from following the selection.
      }
    }
  }

  onDidSelect(listener: SelectionListener): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }
}

// The header of the views that show one run at a time (layer, channel): the run's name, and a
// button that asks the host to open the run's summary.
import { h, setText } from './dom';
import type { HostClient } from './hostClient';
import type { LoadedRun } from './runs';

export class RunHeader {
  readonly element: HTMLElement;
  /** The toolbar's buttons, at the right: a view adds its own here (the Export button, exportView.ts). */
  readonly actions: HTMLElement;
  private readonly title = h('h2', { className: 'run-title', attrs: { id: 'run-title' } });
  private readonly summaryButton = h('vscode-button', { attrs: { id: 'show-summary', secondary: true, title: 'Open the run’s summary' } }, 'Run Summary');

  /** `chosenRun` is asked at the click: the run chosen may have changed since the header was drawn. */
  constructor(client: Pick<HostClient<unknown>, 'request' | 'log'>, chosenRun: () => LoadedRun | undefined) {
    this.actions = h('div', { className: 'toolbar-actions' }, this.summaryButton);
    this.element = h('header', { className: 'toolbar' }, this.title, this.actions);
    this.summaryButton.addEventListener('click', () => {
      const run = chosenRun();
      if (run === undefined) return;
      client.request('showRunSummary', { run: run.dir }).catch((err: unknown) => client.log('warn', `showing the run summary failed: ${String(err)}`));
    });
  }

  /** Shows `run`, or while none is loaded whether one is being read. */
  show(run: LoadedRun | undefined, reading: boolean): void {
    setText(this.title, run !== undefined ? run.info.name : reading ? 'Reading the run…' : 'No run');
    if (run !== undefined) this.title.title = run.dir;
    this.summaryButton.toggleAttribute('disabled', run === undefined);
  }
}

// One line that says what a view is computing, with a Cancel button while it runs and "Compute
// again" once cancelled or failed. The elements are made once and updated in place: a view redraws
// at every progress report, and a button replaced between press and release would lose the click.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import { h, setText } from './dom';

export interface ProgressState {
  readonly text: string;
  readonly error?: boolean;
  /** Present while something runs that the user may stop. */
  readonly cancel?: () => void;
  /** Present when what is shown was cancelled or failed and can be asked for again. */
  readonly retry?: () => void;
}

export class ProgressLine {
  readonly element: HTMLElement;
  private readonly text: HTMLElement;
  private readonly cancelButton: HTMLElement;
  private readonly retryButton: HTMLElement;
  private state: ProgressState = { text: '' };

  constructor(id: string, className = 'message') {
    this.text = h('span', { className: 'progress-text', attrs: { id } });
    this.cancelButton = h('vscode-button', { className: 'progress-cancel', attrs: { id: `${id}-cancel`, secondary: true, hidden: true } }, 'Cancel');
    this.retryButton = h('vscode-button', { className: 'progress-retry', attrs: { id: `${id}-retry`, secondary: true, hidden: true } }, 'Compute again');
    this.element = h(
      'div',
      { className: `progress-line ${className}`, attrs: { role: 'status', 'aria-live': 'polite' } },
      this.text,
      this.cancelButton,
      this.retryButton,
    );
    this.cancelButton.addEventListener('click', () => this.state.cancel?.());
    this.retryButton.addEventListener('click', () => this.state.retry?.());
  }

  show(state: ProgressState): void {
    this.state = state;
    setText(this.text, state.text);
    this.element.classList.toggle('error', state.error === true);
    this.text.classList.toggle('error', state.error === true);
    this.element.classList.toggle('empty', state.text === '');
    this.cancelButton.hidden = state.cancel === undefined;
    this.retryButton.hidden = state.retry === undefined;
  }
}

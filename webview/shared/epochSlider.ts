// The epoch slider of the views: a range input over the indices of a run's epochs, and an output
// that names the epoch chosen. The query view builds it here too, but names the epoch and keeps
// its selection its own way.
import { h, setText } from './dom';

export interface EpochSliderControl {
  /** The `.control` that holds the label, the slider and the output. */
  readonly element: HTMLElement;
  readonly slider: HTMLInputElement;
  readonly output: HTMLOutputElement;
}

/** The slider (#epoch-slider) and its output (#epoch-label), labelled `label` on screen and `ariaLabel` for screen readers. */
export function epochSliderControl(label: string, ariaLabel: string): EpochSliderControl {
  const slider = h('input', {
    className: 'epoch-slider',
    attrs: { id: 'epoch-slider', type: 'range', min: 0, max: 0, step: 1, value: 0, 'aria-label': ariaLabel },
  });
  const output = h('output', { className: 'epoch-label', attrs: { id: 'epoch-label', for: 'epoch-slider' } });
  const element = h('div', { className: 'control epoch-control' }, h('label', { attrs: { for: 'epoch-slider' } }, label), slider, output);
  return { element, slider, output };
}

/**
 * Puts the slider at `index` of `epochs` (-1 when there is no epoch to show) and names that epoch
 * in `label`, marking the newest. A single epoch leaves nothing to slide.
 */
export function showEpochOnSlider(slider: HTMLInputElement, label: HTMLElement, epochs: readonly number[], index: number): void {
  slider.max = String(Math.max(0, epochs.length - 1));
  slider.value = String(Math.max(0, index));
  slider.disabled = epochs.length < 2;
  setText(label, index < 0 ? '–' : `${epochs[index]}${index === epochs.length - 1 ? ' (newest)' : ''}`);
}

/**
 * What a view's selection keeps for `epoch` of `epochs`: nothing for the newest, so that the view
 * moves on with a run still training when its next epoch comes.
 */
export function epochToKeep(epochs: readonly number[], epoch: number): number | undefined {
  return epoch === epochs[epochs.length - 1] ? undefined : epoch;
}

// A layer chosen elsewhere (a click in the Runs tree, another view) while this view shows computed
// heatmaps: instead of replacing li at once and leaving the user's matrix behind, the view asks.
// A query (the query view's Query button names the layers to compare) is a deliberate request and
// is followed at once; so is any choice while nothing computed is on screen.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import type { LayerSelection } from '../../src/shared/webviewProtocol';
import { h, replaceChildren } from '../shared/dom';
import { select } from './choices';

export const pendingBanner = h('div', { className: 'pending-layer', attrs: { id: 'pending-layer', role: 'alert', hidden: true } });

let pending: { readonly layer: string; readonly current: string; readonly change: Partial<LayerSelection> } | undefined;

/** What is waiting for the user's answer, for the tests and the view model. */
export function pendingLayer(): string | undefined {
  return pending?.layer;
}

/** Holds a change of li until the user says to show it. */
export function askBeforeReplacing(current: string, change: Partial<LayerSelection> & { layer: string }): void {
  pending = { layer: change.layer, current, change };
  const show = h('vscode-button', { attrs: { id: 'pending-show' } }, `Show ${change.layer}`);
  const keep = h('vscode-button', { attrs: { id: 'pending-keep', secondary: true } }, `Keep ${current}`);
  show.addEventListener('click', () => {
    const change = pending?.change;
    clearPending();
    if (change !== undefined) select(change);
  });
  keep.addEventListener('click', () => clearPending());
  replaceChildren(
    pendingBanner,
    h(
      'p',
      {},
      `${change.layer} was selected elsewhere. Show it as li here? The heatmaps of ${current} stay in this view's memory, so coming back to ${current} is instant.`,
    ),
    h('div', { className: 'pending-actions' }, show, keep),
  );
  pendingBanner.hidden = false;
}

export function clearPending(): void {
  pending = undefined;
  pendingBanner.hidden = true;
  replaceChildren(pendingBanner);
}

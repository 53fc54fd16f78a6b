// The query view's state: its session (runs, selection) and what its files share beyond it.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import { parseQuerySelection } from '../../src/shared/messageValidation';
import type { LayerKind } from '../../src/shared/runFormat';
import { type QuerySelection } from '../../src/shared/webviewProtocol';
import { ViewSession } from '../shared/viewSession';

export const session = new ViewSession<QuerySelection>((value) => parseQuerySelection(value));

export const client = session.client;

export const KIND_LABELS: Readonly<Record<LayerKind, string>> = {
  conv: 'convolution',
  pool: 'pooling',
  norm: 'normalisation',
  activation: 'activation',
  linear: 'fully connected',
  flatten: 'flatten',
  dropout: 'dropout',
  block: 'block',
  other: 'other',
};

/** State the view's files share beyond the session. */
export const view = {
  /** The selection being dragged out on the hypercube, shown until the gesture ends. */
  draft: undefined as QuerySelection | undefined,
  /** What the Query button last did (or why it could not). */
  queryStatus: { text: '', error: false } as { text: string; error: boolean },
  /** The Query button's requests in flight, cancelled by the next click. */
  querying: undefined as AbortController | undefined,
};

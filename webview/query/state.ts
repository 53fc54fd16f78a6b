// The query view's state: its session (runs, selection) and what its files share beyond it.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import { parseQuerySelection } from '../../src/shared/messageValidation';
import { isRecord, ok, type Parsed } from '../../src/shared/parse';
import { parseLayer } from '../../src/shared/requestParams';
import type { LayerKind } from '../../src/shared/runFormat';
import { type QuerySelection } from '../../src/shared/webviewProtocol';
import { ViewSession } from '../shared/viewSession';

/** The view's selection and its own choices that the host neither sends nor reads, kept in the view's saved state. */
export interface QueryViewSelection extends QuerySelection {
  /** The block (a module path) the hypercube's L axis is zoomed into; all layers when absent. */
  readonly layerZoom?: string;
}

/** The saved state's selection: the host's QuerySelection, and the zoom when it reads as a module path (one that does not is dropped, not the whole state). */
export function parseQueryViewSelection(value: unknown): Parsed<QueryViewSelection> {
  const base = parseQuerySelection(value);
  if (!base.ok || !isRecord(value) || value.layerZoom === undefined) return base;
  const zoom = parseLayer(value.layerZoom, 'layerZoom', 'a module path');
  return zoom.ok ? ok({ ...base.value, layerZoom: zoom.value }) : base;
}

export const session = new ViewSession<QueryViewSelection>((value) => parseQueryViewSelection(value));

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
  draft: undefined as QueryViewSelection | undefined,
  /** What the Query button last did (or why it could not). */
  queryStatus: { text: '', error: false } as { text: string; error: boolean },
  /** The Query button's requests in flight, cancelled by the next click. */
  querying: undefined as AbortController | undefined,
  /** The architecture row's groups the user expanded (module paths). */
  expanded: new Set<string>(),
  /** The groups opened to show the focus layer, closed again when the focus moves out of them. */
  revealed: new Set<string>(),
};

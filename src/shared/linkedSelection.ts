// What the views share: the run, layer(s), channel and epoch the user chose last, in any view or
// in the Runs tree. Each view maps it onto its own selection; the host relays it between views.
import type { SampleSelection } from './engineProtocol';

export interface LinkedSelection {
  readonly run: string;
  /** The layer in focus (the query view's choice, the tree's layer, the layer view's li). */
  readonly layer?: string;
  /** Layers compared against `layer` (the layer view's lj, side by side). */
  readonly otherLayers?: readonly string[];
  /** The channel in focus, of `layer`. */
  readonly channel?: number;
  readonly epoch?: number;
  /** The paper's x: which probe samples the views slice. */
  readonly samples?: SampleSelection;
}

/** Where a selection came from, so a view does not echo back its own choice. */
export type SelectionSource = 'tree' | 'query' | 'training' | 'layer' | 'channel' | 'infoplane' | 'codelens' | 'command';

// The channel view's state: its session (runs, selection), the results it fetched, and what its
// files share beyond them.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import type { DeconvnetResult } from '../../src/shared/deconvnet';
import type { SliceResult } from '../../src/shared/engineProtocol';
import type { ChannelEntropiesResult, MeasureSeries } from '../../src/shared/measures';
import { type Fetched } from '../shared/requests';
import { ViewSession } from '../shared/viewSession';
import { parseChannelViewSelection, type ChannelViewSelection } from './viewSelection';

/** Projections shown at first; the engine computes up to 64 for a class, "Show all" shows them. */
export const PROJECTIONS_SHOWN = 8;

export const session = new ViewSession<ChannelViewSelection>((value) => parseChannelViewSelection(value));

export const client = session.client;

export const hiddenLines = new Set<number>();

export const entropies = new Map<string, Fetched<MeasureSeries<ChannelEntropiesResult>>>();

export const projections = new Map<string, Fetched<DeconvnetResult>>();

export const inputSlices = new Map<string, Fetched<SliceResult>>();

/** State the view's files share beyond the session. */
export const view = {
  /** Whether every probe image of the projected class is shown, not only the first PROJECTIONS_SHOWN. */
  showAllProjections: false,
  /** The channel entropies last shown, kept while the next layer's or epoch's load. */
  lastSeries: undefined as { key: string; layer: string; run: string; value: MeasureSeries<ChannelEntropiesResult> } | undefined,
  /** What the deconvnet card last drew; cleared to draw it again (a theme change). */
  deconvSignature: '',
};

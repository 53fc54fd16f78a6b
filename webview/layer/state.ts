// The layer view's state: its session (runs, selection), the results it fetched, and what a
// linked selection outlines. Every file of the view reads it; none of them holds another copy.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import type { SliceResult } from '../../src/shared/engineProtocol';
import type { ChannelCapacityResult, EstimatorParams, MeasureSeries } from '../../src/shared/measures';
import { parseLayerSelection } from '../../src/shared/messageValidation';
import { type LayerSelection } from '../../src/shared/webviewProtocol';
import { ViewSession } from '../shared/viewSession';
import { type Fetched } from '../shared/requests';

/** Probe samples whose feature maps a clicked cell shows (Fig. 9 shows a handful). */
export const PROBE_IMAGES = 6;

export const session = new ViewSession<LayerSelection>((value) => parseLayerSelection(value));

export const client = session.client;

export const matrices = new Map<string, Fetched<ChannelCapacityResult>>();

export const series = new Map<string, Fetched<MeasureSeries<ChannelCapacityResult>>>();

export const slices = new Map<string, Fetched<SliceResult>>();

/** State the view's files share beyond the session. */
export const view = {
  /** A channel chosen in another view or the Runs tree: outlined where its layer is shown. */
  linked: undefined as { readonly layer: string; readonly channel: number } | undefined,
  /** Estimator parameters of the last result, for the footer. */
  lastParams: undefined as EstimatorParams | undefined,
};

// The training view's state: its session (runs, selection) and the results it fetched per run.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import { type InterSampleEntropyResult, type LabelEntropiesResult, type MeasureSeries } from '../../src/shared/measures';
import { parseTrainingSelection } from '../../src/shared/messageValidation';
import type { TrainingSelection } from '../../src/shared/webviewProtocol';
import { verticalMarker } from '../shared/charts';
import { type Fetched } from '../shared/requests';
import { themeColors, toCss } from '../shared/theme';
import { ViewSession } from '../shared/viewSession';

/**
 * What the view has (or is getting) for one run, with the key of what the result depends on: the
 * view keeps one result per run, replaced when the key changes (a new epoch).
 */
export interface RunFetched<T> extends Fetched<T> {
  readonly key: string;
}

export const session = new ViewSession<TrainingSelection>((value) => parseTrainingSelection(value));

export const client = session.client;

export const hiddenClasses = new Set<number>();

export const labelData = new Map<string, RunFetched<MeasureSeries<LabelEntropiesResult>>>();

export const inputEntropy = new Map<string, RunFetched<MeasureSeries<InterSampleEntropyResult>>>();

export const epochCursorColor = (): string => toCss(themeColors().muted);

export const cursorPlugin = verticalMarker<'line'>('epochCursor', () => view.cursorEpoch, epochCursorColor);

/** State the view's files share beyond the session. */
export const view = {
  /** The epoch the charts mark with a vertical line (the matrix's epoch). */
  cursorEpoch: undefined as number | undefined,
};

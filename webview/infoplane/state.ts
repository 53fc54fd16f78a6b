// The information-plane view's state: its session (runs, selection) and the planes it fetched.
import type { InfoPlaneEpoch } from '../../src/shared/information';
import type { MeasureSeries } from '../../src/shared/measures';
import { parseInfoPlaneSelection } from '../../src/shared/messageValidation';
import type { InfoPlaneSelection } from '../../src/shared/webviewProtocol';
import { type Fetched } from '../shared/requests';
import { ViewSession } from '../shared/viewSession';

export type PlaneSeries = MeasureSeries<InfoPlaneEpoch>;

export const session = new ViewSession<InfoPlaneSelection>((value) => parseInfoPlaneSelection(value));

export const client = session.client;

/** Every epoch's plane, per run, samples and epochs of the run: a live run's next epoch is a new key. */
export const planes = new Map<string, Fetched<PlaneSeries>>();

/** State the view's files share beyond the session. */
export const view = {
  /**
   * The plane last shown, kept on screen while a live run's next epoch (or a retry) is computed,
   * with what it belongs to.
   */
  lastSeries: undefined as { readonly run: string; readonly samples: string; readonly value: PlaneSeries } | undefined,
};

// What is chosen in the information-plane view, with defaults for what is not, and how a choice is
// made and told to the other views.
import type { SampleSelection } from '../../src/shared/sampleSelection';
import type { InfoPlaneSelection } from '../../src/shared/webviewProtocol';
import { epochToKeep } from '../shared/epochSlider';
import { runEpochs, selectedOrFirstRun, selectedOrNewestEpoch, type LoadedRun } from '../shared/runs';
import { client, planes, session, view, type PlaneSeries } from './state';

export function chosenRun(): LoadedRun | undefined {
  return selectedOrFirstRun(session.runs, session.selection.run);
}

export function chosenSamples(): SampleSelection {
  return session.selection.samples ?? { kind: 'all' };
}

export function chosenEpoch(run: LoadedRun): number | undefined {
  return selectedOrNewestEpoch(run, session.selection.epoch);
}

/** What one request depends on: the run, the samples and the run's epochs (a new epoch asks again). */
export function planeKey(run: LoadedRun): string {
  return JSON.stringify([run.dir, chosenSamples(), runEpochs(run)]);
}

/** The plane to draw: the current one, else the last one of this run and samples while the current is computed. */
export function seriesOf(run: LoadedRun): PlaneSeries | undefined {
  const current = planes.get(planeKey(run))?.value;
  if (current !== undefined) return current;
  const last = view.lastSeries;
  return last !== undefined && last.run === run.dir && last.samples === JSON.stringify(chosenSamples()) ? last.value : undefined;
}

export function select(change: Partial<InfoPlaneSelection>): void {
  session.select(change);
}

/**
 * A point of the plane chosen (a click on a trajectory, a row of the legend): it becomes the
 * view's layer and epoch, and the other views of the run follow. Only a recorded layer is told to
 * them: the input is not a layer the channel view or the query view can show.
 */
export function choosePoint(run: LoadedRun, layer: string, epoch: number | undefined): void {
  const epochs = runEpochs(run);
  const known = epoch !== undefined && epochs.includes(epoch);
  select({ layer, ...(known ? { epoch: epochToKeep(epochs, epoch) } : {}) });
  const recorded = run.info.manifest.layers.some((l) => l.name === layer);
  const published = known ? epoch : chosenEpoch(run);
  client.publish({ run: run.dir, ...(recorded ? { layer } : {}), ...(published !== undefined ? { epoch: published } : {}) });
}

/** The epoch slider let go: the other views move to the epoch too. */
export function publishEpoch(run: LoadedRun): void {
  const epoch = chosenEpoch(run);
  if (epoch !== undefined) client.publish({ run: run.dir, epoch });
}

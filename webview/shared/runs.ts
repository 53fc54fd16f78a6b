// The runs a view shows, as the host sends them (webviewProtocol's PanelRun), and the defaults every
// view takes for what its selection leaves open: which run, which epoch.
import type { SampleSelection } from '../../src/shared/sampleSelection';
import type { PanelRun } from '../../src/shared/webviewProtocol';
import { h } from './dom';
import { errorText } from './requests';

export type LoadedRun = Extract<PanelRun, { state: 'loaded' }>;

/** The samples a measure covers, as a view's text says it: "all 1000 probe samples", a class's, or a chosen set. */
export function describeSamples(run: LoadedRun, samples: SampleSelection): string {
  const n = run.info.manifest.probe.count;
  if (samples.kind === 'all') return `all ${n} probe samples`;
  if (samples.kind === 'class') return `the probe samples of class ${run.info.manifest.classes[samples.classIndex] ?? samples.classIndex}`;
  return `${samples.indices.length} chosen probe samples`;
}

export function loadedRuns(runs: readonly PanelRun[]): LoadedRun[] {
  return runs.filter((r): r is LoadedRun => r.state === 'loaded');
}

/** The run a view shows: the selected one when it is loaded, else the first loaded run. */
export function selectedOrFirstRun(runs: readonly PanelRun[], selected: string | undefined): LoadedRun | undefined {
  const loaded = loadedRuns(runs);
  return loaded.find((r) => r.dir === selected) ?? loaded[0];
}

/** The run's own name once it is read; before, the last part of its folder. */
export function runName(run: PanelRun): string {
  if (run.state === 'loaded') return run.info.name;
  const parts = run.dir.split(/[\\/]/).filter((p) => p !== '');
  return parts[parts.length - 1] ?? run.dir;
}

export function runEpochs(run: LoadedRun): number[] {
  return run.info.manifest.epochs.map((e) => e.epoch);
}

/** The selected epoch when the run has it, else its newest (undefined before its first epoch). */
export function selectedOrNewestEpoch(run: LoadedRun, selected: number | undefined): number | undefined {
  const epochs = runEpochs(run);
  if (selected !== undefined && epochs.includes(selected)) return selected;
  return epochs[epochs.length - 1];
}

/**
 * The status lines every view starts with: `noRun` once the host said the view has no run (not
 * before: the saved runs are placeholders until it answers), then each run still being read or
 * that could not be read.
 */
export function runStatusLines(runs: readonly PanelRun[], runsReceived: boolean, noRun: string): (string | Node)[] {
  const lines: (string | Node)[] = [];
  if (runsReceived && runs.length === 0) lines.push(noRun);
  for (const run of runs) {
    if (run.state === 'loading') lines.push(`Reading ${runName(run)}…`);
    if (run.state === 'failed') lines.push(h('span', { className: 'error' }, `${runName(run)} could not be read: ${errorText(run.error)}`));
  }
  return lines;
}

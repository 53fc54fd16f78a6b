// What the layer CodeLens shows, decided without VS Code: which recorded layers sit on which lines
// of a file, and the text of a lens once the engine has measured its layer. The provider
// (layerCodeLensProvider.ts) only turns these into vscode.CodeLens objects.
import { SATURATION_MARGIN_BITS, type ChannelEntropiesResult, type InterSampleEntropyResult } from '../../shared/measures';
import type { LayerInfo, RunInfo, SourceLocation } from '../../shared/runFormat';
import { formatNumber } from '../runs/runText';

/** One layer whose module was constructed on a line of the file asked about. */
export interface LayerLensTarget {
  readonly runDir: string;
  readonly runName: string;
  readonly layer: LayerInfo;
  /** 0-based, as VS Code counts lines. */
  readonly line: number;
}

/**
 * The layers of `runs` recorded as constructed in `file`, in line order (then run order). `resolve`
 * turns a recorded source into an existing file's path; `same` compares two paths as the file
 * system does.
 */
export function lensTargetsForFile(
  file: string,
  runs: readonly RunInfo[],
  resolve: (source: SourceLocation, runDir: string) => string | undefined,
  same: (a: string, b: string) => boolean,
): LayerLensTarget[] {
  const out: LayerLensTarget[] = [];
  for (const info of runs) {
    for (const layer of info.manifest.layers) {
      const source = layer.source;
      if (source === undefined || !Number.isInteger(source.line) || source.line < 1) continue;
      const resolved = resolve(source, info.dir);
      if (resolved === undefined || !same(resolved, file)) continue;
      out.push({ runDir: info.dir, runName: info.name, layer, line: source.line - 1 });
    }
  }
  return out.sort((a, b) => a.line - b.line);
}

/** Files the runs' layers name, resolved: the documents the provider must be registered for beyond Python. */
export function sourceFilesOf(runs: readonly RunInfo[], resolve: (source: SourceLocation, runDir: string) => string | undefined): string[] {
  const files = new Set<string>();
  for (const info of runs) {
    for (const layer of info.manifest.layers) {
      if (layer.source === undefined) continue;
      const resolved = resolve(layer.source, info.dir);
      if (resolved !== undefined) files.add(resolved);
    }
  }
  return [...files].sort();
}

/** The newest finished epoch, which the lens measures; undefined before the first one. */
export function latestEpoch(info: RunInfo): number | undefined {
  const epochs = info.manifest.epochs;
  return epochs.length > 0 ? epochs[epochs.length - 1].epoch : undefined;
}

/**
 * The mean over channels of each channel's intra-sample entropy over all samples: the layer's
 * H̄. Channels without a map (no sample) are left out; undefined when none has one.
 */
export function meanChannelEntropy(result: Pick<ChannelEntropiesResult, 'all' | 'allCount'>): number | undefined {
  let sum = 0;
  let count = 0;
  for (let c = 0; c < result.all.length; c++) {
    const v = result.all[c];
    if (result.allCount[c] > 0 && Number.isFinite(v)) {
      sum += v;
      count++;
    }
  }
  return count > 0 ? sum / count : undefined;
}

export interface LayerMeasures {
  readonly epoch: number;
  /** H̄ over the layer's channels (a dense layer's features count as one map). */
  readonly meanChannelEntropy: number | undefined;
  readonly interSampleEntropy: InterSampleEntropyResult | undefined;
}

export type LensState =
  { readonly kind: 'measured'; readonly measures: LayerMeasures } | { readonly kind: 'no-epoch' } | { readonly kind: 'failed'; readonly reason: string };

/** Shown before the layer name when a line holds layers of several runs, so each lens says whose it is. */
export interface LensLabelOptions {
  readonly showRunName: boolean;
}

function lensPrefix(target: Pick<LayerLensTarget, 'layer' | 'runName'>, options: LensLabelOptions): string {
  return options.showRunName ? `CNNSlicer · ${target.runName} · ${target.layer.name}` : `CNNSlicer · ${target.layer.name}`;
}

/**
 * `CNNSlicer · conv1: H̄ 3.21 bits (channels) · inter 11.2 bits · epoch 20`. Names come from the
 * run and are shown as they are: a CodeLens title is plain text (codicons aside, which
 * escapeCodicons takes care of in the provider).
 */
export function formatLensTitle(
  target: Pick<LayerLensTarget, 'layer' | 'runName'>,
  state: LensState,
  options: LensLabelOptions = { showRunName: false },
): string {
  const prefix = lensPrefix(target, options);
  switch (state.kind) {
    case 'no-epoch':
      return `${prefix}: no finished epoch yet`;
    case 'failed':
      return `${prefix}: entropy unavailable (${state.reason})`;
    case 'measured': {
      const m = state.measures;
      const parts: string[] = [];
      const dense = target.layer.shape.length === 1;
      if (m.meanChannelEntropy !== undefined)
        parts.push(dense ? `H ${formatNumber(m.meanChannelEntropy)} bits (features)` : `H̄ ${formatNumber(m.meanChannelEntropy)} bits (channels)`);
      const inter = m.interSampleEntropy;
      // Near log2 N(N−1) the value says more about N than about the layer: flagged, not hidden.
      if (inter !== undefined)
        parts.push(`inter ${formatNumber(inter.entropy)} bits${inter.ceiling - inter.entropy < SATURATION_MARGIN_BITS ? ' (≈ ceiling)' : ''}`);
      parts.push(`epoch ${m.epoch}`);
      return `${prefix}: ${parts.join(' · ')}`;
    }
  }
}

/** What hovering the lens says: the measures spelled out, and what a click does. */
export function formatLensTooltip(target: Pick<LayerLensTarget, 'layer' | 'runName' | 'runDir'>, state: LensState, opens: string): string {
  const lines = [`${target.layer.name} (${target.layer.kind} ${target.layer.shape.join('×')}) in run ${target.runName}`, target.runDir];
  if (state.kind === 'measured') {
    const m = state.measures;
    if (m.meanChannelEntropy !== undefined)
      lines.push(`Mean intra-sample entropy of its channels over all probe samples at epoch ${m.epoch}: ${formatNumber(m.meanChannelEntropy)} bits`);
    const inter = m.interSampleEntropy;
    if (inter !== undefined) {
      lines.push(`Inter-sample entropy of the layer's output at epoch ${m.epoch}: ${formatNumber(inter.entropy)} bits (N = ${inter.n}, k = ${inter.k})`);
      lines.push(
        `Its ceiling log2 N(N−1) is ${formatNumber(inter.ceiling)} bits${inter.ceiling - inter.entropy < SATURATION_MARGIN_BITS ? ': the value is within half a bit of it (saturated)' : ''}`,
      );
    }
  } else if (state.kind === 'failed') {
    lines.push(`The engine could not measure it: ${state.reason}`);
  }
  lines.push(`Click to open ${opens}.`);
  return lines.join('\n');
}

/** Lines that hold layers of more than one run: their lenses name the run. */
export function linesWithSeveralRuns(targets: readonly LayerLensTarget[]): Set<number> {
  const runsByLine = new Map<number, Set<string>>();
  for (const t of targets) {
    const set = runsByLine.get(t.line) ?? new Set<string>();
    set.add(t.runDir);
    runsByLine.set(t.line, set);
  }
  return new Set([...runsByLine].filter(([, runs]) => runs.size > 1).map(([line]) => line));
}

/** The view a lens click opens: the channel view for layers with feature maps, the query view (that layer selected) for the others. */
export function lensOpens(layer: Pick<LayerInfo, 'kind' | 'shape'>): 'channel' | 'query' {
  return (layer.kind === 'conv' || layer.kind === 'pool') && layer.shape.length === 3 ? 'channel' : 'query';
}

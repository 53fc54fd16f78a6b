// How a run's facts read as short text. The tree and the summary document share these, so a run
// is described the same way wherever it appears. No `vscode` import: unit tests load this directly.
import type { EpochEntry, EpochMetrics, LayerInfo, RunInfo } from '../../shared/runFormat';

/** `1 epoch`, `3 epochs`. */
export function countOf(n: number, singular: string, plural = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : plural}`;
}

/** `3 epochs · 5 layers`: what a run holds, at a glance. */
export function describeRunContents(info: RunInfo): string {
  return `${countOf(info.manifest.epochs.length, 'epoch')} · ${countOf(info.manifest.layers.length, 'layer')}`;
}

/** `16×28×28`. */
export function formatShape(shape: readonly number[]): string {
  return shape.join('×');
}

/** `conv 16×28×28`. */
export function describeLayer(layer: LayerInfo): string {
  return `${layer.kind} ${formatShape(layer.shape)}`;
}

/**
 * The number of channels a slice may pick one of: dimension 1 of an N×C×H×W map, or the features
 * of an N×F dense layer. Both are the first dimension of the per-sample shape.
 */
export function channelCount(layer: LayerInfo): number {
  return layer.shape.length >= 1 ? layer.shape[0] : 0;
}

/** Three significant digits without trailing zeros or a forced exponent: 0.123, 2.3, 1230, 1.23e-7. */
export function formatNumber(value: number): string {
  return String(Number(value.toPrecision(3)));
}

/**
 * Accuracy is recorded as a fraction in [0, 1]. A value outside that range was written by a tool
 * that used another convention, so it is shown as the bare number rather than as a wrong percentage.
 */
export function formatAccuracy(value: number): string {
  return value >= 0 && value <= 1 ? `${(value * 100).toFixed(1)}%` : formatNumber(value);
}

/** A metric the writer recorded as `null` (the manifest's spelling of NaN or ±∞). */
export const NON_FINITE_TEXT = 'non-finite';

/**
 * The metrics of an epoch as name/value text pairs, loss and accuracy first, the rest by name.
 * A metric present with no value was not finite when recorded; that is shown, not hidden, because a
 * diverging loss is exactly what a developer needs to see.
 */
export function metricEntries(metrics: EpochMetrics): { readonly name: string; readonly text: string }[] {
  const names = Object.keys(metrics);
  const leading = ['loss', 'accuracy'].filter((n) => names.includes(n));
  const rest = names.filter((n) => !leading.includes(n)).sort();
  return [...leading, ...rest].map((name) => {
    const value = metrics[name];
    const text = value === undefined ? NON_FINITE_TEXT : name === 'accuracy' ? formatAccuracy(value) : formatNumber(value);
    return { name, text };
  });
}

/** `loss 0.123 · acc 97.1%`; empty when the epoch recorded neither. */
export function describeEpochMetrics(metrics: EpochMetrics): string {
  const short: Record<string, string> = { loss: 'loss', accuracy: 'acc' };
  return metricEntries(metrics)
    .filter((m) => m.name in short)
    .map((m) => `${short[m.name]} ${m.text}`)
    .join(' · ');
}

/** Which files hold an epoch: `activations`, `checkpoint`, or both. */
export function epochStorage(epoch: EpochEntry): string {
  const kinds: string[] = [];
  if (epoch.activations !== undefined) kinds.push(epoch.dtype === 'float16' ? 'activations (float16)' : 'activations');
  if (epoch.checkpoint !== undefined) kinds.push('checkpoint');
  return kinds.join(' + ');
}

export function epochLabel(epoch: number): string {
  return `epoch ${epoch}`;
}

export function incompleteEpochLabel(epoch: number): string {
  return `epoch ${epoch} (being written)`;
}

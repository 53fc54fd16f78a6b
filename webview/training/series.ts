// The numbers the training view draws, derived from engine results and run manifests. No DOM and
// no chart.js here: what is a gap, where an ∞ marker goes, which epoch the slider is on.
import type { LabelEntropiesResult } from '../../src/shared/measures';
import type { RunInfo } from '../../src/shared/runFormat';

export type EntropyKind = 'labelGivenPrediction' | 'predictionGivenLabel';

export interface XY {
  readonly x: number;
  /** null is a gap: chart.js with spanGaps false breaks the line there. */
  readonly y: number | null;
}

/**
 * One line per class over the epochs of `items`. An undefined entropy (the results say `undefined`;
 * after postMessage's JSON it may read `null`) is a gap, never 0: 0 would claim perfect certainty.
 */
export function entropyLines(items: readonly LabelEntropiesResult[], kind: EntropyKind, classes: number): XY[][] {
  return Array.from({ length: classes }, (_, c) =>
    items.map((item) => {
      const v = item[kind][c];
      return { x: item.epoch, y: typeof v === 'number' && Number.isFinite(v) ? v : null };
    }),
  );
}

export interface InfinityMark {
  readonly classIndex: number;
  readonly epoch: number;
  /** 0 for the first class undefined at this epoch, 1 for the next…: marks at one epoch are stacked. */
  readonly stack: number;
}

/** Where each line has a gap, in epoch then class order. */
export function infinityMarks(lines: readonly (readonly XY[])[]): InfinityMark[] {
  const marks: InfinityMark[] = [];
  const perEpoch = new Map<number, number>();
  const epochs = lines[0]?.map((p) => p.x) ?? [];
  for (let e = 0; e < epochs.length; e++) {
    for (let c = 0; c < lines.length; c++) {
      if (lines[c][e].y !== null) continue;
      const stack = perEpoch.get(epochs[e]) ?? 0;
      perEpoch.set(epochs[e], stack + 1);
      marks.push({ classIndex: c, epoch: epochs[e], stack });
    }
  }
  return marks;
}

export interface EntropyAxis {
  /** The axis maximum. */
  readonly top: number;
  /** Where the band of ∞ marks starts; the axis has no value labels above it. */
  readonly bandStart: number;
  /** Where the `stack`-th ∞ mark of an epoch sits: above every value, stacked downwards from the top. */
  markY(stack: number): number;
}

/**
 * The entropy axis: values go up to at least log2(classes), the largest entropy K classes allow;
 * above them a band holds the ∞ marks, one row per class undefined at the same epoch, so a mark
 * never sits on a line.
 */
export function entropyAxis(lines: readonly (readonly XY[])[], classes: number, marks: readonly InfinityMark[]): EntropyAxis {
  let max = Math.log2(Math.max(2, classes));
  for (const line of lines) for (const p of line) if (p.y !== null && p.y > max) max = p.y;
  const rows = marks.reduce((most, m) => Math.max(most, m.stack + 1), 0);
  const step = max * 0.12;
  const top = max * 1.04 + Math.max(1, rows) * step;
  return { top, bandStart: max * 1.02, markY: (stack) => top - (stack + 0.5) * step };
}

/**
 * The index into `epochs` (ascending) the slider is on: the selected epoch, or the newest when none
 * is selected (a live run is followed) or the selected one is gone, the nearest earlier one.
 */
export function epochIndex(epochs: readonly number[], selected: number | undefined): number {
  if (epochs.length === 0) return -1;
  if (selected === undefined) return epochs.length - 1;
  let best = 0;
  for (let i = 0; i < epochs.length; i++) {
    if (epochs[i] === selected) return i;
    if (epochs[i] < selected) best = i;
  }
  return best;
}

/** The training loss of each finished epoch; null where the writer recorded none (or a non-finite one). */
export function lossLine(info: RunInfo): XY[] {
  return info.manifest.epochs.map((e) => ({ x: e.epoch, y: typeof e.metrics.loss === 'number' && Number.isFinite(e.metrics.loss) ? e.metrics.loss : null }));
}

/** The key of what a label-entropy result depends on: the run's finished epochs. A new epoch changes it. */
export function epochsKey(info: RunInfo): string {
  return info.manifest.epochs.map((e) => e.epoch).join(',');
}

/** Row sums, column sums and the total of a classes × classes confusion matrix (row = true label). */
export function confusionTotals(confusion: Int32Array, classes: number): { rows: number[]; cols: number[]; total: number; max: number; correct: number } {
  const rows = new Array<number>(classes).fill(0);
  const cols = new Array<number>(classes).fill(0);
  let total = 0;
  let max = 0;
  let correct = 0;
  for (let r = 0; r < classes; r++) {
    for (let c = 0; c < classes; c++) {
      const n = confusion[r * classes + c];
      rows[r] += n;
      cols[c] += n;
      total += n;
      if (n > max) max = n;
      if (r === c) correct += n;
    }
  }
  return { rows, cols, total, max, correct };
}

/**
 * Position of a count on the colour ramp, 0 … 1. Zero stays at 0 (the background) and any count
 * at least 0.12, so a single misclassified sample is visible; the rest is linear in the count, so
 * "darker" keeps meaning "more".
 */
export function rampPosition(count: number, max: number): number {
  if (count <= 0 || max <= 0) return 0;
  return 0.12 + 0.88 * (count / max);
}

/** A name shortened for a canvas label; the full name is in the text beside the chart. */
export function shortName(name: string, max = 28): string {
  return name.length > max ? `${name.slice(0, max - 1)}…` : name;
}

/** 3 significant digits, as the rest of CNNSlicer formats numbers. */
export function formatNumber(value: number): string {
  return String(Number(value.toPrecision(3)));
}

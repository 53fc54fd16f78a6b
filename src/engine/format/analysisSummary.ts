// Plain-text and JSON forms of the measures, as `cnnslicer analyze`, `entropy`, `capacity` and
// `labels` print them. Every table names its unit and the parameters behind it, because an
// entropy without its k or bin count cannot be compared with anything.
import type { ChannelCapacityResult, ChannelEntropiesResult, EstimatorParams, InterSampleEntropyResult, LabelEntropiesResult } from '../../shared/measures';
import { SATURATION_MARGIN_BITS } from '../../shared/measures';
import type { RunAnalysis } from '../analysis/analyzeRun';
import { ESTIMATOR_VERSION } from '../estimators';
import { table } from './runSummary';

/** Below this many bits a channel's maps are (nearly) constant: the filter does not respond. */
export const DEAD_CHANNEL_BITS = 0.1;

/** What a null stands for in the JSON outputs. */
export const UNDEFINED_MEANS = 'no prediction / no samples';

/** Bits with four decimals: enough to tell epochs apart, few enough to read. */
export function bits(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '—' : value.toFixed(4);
}

export function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(2)}%`;
}

/** H(x.label | y = i): undefined when nothing was predicted as i — the paper's ∞, never 0. */
export function labelGivenPredictionText(value: number | undefined): string {
  return value === undefined ? '∞ (never predicted)' : bits(value);
}

/** H(y | x.label = i): undefined when the probe set has no sample of class i. */
export function predictionGivenLabelText(value: number | undefined): string {
  return value === undefined ? '— (no samples)' : bits(value);
}

const NORMALIZATION_TEXT: Record<EstimatorParams['intraNormalization'], string> = {
  map: 'per map (each map over its own min..max, as the paper)',
  channel: 'per channel (min..max of the channel over the slice)',
  layer: 'per layer (min..max of the layer over the slice)',
};

const RANGE_TEXT: Record<EstimatorParams['capacityRange'], string> = {
  channel: "per channel (0..the channel's largest pair distance)",
  layer: "per layer (0..the layer's largest pair distance)",
};

/** The estimator parameters, one line per estimator; `usedK` is the k after capping at n − 1. */
export function formatParams(params: EstimatorParams, usedK?: number): string {
  const k = usedK !== undefined && usedK !== params.interK ? `k = ${params.interK} (used: ${usedK} = n − 1)` : `k = ${params.interK}`;
  return [
    `Estimator parameters (estimator version ${ESTIMATOR_VERSION}):`,
    table([
      ['inter-sample entropy', `${k}, σ tolerance ${params.sigmaRelativeTolerance}, at most ${params.sigmaMaxIterations} iterations`],
      ['intra-sample entropy', `${params.intraBins} bins, normalisation ${NORMALIZATION_TEXT[params.intraNormalization]}`],
      ['channel capacity', `${params.capacityBins} bins per axis, range ${RANGE_TEXT[params.capacityRange]}`],
    ]),
  ].join('\n');
}

interface ChannelStats {
  readonly channels: number;
  readonly defined: number;
  readonly mean: number | undefined;
  readonly min: { value: number; channel: number } | undefined;
  readonly max: { value: number; channel: number } | undefined;
  readonly dead: number;
}

/** Mean, min and max over the channels of their all-sample mean entropy; channels with no defined map are left out. */
export function channelStats(r: ChannelEntropiesResult): ChannelStats {
  let sum = 0;
  let defined = 0;
  let dead = 0;
  let min: { value: number; channel: number } | undefined;
  let max: { value: number; channel: number } | undefined;
  for (let c = 0; c < r.channels; c++) {
    if (r.allCount[c] === 0) continue;
    const v = r.all[c];
    defined++;
    sum += v;
    if (v < DEAD_CHANNEL_BITS) dead++;
    if (min === undefined || v < min.value) min = { value: v, channel: c };
    if (max === undefined || v > max.value) max = { value: v, channel: c };
  }
  return { channels: r.channels, defined, mean: defined > 0 ? sum / defined : undefined, min, max, dead };
}

interface MatrixStats {
  readonly mean: number;
  readonly max: number;
  /** Row (channel of lj) and column (channel of li) of the largest cell. */
  readonly maxRow: number;
  readonly maxCol: number;
}

export function capacityStats(r: ChannelCapacityResult): MatrixStats {
  let sum = 0;
  let max = -Infinity;
  let maxRow = 0;
  let maxCol = 0;
  for (let b = 0; b < r.rows; b++) {
    for (let a = 0; a < r.cols; a++) {
      const v = r.capacity[b * r.cols + a];
      sum += v;
      if (v > max) [max, maxRow, maxCol] = [v, b, a];
    }
  }
  const cells = r.rows * r.cols;
  return { mean: cells > 0 ? sum / cells : 0, max: cells > 0 ? max : 0, maxRow, maxCol };
}

export function summary(values: ArrayLike<number>): { mean: number; min: number; max: number } {
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    sum += values[i];
    min = Math.min(min, values[i]);
    max = Math.max(max, values[i]);
  }
  return values.length > 0 ? { mean: sum / values.length, min, max } : { mean: 0, min: 0, max: 0 };
}

export function shapeText(shape: readonly number[]): string {
  return shape.join('×');
}

/** Per class: samples, predictions and both label entropies (§5.2). */
export function formatLabelTable(le: LabelEntropiesResult, classes: readonly string[]): string {
  const k = le.classes;
  const rows = Array.from({ length: k }, (_, i) => {
    let samples = 0;
    let predicted = 0;
    for (let j = 0; j < k; j++) {
      samples += le.confusion[i * k + j];
      predicted += le.confusion[j * k + i];
    }
    return [
      `${i} ${classes[i] ?? ''}`.trimEnd(),
      String(samples),
      String(predicted),
      String(le.confusion[i * k + i]),
      labelGivenPredictionText(le.labelGivenPrediction[i]),
      predictionGivenLabelText(le.predictionGivenLabel[i]),
    ];
  });
  return table([['class', 'samples', 'predicted', 'correct', 'H(label | y = i)', 'H(y | label = i)'], ...rows], '  ', [1, 2, 3]);
}

/** The confusion matrix, rows = true label, columns = prediction. */
export function formatConfusion(le: LabelEntropiesResult, classes: readonly string[]): string {
  const k = le.classes;
  const header = ['label \\ predicted', ...Array.from({ length: k }, (_, j) => classes[j] ?? String(j))];
  const rows = Array.from({ length: k }, (_, i) => [classes[i] ?? String(i), ...Array.from({ length: k }, (_, j) => String(le.confusion[i * k + j]))]);
  return table(
    [header, ...rows],
    '  ',
    Array.from({ length: k }, (_, j) => j + 1),
  );
}

export function formatLabels(items: readonly LabelEntropiesResult[], classes: readonly string[]): string {
  return items
    .map((le) =>
      [
        `Epoch ${le.epoch} — probe accuracy ${percent(le.accuracy)}`,
        'Confusion matrix (rows = true label, columns = prediction):',
        formatConfusion(le, classes),
        'Label entropies in bits (§5.2):',
        formatLabelTable(le, classes),
      ].join('\n'),
    )
    .join('\n\n');
}

/** `cnnslicer entropy --inter`: one row per epoch. */
export function formatInterSample(items: readonly InterSampleEntropyResult[], params: EstimatorParams, samplesText: string): string {
  const layer = items[0]?.layer ?? '';
  const lines = [`Inter-sample entropy H(dCNN(${samplesText}, ${layer}, −, t)) in bits, k = ${params.interK} (capped at n − 1):`];
  // The ceiling log2 n(n−1) beside each value: with k near n the entropy sits just below it.
  const rows = items.map((r) => [
    String(r.epoch),
    bits(r.entropy),
    bits(r.ceiling),
    String(r.n),
    String(r.d),
    String(r.k),
    String(r.unsolved),
    String(r.unconverged),
  ]);
  lines.push(table([['epoch', 'entropy', 'ceiling', 'n', 'd', 'k', 'unsolved', 'unconverged'], ...rows], '  ', [0, 1, 2, 3, 4, 5, 6, 7]));
  const saturated = items.filter((r) => r.ceiling - r.entropy < SATURATION_MARGIN_BITS).length;
  if (saturated > 0)
    lines.push(`  ${saturated} of ${items.length} within ${SATURATION_MARGIN_BITS} bit of the ceiling log2 n(n−1): saturated, see docs/estimators.md`);
  if (layer === 'input') lines.push('  (the inputs do not change with training: computed once, reported at epoch 0)');
  return lines.join('\n');
}

/** `cnnslicer entropy --intra`: per channel, over all samples and per class; `onlyClass` keeps one class column. */
export function formatChannelEntropies(
  items: readonly ChannelEntropiesResult[],
  params: EstimatorParams,
  classes: readonly string[],
  onlyClass?: number,
): string {
  const blocks = items.map((r) => {
    const shown = onlyClass !== undefined ? [onlyClass] : Array.from({ length: r.classes }, (_, k) => k);
    const header = ['channel', 'all', ...shown.map((k) => classes[k] ?? String(k))];
    const rows = Array.from({ length: r.channels }, (_, c) => [
      `#${c}`,
      r.allCount[c] > 0 ? bits(r.all[c]) : '—',
      ...shown.map((k) => (r.perClassCount[k * r.channels + c] > 0 ? bits(r.perClass[k * r.channels + c]) : '—')),
    ]);
    const s = channelStats(r);
    const lines = [
      `Epoch ${r.epoch} — ${r.layer}, ${r.channels} channel${r.channels === 1 ? '' : 's'}; mean ${bits(s.mean)}, ${s.dead} below ${DEAD_CHANNEL_BITS} bit`,
      table([header, ...rows], '  ', header.map((_, c) => c).slice(1)),
    ];
    if (r.nonFiniteValues > 0) lines.push(`  note: ${r.nonFiniteValues} NaN/infinite activations left out`);
    return lines.join('\n');
  });
  const head = `Intra-sample entropy H(dCNN(x, l, c, t)) in bits, mean over the samples of each class (— = no sample); ${params.intraBins} bins, normalisation ${params.intraNormalization}:`;
  return [head, ...blocks].join('\n\n');
}

export type CapacitySort = 'max' | 'mean' | 'none';

/** Rows and columns in display order for a sort. */
export function capacityOrder(r: ChannelCapacityResult, sort: CapacitySort): { rows: number[]; cols: number[] } {
  if (sort === 'none') return { rows: Array.from({ length: r.rows }, (_, i) => i), cols: Array.from({ length: r.cols }, (_, i) => i) };
  return sort === 'max'
    ? { rows: Array.from(r.order.rowsByMax), cols: Array.from(r.order.colsByMax) }
    : { rows: Array.from(r.order.rowsByMean), cols: Array.from(r.order.colsByMean) };
}

/** Beyond this many rows or columns the matrix is cut to its sorted top-left corner. */
export const MATRIX_SHOWN = 16;
const LARGEST_SHOWN = 10;

/** `cnnslicer capacity`: dimensions, H(A)/H(B) summaries and the (sorted) matrix. */
export function formatCapacity(r: ChannelCapacityResult, params: EstimatorParams, sort: CapacitySort, samplesText: string): string {
  const s = capacityStats(r);
  const hA = summary(r.hA);
  const hB = summary(r.hB);
  const lines = [
    `Channel capacity between ${r.layerI} (columns, ${r.cols} channels) and ${r.layerJ} (rows, ${r.rows} channels) at epoch ${r.epoch}, in bits`,
    `(${samplesText}: ${r.pairs} sample pairs; ${params.capacityBins} bins per axis, range ${params.capacityRange}):`,
    table(
      [
        ['', 'mean', 'min', 'max'],
        ['capacity', bits(s.mean), bits(summary(r.capacity).min), bits(s.max)],
        [`H(A), ${r.layerI}`, bits(hA.mean), bits(hA.min), bits(hA.max)],
        [`H(B), ${r.layerJ}`, bits(hB.mean), bits(hB.min), bits(hB.max)],
      ],
      '  ',
      [1, 2, 3],
    ),
    '',
  ];
  const order = capacityOrder(r, sort);
  const cut = r.rows > MATRIX_SHOWN || r.cols > MATRIX_SHOWN;
  const rows = order.rows.slice(0, MATRIX_SHOWN);
  const cols = order.cols.slice(0, MATRIX_SHOWN);
  const sortText = sort === 'none' ? 'in channel order' : `rows and columns sorted by their ${sort}, largest first`;
  lines.push(
    cut
      ? `Top-left ${rows.length}×${cols.length} of the ${r.rows}×${r.cols} matrix, ${sortText} (row = ${r.layerJ} channel, column = ${r.layerI} channel):`
      : `Matrix, ${sortText} (row = ${r.layerJ} channel, column = ${r.layerI} channel):`,
  );
  const header = [`${r.layerJ} \\ ${r.layerI}`, ...cols.map((a) => `#${a}`)];
  const body = rows.map((b) => [`#${b}`, ...cols.map((a) => r.capacity[b * r.cols + a].toFixed(2))]);
  lines.push(
    table(
      [header, ...body],
      '  ',
      cols.map((_, i) => i + 1),
    ),
  );
  if (cut) {
    const cells = Array.from({ length: r.rows * r.cols }, (_, i) => i).sort((x, y) => r.capacity[y] - r.capacity[x] || x - y);
    lines.push('');
    lines.push(`The ${Math.min(LARGEST_SHOWN, cells.length)} largest cells:`);
    const top = cells.slice(0, LARGEST_SHOWN).map((i) => [`${r.layerJ} #${Math.floor(i / r.cols)}`, `${r.layerI} #${i % r.cols}`, bits(r.capacity[i])]);
    lines.push(table([['row', 'column', 'capacity'], ...top], '  ', [2]));
  }
  return lines.join('\n');
}

/** Float32 values as the shortest decimal that reads back as the same float32, so the JSON is exact but not noisy. */
function float32Text(v: number): number {
  if (!Number.isFinite(v) || v === 0) return v;
  for (let p = 1; p < 9; p++) {
    const shorter = Number(v.toPrecision(p));
    if (Math.fround(shorter) === v) return shorter;
  }
  return v;
}

/** JSON with typed arrays as plain arrays and undefined as null, the form every `--json` output uses; indent 0 gives one line. */
export function toJsonText(value: unknown, indent = 2): string {
  return JSON.stringify(
    value,
    (_key, v: unknown) => {
      if (v === undefined) return null;
      if (v instanceof Float32Array) return Array.from(v, float32Text);
      if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number>);
      return v;
    },
    indent,
  );
}

/**
 * Channel entropies with their undefined entries (count 0, stored as 0 in the typed arrays) as
 * null, so that a class without samples never reads as a channel of zero entropy.
 */
export function channelEntropiesForJson(
  r: ChannelEntropiesResult,
): Omit<ChannelEntropiesResult, 'perClass' | 'all'> & { perClass: (number | null)[]; all: (number | null)[] } {
  return {
    ...r,
    perClass: Array.from(r.perClass, (v, i) => (r.perClassCount[i] > 0 ? float32Text(v) : null)),
    all: Array.from(r.all, (v, c) => (r.allCount[c] > 0 ? float32Text(v) : null)),
  };
}

/** The full analysis as `--json` writes it, with what its nulls mean. */
export function analysisJson(a: RunAnalysis): string {
  const channelEntropies = a.channelEntropies.map((ce) => ({ layer: ce.layer, items: ce.items.map(channelEntropiesForJson) }));
  return toJsonText({ undefinedMeans: UNDEFINED_MEANS, ...a, channelEntropies }) + '\n';
}

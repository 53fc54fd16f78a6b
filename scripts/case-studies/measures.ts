// The numbers of docs/paper-case-studies.md, every one computed by the engine's own request
// handlers (what the extension's engine process answers the views with) on the case-study runs,
// plus the statistics that turn them into the document's criteria (defined in the document).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { imagesAsFloat32, loadMnist } from '../../src/core/data/mnist';
import { ActivationCache } from '../../src/engine/cache/activationCache';
import { ResultCache } from '../../src/engine/cache/resultCache';
import { knn } from '../../src/engine/compute/knn';
import { effectiveK, interSampleEntropy, resolveEstimatorParams } from '../../src/engine/estimators';
import { createHandlers, type Handlers, type RequestContext } from '../../src/engine/handlers';
import { RunRegistry } from '../../src/engine/run/runRegistry';
import type { ChannelCapacityResult, ChannelEntropiesResult, LabelEntropiesResult } from '../../src/shared/measures';
import type { RunInfo } from '../../src/shared/runFormat';

export function engineHandlers(cacheDir: string): Handlers {
  const log = (level: 'info' | 'warn' | 'error', message: string): void => {
    if (level !== 'info') process.stderr.write(`engine ${level}: ${message}\n`);
  };
  const cache = new ResultCache({ dir: cacheDir, log });
  // Each checkpoint epoch of the paper CNN is ~240 MB of float16 activations over 1,000 probes;
  // 10 GiB keeps one run's 31 epochs, so the capacity and entropy series share one forward pass per epoch.
  const activationCache = new ActivationCache({ dir: cache.dir, maxBytes: 10 * 2 ** 30, log, hasher: cache.content });
  return createHandlers({ runs: new RunRegistry({ activationCache, log }), cache });
}

export function context(what: string): RequestContext {
  let last = 0;
  return {
    signal: new AbortController().signal,
    progress(done, total) {
      const now = Date.now();
      if (now - last < 15_000 || total === 0) return;
      last = now;
      process.stderr.write(`  ${what}: ${done}/${total}\n`);
    },
  };
}

// ---------------------------------------------------------------- Fig. 5

/** H(dCNN(x, 0, −, 0)) of a run's own training images (pixels / 255, k = 1000), as scripts/paper-reproduction.ts. */
export async function trainingSetEntropy(indices: readonly number[]): Promise<{ n: number; k: number; entropy: number }> {
  const train = await loadMnist('train');
  const params = resolveEstimatorParams({ interK: 1000 });
  const points = imagesAsFloat32(train, indices, 255);
  const n = indices.length;
  const k = effectiveK(n, params);
  const graph = await knn(points, n, 784, k);
  return { n, k, entropy: interSampleEntropy(graph, params).entropy };
}

/** First epoch from which the loss stays at or below `threshold` to the end; undefined if it never does. */
export function epochStayingBelow(losses: readonly number[], threshold: number): number | undefined {
  let from: number | undefined;
  for (let e = losses.length - 1; e >= 0; e--) {
    if (losses[e] <= threshold) from = e;
    else break;
  }
  return from;
}

export function lossesOf(info: RunInfo): number[] {
  return info.manifest.epochs.map((e) => {
    const loss = e.metrics?.loss;
    if (typeof loss !== 'number') throw new Error(`${info.dir}: epoch ${e.epoch} has no loss`);
    return loss;
  });
}

// ---------------------------------------------------------------- Fig. 6, 7

/** Epochs that must follow a stabilisation epoch: a window of one or two values is stable by definition. */
export const MIN_STABLE_TAIL = 5;

/**
 * The stabilisation epoch of H(label | y = i): the first epoch t from which, for every class i,
 * the values at t, t+1, … up to `until` span at most `tolerance` bits (max − min), and none is
 * undefined (∞). Undefined when no t at least MIN_STABLE_TAIL epochs before `until` satisfies it.
 */
export function stabilisationEpoch(items: readonly LabelEntropiesResult[], tolerance: number, until: number): number | undefined {
  const window = items.filter((i) => i.epoch <= until);
  const classes = window[0]?.classes ?? 0;
  const lo = new Array<number>(classes).fill(Infinity);
  const hi = new Array<number>(classes).fill(-Infinity);
  let stable: number | undefined;
  for (let t = window.length - 1; t >= 0; t--) {
    const values = window[t].labelGivenPrediction;
    let ok = true;
    for (let c = 0; c < classes; c++) {
      const v = values[c];
      if (v === undefined || v === null) {
        ok = false;
        break;
      }
      lo[c] = Math.min(lo[c], v);
      hi[c] = Math.max(hi[c], v);
      if (hi[c] - lo[c] > tolerance) ok = false;
    }
    if (!ok) break;
    stable = window[t].epoch;
  }
  // The window ends at `until` or at the run's last epoch, whichever comes first.
  const end = window.at(-1)?.epoch ?? until;
  return stable !== undefined && stable <= end - MIN_STABLE_TAIL ? stable : undefined;
}

/**
 * How much H(label | y = i) moves from one epoch to the next, in bits: the mean over the classes
 * and over the epochs in (from, to] of |H(t) − H(t − 1)|, where both are defined.
 */
export function meanChange(items: readonly LabelEntropiesResult[], from: number, to: number): number {
  let sum = 0;
  let count = 0;
  for (let t = 1; t < items.length; t++) {
    if (items[t].epoch <= from || items[t].epoch > to) continue;
    for (let c = 0; c < items[t].classes; c++) {
      const a = items[t - 1].labelGivenPrediction[c];
      const b = items[t].labelGivenPrediction[c];
      if (typeof a === 'number' && typeof b === 'number') {
        sum += Math.abs(b - a);
        count++;
      }
    }
  }
  return count === 0 ? NaN : sum / count;
}

/** Largest epoch-to-epoch change of H(label | y = i) over the classes, between epochs a and b (both defined). */
export function largestSwing(items: readonly LabelEntropiesResult[], from: number, to: number): number {
  let swing = 0;
  for (let t = 1; t < items.length; t++) {
    if (items[t].epoch <= from || items[t].epoch > to) continue;
    for (let c = 0; c < items[t].classes; c++) {
      const a = items[t - 1].labelGivenPrediction[c];
      const b = items[t].labelGivenPrediction[c];
      if (typeof a === 'number' && typeof b === 'number') swing = Math.max(swing, Math.abs(b - a));
    }
  }
  return swing;
}

export interface NeverPredicted {
  readonly epoch: number;
  readonly classes: number[];
  /** Predictions per class (column sums of the confusion matrix). */
  readonly predicted: number[];
}

export function neverPredicted(items: readonly LabelEntropiesResult[]): NeverPredicted[] {
  const out: NeverPredicted[] = [];
  for (const item of items) {
    const classes: number[] = [];
    item.labelGivenPrediction.forEach((v, c) => {
      if (v === undefined || v === null) classes.push(c);
    });
    if (classes.length === 0) continue;
    const predicted = Array.from({ length: item.classes }, (_, c) => {
      let s = 0;
      for (let r = 0; r < item.classes; r++) s += item.confusion[r * item.classes + c];
      return s;
    });
    out.push({ epoch: item.epoch, classes, predicted });
  }
  return out;
}

// ---------------------------------------------------------------- Fig. 10–12

export interface MatrixStats {
  readonly epoch: number;
  readonly rows: number;
  readonly cols: number;
  readonly mean: number;
  readonly max: number;
  /** Square matrices only: mean diagonal cell / mean off-diagonal cell. */
  readonly diagonalRatio?: number;
  /** Square matrices only: rows whose largest cell is on the diagonal. */
  readonly rowsMaxOnDiagonal?: number;
  readonly meanHA: number;
  readonly meanHB: number;
}

function mean(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return s / values.length;
}

export function matrixStats(m: ChannelCapacityResult): MatrixStats {
  let max = 0;
  for (const v of m.capacity) max = Math.max(max, v);
  const base = { epoch: m.epoch, rows: m.rows, cols: m.cols, mean: mean(m.capacity), max, meanHA: mean(m.hA), meanHB: mean(m.hB) };
  if (m.rows !== m.cols) return base;
  let diag = 0;
  let off = 0;
  let onDiagonal = 0;
  for (let r = 0; r < m.rows; r++) {
    let best = 0;
    for (let c = 0; c < m.cols; c++) {
      const v = m.capacity[r * m.cols + c];
      if (r === c) diag += v;
      else off += v;
      if (v > m.capacity[r * m.cols + best]) best = c;
    }
    if (best === r) onDiagonal++;
  }
  const n = m.rows;
  return { ...base, diagonalRatio: diag / n / (off / (n * n - n)), rowsMaxOnDiagonal: onDiagonal };
}

/** Spearman's rank correlation (ties get their mean rank). */
export function spearman(x: readonly number[], y: readonly number[]): number {
  const ranks = (v: readonly number[]): number[] => {
    const order = v.map((value, i) => ({ value, i })).sort((a, b) => a.value - b.value);
    const r = new Array<number>(v.length);
    for (let i = 0; i < order.length;) {
      let j = i;
      while (j + 1 < order.length && order[j + 1].value === order[i].value) j++;
      for (let k = i; k <= j; k++) r[order[k].i] = (i + j) / 2 + 1;
      i = j + 1;
    }
    return r;
  };
  const rx = ranks(x);
  const ry = ranks(y);
  const mx = mean(rx);
  const my = mean(ry);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < x.length; i++) {
    sxy += (rx[i] - mx) * (ry[i] - my);
    sxx += (rx[i] - mx) ** 2;
    syy += (ry[i] - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}

// ---------------------------------------------------------------- Fig. 14

export interface LayerEntropyStats {
  readonly layer: string;
  readonly epoch: number;
  readonly channels: number;
  /** Mean over the channels of each channel's mean entropy over all probe samples (bits). */
  readonly meanEntropy: number;
  /** Mean over the channels of the standard deviation of the channel's 10 per-class means (bits). */
  readonly classSpread: number;
  /** classSpread relative to the channel's mean, averaged over channels: spread independent of the layer's entropy level. */
  readonly relativeSpread: number;
  /** Mean over channels of (largest − smallest) per-class mean (bits). */
  readonly classRange: number;
  /** Per class, the mean over channels of the class's mean entropy (bits). */
  readonly classMeans: readonly number[];
}

export function layerEntropyStats(r: ChannelEntropiesResult): LayerEntropyStats {
  let spread = 0;
  let relative = 0;
  let range = 0;
  for (let c = 0; c < r.channels; c++) {
    const perClass: number[] = [];
    for (let k = 0; k < r.classes; k++) if (r.perClassCount[k * r.channels + c] > 0) perClass.push(r.perClass[k * r.channels + c]);
    const m = mean(perClass);
    const sd = Math.sqrt(perClass.reduce((s, v) => s + (v - m) ** 2, 0) / perClass.length);
    spread += sd;
    relative += m > 0 ? sd / m : 0;
    range += Math.max(...perClass) - Math.min(...perClass);
  }
  return {
    layer: r.layer,
    epoch: r.epoch,
    channels: r.channels,
    meanEntropy: mean(r.all),
    classSpread: spread / r.channels,
    relativeSpread: relative / r.channels,
    classRange: range / r.channels,
    classMeans: Array.from({ length: r.classes }, (_, k) => mean(r.perClass.subarray(k * r.channels, (k + 1) * r.channels))),
  };
}

/** A small JSON file of values that are slow to compute and depend only on `key`. */
export async function memo<T>(file: string, key: string, compute: () => Promise<T>): Promise<T> {
  if (fs.existsSync(file)) {
    const stored = JSON.parse(fs.readFileSync(file, 'utf8')) as { key: string; value: T };
    if (stored.key === key) return stored.value;
  }
  const value = await compute();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify({ key, value }));
  return value;
}

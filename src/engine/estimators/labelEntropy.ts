// Label entropies (paper §5.2): the model as a communication channel from true label to predicted
// label at epoch t. H(x.label | y = i) is the uncertainty about the true class among the samples
// predicted as i (a precision-like view, one column of the confusion matrix); H(y | x.label = i)
// is the spread of predictions for the samples of class i (one row). Both in bits.

import { CnnSlicerError } from '../../shared/errors';

/**
 * Argmax of each row of `logits` (n×classes, row-major), ties to the lowest index. NaN is never
 * the maximum; a row with no non-NaN logit (a diverged model) predicts −1, which `confusionMatrix`
 * leaves out.
 */
export function predictionsFromLogits(logits: Float32Array, n: number, classes: number): Int32Array {
  if (!Number.isInteger(n) || !Number.isInteger(classes) || n < 0 || classes < 1 || logits.length !== n * classes) {
    throw new CnnSlicerError('internal', `logits: expected ${n}×${classes} values, got ${logits.length}`);
  }
  const predicted = new Int32Array(n);
  for (let s = 0; s < n; s++) {
    let best = -1;
    let bestValue = -Infinity;
    for (let c = 0; c < classes; c++) {
      const v = logits[s * classes + c];
      // Strict > keeps the first of equal maxima; `best < 0` admits a row whose maximum is −∞.
      if (v > bestValue || (best < 0 && v === -Infinity)) {
        best = c;
        bestValue = v;
      }
    }
    predicted[s] = best;
  }
  return predicted;
}

/**
 * Counts per (true label, predicted label): row = true label, column = prediction, classes×classes
 * row-major. A prediction of −1 (no usable logit) is not counted; any other value outside
 * [0, classes) is an error.
 */
export function confusionMatrix(labels: Int32Array, predicted: Int32Array, classes: number): Int32Array {
  if (labels.length !== predicted.length) throw new CnnSlicerError('internal', `confusion matrix: ${labels.length} labels but ${predicted.length} predictions`);
  if (!Number.isInteger(classes) || classes < 1) throw new CnnSlicerError('bad-request', `classes must be an integer ≥ 1, got ${classes}`);
  const matrix = new Int32Array(classes * classes);
  for (let s = 0; s < labels.length; s++) {
    const label = labels[s];
    const prediction = predicted[s];
    if (!(label >= 0 && label < classes)) throw new CnnSlicerError('bad-request', `sample ${s} has label ${label}, outside [0, ${classes})`);
    if (prediction === -1) continue;
    if (!(prediction >= 0 && prediction < classes)) throw new CnnSlicerError('internal', `sample ${s} has prediction ${prediction}, outside [0, ${classes})`);
    matrix[label * classes + prediction]++;
  }
  return matrix;
}

export interface LabelEntropies {
  /**
   * H(x.label | y = i) for each predicted class i (column i). `undefined` when nothing was
   * predicted as i: the distribution does not exist (the paper draws it as ∞, a gap), and 0 would
   * wrongly read as "perfectly certain".
   */
  readonly labelGivenPrediction: (number | undefined)[];
  /** H(y | x.label = i) for each true class i (row i); `undefined` when class i has no sample. */
  readonly predictionGivenLabel: (number | undefined)[];
}

/** Entropy in bits of `count` counts read at `start`, `start + stride`, …; undefined when they sum to 0. */
function entropyOfStrided(counts: Int32Array, start: number, stride: number, count: number): number | undefined {
  let total = 0;
  for (let q = 0; q < count; q++) total += counts[start + q * stride];
  if (total === 0) return undefined;
  let h = 0;
  for (let q = 0; q < count; q++) {
    const c = counts[start + q * stride];
    if (c > 0) h -= (c / total) * Math.log2(c / total);
  }
  // −Σ of terms that are each ≤ 0 can only round to −0; report +0.
  return h > 0 ? h : 0;
}

/** Both label entropies of a classes×classes confusion matrix (row = true label, column = prediction). */
export function labelEntropies(confusion: Int32Array, classes: number): LabelEntropies {
  if (confusion.length !== classes * classes)
    throw new CnnSlicerError('internal', `confusion matrix: expected ${classes}×${classes} counts, got ${confusion.length}`);
  const labelGivenPrediction: (number | undefined)[] = [];
  const predictionGivenLabel: (number | undefined)[] = [];
  for (let i = 0; i < classes; i++) {
    labelGivenPrediction.push(entropyOfStrided(confusion, i, classes, classes));
    predictionGivenLabel.push(entropyOfStrided(confusion, i * classes, 1, classes));
  }
  return { labelGivenPrediction, predictionGivenLabel };
}

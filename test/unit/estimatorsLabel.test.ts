import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { CnnSlicerError } from '../../src/shared/errors';
import { confusionMatrix, labelEntropies, predictionsFromLogits } from '../../src/engine/estimators/labelEntropy';

const close = (actual: number | undefined, expected: number): boolean => actual !== undefined && Math.abs(actual - expected) < 1e-12;

describe('estimators: label entropies (§5.2)', () => {
  // Four classes. True 0 → predicted 0 ×4, 2 ×3, 3 ×1; true 1 → 0 ×2; true 2 → 2 ×6; class 3 has
  // no sample, and nothing is ever predicted as 1.
  const labels = Int32Array.from([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 2, 2, 2, 2, 2]);
  const predicted = Int32Array.from([0, 2, 0, 3, 2, 0, 2, 0, 0, 0, 2, 2, 2, 2, 2, 2]);

  it('counts the confusion matrix with rows = true label, columns = prediction', () => {
    assert.deepEqual([...confusionMatrix(labels, predicted, 4)], [4, 0, 3, 1, /**/ 2, 0, 0, 0, /**/ 0, 0, 6, 0, /**/ 0, 0, 0, 0]);
  });

  it('gives the hand-computed entropies, and undefined for a never-predicted class and an empty class', () => {
    const { labelGivenPrediction, predictionGivenLabel } = labelEntropies(confusionMatrix(labels, predicted, 4), 4);
    // Column 0 holds 4 of class 0 and 2 of class 1: H(2/3, 1/3) = 0.9182958340544896.
    assert.ok(close(labelGivenPrediction[0], 0.9182958340544896), `${labelGivenPrediction[0]}`);
    assert.equal(labelGivenPrediction[1], undefined);
    // Column 2: 3 of class 0, 6 of class 2: H(1/3, 2/3).
    assert.ok(close(labelGivenPrediction[2], 0.9182958340544896), `${labelGivenPrediction[2]}`);
    assert.equal(labelGivenPrediction[3], 0);
    // Row 0: predictions 0, 2, 3 with 4/8, 3/8, 1/8: 0.5 + 0.375·log2(8/3) + 0.375 = 1.4056390622295665.
    assert.ok(close(predictionGivenLabel[0], 1.4056390622295665), `${predictionGivenLabel[0]}`);
    assert.equal(predictionGivenLabel[1], 0);
    assert.equal(predictionGivenLabel[2], 0);
    assert.equal(predictionGivenLabel[3], undefined);
  });

  it('stays within [0, log2 classes] and is undefined exactly where the column or row is empty (property)', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 12 })
          .chain((classes) =>
            fc.tuple(
              fc.constant(classes),
              fc.array(fc.tuple(fc.integer({ min: 0, max: classes - 1 }), fc.integer({ min: 0, max: classes - 1 })), { maxLength: 200 }),
            ),
          ),
        ([classes, samples]) => {
          const confusion = confusionMatrix(Int32Array.from(samples.map((s) => s[0])), Int32Array.from(samples.map((s) => s[1])), classes);
          const { labelGivenPrediction, predictionGivenLabel } = labelEntropies(confusion, classes);
          for (let i = 0; i < classes; i++) {
            const columnEmpty = !samples.some((s) => s[1] === i);
            const rowEmpty = !samples.some((s) => s[0] === i);
            assert.equal(labelGivenPrediction[i] === undefined, columnEmpty);
            assert.equal(predictionGivenLabel[i] === undefined, rowEmpty);
            for (const h of [labelGivenPrediction[i], predictionGivenLabel[i]]) {
              if (h !== undefined) assert.ok(h >= 0 && h <= Math.log2(classes) + 1e-12 && !Number.isNaN(h));
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('predicts the argmax of the logits, ties to the lowest class, and −1 for a row of NaN', () => {
    const logits = Float32Array.from([
      0.1,
      0.7,
      0.2, // 1
      3,
      3,
      1, // tie → 0
      -Infinity,
      -Infinity,
      -Infinity, // all −∞ → 0
      NaN,
      -5,
      NaN, // NaN is never the maximum → 1
      NaN,
      NaN,
      NaN, // nothing usable → −1
      -1,
      2,
      2, // tie → 1
    ]);
    assert.deepEqual([...predictionsFromLogits(logits, 6, 3)], [1, 0, 0, 1, -1, 1]);
  });

  it('leaves a −1 prediction out of the confusion matrix and rejects out-of-range classes', () => {
    assert.deepEqual([...confusionMatrix(Int32Array.from([0, 1, 1]), Int32Array.from([0, -1, 1]), 2)], [1, 0, 0, 1]);
    assert.throws(() => confusionMatrix(Int32Array.from([2]), Int32Array.from([0]), 2), CnnSlicerError);
    assert.throws(() => confusionMatrix(Int32Array.from([0]), Int32Array.from([5]), 2), CnnSlicerError);
    assert.throws(() => confusionMatrix(Int32Array.from([0, 1]), Int32Array.from([0]), 2), CnnSlicerError);
    assert.throws(() => labelEntropies(new Int32Array(5), 2), CnnSlicerError);
  });
});

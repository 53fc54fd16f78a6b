import * as assert from 'node:assert/strict';
import { CnnSlicerError } from '../../src/shared/errors';
import { ESTIMATOR_DEFAULTS, ESTIMATOR_VERSION, resolveEstimatorParams, type EstimatorParams } from '../../src/engine/estimators/params';

describe('estimators: parameters', () => {
  it('accepts the defaults and overlays overrides on them', () => {
    assert.deepEqual(resolveEstimatorParams(), ESTIMATOR_DEFAULTS);
    const resolved = resolveEstimatorParams({ interK: 15, capacityRange: 'layer' });
    assert.equal(resolved.interK, 15);
    assert.equal(resolved.capacityRange, 'layer');
    assert.equal(resolved.intraBins, ESTIMATOR_DEFAULTS.intraBins);
    assert.ok(Number.isInteger(ESTIMATOR_VERSION) && ESTIMATOR_VERSION >= 1);
  });

  it('rejects values no estimator can use', () => {
    const bad: Partial<Record<keyof EstimatorParams, unknown>>[] = [
      { intraBins: 0 },
      { intraBins: 2.5 },
      { intraNormalization: 'sample' },
      { interK: 1 },
      { sigmaRelativeTolerance: 0 },
      { sigmaRelativeTolerance: NaN },
      { sigmaMaxIterations: 0 },
      { capacityBins: 257 },
      { capacityRange: 'global' },
    ];
    for (const overrides of bad) {
      assert.throws(
        () => resolveEstimatorParams(overrides as Partial<EstimatorParams>),
        (err: unknown) => err instanceof CnnSlicerError && err.code === 'bad-request',
        JSON.stringify(overrides),
      );
    }
  });
});

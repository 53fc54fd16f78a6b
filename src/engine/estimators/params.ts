// Every choice the paper leaves open, in one place, so a cached result can be keyed by exactly the
// settings that produced it (ESTIMATOR_VERSION plus these values). docs/estimators.md gives the
// reasoning behind each default.

import { CnnSlicerError } from '../../shared/errors';

/**
 * Bumped whenever any estimator's output can change for the same input and parameters (a bug fix,
 * a changed convention), so caches written by an older build are not served.
 */
// 3: checkpoint epochs are measured from their float16 activation cache entries (activationCache.ts).
export const ESTIMATOR_VERSION = 3;

import type { CapacityRange, EstimatorParams, IntraNormalization, RenyiSigmaRule } from '../../shared/measures';

// The types live in src/shared so the host and the views can name the parameters they show.
export type { CapacityRange, EstimatorParams, IntraNormalization, RenyiSigmaRule };

// The defaults live in src/shared too: the request parsers derive the parameters' names and types from them.
export { ESTIMATOR_DEFAULTS } from '../../shared/measures';
import { ESTIMATOR_DEFAULTS } from '../../shared/measures';

/**
 * capacityPairs to use when a sampled channel capacity is asked for without a count (the CLI's
 * `--capacity-pairs sampled`): over 1,000 probe samples (499,500 pairs) it kept 512 × 512 capacity
 * matrices (benchmark (b)'s and a ResNet-18's) within 0.014 bit of the exact ones, in about a
 * quarter of the time; 50,000 pairs were ~2 s faster but up to 0.022 bit off (docs/estimators.md).
 */
export const CAPACITY_SAMPLED_PAIRS = 100000;

/** The k actually used for N samples: the paper's k, but never more than the N − 1 other samples. */
export function effectiveK(sampleCount: number, params: Pick<EstimatorParams, 'interK'> = ESTIMATOR_DEFAULTS): number {
  return Math.min(params.interK, sampleCount - 1);
}

function requireInteger(name: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new CnnSlicerError('bad-request', `estimator parameter "${name}" must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
}

/** Defaults overlaid with `overrides`, each value checked; throws `bad-request` on a bad one. */
export function resolveEstimatorParams(overrides: Partial<EstimatorParams> = {}): EstimatorParams {
  const params: EstimatorParams = { ...ESTIMATOR_DEFAULTS, ...overrides };
  requireInteger('intraBins', params.intraBins, 1, 65536);
  if (!['map', 'channel', 'layer'].includes(params.intraNormalization)) {
    throw new CnnSlicerError(
      'bad-request',
      `estimator parameter "intraNormalization" must be "map", "channel" or "layer", got ${String(params.intraNormalization)}`,
    );
  }
  // log2(1) = 0 leaves Eq. 5 without a solution (every exp term is positive), hence k ≥ 2.
  requireInteger('interK', params.interK, 2, 2 ** 30);
  const tol = params.sigmaRelativeTolerance;
  if (typeof tol !== 'number' || !(tol > 0 && tol < 1)) {
    throw new CnnSlicerError('bad-request', `estimator parameter "sigmaRelativeTolerance" must be in (0, 1), got ${String(tol)}`);
  }
  requireInteger('sigmaMaxIterations', params.sigmaMaxIterations, 1, 100000);
  // Codes are stored one byte per distance; more than 256 bins would also make the 2-D histogram
  // sparser than any probe set can fill.
  requireInteger('capacityBins', params.capacityBins, 1, 256);
  if (params.capacityRange !== 'channel' && params.capacityRange !== 'layer') {
    throw new CnnSlicerError('bad-request', `estimator parameter "capacityRange" must be "channel" or "layer", got ${String(params.capacityRange)}`);
  }
  // 0: every pair; the sample's indices are 32-bit.
  requireInteger('capacityPairs', params.capacityPairs, 0, 2 ** 31 - 1);
  const alpha = params.renyiAlpha;
  if (typeof alpha !== 'number' || !(alpha > 0 && alpha < Infinity)) {
    throw new CnnSlicerError('bad-request', `estimator parameter "renyiAlpha" must be a number > 0, got ${String(alpha)}`);
  }
  if (!['median', 'silverman', 'fixed'].includes(params.renyiSigma)) {
    throw new CnnSlicerError('bad-request', `estimator parameter "renyiSigma" must be "median", "silverman" or "fixed", got ${String(params.renyiSigma)}`);
  }
  const sigma = params.renyiSigmaValue;
  if (typeof sigma !== 'number' || !(sigma > 0 && sigma < Infinity)) {
    throw new CnnSlicerError('bad-request', `estimator parameter "renyiSigmaValue" must be a number > 0, got ${String(sigma)}`);
  }
  // An n × n float64 Gram matrix of 2^15 samples is already 8 GiB: above that only the estimate is possible.
  requireInteger('renyiExactMax', params.renyiExactMax, 2, 2 ** 15);
  return params;
}

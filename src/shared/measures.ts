// The results of the paper's measures, as the engine returns them to the host, the CLI and the
// webviews. Large numeric parts are typed arrays, which cross process and webview boundaries as
// structured clones rather than JSON arrays of numbers.
import type { SampleSelection } from './sampleSelection';

/**
 * The value range a feature map is binned over, before its intra-sample histogram is taken:
 * - `map`: min..max of that one feature map (the paper: each map is normalised to (−1, 1));
 * - `channel`: min..max over every map of that channel in the slice, so maps of one channel are
 *   comparable (a weakly activated map lands in few bins and gets a low entropy);
 * - `layer`: min..max over every map of the layer in the slice.
 */
export type IntraNormalization = 'map' | 'channel' | 'layer';

/** Upper end of the capacity bins: each channel's own largest pair distance, or the layer's. */
export type CapacityRange = 'channel' | 'layer';

/**
 * How the Gaussian kernel width σ of the matrix-based Rényi entropy is chosen, per representation:
 * - `median`: the median of the Euclidean distances between its samples (scale-free);
 * - `silverman`: Silverman's rule of thumb, σ̂·(4/((d + 2)·n))^(1/(d + 4)), σ̂² the mean variance per dimension;
 * - `fixed`: `renyiSigmaValue`.
 */
export type RenyiSigmaRule = 'median' | 'silverman' | 'fixed';

export interface EstimatorParams {
  /** Intra-sample entropy (§4.4.2): number of equal-width histogram bins, B. */
  readonly intraBins: number;
  /** Intra-sample entropy: which values fix the binning range. */
  readonly intraNormalization: IntraNormalization;
  /** Inter-sample entropy (§4.4.1): neighbours per sample, k; capped at N − 1 by `effectiveK`. */
  readonly interK: number;
  /** Inter-sample entropy: σi is accepted when |Σj exp(−dij/σi) − log2 k| ≤ this × log2 k. */
  readonly sigmaRelativeTolerance: number;
  /** Inter-sample entropy: cap on Newton/bisection steps per σi. */
  readonly sigmaMaxIterations: number;
  /** Channel capacity (§5.3.1): bins per distance axis of the 2-D histogram. */
  readonly capacityBins: number;
  /** Channel capacity: range the distances of a channel are binned over, [0, max]. */
  readonly capacityRange: CapacityRange;
  /**
   * Channel capacity: sample pairs counted into each 2-D histogram. 0: every pair (exact, the
   * default); m > 0: m pairs drawn uniformly without replacement with a fixed seed (deterministic),
   * every pair when m ≥ n(n−1)/2.
   */
  readonly capacityPairs: number;
  /** Matrix-based Rényi entropy: the order α (> 0; 1 is the von Neumann limit −Σ λ log2 λ). */
  readonly renyiAlpha: number;
  /** Matrix-based Rényi entropy: how each representation's Gaussian kernel width σ is chosen. */
  readonly renyiSigma: RenyiSigmaRule;
  /** Matrix-based Rényi entropy: σ when `renyiSigma` is `fixed` (in the representation's units); unused otherwise. */
  readonly renyiSigmaValue: number;
  /** Matrix-based Rényi entropy: above this many samples the eigenvalue sums are estimated (stochastic Lanczos quadrature) rather than computed. */
  readonly renyiExactMax: number;
}

/** Every estimator parameter's default (docs/estimators.md gives the reasoning behind each). */
export const ESTIMATOR_DEFAULTS = {
  intraBins: 32,
  intraNormalization: 'map',
  interK: 1000,
  sigmaRelativeTolerance: 1e-9,
  sigmaMaxIterations: 200,
  capacityBins: 16,
  capacityRange: 'channel',
  capacityPairs: 0,
  renyiAlpha: 1.01,
  renyiSigma: 'median',
  renyiSigmaValue: 1,
  renyiExactMax: 4096,
} as const satisfies EstimatorParams;

/** log2 n(n−1): the ceiling of the inter-sample entropy of n samples, in bits. */
export function interSampleCeiling(n: number): number {
  return n >= 2 ? Math.log2(n * (n - 1)) : 0;
}

/** Within this many bits of its ceiling an inter-sample entropy is marked as saturated. */
export const SATURATION_MARGIN_BITS = 0.5;

/** A request's epoch: one, or every finished epoch of the run. */
export type EpochSelection = number | 'all';

/** H(dCNN(x, l, −, t)) (§4.4.1), for one epoch. */
export interface InterSampleEntropyResult {
  readonly layer: string;
  readonly epoch: number;
  /** Number of samples and their dimension (C·H·W of the layer). */
  readonly n: number;
  readonly d: number;
  /** The k actually used: the parameter, capped at n − 1. */
  readonly k: number;
  /** In bits. */
  readonly entropy: number;
  /**
   * log2 n(n−1) in bits: the most the entropy of a distribution over the n(n−1) ordered sample
   * pairs can be. With k near n every real layer sits just below it (docs/estimators.md,
   * "Saturation"), so a value is read against it.
   */
  readonly ceiling: number;
  /** Samples for which Eq. 5 has no solution (exact duplicates); see docs/estimators.md. */
  readonly unsolved: number;
  readonly unconverged: number;
}

/** H(dCNN(x, l, c, t)) (§4.4.2) per channel, per class and over all samples, for one epoch. */
export interface ChannelEntropiesResult {
  readonly layer: string;
  readonly epoch: number;
  readonly classes: number;
  readonly channels: number;
  /** Mean entropy (bits) of channel c over the maps of class k at k·channels + c; undefined where perClassCount is 0. */
  readonly perClass: Float32Array;
  readonly perClassCount: Int32Array;
  /** Mean entropy (bits) of channel c over every sample; undefined where allCount is 0. */
  readonly all: Float32Array;
  readonly allCount: Int32Array;
  /** NaN/±Inf activations left out of the histograms. */
  readonly nonFiniteValues: number;
}

/** Confusion matrix and label entropies at one epoch (§5.2). */
export interface LabelEntropiesResult {
  readonly epoch: number;
  readonly classes: number;
  /** classes × classes, row = true label, column = prediction. */
  readonly confusion: Int32Array;
  /** H(x.label | y = i) per predicted class; undefined when nothing was predicted as i (the paper's ∞). */
  readonly labelGivenPrediction: readonly (number | undefined)[];
  /** H(y | x.label = i) per true class; undefined when the class has no probe sample. */
  readonly predictionGivenLabel: readonly (number | undefined)[];
  /** Fraction of probe samples predicted correctly. */
  readonly accuracy: number;
}

/** Channel capacity between every channel of layer li (columns) and of layer lj (rows) (§5.3). */
export interface ChannelCapacityResult {
  readonly layerI: string;
  readonly layerJ: string;
  readonly epoch: number;
  /** Channels of lj (vertical axis) and of li (horizontal axis). */
  readonly rows: number;
  readonly cols: number;
  /** Bits, row-major: (row b of lj, column a of li) at b·cols + a. */
  readonly capacity: Float32Array;
  /** H(A) per channel of li, H(B) per channel of lj, in bits. */
  readonly hA: Float32Array;
  readonly hB: Float32Array;
  /** §5.3.2 sort orders, largest statistic first: order[k] is the channel shown at position k. */
  readonly order: {
    readonly colsByMax: Int32Array;
    readonly colsByMean: Int32Array;
    readonly rowsByMax: Int32Array;
    readonly rowsByMean: Int32Array;
  };
  /** Sample pairs binned into each 2-D histogram: n(n−1)/2. */
  readonly pairs: number;
}

/** One result per requested epoch, in epoch order, with the parameters that produced them. */
export interface MeasureSeries<R> {
  readonly items: readonly R[];
  readonly params: EstimatorParams;
  /** How many of the items came from the on-disk cache. */
  readonly cached: number;
}

export interface InterSampleEntropyParams {
  readonly run: string;
  readonly samples: SampleSelection;
  /** A layer, `input` (the paper's layer 0) or `logits` (the output). */
  readonly layer: string;
  readonly epoch: EpochSelection;
  readonly params?: Partial<EstimatorParams>;
}

export interface ChannelEntropiesParams {
  readonly run: string;
  readonly layer: string;
  readonly epoch: EpochSelection;
  readonly params?: Partial<EstimatorParams>;
}

export interface LabelEntropiesParams {
  readonly run: string;
  readonly epoch: EpochSelection;
}

export interface ChannelCapacityParams {
  readonly run: string;
  readonly samples: SampleSelection;
  readonly layerI: string;
  readonly layerJ: string;
  readonly epoch: EpochSelection;
  readonly params?: Partial<EstimatorParams>;
}

// Matrix-based Rényi α-order information between representations (Giraldo, Rao & Príncipe 2015;
// Yu et al. 2020): what the engine returns for the information between two layers, the layer ×
// layer matrix of an epoch, and the information plane (Shwartz-Ziv & Tishby 2017). The estimator
// and its parameters (α, σ) are in src/engine/estimators/ and docs/estimators.md; every value here
// is in bits.
import type { EpochSelection, EstimatorParams } from './measures';
import type { SampleSelection } from './sampleSelection';

/** The representation of the probe inputs themselves: the information plane's row for layer 0. */
export const INPUT_REPRESENTATION = 'input';
/** The labels as a representation: the kernel K_ij = [y_i = y_j]. */
export const LABELS_REPRESENTATION = 'labels';

/** I_α between two representations (recorded layers, `input` or `labels`) of the same samples. */
export interface LayerInformationParams {
  readonly run: string;
  readonly samples: SampleSelection;
  readonly layerA: string;
  readonly layerB: string;
  readonly epoch: EpochSelection;
  readonly params?: Partial<EstimatorParams>;
}

export interface LayerInformationResult {
  readonly layerA: string;
  readonly layerB: string;
  readonly epoch: number;
  /** Samples, the size of the kernel matrices. */
  readonly n: number;
  /** The kernel widths used (NaN for the labels, whose kernel has none). */
  readonly sigmaA: number;
  readonly sigmaB: number;
  /** S_α(A), S_α(B), S_α(A, B) and I_α(A; B) = S_α(A) + S_α(B) − S_α(A, B), bits. */
  readonly entropyA: number;
  readonly entropyB: number;
  readonly jointEntropy: number;
  readonly information: number;
  /** True when n was above the exact limit and the eigenvalues were estimated (docs/estimators.md gives the error). */
  readonly approximate: boolean;
}

/** The layer × layer matrix of I_α at one epoch: the inputs, every recorded layer asked for (all by default), the labels. */
export interface InformationMatrixParams {
  readonly run: string;
  readonly samples: SampleSelection;
  readonly epoch: number;
  /** Recorded layers (and `input`, `labels`); every recorded layer with `input` and `labels` when absent. */
  readonly layers?: readonly string[];
  readonly params?: Partial<EstimatorParams>;
}

export interface InformationMatrixResult {
  readonly epoch: number;
  readonly n: number;
  /** Row and column names, in the model's order: `input`, the layers, `labels`. */
  readonly layers: readonly string[];
  /** I_α(row; column), row-major k × k; the diagonal is each representation's S_α. */
  readonly information: Float64Array;
  readonly sigmas: Float64Array;
  readonly approximate: boolean;
  readonly params: EstimatorParams;
}

/** One point of the information plane: a representation T at an epoch. */
export interface InfoPlanePoint {
  readonly epoch: number;
  /** `input` or a recorded layer. */
  readonly layer: string;
  /** 0 for the input, then 1, 2, … in the model's order: what the plane colours by. */
  readonly depth: number;
  /** I(X; T) = I_α(A_X; A_T) and I(T; Y) = I_α(A_T; A_Y), bits. */
  readonly IXT: number;
  readonly ITY: number;
}

/** The information plane of one epoch: a point per representation. */
export interface InfoPlaneEpoch {
  readonly epoch: number;
  readonly n: number;
  readonly points: readonly InfoPlanePoint[];
  readonly approximate: boolean;
}

export interface InfoPlaneParams {
  readonly run: string;
  readonly samples: SampleSelection;
  readonly epoch: EpochSelection;
  readonly params?: Partial<EstimatorParams>;
}

/** What `cnnslicer infoplane --json` writes (issue 16): the estimator, its parameters and every point. */
export interface InfoPlaneJson {
  readonly estimator: 'renyi';
  readonly alpha: number;
  /** The σ rule or value asked for ("median", or a number). */
  readonly sigma: string | number;
  readonly n: number;
  readonly points: readonly { readonly epoch: number; readonly layer: string; readonly IXT: number; readonly ITY: number }[];
}

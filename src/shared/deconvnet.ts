// Deconvnet projections (Zeiler & Fergus 2014; the paper's §5.4, Fig. 13C and 15): one channel of
// a layer, pushed back to input space for a few probe samples. See docs/deconvnet.md.
import type { SampleSelection } from './sampleSelection';

/**
 * The most samples one request projects. The view shows a grid of small images; more would cost
 * memory and time in both processes without being looked at. A selection with more samples is
 * cut to its first this-many, and the result says how many it held.
 */
export const DECONVNET_MAX_SAMPLES = 64;

export interface DeconvnetParams {
  /** Run directory (absolute) or its manifest. */
  readonly run: string;
  /** A recorded layer whose output is a feature map; not `input` or `logits`. */
  readonly layer: string;
  /** The channel kept; every other channel of the layer is set to zero before projecting. */
  readonly channel: number;
  /** An epoch that has a checkpoint: the projection needs the model's weights. */
  readonly epoch: number;
  readonly samples: SampleSelection;
}

export interface DeconvnetResult {
  readonly layer: string;
  readonly channel: number;
  readonly epoch: number;
  /** The probe indices of the n projected samples, in order: the first DECONVNET_MAX_SAMPLES of the selection. */
  readonly sampleIndices: Int32Array;
  /** How many samples the selection held before it was cut to DECONVNET_MAX_SAMPLES. */
  readonly selectedCount: number;
  /** [n, ...inputShape]: the projections have the probe inputs' shape, e.g. [n, 1, 28, 28]. */
  readonly shape: readonly number[];
  /** Row-major projections, one per sample. Their scale is arbitrary; views normalise each image. */
  readonly images: Float32Array;
  /** Per sample, the largest value of the chosen channel's feature map, for sorting and labels. */
  readonly activation: Float32Array;
}

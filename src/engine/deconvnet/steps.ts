// The steps of a deconvnet plan: one per operator on the path from the model's input to a layer,
// each with what its inverse needs (weights, windows, scales) and its static per-sample shapes.
// docs/deconvnet.md has the table of operators and how each is inverted.

/** Spatial attributes shared by Conv, MaxPool and AveragePool, with auto_pad already turned into explicit pads. */
export interface WindowAttrs {
  /** Per spatial axis. */
  readonly kernel: readonly number[];
  readonly strides: readonly number[];
  readonly dilations: readonly number[];
  /** ONNX order: every axis's begin, then every axis's end. */
  readonly pads: readonly number[];
}

interface StepBase {
  /** The node's name in the checkpoint (or a description when it has none), for messages. */
  readonly node: string;
  readonly op: string;
  /** The checkpoint's value the step reads (on the path followed back) and the one it writes. */
  readonly input: string;
  readonly output: string;
  /** Per-sample shape [C, ...spatial] of the step's input and output. */
  readonly inShape: readonly number[];
  readonly outShape: readonly number[];
}

/** Conv, grouped and depthwise included: inverted by ConvTranspose with the same weight and group. */
export interface ConvStep extends StepBase, WindowAttrs {
  readonly kind: 'conv';
  /** [C_out, C_in / group, ...kernel], row-major. */
  readonly weight: Float32Array;
  readonly weightDims: readonly number[];
  readonly group: number;
}

/** MaxPool: inverted by putting each value back at its switch (scatter-add). */
export interface MaxPoolStep extends StepBase, WindowAttrs {
  readonly kind: 'maxpool';
  /** The value that holds the pool's indices in the forward model: the node's own second output, or one the forward model adds. */
  readonly switches: string;
  /** True when the checkpoint's node does not output its indices and the forward model must add the output. */
  readonly addSwitches: boolean;
}

/** Relu, and Clip with lower bound 0 (ReLU6): the backward signal is rectified. */
export interface ReluStep extends StepBase {
  readonly kind: 'relu';
}

/** BatchNormalization: the backward signal is multiplied per channel by γ / √(σ² + ε), the transpose of its linear part. */
export interface ScaleStep extends StepBase {
  readonly kind: 'scale';
  /** [C]. */
  readonly scale: Float32Array;
}

/** AveragePool: each value is divided by its window's divisor and spread evenly over the window. */
export interface AvgPoolStep extends StepBase, WindowAttrs {
  readonly kind: 'avgpool';
  /** Per output position (row-major over the output's spatial axes), the number the window's sum was divided by. */
  readonly divisors: Float32Array;
}

/** GlobalAveragePool and ReduceMean over spatial axes: each value is spread evenly over what it averaged. */
export interface MeanStep extends StepBase {
  readonly kind: 'mean';
  /** The output's per-sample shape with the averaged axes kept as 1 (what the input shape broadcasts from). */
  readonly keepShape: readonly number[];
  /** How many input values each output value averages. */
  readonly count: number;
}

/** Flatten and Reshape that keep the batch axis: the signal is reshaped back to the input's shape. */
export interface ReshapeStep extends StepBase {
  readonly kind: 'reshape';
}

/** An Add of a block's main path and its shortcut: the signal goes back along the main path (`input`) only. */
export interface ResidualStep extends StepBase {
  readonly kind: 'residual';
  /** The Add's other input, whose branch is dropped. */
  readonly shortcut: string;
  /** The block's input, where the two branches start. */
  readonly fork: string;
}

/** Identity, Dropout (the identity at inference) and the Add of a constant (a shift, like a convolution's bias). */
export interface PassStep extends StepBase {
  readonly kind: 'pass';
}

export type DeconvnetStep = ConvStep | MaxPoolStep | ReluStep | ScaleStep | AvgPoolStep | MeanStep | ReshapeStep | ResidualStep | PassStep;

export interface DeconvnetPlan {
  readonly layer: string;
  /** The checkpoint's input value, which the probe batch is fed to. */
  readonly input: string;
  /** Per-sample shape of the graph input, [C, ...spatial]. */
  readonly inputShape: readonly number[];
  /** Forward order, input first: the path followed back from the layer to the input. */
  readonly steps: readonly DeconvnetStep[];
  /** Per-sample shape of the layer, [C, ...spatial] or [C] after a flatten. */
  readonly outShape: readonly number[];
}

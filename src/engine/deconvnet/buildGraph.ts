// The deconvnet's backward pass as one ONNX graph for onnxruntime: a one-hot channel mask on the
// layer's values (computed by the checkpoint's own graph, forwardModel.ts), then the path in
// reverse as Zeiler & Fergus invert it: unpool with the switches, rectify, filter with the
// transposed weights; and the transposes of the linear steps real networks add (batch norm's
// scale, average pooling, flatten). docs/deconvnet.md has the table.
import { GraphBuilder } from '../../core/onnx/graphBuilder';
import type { DeconvnetPlan, DeconvnetStep, WindowAttrs } from './steps';

// The built graph's value names, as the query feeds and fetches them.
/** [batch, ...outShape]: the layer's values, from the forward model. */
export const DECONV_TARGET = 'target';
/** [1, C, 1, …, 1]: 1 for the kept channel, 0 for every other; an input, so one session serves every channel. */
export const DECONV_MASK = 'channel_mask';
/** [batch, ...inputShape]. */
export const DECONV_PROJECTION = 'projection';
/** [batch, C]: each channel's largest value of the layer, per sample. */
export const DECONV_CHANNEL_MAX = 'channel_max';

/** The input of the backward graph that takes the switches of step `k` (a max pool), [batch, ...its output shape], int64. */
export function switchesInput(k: number): string {
  return `switches${k}`;
}

/** [1, C, 1, …, 1] for a per-sample shape [C, ...]: the shape of a per-channel factor. */
export function channelShape(shape: readonly number[]): number[] {
  return [1, shape[0], ...new Array<number>(shape.length - 1).fill(1)];
}

/**
 * output_padding that makes a ConvTranspose with the convolution's pads and strides return the
 * convolution's input size: the forward pass floors away up to stride − 1 trailing positions that
 * no window reached, and those come back as zeros.
 */
export function outputPadding(inSpatial: readonly number[], outSpatial: readonly number[], w: WindowAttrs): number[] {
  const r = inSpatial.length;
  return inSpatial.map((size, i) => {
    const covered = w.strides[i] * (outSpatial[i] - 1) + (w.kernel[i] - 1) * w.dilations[i] + 1 - w.pads[i] - w.pads[i + r];
    return size - covered;
  });
}

function int64s(values: readonly number[]): BigInt64Array {
  return BigInt64Array.from(values, (v) => BigInt(v));
}

/** A ConvTranspose that undoes the windows of a Conv or pool step, to the step's input size. */
function transposeWindows(b: GraphBuilder, step: DeconvnetStep & WindowAttrs, from: string, weight: string, to: string, group: number, name: string): void {
  b.node(
    'ConvTranspose',
    [from, weight],
    [to],
    {
      kernel_shape: [...step.kernel],
      strides: [...step.strides],
      dilations: [...step.dilations],
      pads: [...step.pads],
      output_padding: outputPadding(step.inShape.slice(1), step.outShape.slice(1), step),
      group,
    },
    { name },
  );
}

export function buildDeconvnetModel(plan: DeconvnetPlan): Uint8Array {
  const b = new GraphBuilder('cnnslicer_deconvnet');
  const out = plan.outShape;
  b.input(DECONV_TARGET, 'float32', ['batch', ...out]);
  b.input(DECONV_MASK, 'float32', channelShape(out));
  plan.steps.forEach((step, k) => {
    if (step.kind === 'maxpool') b.input(switchesInput(k), 'int64', ['batch', ...step.outShape]);
  });
  // Max-pool indices count over the whole N×C×spatial tensor, so unpooling scatters into the
  // pool's input flattened to one row. Declared only when used: onnxruntime warns about an
  // unused initializer on every load.
  if (plan.steps.some((s) => s.kind === 'maxpool')) {
    b.initializer('flat_shape', int64s([1, -1]), [2]);
    b.initializer('batch_start', int64s([0]), [1]);
    b.initializer('batch_end', int64s([1]), [1]);
  }

  if (out.length > 1) {
    b.node('ReduceMax', [DECONV_TARGET], [DECONV_CHANNEL_MAX], { axes: Array.from({ length: out.length - 1 }, (_, i) => i + 2), keepdims: 0 });
  } else {
    // A flattened layer: each entry is its own channel.
    b.node('Identity', [DECONV_TARGET], [DECONV_CHANNEL_MAX]);
  }
  b.node('Mul', [DECONV_TARGET, DECONV_MASK], ['g_target']);

  // g is the signal arriving at a step's output; each step turns it into the signal at its input.
  let g = 'g_target';
  for (let k = plan.steps.length - 1; k >= 0; k--) {
    const step = plan.steps[k];
    const to = `g${k}`;
    const name = `backward_${k}_${step.node}`;
    switch (step.kind) {
      case 'conv':
        // ConvTranspose's weight is [C_in of the transpose, C_out / group, ...kernel]: that is the
        // convolution's own [C_out, C_in / group, ...kernel], unchanged, with the same group (a
        // depthwise convolution's transpose is depthwise too). No bias: the deconvnet filters the
        // signal; the forward bias is not part of the projection.
        b.initializer(`w${k}`, step.weight, step.weightDims);
        transposeWindows(b, step, g, `w${k}`, to, step.group, name);
        break;
      case 'maxpool': {
        // Unpooling as a scatter-add of each pooled value to its switch. With non-overlapping
        // windows that is MaxUnpool; with overlapping ones (kernel > stride) one input position can
        // be the maximum of two windows, and the sum keeps both contributions, where MaxUnpool
        // would keep only the last one written.
        b.initializer(`unpool${k}_sample_shape`, int64s(step.inShape), [step.inShape.length]);
        b.node('Shape', [g], [`unpool${k}_g_shape`]);
        b.node('Slice', [`unpool${k}_g_shape`, 'batch_start', 'batch_end'], [`unpool${k}_batch`]);
        b.node('Concat', [`unpool${k}_batch`, `unpool${k}_sample_shape`], [`unpool${k}_shape`], { axis: 0 });
        b.node('ConstantOfShape', [`unpool${k}_shape`], [`unpool${k}_zeros`]);
        b.node('Reshape', [`unpool${k}_zeros`, 'flat_shape'], [`unpool${k}_zeros_flat`]);
        b.node('Reshape', [switchesInput(k), 'flat_shape'], [`unpool${k}_switches_flat`]);
        b.node('Reshape', [g, 'flat_shape'], [`unpool${k}_values_flat`]);
        b.node(
          'ScatterElements',
          [`unpool${k}_zeros_flat`, `unpool${k}_switches_flat`, `unpool${k}_values_flat`],
          [`unpool${k}_flat`],
          { axis: 1, reduction: 'add' },
          { name },
        );
        b.node('Reshape', [`unpool${k}_flat`, `unpool${k}_shape`], [to]);
        break;
      }
      case 'relu':
        // ReLU and ReLU6 alike: the deconvnet rectifies the signal going back. The cap at 6 is not
        // applied: the projection's scale is arbitrary, so a fixed threshold on it means nothing.
        b.node('Relu', [g], [to], undefined, { name });
        break;
      case 'scale':
        // y = γ (x − μ) / √(σ² + ε) + β is affine; its linear part is a per-channel factor, and the
        // transpose of a diagonal map is itself. The shift is dropped as a convolution's bias is.
        b.initializer(`scale${k}`, step.scale, channelShape(step.inShape));
        b.node('Mul', [g, `scale${k}`], [to], undefined, { name });
        break;
      case 'avgpool': {
        // The transpose of "sum the window, divide by d": divide by d, then add the value to every
        // tap of the window, which is a depthwise ConvTranspose with a kernel of ones.
        const channels = step.inShape[0];
        const taps = step.kernel.reduce((x, y) => x * y, 1);
        b.initializer(`divisors${k}`, step.divisors, [1, 1, ...step.outShape.slice(1)]);
        b.initializer(`ones${k}`, new Float32Array(channels * taps).fill(1), [channels, 1, ...step.kernel]);
        b.node('Div', [g, `divisors${k}`], [`avgpool${k}_divided`]);
        transposeWindows(b, step, `avgpool${k}_divided`, `ones${k}`, to, channels, name);
        break;
      }
      case 'mean':
        // Each mean spreads back evenly over the values it averaged.
        b.initializer(`keep_shape${k}`, int64s([0, ...step.keepShape]), [step.keepShape.length + 1]);
        b.initializer(`in_shape${k}`, int64s([1, ...step.inShape]), [step.inShape.length + 1]);
        b.initializer(`inv_count${k}`, new Float32Array([1 / step.count]), []);
        b.node('Reshape', [g, `keep_shape${k}`], [`mean${k}_kept`]);
        b.node('Expand', [`mean${k}_kept`, `in_shape${k}`], [`mean${k}_spread`]);
        b.node('Mul', [`mean${k}_spread`, `inv_count${k}`], [to], undefined, { name });
        break;
      case 'reshape':
        // 0 copies the batch size.
        b.initializer(`shape${k}`, int64s([0, ...step.inShape]), [step.inShape.length + 1]);
        b.node('Reshape', [g, `shape${k}`], [to], undefined, { name });
        break;
      case 'residual':
        // The main-path rule: the signal goes on into the block's main path; the shortcut's share is dropped.
        b.node('Identity', [g], [to], undefined, { name });
        break;
      case 'pass':
        b.node('Identity', [g], [to], undefined, { name });
        break;
    }
    g = to;
  }
  b.node('Identity', [g], [DECONV_PROJECTION]);
  b.output(DECONV_PROJECTION, ['batch', ...plan.inputShape]);
  b.output(DECONV_CHANNEL_MAX, ['batch', out[0]]);
  return b.toModelBytes();
}

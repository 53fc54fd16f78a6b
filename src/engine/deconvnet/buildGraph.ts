// Turns a deconvnet plan into one ONNX graph for onnxruntime: the forward chain (max pools also
// output their switches), a one-hot channel mask on the layer, then the chain in reverse as
// Zeiler & Fergus invert it: unpool with the switches, rectify, filter with the transposed weights.
import { GraphBuilder } from '../../core/onnx/graphBuilder';
import type { DeconvnetPlan, WindowAttrs } from './analyzeGraph';

/** The built graph's value names, as the query feeds and fetches them. */
export const DECONV_INPUT = 'input';
/** [1, C, 1, …, 1]: 1 for the kept channel, 0 for every other; an input, so one session serves every channel. */
export const DECONV_MASK = 'channel_mask';
/** [batch, ...inputShape]. */
export const DECONV_PROJECTION = 'projection';
/** [batch, C]: each channel's largest value of the layer, per sample. */
export const DECONV_CHANNEL_MAX = 'channel_max';

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

export function buildDeconvnetModel(plan: DeconvnetPlan): Uint8Array {
  const b = new GraphBuilder('cnnslicer_deconvnet');
  const rank = plan.inputShape.length;
  const channels = plan.outShape[0];
  b.input(DECONV_INPUT, 'float32', ['batch', ...plan.inputShape]);
  b.input(DECONV_MASK, 'float32', [1, channels, ...new Array<number>(rank - 1).fill(1)]);
  // Max-pool indices count over the whole N×C×spatial tensor, so unpooling scatters into the
  // pool's input flattened to one row. Declared only when used: onnxruntime warns about an
  // unused initializer on every load.
  if (plan.steps.some((s) => s.kind === 'maxpool')) b.initializer('flat_shape', BigInt64Array.from([1n, -1n]), [2]);

  // Forward: the values before each step are f0 (the input), f1, …
  const fwd = [DECONV_INPUT];
  plan.steps.forEach((step, k) => {
    const x = fwd[k];
    const y = `f${k + 1}`;
    switch (step.kind) {
      case 'conv': {
        b.initializer(`w${k}`, step.weight, step.weightDims);
        const inputs = [x, `w${k}`];
        if (step.bias) {
          b.initializer(`b${k}`, step.bias, [step.weightDims[0]]);
          inputs.push(`b${k}`);
        }
        b.node(
          'Conv',
          inputs,
          [y],
          { kernel_shape: [...step.kernel], strides: [...step.strides], dilations: [...step.dilations], pads: [...step.pads], group: 1 },
          { name: `forward_${k}_${step.node}` },
        );
        break;
      }
      case 'maxpool':
        b.node(
          'MaxPool',
          [x],
          [y, `switches${k}`],
          { kernel_shape: [...step.kernel], strides: [...step.strides], dilations: [...step.dilations], pads: [...step.pads] },
          { name: `forward_${k}_${step.node}` },
        );
        break;
      case 'relu':
        b.node('Relu', [x], [y], undefined, { name: `forward_${k}_${step.node}` });
        break;
      case 'pass':
        b.node('Identity', [x], [y], undefined, { name: `forward_${k}_${step.node}` });
        break;
    }
    fwd.push(y);
  });
  const target = fwd[fwd.length - 1];
  const spatialAxes = Array.from({ length: rank - 1 }, (_, i) => i + 2);
  b.node('ReduceMax', [target], [DECONV_CHANNEL_MAX], { axes: spatialAxes, keepdims: 0 });
  b.node('Mul', [target, DECONV_MASK], ['g_target']);

  // Backward: g is the signal arriving at a step's output; each step turns it into the signal at its input.
  let g = 'g_target';
  for (let k = plan.steps.length - 1; k >= 0; k--) {
    const step = plan.steps[k];
    const out = `g${k}`;
    switch (step.kind) {
      case 'conv':
        // ConvTranspose's weight is [C_in of the transpose, C_out / group, ...kernel]: for a
        // group-1 convolution that is the convolution's own [C_out, C_in, ...kernel], unchanged.
        // No bias: the deconvnet filters the signal; the forward bias is not part of the projection.
        b.node(
          'ConvTranspose',
          [g, `w${k}`],
          [out],
          {
            kernel_shape: [...step.kernel],
            strides: [...step.strides],
            dilations: [...step.dilations],
            pads: [...step.pads],
            output_padding: outputPadding(step.inShape.slice(1), step.outShape.slice(1), step),
            group: 1,
          },
          { name: `backward_${k}_${step.node}` },
        );
        break;
      case 'maxpool': {
        // Unpooling as a scatter-add of each pooled value to its switch. With non-overlapping
        // windows that is MaxUnpool; with overlapping ones (kernel > stride) one input position can
        // be the maximum of two windows, and the sum keeps both contributions, where MaxUnpool
        // would keep only the last one written.
        const x = fwd[k];
        b.node('Shape', [x], [`unpool${k}_shape`]);
        b.node('ConstantOfShape', [`unpool${k}_shape`], [`unpool${k}_zeros`]);
        b.node('Reshape', [`unpool${k}_zeros`, 'flat_shape'], [`unpool${k}_zeros_flat`]);
        b.node('Reshape', [`switches${k}`, 'flat_shape'], [`unpool${k}_switches_flat`]);
        b.node('Reshape', [g, 'flat_shape'], [`unpool${k}_values_flat`]);
        b.node(
          'ScatterElements',
          [`unpool${k}_zeros_flat`, `unpool${k}_switches_flat`, `unpool${k}_values_flat`],
          [`unpool${k}_flat`],
          { axis: 1, reduction: 'add' },
          { name: `backward_${k}_${step.node}` },
        );
        b.node('Reshape', [`unpool${k}_flat`, `unpool${k}_shape`], [out]);
        break;
      }
      case 'relu':
        b.node('Relu', [g], [out], undefined, { name: `backward_${k}_${step.node}` });
        break;
      case 'pass':
        b.node('Identity', [g], [out], undefined, { name: `backward_${k}_${step.node}` });
        break;
    }
    g = out;
  }
  b.node('Identity', [g], [DECONV_PROJECTION]);
  b.output(DECONV_PROJECTION, ['batch', ...plan.inputShape]);
  b.output(DECONV_CHANNEL_MAX, ['batch', channels]);
  return b.toModelBytes();
}

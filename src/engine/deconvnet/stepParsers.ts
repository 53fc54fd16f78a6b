// One parser per supported operator: reads a node on the deconvnet's path into its step, with its
// attributes made explicit, its weights read and its output shape computed from its input shape.
// Whatever the inverse could not honour exactly is refused through `refuseWith` with the reason.
import type { onnx } from 'onnx-proto';
import { CnnSlicerError } from '../../shared/errors';
import { floatAttrValue, fmt, intAttr, intsAttr, product, stringAttr, type GraphIndex } from './graphIndex';
import type { AvgPoolStep, ConvStep, DeconvnetStep, MaxPoolStep, MeanStep, PassStep, ReluStep, ReshapeStep, ScaleStep, WindowAttrs } from './steps';

/** What every parser gets: the node, its place on the path and how to refuse it. */
export interface StepContext {
  readonly g: GraphIndex;
  readonly node: onnx.INodeProto;
  readonly label: string;
  readonly op: string;
  readonly input: string;
  readonly output: string;
  readonly inShape: readonly number[];
  readonly refuseWith: (reason: string) => CnnSlicerError;
}

type Base = Pick<DeconvnetStep, 'node' | 'op' | 'input' | 'output' | 'inShape'>;

function base(c: StepContext): Base {
  return { node: c.label, op: c.op, input: c.input, output: c.output, inShape: c.inShape };
}

function emptyOutput(c: StepContext): CnnSlicerError {
  return new CnnSlicerError('model-error', `node "${c.label}" maps an input of shape ${fmt(c.inShape)} to an empty output`, c.g.file);
}

/** kernel/strides/dilations/pads of a Conv or pool, with auto_pad resolved for this input size. */
function windowAttrs(c: StepContext, kernel: readonly number[]): WindowAttrs {
  const { node, refuseWith } = c;
  const spatial = c.inShape.slice(1);
  const r = spatial.length;
  const strides = intsAttr(node, 'strides') ?? new Array<number>(r).fill(1);
  const dilations = intsAttr(node, 'dilations') ?? new Array<number>(r).fill(1);
  if (strides.length !== r || dilations.length !== r || kernel.length !== r) {
    throw refuseWith(`its kernel, strides or dilations do not have one entry per spatial axis of its ${r}-D input`);
  }
  if ([...kernel, ...strides, ...dilations].some((v) => !Number.isInteger(v) || v < 1)) {
    throw refuseWith('its kernel, strides and dilations must be positive integers');
  }
  const autoPad = stringAttr(node, 'auto_pad', 'NOTSET');
  let pads: number[];
  if (autoPad === 'NOTSET') {
    pads = intsAttr(node, 'pads') ?? new Array<number>(2 * r).fill(0);
    if (pads.length !== 2 * r || pads.some((p) => !Number.isInteger(p) || p < 0))
      throw refuseWith(`its pads ${fmt(pads)} are not ${2 * r} non-negative integers`);
  } else if (autoPad === 'VALID') {
    pads = new Array<number>(2 * r).fill(0);
  } else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    // The ONNX rule: output = ceil(input / stride), the padding needed for that split in two,
    // the odd one at the end (SAME_UPPER) or at the beginning (SAME_LOWER).
    pads = new Array<number>(2 * r).fill(0);
    for (let i = 0; i < r; i++) {
      const out = Math.ceil(spatial[i] / strides[i]);
      const total = Math.max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - spatial[i]);
      const small = Math.floor(total / 2);
      pads[i] = autoPad === 'SAME_UPPER' ? small : total - small;
      pads[i + r] = total - pads[i];
    }
  } else {
    throw refuseWith(`its auto_pad "${autoPad}" is not one ONNX defines`);
  }
  return { kernel: [...kernel], strides, dilations, pads };
}

/** Output spatial sizes of a window operator with floor rounding (Conv always, pools with ceil_mode 0). */
export function windowOutput(spatial: readonly number[], w: WindowAttrs): number[] {
  const r = spatial.length;
  return spatial.map((size, i) => Math.floor((size + w.pads[i] + w.pads[i + r] - (w.kernel[i] - 1) * w.dilations[i] - 1) / w.strides[i]) + 1);
}

function poolWindow(c: StepContext): WindowAttrs {
  if (c.inShape.length < 2) throw c.refuseWith(`its input of shape ${fmt(c.inShape)} has no spatial axes`);
  if (intAttr(c.node, 'ceil_mode', 0) !== 0)
    throw c.refuseWith('ceil_mode=1 is not supported (runtimes differ on the size of the last window); export with ceil_mode=False');
  const kernel = intsAttr(c.node, 'kernel_shape');
  if (kernel === undefined) throw c.refuseWith('it has no kernel_shape');
  return windowAttrs(c, kernel);
}

export function convStep(c: StepContext): ConvStep {
  const { g, node, label, inShape, refuseWith } = c;
  const inputs = node.input ?? [];
  const group = intAttr(node, 'group', 1);
  const { dims: weightDims, data: weight } = g.floatConstant(inputs[1] ?? '', `the weight of node "${label}"`);
  if (inShape.length < 2 || weightDims.length !== inShape.length + 1)
    throw refuseWith(`its weight has shape ${fmt(weightDims)}, which does not fit its input of shape ${fmt(inShape)}`);
  if (!Number.isInteger(group) || group < 1 || weightDims[0] % group !== 0) throw refuseWith(`its group ${group} does not divide its ${weightDims[0]} filters`);
  if (weightDims[1] * group !== inShape[0]) {
    throw new CnnSlicerError(
      'model-error',
      `node "${label}" has a weight for ${weightDims[1] * group} input channels (${weightDims[1]} per group × ${group} groups) but receives ${inShape[0]} (input shape ${fmt(inShape)})`,
      g.file,
    );
  }
  const kernel = intsAttr(node, 'kernel_shape') ?? weightDims.slice(2);
  if (kernel.some((k, i) => k !== weightDims[2 + i])) throw refuseWith(`its kernel_shape ${fmt(kernel)} does not match its weight of shape ${fmt(weightDims)}`);
  // The bias is read only to check it: the forward pass is the checkpoint's own, and the
  // transposed filter has no bias.
  if (inputs[2]) {
    const bias = g.floatConstant(inputs[2], `the bias of node "${label}"`).data;
    if (bias.length !== weightDims[0]) throw refuseWith(`its bias has ${bias.length} values for ${weightDims[0]} output channels`);
  }
  const w = windowAttrs(c, kernel);
  const outShape = [weightDims[0], ...windowOutput(inShape.slice(1), w)];
  if (outShape.some((d) => d < 1)) throw emptyOutput(c);
  return { kind: 'conv', ...base(c), outShape, weight, weightDims, group, ...w };
}

export function maxPoolStep(c: StepContext): MaxPoolStep {
  if (intAttr(c.node, 'storage_order', 0) !== 0) throw c.refuseWith('storage_order=1 (column-major switches) is not supported');
  const w = poolWindow(c);
  const outShape = [c.inShape[0], ...windowOutput(c.inShape.slice(1), w)];
  if (outShape.some((d) => d < 1)) throw emptyOutput(c);
  const own = c.node.output?.[1];
  const switches = own ? own : `${c.output}__deconvnet_switches`;
  if (!own && (c.g.producers.has(switches) || c.g.initializers.has(switches))) throw c.refuseWith(`the name "${switches}" for its switches is taken`);
  return { kind: 'maxpool', ...base(c), outShape, switches, addSwitches: !own, ...w };
}

export function avgPoolStep(c: StepContext): AvgPoolStep {
  const w = poolWindow(c);
  const spatial = c.inShape.slice(1);
  const outSpatial = windowOutput(spatial, w);
  if (outSpatial.some((d) => d < 1)) throw emptyOutput(c);
  const includePad = intAttr(c.node, 'count_include_pad', 0) !== 0;
  const r = spatial.length;
  // The divisor is separable: per axis, how many of the window's taps fall inside the input (or
  // the whole kernel when padding counts), multiplied over the axes.
  const perAxis = outSpatial.map((size, i) =>
    Array.from({ length: size }, (_, o) => {
      if (includePad) return w.kernel[i];
      let inside = 0;
      for (let k = 0; k < w.kernel[i]; k++) {
        const at = o * w.strides[i] - w.pads[i] + k * w.dilations[i];
        if (at >= 0 && at < spatial[i]) inside++;
      }
      return inside;
    }),
  );
  const divisors = new Float32Array(product(outSpatial));
  for (let flat = 0; flat < divisors.length; flat++) {
    let rest = flat;
    let d = 1;
    for (let i = r - 1; i >= 0; i--) {
      d *= perAxis[i][rest % outSpatial[i]];
      rest = Math.floor(rest / outSpatial[i]);
    }
    divisors[flat] = d;
  }
  return { kind: 'avgpool', ...base(c), outShape: [c.inShape[0], ...outSpatial], divisors, ...w };
}

function scalarConstant(c: StepContext, name: string, what: string): number {
  const { data } = c.g.floatConstant(name, `the ${what} of node "${c.label}"`);
  if (data.length !== 1) throw c.refuseWith(`its ${what} has ${data.length} values; one was expected`);
  return data[0];
}

/** Clip with lower bound exactly 0 is a capped ReLU (ReLU6); its inverse rectifies, as ReLU's does. */
export function clipStep(c: StepContext): ReluStep {
  const inputs = c.node.input ?? [];
  // Opset 11 and later give the bounds as inputs, earlier opsets as attributes; absent means unbounded.
  const min = inputs[1] ? scalarConstant(c, inputs[1], 'lower bound') : (floatAttrValue(c.node, 'min') ?? -Infinity);
  const max = inputs[2] ? scalarConstant(c, inputs[2], 'upper bound') : (floatAttrValue(c.node, 'max') ?? Infinity);
  if (min !== 0) {
    throw c.refuseWith(
      `it clips to [${min}, ${max}]; only a clip whose lower bound is 0 (ReLU6, a capped ReLU) is a rectifier, which the deconvnet inverts as a ReLU`,
    );
  }
  if (!(max > 0)) throw c.refuseWith(`its upper bound ${max} makes its output constant`);
  return { kind: 'relu', ...base(c), outShape: c.inShape };
}

export function batchNormStep(c: StepContext): ScaleStep {
  const { node, label, inShape, refuseWith } = c;
  if (intAttr(node, 'training_mode', 0) !== 0) throw refuseWith('it is exported in training mode (batch statistics); export the model in eval mode');
  const inputs = node.input ?? [];
  const channels = inShape[0];
  const read = (i: number, what: string): Float32Array => {
    const { data } = c.g.floatConstant(inputs[i] ?? '', `the ${what} of node "${label}"`);
    if (data.length !== channels) throw refuseWith(`its ${what} has ${data.length} values for ${channels} channels`);
    return data;
  };
  const gamma = read(1, 'scale');
  read(2, 'shift');
  read(3, 'mean');
  const variance = read(4, 'variance');
  const epsilon = floatAttrValue(node, 'epsilon') ?? 1e-5;
  // In float64, as the runtime's own normalisation does not round between the two steps either.
  const scale = Float32Array.from(gamma, (s, i) => s / Math.sqrt(variance[i] + epsilon));
  return { kind: 'scale', ...base(c), outShape: inShape, scale };
}

/** GlobalAveragePool: the mean over every spatial axis, kept as 1s. */
export function globalAverageStep(c: StepContext): MeanStep {
  if (c.inShape.length < 2) throw c.refuseWith(`its input of shape ${fmt(c.inShape)} has no spatial axes`);
  const outShape = [c.inShape[0], ...c.inShape.slice(1).map(() => 1)];
  return { kind: 'mean', ...base(c), outShape, keepShape: outShape, count: product(c.inShape.slice(1)) };
}

/** ReduceMean over spatial axes only (torch.mean(x, dim=(2, 3)) and adaptive pools that export so). */
export function reduceMeanStep(c: StepContext): MeanStep | PassStep {
  const { node, label, inShape, refuseWith } = c;
  const rank = inShape.length + 1;
  const axesInput = node.input?.[1];
  // Opset 18 moved the axes from an attribute to an input.
  const raw = axesInput ? c.g.intConstant(axesInput, `the axes of node "${label}"`) : intsAttr(node, 'axes');
  const keepdims = intAttr(node, 'keepdims', 1) !== 0;
  if (raw === undefined || raw.length === 0) {
    if (intAttr(node, 'noop_with_empty_axes', 0) !== 0) return { kind: 'pass', ...base(c), outShape: inShape };
    throw refuseWith('it averages over every axis, the samples and channels included; the deconvnet inverts averages over spatial axes only');
  }
  const axes = raw.map((a) => (a < 0 ? a + rank : a));
  if (axes.some((a) => !Number.isInteger(a) || a < 0 || a >= rank)) throw refuseWith(`its axes ${fmt(raw)} do not fit its ${rank}-D input`);
  if (axes.some((a) => a < 2))
    throw refuseWith(`its axes ${fmt(raw)} include the batch or channel axis; the deconvnet inverts averages over spatial axes only`);
  const reduced = new Set(axes.map((a) => a - 1));
  const keepShape = inShape.map((d, i) => (reduced.has(i) ? 1 : d));
  const outShape = keepdims ? keepShape : inShape.filter((_, i) => !reduced.has(i));
  return { kind: 'mean', ...base(c), outShape, keepShape, count: product(inShape.filter((_, i) => reduced.has(i))) };
}

export function flattenStep(c: StepContext): ReshapeStep {
  const rank = c.inShape.length + 1;
  const raw = intAttr(c.node, 'axis', 1);
  const axis = raw < 0 ? raw + rank : raw;
  if (axis !== 1)
    throw c.refuseWith(`it flattens at axis ${raw}, which ${axis === 0 ? 'merges the samples into one row' : 'folds channels into the batch axis'}`);
  return { kind: 'reshape', ...base(c), outShape: [product(c.inShape)] };
}

/** Reshape to a constant shape that keeps the batch axis (0 or −1 first). */
export function reshapeStep(c: StepContext): ReshapeStep {
  const { node, label, inShape, refuseWith } = c;
  const target = c.g.intConstant(node.input?.[1] ?? '', `the shape of node "${label}"`);
  const allowZero = intAttr(node, 'allowzero', 0) !== 0;
  const size = product(inShape);
  if (target.length === 0) throw refuseWith('it reshapes to a scalar');
  if (allowZero && target.includes(0)) throw refuseWith('its target shape has a 0 with allowzero=1, an empty tensor');
  const [first, ...rest] = target;
  // Per sample: a 0 copies the input's size at that axis, −1 takes what is left.
  const resolved = rest.map((d, i) => (d === 0 ? (inShape[i] ?? -2) : d));
  if (resolved.some((d) => d < -1 || d === 0)) throw refuseWith(`its target shape ${fmt(target)} does not fit its input of shape ${fmt(inShape)}`);
  const unknown = resolved.filter((d) => d === -1).length;
  if (first === 0) {
    if (unknown > 1) throw refuseWith(`its target shape ${fmt(target)} has more than one −1`);
    const known = product(resolved.filter((d) => d !== -1));
    if (unknown === 1 && (known === 0 || size % known !== 0)) throw refuseWith(`its target shape ${fmt(target)} does not divide ${size} values per sample`);
    const outShape = resolved.map((d) => (d === -1 ? size / known : d));
    if (product(outShape) !== size) throw refuseWith(`its target shape ${fmt(target)} does not hold the ${size} values of a sample`);
    return { kind: 'reshape', ...base(c), outShape };
  }
  if (first === -1 && unknown === 0 && product(resolved) === size) return { kind: 'reshape', ...base(c), outShape: resolved };
  throw refuseWith(`its target shape ${fmt(target)} does not keep one row per sample (the first entry must be 0, or −1 with the rest a sample's size)`);
}

/** The Add of a constant: a shift, dropped like a convolution's bias, if it does not broadcast the data to a larger shape. */
export function addConstantCheck(c: StepContext, constant: string): void {
  const t = c.g.constant(constant);
  const dims = (t?.dims ?? []).map(Number);
  const full = [1, ...c.inShape];
  if (dims.length > full.length || dims.some((d, i) => d !== 1 && d !== full[full.length - dims.length + i])) {
    throw c.refuseWith(`the constant "${constant}" of shape ${fmt(dims)} it adds would broadcast its input of shape ${fmt(c.inShape)} to a larger one`);
  }
}

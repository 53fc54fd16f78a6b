// Reads a checkpoint's ONNX graph and finds the chain of nodes from its input to one layer, as the
// deconvnet needs it: each step with its weights, its attributes made explicit and the static
// per-sample shapes before and after it. Anything the deconvnet cannot invert exactly is refused
// here with the operator named, so no projection is ever computed from a graph it misreads.
import { onnx } from 'onnx-proto';
import { CnnSlicerError } from '../../shared/errors';

/** Spatial attributes shared by Conv and MaxPool, with auto_pad already turned into explicit pads. */
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
  /** Per-sample shape [C, ...spatial] of the step's input and output. */
  readonly inShape: readonly number[];
  readonly outShape: readonly number[];
}

export interface ConvStep extends StepBase, WindowAttrs {
  readonly kind: 'conv';
  /** [C_out, C_in, ...kernel], row-major. */
  readonly weight: Float32Array;
  readonly weightDims: readonly number[];
  /** [C_out], when the convolution has one. */
  readonly bias?: Float32Array;
}

export interface MaxPoolStep extends StepBase, WindowAttrs {
  readonly kind: 'maxpool';
}

export interface ReluStep extends StepBase {
  readonly kind: 'relu';
}

/** Identity, and Dropout, which is the identity at inference. */
export interface PassStep extends StepBase {
  readonly kind: 'pass';
}

export type DeconvnetStep = ConvStep | MaxPoolStep | ReluStep | PassStep;

export interface DeconvnetPlan {
  readonly layer: string;
  /** Per-sample shape of the graph input, [C, ...spatial]. */
  readonly inputShape: readonly number[];
  /** Forward order, input first. */
  readonly steps: readonly DeconvnetStep[];
  /** Per-sample shape of the layer, [C, ...spatial]. */
  readonly outShape: readonly number[];
}

/** The operators a deconvnet can invert, and how. */
const SUPPORTED_OPS: Readonly<Record<string, DeconvnetStep['kind']>> = {
  Conv: 'conv',
  MaxPool: 'maxpool',
  Relu: 'relu',
  Identity: 'pass',
  Dropout: 'pass',
};

// Operators whose refusal is not obvious to a user of a supported network get the reason.
const REFUSAL_REASONS: Readonly<Record<string, string>> = {
  BatchNormalization:
    'a deconvnet (Zeiler & Fergus) has no inverse step for normalisation; export the model with batch normalisation folded into the convolutions (torch.onnx.export does so in eval mode)',
  Gemm: 'a fully connected layer has no deconvnet inverse; choose a convolutional layer',
  MatMul: 'a fully connected layer has no deconvnet inverse; choose a convolutional layer',
  Flatten: 'the layer is not a feature map; choose a convolutional layer',
  Reshape: 'the layer is not a feature map; choose a convolutional layer',
  AveragePool: 'only max pooling has switches to unpool with',
  GlobalAveragePool: 'only max pooling has switches to unpool with',
};

const DataType = onnx.TensorProto.DataType;
const AttrType = onnx.AttributeProto.AttributeType;

function toNumber(v: number | { toNumber(): number } | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

function product(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

function fmt(dims: readonly number[]): string {
  return `[${dims.join(', ')}]`;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A float32 tensor's values, from raw_data (little-endian by the ONNX spec) or float_data. */
export function floatTensorData(t: onnx.ITensorProto, what: string, file: string): { dims: number[]; data: Float32Array } {
  const dims = (t.dims ?? []).map(toNumber);
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    throw new CnnSlicerError(
      'model-error',
      `${what} is stored in an external data file, which the deconvnet does not read; export the model with its weights inside the .onnx file`,
      file,
    );
  }
  const type = t.dataType ?? DataType.UNDEFINED;
  if (type !== DataType.FLOAT) {
    throw new CnnSlicerError('model-error', `${what} has element type ${DataType[type] ?? type}; the deconvnet reads float32 weights`, file);
  }
  const size = product(dims);
  const raw = t.rawData;
  if (raw && raw.length > 0) {
    if (raw.length !== size * 4) throw new CnnSlicerError('model-error', `${what} has shape ${fmt(dims)} but ${raw.length} bytes of raw data`, file);
    // A copy into a fresh buffer: the decoded bytes may start at any offset of the file's buffer.
    const bytes = new Uint8Array(raw);
    if (!LITTLE_ENDIAN) for (let i = 0; i < bytes.length; i += 4) bytes.subarray(i, i + 4).reverse();
    return { dims, data: new Float32Array(bytes.buffer, 0, size) };
  }
  const values = t.floatData ?? [];
  if (values.length !== size) throw new CnnSlicerError('model-error', `${what} has shape ${fmt(dims)} but ${values.length} values`, file);
  return { dims, data: Float32Array.from(values) };
}

function nodeLabel(node: onnx.INodeProto, index: number): string {
  return node.name ? node.name : `#${index} (unnamed)`;
}

function findAttr(node: onnx.INodeProto, name: string): onnx.IAttributeProto | undefined {
  return (node.attribute ?? []).find((a) => a.name === name);
}

function intsAttr(node: onnx.INodeProto, name: string): number[] | undefined {
  const a = findAttr(node, name);
  if (a === undefined) return undefined;
  return (a.ints ?? []).map(toNumber);
}

function intAttr(node: onnx.INodeProto, name: string, fallback: number): number {
  const a = findAttr(node, name);
  return a === undefined ? fallback : toNumber(a.i);
}

function stringAttr(node: onnx.INodeProto, name: string, fallback: string): string {
  const a = findAttr(node, name);
  return a?.s ? new TextDecoder().decode(a.s) : fallback;
}

interface Producer {
  readonly node: onnx.INodeProto;
  readonly index: number;
  readonly outputIndex: number;
}

/** The graph's values: where each is produced and which are constants (weights). */
class GraphIndex {
  readonly producers = new Map<string, Producer>();
  readonly initializers = new Map<string, onnx.ITensorProto>();
  readonly dataInputs: string[];

  constructor(
    readonly graph: onnx.IGraphProto,
    private readonly file: string,
  ) {
    for (const t of graph.initializer ?? []) if (t.name) this.initializers.set(t.name, t);
    (graph.node ?? []).forEach((node, index) => {
      (node.output ?? []).forEach((out, outputIndex) => {
        if (out !== '') this.producers.set(out, { node, index, outputIndex });
      });
    });
    // Older exporters list every initializer among the inputs too; those are weights, not data.
    this.dataInputs = (graph.input ?? []).map((i) => i.name ?? '').filter((n) => !this.initializers.has(n));
  }

  /** The constant tensor a value holds, following Constant nodes and Identity of a constant. */
  constant(name: string, depth = 0): onnx.ITensorProto | undefined {
    const init = this.initializers.get(name);
    if (init !== undefined) return init;
    const p = this.producers.get(name);
    if (p === undefined || depth > 64) return undefined;
    const { node } = p;
    if ((node.domain ?? '') !== '' && node.domain !== 'ai.onnx') return undefined;
    if (node.opType === 'Identity' && node.input?.[0]) return this.constant(node.input[0], depth + 1);
    if (node.opType !== 'Constant') return undefined;
    const attr = (node.attribute ?? [])[0];
    if (attr === undefined) return undefined;
    if (attr.type === AttrType.TENSOR && attr.t) return attr.t;
    if (attr.type === AttrType.FLOAT) return { dims: [], dataType: DataType.FLOAT, floatData: [attr.f ?? 0] };
    if (attr.type === AttrType.FLOATS) return { dims: [attr.floats?.length ?? 0], dataType: DataType.FLOAT, floatData: attr.floats ?? [] };
    if (attr.type === AttrType.INT) return { dims: [], dataType: DataType.INT64, int64Data: [attr.i ?? 0] };
    if (attr.type === AttrType.INTS) return { dims: [attr.ints?.length ?? 0], dataType: DataType.INT64, int64Data: attr.ints ?? [] };
    // A Constant always is one, even in a form (strings, sparse) that is never read as a weight.
    return {};
  }

  floatConstant(name: string, what: string): { dims: number[]; data: Float32Array } {
    const t = this.constant(name);
    if (t === undefined) throw new CnnSlicerError('internal', `${what} "${name}" is not a constant`, this.file);
    return floatTensorData(t, `${what} "${name}"`, this.file);
  }
}

function refuse(op: string, node: string, layer: string, file: string, reason?: string): CnnSlicerError {
  const base = `deconvnet cannot invert operator "${op}" (node "${node}") on the path to layer "${layer}"`;
  return new CnnSlicerError('model-error', reason === undefined ? base : `${base}: ${reason}`, file);
}

/** kernel/strides/dilations/pads of a Conv or MaxPool, with auto_pad resolved for this input size. */
function windowAttrs(
  node: onnx.INodeProto,
  kernel: readonly number[],
  spatial: readonly number[],
  refuseWith: (reason: string) => CnnSlicerError,
): WindowAttrs {
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

/** Output spatial sizes of a window operator with floor rounding (Conv always, MaxPool with ceil_mode 0). */
export function windowOutput(spatial: readonly number[], w: WindowAttrs): number[] {
  const r = spatial.length;
  return spatial.map((size, i) => Math.floor((size + w.pads[i] + w.pads[i + r] - (w.kernel[i] - 1) * w.dilations[i] - 1) / w.strides[i]) + 1);
}

/**
 * The deconvnet plan for one layer of a checkpoint: the chain of supported nodes from the graph
 * input to the node that outputs `layer`, in forward order. `inputShape` is the per-sample shape
 * of the probe inputs, [C, ...spatial].
 */
export function planDeconvnet(model: onnx.IModelProto, layer: string, inputShape: readonly number[], file: string): DeconvnetPlan {
  const graph = model.graph;
  if (!graph) throw new CnnSlicerError('model-error', 'the checkpoint has no graph', file);
  if (inputShape.length < 2) {
    throw new CnnSlicerError('bad-request', `the probe inputs have shape ${fmt(inputShape)}; a deconvnet projects onto image-like inputs [C, H, W]`, file);
  }
  const g = new GraphIndex(graph, file);
  if (g.dataInputs.length !== 1) {
    throw new CnnSlicerError(
      'model-error',
      `a checkpoint has exactly one input (the probe batch); this model has ${g.dataInputs.length}: ${g.dataInputs.join(', ')}`,
      file,
    );
  }
  const input = g.dataInputs[0];

  // Walk back from the layer to the input, one data input per node.
  const chain: { node: onnx.INodeProto; label: string; kind: DeconvnetStep['kind'] }[] = [];
  let cur = layer;
  const limit = (graph.node ?? []).length;
  while (cur !== input) {
    const p = g.producers.get(cur);
    if (p === undefined) {
      if (cur === layer) throw new CnnSlicerError('model-error', `the checkpoint has no value named "${layer}"`, file);
      throw new CnnSlicerError('model-error', `the value "${cur}" on the path to layer "${layer}" is neither computed by a node nor the model's input`, file);
    }
    const { node, index, outputIndex } = p;
    const op = node.opType ?? '';
    const label = nodeLabel(node, index);
    const domain = node.domain ?? '';
    const kind = domain === '' || domain === 'ai.onnx' ? SUPPORTED_OPS[op] : undefined;
    if (kind === undefined) {
      const reason = domain !== '' && domain !== 'ai.onnx' ? `operators of domain "${domain}" are not supported` : REFUSAL_REASONS[op];
      throw refuse(op, label, layer, file, reason);
    }
    if (g.constant(cur) !== undefined) throw refuse(op, label, layer, file, 'its output is a constant, not a function of the input');
    if (outputIndex !== 0) throw refuse(op, label, layer, file, `the layer is its output ${outputIndex + 1} (${cur}), not its data output`);
    const data = (node.input ?? []).filter((name) => name !== '' && g.constant(name) === undefined);
    if (data.length !== 1) {
      throw refuse(
        op,
        label,
        layer,
        file,
        `it takes ${data.length} inputs that depend on the model's input (${data.join(', ')}), so the graph is not a single chain (e.g. a skip connection); a deconvnet inverts chains only`,
      );
    }
    if (data[0] !== node.input?.[0])
      throw refuse(
        op,
        label,
        layer,
        file,
        `its input "${data[0]}" that depends on the model's input is not its data input (the first), e.g. weights computed from the input`,
      );
    chain.push({ node, label, kind });
    if (chain.length > limit) throw new CnnSlicerError('model-error', `the graph has a cycle on the path to layer "${layer}"`, file);
    cur = data[0];
  }
  chain.reverse();

  const steps: DeconvnetStep[] = [];
  let shape: readonly number[] = inputShape;
  for (const { node, label, kind } of chain) {
    const op = node.opType ?? '';
    const refuseWith = (reason: string): CnnSlicerError => refuse(op, label, layer, file, reason);
    const inShape = shape;
    const spatial = inShape.slice(1);
    switch (kind) {
      case 'conv': {
        const inputs = node.input ?? [];
        const group = intAttr(node, 'group', 1);
        if (group !== 1) throw refuseWith(`grouped convolution (group=${group}) is not supported`);
        const { dims: weightDims, data: weight } = g.floatConstant(inputs[1] ?? '', `the weight of node "${label}"`);
        if (weightDims.length !== inShape.length + 1)
          throw refuseWith(`its weight has shape ${fmt(weightDims)}, which does not fit its input of shape ${fmt(inShape)}`);
        if (weightDims[1] !== inShape[0]) {
          throw new CnnSlicerError(
            'model-error',
            `node "${label}" has a weight for ${weightDims[1]} input channels but receives ${inShape[0]} (input shape ${fmt(inShape)})`,
            file,
          );
        }
        const kernel = intsAttr(node, 'kernel_shape') ?? weightDims.slice(2);
        if (kernel.some((k, i) => k !== weightDims[2 + i]))
          throw refuseWith(`its kernel_shape ${fmt(kernel)} does not match its weight of shape ${fmt(weightDims)}`);
        let bias: Float32Array | undefined;
        if (inputs[2]) {
          bias = g.floatConstant(inputs[2], `the bias of node "${label}"`).data;
          if (bias.length !== weightDims[0]) throw refuseWith(`its bias has ${bias.length} values for ${weightDims[0]} output channels`);
        }
        const w = windowAttrs(node, kernel, spatial, refuseWith);
        const outShape = [weightDims[0], ...windowOutput(spatial, w)];
        if (outShape.some((d) => d < 1))
          throw new CnnSlicerError('model-error', `node "${label}" maps an input of shape ${fmt(inShape)} to an empty output`, file);
        steps.push({ kind, node: label, op, inShape, outShape, weight, weightDims, ...(bias ? { bias } : {}), ...w });
        shape = outShape;
        break;
      }
      case 'maxpool': {
        if ((node.output ?? []).filter((o) => o !== '').length > 1) throw refuseWith('it already outputs its indices, which the deconvnet graph recomputes');
        const ceil = intAttr(node, 'ceil_mode', 0);
        if (ceil !== 0) throw refuseWith('ceil_mode=1 is not supported (runtimes differ on the size of the last window); export with ceil_mode=False');
        const kernel = intsAttr(node, 'kernel_shape');
        if (kernel === undefined) throw refuseWith('it has no kernel_shape');
        const w = windowAttrs(node, kernel, spatial, refuseWith);
        const outShape = [inShape[0], ...windowOutput(spatial, w)];
        if (outShape.some((d) => d < 1))
          throw new CnnSlicerError('model-error', `node "${label}" maps an input of shape ${fmt(inShape)} to an empty output`, file);
        steps.push({ kind, node: label, op, inShape, outShape, ...w });
        shape = outShape;
        break;
      }
      case 'relu':
      case 'pass':
        steps.push({ kind, node: label, op, inShape, outShape: inShape });
        break;
    }
  }
  return { layer, inputShape, steps, outShape: shape };
}

// A typed builder for ONNX models, so the engine can assemble its own compute graphs (pairwise
// distances, k-NN with TopK, deconvnet…) and tests can make checkpoints without Python.
// Models target opset 17 / IR version 8: both are read by every onnxruntime this extension ships
// with, and opset 17 has every operator the engine needs (TopK, LayerNormalization, Einsum…).
import { onnx } from 'onnx-proto';

export const OPSET_VERSION = 17;
export const IR_VERSION = 8;

export type ElemType = 'float32' | 'int64';
/** A dimension: a fixed size, or a symbolic name (e.g. 'batch') for a dimension chosen at run time. */
export type Dim = number | string;

/**
 * Forces an attribute to be typed FLOAT even when its value is integral: a plain `1` would
 * otherwise be encoded as INT, which onnxruntime rejects for float attributes such as Gemm's alpha.
 */
export interface FloatAttr {
  readonly float: number;
}
export function floatAttr(value: number): FloatAttr {
  return { float: value };
}

/**
 * How each JS value is encoded: an integral number → INT, a non-integral number → FLOAT,
 * `floatAttr(x)` → FLOAT, number[] → INTS (integers only), Float32Array → FLOATS, string → STRING.
 */
export type AttrValue = number | number[] | string | Float32Array | FloatAttr;

const ELEM_TYPES: Record<ElemType, onnx.TensorProto.DataType> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  int64: onnx.TensorProto.DataType.INT64,
};

// ONNX raw_data is little-endian by definition; on a big-endian host the bytes must be swapped.
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function rawBytes(data: Float32Array | BigInt64Array): Uint8Array {
  const view = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  // A copy, so later changes by the caller to its array do not alter the built model.
  const out = new Uint8Array(view);
  if (!LITTLE_ENDIAN) {
    const w = data.BYTES_PER_ELEMENT;
    for (let i = 0; i < out.length; i += w) out.subarray(i, i + w).reverse();
  }
  return out;
}

function valueInfo(name: string, elemType: ElemType, dims: readonly Dim[]): onnx.ValueInfoProto {
  return onnx.ValueInfoProto.create({
    name,
    type: onnx.TypeProto.create({
      tensorType: onnx.TypeProto.Tensor.create({
        elemType: ELEM_TYPES[elemType],
        shape: onnx.TensorShapeProto.create({
          dim: dims.map((d) => {
            if (typeof d === 'string') return onnx.TensorShapeProto.Dimension.create({ dimParam: d });
            if (!Number.isInteger(d) || d < 0) throw new Error(`${name}: dimension ${d} is not a non-negative integer`);
            return onnx.TensorShapeProto.Dimension.create({ dimValue: d });
          }),
        }),
      }),
    }),
  });
}

function attribute(node: string, name: string, value: AttrValue): onnx.AttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'string') {
    return onnx.AttributeProto.create({ name, type: T.STRING, s: new TextEncoder().encode(value) });
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`${node}: attribute ${name} is ${value}`);
    return Number.isInteger(value)
      ? onnx.AttributeProto.create({ name, type: T.INT, i: value })
      : onnx.AttributeProto.create({ name, type: T.FLOAT, f: value });
  }
  if (value instanceof Float32Array) {
    return onnx.AttributeProto.create({ name, type: T.FLOATS, floats: Array.from(value) });
  }
  if (Array.isArray(value)) {
    for (const v of value) {
      if (!Number.isInteger(v)) throw new Error(`${node}: attribute ${name} holds ${v}; number[] encodes INTS, use a Float32Array for FLOATS`);
    }
    return onnx.AttributeProto.create({ name, type: T.INTS, ints: value.slice() });
  }
  if (!Number.isFinite(value.float)) throw new Error(`${node}: attribute ${name} is ${value.float}`);
  return onnx.AttributeProto.create({ name, type: T.FLOAT, f: value.float });
}

export interface NodeOptions {
  /** The node's name; defaults to `<opType>_<index>`. */
  name?: string;
  /** Operator domain; '' is the default ONNX domain. */
  domain?: string;
}

export class GraphBuilder {
  private readonly inputs: onnx.ValueInfoProto[] = [];
  private readonly outputs: onnx.ValueInfoProto[] = [];
  private readonly initializers: onnx.TensorProto[] = [];
  private readonly nodes: onnx.NodeProto[] = [];
  // Every value name defined so far, so a typo in a node's input fails here with the name
  // rather than later in onnxruntime with a less direct message.
  private readonly defined = new Set<string>();

  constructor(private readonly graphName = 'cnnslicer') {}

  private define(name: string, what: string): void {
    if (name === '') throw new Error(`${what} has an empty name`);
    if (this.defined.has(name)) throw new Error(`${what} ${name} is defined twice`);
    this.defined.add(name);
  }

  input(name: string, elemType: ElemType, dims: readonly Dim[]): this {
    this.define(name, 'input');
    this.inputs.push(valueInfo(name, elemType, dims));
    return this;
  }

  initializer(name: string, data: Float32Array | BigInt64Array, dims: readonly number[]): this {
    const size = dims.reduce((a, b) => a * b, 1);
    if (size !== data.length) throw new Error(`initializer ${name}: dims [${dims.join(',')}] hold ${size} values, data has ${data.length}`);
    for (const d of dims) if (!Number.isInteger(d) || d < 0) throw new Error(`initializer ${name}: dimension ${d} is not a non-negative integer`);
    this.define(name, 'initializer');
    this.initializers.push(
      onnx.TensorProto.create({
        name,
        dims: dims.slice(),
        dataType: data instanceof Float32Array ? onnx.TensorProto.DataType.FLOAT : onnx.TensorProto.DataType.INT64,
        rawData: rawBytes(data),
      }),
    );
    return this;
  }

  /** An empty string in `inputs` or `outputs` marks an omitted optional one, as ONNX specifies. */
  node(opType: string, inputs: readonly string[], outputs: readonly string[], attrs?: Record<string, AttrValue>, opts?: NodeOptions): this {
    const name = opts?.name ?? `${opType}_${this.nodes.length}`;
    for (const i of inputs) {
      if (i !== '' && !this.defined.has(i)) throw new Error(`node ${name} (${opType}): input ${i} is not defined by an earlier input, initializer or node`);
    }
    for (const o of outputs) if (o !== '') this.define(o, `node ${name} (${opType}) output`);
    this.nodes.push(
      onnx.NodeProto.create({
        name,
        opType,
        domain: opts?.domain ?? '',
        input: inputs.slice(),
        output: outputs.slice(),
        attribute: Object.entries(attrs ?? {}).map(([k, v]) => attribute(name, k, v)),
      }),
    );
    return this;
  }

  output(name: string, dims: readonly Dim[], elemType: ElemType = 'float32'): this {
    if (!this.defined.has(name)) throw new Error(`output ${name} is not produced by any input, initializer or node`);
    if (this.outputs.some((o) => o.name === name)) throw new Error(`output ${name} is declared twice`);
    this.outputs.push(valueInfo(name, elemType, dims));
    return this;
  }

  toModel(): onnx.ModelProto {
    if (this.outputs.length === 0) throw new Error('the graph has no output');
    return onnx.ModelProto.create({
      irVersion: IR_VERSION,
      producerName: 'cnnslicer',
      opsetImport: [onnx.OperatorSetIdProto.create({ domain: '', version: OPSET_VERSION })],
      graph: onnx.GraphProto.create({
        name: this.graphName,
        input: this.inputs,
        output: this.outputs,
        initializer: this.initializers,
        node: this.nodes,
      }),
    });
  }

  toModelBytes(): Uint8Array {
    return onnx.ModelProto.encode(this.toModel()).finish();
  }
}

// Reading an ONNX graph the way the deconvnet planner needs it: who produces each value, which
// values are constants (weights, shapes, axes) and their contents, which depend on the model's
// input, and the attributes of a node. No deconvnet decisions are made here.
import { onnx } from 'onnx-proto';
import { CnnSlicerError } from '../../shared/errors';

const DataType = onnx.TensorProto.DataType;
const AttrType = onnx.AttributeProto.AttributeType;

export function toNumber(v: number | { toNumber(): number } | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

export function product(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

export function fmt(dims: readonly number[]): string {
  return `[${dims.join(', ')}]`;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function checkStored(t: onnx.ITensorProto, what: string, file: string): void {
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    throw new CnnSlicerError(
      'model-error',
      `${what} is stored in an external data file, which the deconvnet does not read; export the model with its weights inside the .onnx file`,
      file,
    );
  }
}

/** Little-endian raw bytes as a fresh, aligned buffer in host order, `width` bytes per element. */
function hostBytes(raw: Uint8Array, width: number): ArrayBuffer {
  // A copy into a fresh buffer: the decoded bytes may start at any offset of the file's buffer.
  const bytes = new Uint8Array(raw);
  if (!LITTLE_ENDIAN) for (let i = 0; i < bytes.length; i += width) bytes.subarray(i, i + width).reverse();
  return bytes.buffer;
}

/** A float32 tensor's values, from raw_data (little-endian by the ONNX spec) or float_data. */
export function floatTensorData(t: onnx.ITensorProto, what: string, file: string): { dims: number[]; data: Float32Array } {
  const dims = (t.dims ?? []).map(toNumber);
  checkStored(t, what, file);
  const type = t.dataType ?? DataType.UNDEFINED;
  if (type !== DataType.FLOAT) {
    throw new CnnSlicerError('model-error', `${what} has element type ${DataType[type] ?? type}; the deconvnet reads float32 weights`, file);
  }
  const size = product(dims);
  const raw = t.rawData;
  if (raw && raw.length > 0) {
    if (raw.length !== size * 4) throw new CnnSlicerError('model-error', `${what} has shape ${fmt(dims)} but ${raw.length} bytes of raw data`, file);
    return { dims, data: new Float32Array(hostBytes(raw, 4), 0, size) };
  }
  const values = t.floatData ?? [];
  if (values.length !== size) throw new CnnSlicerError('model-error', `${what} has shape ${fmt(dims)} but ${values.length} values`, file);
  return { dims, data: Float32Array.from(values) };
}

/** An int64 or int32 tensor's values (shapes, axes), as numbers. */
export function intTensorData(t: onnx.ITensorProto, what: string, file: string): number[] {
  checkStored(t, what, file);
  const type = t.dataType ?? DataType.UNDEFINED;
  const size = product((t.dims ?? []).map(toNumber));
  const raw = t.rawData;
  if (type === DataType.INT64) {
    if (raw && raw.length > 0) {
      if (raw.length !== size * 8) throw new CnnSlicerError('model-error', `${what} has ${size} values but ${raw.length} bytes of raw data`, file);
      return Array.from(new BigInt64Array(hostBytes(raw, 8), 0, size), Number);
    }
    return (t.int64Data ?? []).map(toNumber);
  }
  if (type === DataType.INT32) {
    if (raw && raw.length > 0) {
      if (raw.length !== size * 4) throw new CnnSlicerError('model-error', `${what} has ${size} values but ${raw.length} bytes of raw data`, file);
      return Array.from(new Int32Array(hostBytes(raw, 4), 0, size));
    }
    return (t.int32Data ?? []).map(toNumber);
  }
  throw new CnnSlicerError('model-error', `${what} has element type ${DataType[type] ?? type}; expected integers`, file);
}

export function nodeLabel(node: onnx.INodeProto, index: number): string {
  return node.name ? node.name : `#${index} (unnamed)`;
}

function findAttr(node: onnx.INodeProto, name: string): onnx.IAttributeProto | undefined {
  return (node.attribute ?? []).find((a) => a.name === name);
}

export function intsAttr(node: onnx.INodeProto, name: string): number[] | undefined {
  const a = findAttr(node, name);
  if (a === undefined) return undefined;
  return (a.ints ?? []).map(toNumber);
}

export function intAttr(node: onnx.INodeProto, name: string, fallback: number): number {
  const a = findAttr(node, name);
  return a === undefined ? fallback : toNumber(a.i);
}

export function floatAttrValue(node: onnx.INodeProto, name: string): number | undefined {
  const a = findAttr(node, name);
  return a === undefined ? undefined : (a.f ?? 0);
}

export function stringAttr(node: onnx.INodeProto, name: string, fallback: string): string {
  const a = findAttr(node, name);
  return a?.s ? new TextDecoder().decode(a.s) : fallback;
}

export function isDefaultDomain(node: onnx.INodeProto): boolean {
  const domain = node.domain ?? '';
  return domain === '' || domain === 'ai.onnx';
}

export interface Producer {
  readonly node: onnx.INodeProto;
  readonly index: number;
  readonly outputIndex: number;
}

/** The graph's values: where each is produced and which are constants (weights). */
export class GraphIndex {
  readonly producers = new Map<string, Producer>();
  readonly initializers = new Map<string, onnx.ITensorProto>();
  readonly dataInputs: string[];

  constructor(
    readonly graph: onnx.IGraphProto,
    readonly file: string,
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
    if (!isDefaultDomain(node)) return undefined;
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

  isConstant(name: string): boolean {
    return this.constant(name) !== undefined;
  }

  /** A node's inputs that are not constants: those that depend on the model's input. */
  dataInputsOf(node: onnx.INodeProto): string[] {
    return (node.input ?? []).filter((name) => name !== '' && !this.isConstant(name));
  }

  floatConstant(name: string, what: string): { dims: number[]; data: Float32Array } {
    const t = this.constant(name);
    if (t === undefined) throw new CnnSlicerError('internal', `${what} "${name}" is not a constant`, this.file);
    return floatTensorData(t, `${what} "${name}"`, this.file);
  }

  intConstant(name: string, what: string): number[] {
    const t = this.constant(name);
    if (t === undefined) throw new CnnSlicerError('internal', `${what} "${name}" is not a constant`, this.file);
    return intTensorData(t, `${what} "${name}"`, this.file);
  }

  /**
   * Every data value `name` is computed from, itself included, each with the position of its
   * producer in the graph's node order (−1 for a graph input): the nodes of an ONNX graph are
   * sorted topologically, so a larger position is later in the forward pass.
   */
  dataAncestors(name: string): Map<string, number> {
    const seen = new Map<string, number>();
    const stack = [name];
    while (stack.length > 0) {
      const v = stack.pop() as string;
      if (seen.has(v) || this.isConstant(v)) continue;
      const p = this.producers.get(v);
      seen.set(v, p === undefined ? -1 : p.index);
      if (p !== undefined) for (const i of this.dataInputsOf(p.node)) stack.push(i);
    }
    return seen;
  }
}

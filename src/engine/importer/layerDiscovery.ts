// Finds the layers of an outside ONNX classifier and rewrites it into a run-format checkpoint
// (docs/run-format.md, "Checkpoints"): one float input with a dynamic batch dimension, and graph
// outputs named exactly as the recorded layers plus `logits`. The paper's layers are the outputs
// of the operators that make a CNN's feature maps (convolution, pooling, normalisation,
// activation, dense), so those are the tensors exposed; reshapes, adds and the like are plumbing.
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { CnnSlicerError } from '../../shared/errors';
import { LOGITS_NAME, type LayerInfo, type LayerKind } from '../../shared/runFormat';
import { createSession, makeTensor } from '../onnx/ortRuntime';

const LAYER_OPS: Readonly<Record<string, LayerKind>> = {
  Conv: 'conv',
  ConvTranspose: 'conv',
  MaxPool: 'pool',
  AveragePool: 'pool',
  GlobalAveragePool: 'pool',
  GlobalMaxPool: 'pool',
  LpPool: 'pool',
  BatchNormalization: 'norm',
  LayerNormalization: 'norm',
  InstanceNormalization: 'norm',
  GroupNormalization: 'norm',
  LRN: 'norm',
  Relu: 'activation',
  LeakyRelu: 'activation',
  PRelu: 'activation',
  Sigmoid: 'activation',
  HardSigmoid: 'activation',
  Tanh: 'activation',
  Elu: 'activation',
  Selu: 'activation',
  Gelu: 'activation',
  Clip: 'activation',
  HardSwish: 'activation',
  Gemm: 'linear',
  MatMul: 'linear',
};

/** Operators after the logits that only turn them into probabilities: their input is the logits. */
const PROBABILITY_OPS = new Set(['Softmax', 'LogSoftmax']);

/** Domains whose operators this onnxruntime build implements. */
const KNOWN_DOMAINS = new Set(['', 'ai.onnx', 'ai.onnx.ml', 'com.microsoft']);

const BATCH_DIM = 'batch';

export interface DiscoveryProbe {
  /** One sample's shape as the dataset gives it, e.g. [1, 28, 28]. */
  readonly inputShape: readonly number[];
  /** A few samples (≥ 1) of that shape, concatenated, to run once and learn the shapes. */
  readonly samples: Float32Array;
  /** How many classes the dataset has: the logits must have as many columns. */
  readonly classes: number;
  /** Says what the dataset is in error messages, e.g. "MNIST". */
  readonly datasetName: string;
}

export interface DiscoveredModel {
  readonly layers: LayerInfo[];
  /** The rewritten model: a checkpoint in the run format. */
  readonly checkpoint: Uint8Array;
  readonly opsetVersion: number | undefined;
}

interface Candidate {
  readonly tensor: string;
  readonly kind: LayerKind;
  readonly op: string;
}

function fmt(shape: readonly (number | string)[]): string {
  return `[${shape.join(', ')}]`;
}

function modelError(file: string, message: string): CnnSlicerError {
  return new CnnSlicerError('model-error', message, file);
}

export function decodeModel(bytes: Uint8Array, file: string): onnx.ModelProto {
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw modelError(file, `not an ONNX model (the protobuf does not decode: ${err instanceof Error ? err.message : String(err)})`);
  }
  if (!model.graph || !model.graph.node || model.graph.node.length === 0) throw modelError(file, 'the ONNX model has no graph or an empty graph');
  return model;
}

function dimsOf(v: onnx.IValueInfoProto): (number | string)[] | undefined {
  const shape = v.type?.tensorType?.shape;
  if (!shape) return undefined;
  return (shape.dim ?? []).map((d) => (d.dimValue !== undefined && d.dimValue !== null && Number(d.dimValue) > 0 ? Number(d.dimValue) : d.dimParam || '?'));
}

/** The graph's one real input (graph inputs that are not initializers), checked against the dataset. */
function checkInput(graph: onnx.IGraphProto, probe: DiscoveryProbe, file: string): onnx.IValueInfoProto {
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  const inputs = (graph.input ?? []).filter((i) => !initializers.has(i.name));
  if (inputs.length !== 1) {
    throw modelError(
      file,
      `the model has ${inputs.length} inputs (${inputs.map((i) => i.name).join(', ') || 'none'}); a classifier for CNNSlicer takes exactly one image batch`,
    );
  }
  const input = inputs[0];
  const elem = input.type?.tensorType?.elemType;
  if (elem !== onnx.TensorProto.DataType.FLOAT) {
    const name = elem !== undefined && elem !== null ? (onnx.TensorProto.DataType[elem] ?? String(elem)) : 'not a tensor';
    throw modelError(file, `the model's input '${input.name}' is ${name}; CNNSlicer feeds float32 images`);
  }
  const dims = dimsOf(input);
  if (dims !== undefined) {
    const want = probe.inputShape;
    const fits = dims.length === want.length + 1 && dims.slice(1).every((d, k) => typeof d === 'string' || d === want[k]);
    if (!fits) {
      throw modelError(
        file,
        `the model's input '${input.name}' has shape ${fmt(dims)}, but ${probe.datasetName} images are ${fmt(['batch', ...want])}; choose the dataset the model was trained on`,
      );
    }
  }
  return input;
}

/** Checks what onnxruntime certainly cannot run before asking it, so the error names the operator. */
function checkOperators(graph: onnx.IGraphProto, file: string): void {
  for (const node of graph.node ?? []) {
    if (!KNOWN_DOMAINS.has(node.domain ?? '')) {
      throw modelError(
        file,
        `node '${node.name || node.output?.[0]}' uses operator ${node.opType} of domain '${node.domain}', which is not a standard ONNX operator: onnxruntime cannot run it`,
      );
    }
    const subgraph = (node.attribute ?? []).some((a) => a.g || (a.graphs && a.graphs.length > 0));
    if (subgraph)
      throw modelError(
        file,
        `node '${node.name || node.output?.[0]}' (${node.opType}) has a sub-graph; models with control flow (If, Loop, Scan) are not supported`,
      );
  }
  for (const t of graph.initializer ?? []) {
    if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
      throw modelError(file, `initializer '${t.name}' is stored as external data; save the model with its weights inside the .onnx file`);
    }
  }
}

/** Which tensors are layers, in the graph's (topological) node order, and which is the logits. */
export function findCandidates(model: onnx.ModelProto, file: string): { candidates: Candidate[]; logits: string } {
  const graph = model.graph!;
  const nodes = graph.node ?? [];
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  const consumers = new Map<string, onnx.INodeProto[]>();
  const producer = new Map<string, onnx.INodeProto>();
  for (const n of nodes) {
    for (const i of n.input ?? []) consumers.set(i, [...(consumers.get(i) ?? []), n]);
    for (const o of n.output ?? []) producer.set(o, n);
  }

  const candidates: Candidate[] = [];
  for (const n of nodes) {
    const op = n.opType ?? '';
    const kind = LAYER_OPS[op];
    const out = n.output?.[0];
    if (kind === undefined || !out) continue;
    if (op === 'MatMul') {
      // A dense layer exported as MatMul + Add (bias): the layer's output is the Add's.
      const next = consumers.get(out);
      const add = next?.length === 1 && next[0].opType === 'Add' && next[0].input?.some((i) => i !== out && initializers.has(i)) ? next[0] : undefined;
      candidates.push({ tensor: add?.output?.[0] ?? out, kind, op: add ? 'MatMul+Add' : op });
      continue;
    }
    candidates.push({ tensor: out, kind, op });
  }

  const outputs = (graph.output ?? []).map((o) => o.name ?? '');
  let logits: string | undefined;
  if (outputs.length === 1) logits = outputs[0];
  else logits = [...candidates].reverse().find((c) => c.kind === 'linear')?.tensor;
  if (logits === undefined) throw modelError(file, `the model has ${outputs.length} outputs (${outputs.join(', ')}) and no Gemm/MatMul to take as the logits`);
  // A model that ends in Softmax reports probabilities; the views need the scores before it.
  for (let p = producer.get(logits); p && PROBABILITY_OPS.has(p.opType ?? ''); p = producer.get(logits)) logits = p.input![0];
  const logitsName = logits;
  const layers = candidates.filter((c) => c.tensor !== logitsName);
  if (layers.length === 0) throw modelError(file, 'found no Conv, pooling, normalisation, activation or Gemm node before the output to record as a layer');
  return { candidates: layers, logits: logitsName };
}

/** A layer name from a tensor name: only [A-Za-z0-9_.-], not reserved, unique among layers and graph values. */
function layerNames(tensors: readonly string[], taken: ReadonlySet<string>): string[] {
  const used = new Set<string>();
  return tensors.map((t) => {
    // PyTorch names tensors "/conv1/Conv_output_0"; "conv1.Conv" reads like the module path.
    let base = t
      .replace(/_output_0$/, '')
      .replace(/^\/+/, '')
      .replace(/[/:]+/g, '.')
      .replace(/[^A-Za-z0-9_.-]+/g, '_')
      .replace(/^[_.]+|[_.]+$/g, '');
    if (base === '' || base === 'input' || base === LOGITS_NAME) base = `layer_${base || 'out'}`;
    let name = base;
    // A name that is another graph value would collide with the Identity that exposes this one.
    for (let k = 2; used.has(name) || (name !== t && taken.has(name)); k++) name = `${base}_${k}`;
    used.add(name);
    return name;
  });
}

function floatOutput(name: string, dims?: readonly number[]): onnx.ValueInfoProto {
  return onnx.ValueInfoProto.create({
    name,
    type: onnx.TypeProto.create({
      tensorType: onnx.TypeProto.Tensor.create({
        elemType: onnx.TensorProto.DataType.FLOAT,
        ...(dims
          ? {
              shape: onnx.TensorShapeProto.create({
                dim: [
                  onnx.TensorShapeProto.Dimension.create({ dimParam: BATCH_DIM }),
                  ...dims.map((d) => onnx.TensorShapeProto.Dimension.create({ dimValue: d })),
                ],
              }),
            }
          : {}),
      }),
    }),
  });
}

/**
 * The model with `exposed` (tensor → output name) as its only outputs, the input's batch
 * dimension made dynamic, and a stale value_info dropped (it may pin the exported batch size).
 */
function rewrite(model: onnx.ModelProto, inputName: string, wanted: readonly { tensor: string; name: string; dims?: readonly number[] }[]): Uint8Array {
  const copy = onnx.ModelProto.decode(onnx.ModelProto.encode(model).finish());
  const graph = copy.graph!;
  const nodes = graph.node ?? [];
  const exposed = wanted.map((e) => ({ ...e }));
  const all = new Set<string>([
    ...(graph.input ?? []).map((i) => i.name ?? ''),
    ...(graph.initializer ?? []).map((i) => i.name ?? ''),
    ...nodes.flatMap((n) => n.output ?? []),
  ]);
  // Identity outputs must not clash with an existing value (e.g. an inner tensor called "logits").
  for (const { tensor, name } of exposed) {
    if (name !== tensor && all.has(name)) {
      const renamed = `${name}__original`;
      for (const n of nodes) {
        n.input = (n.input ?? []).map((i) => (i === name ? renamed : i));
        n.output = (n.output ?? []).map((o) => (o === name ? renamed : o));
      }
      for (const e of exposed) if (e.tensor === name) e.tensor = renamed;
      all.add(renamed);
    }
  }
  for (const { tensor, name } of exposed) {
    if (name !== tensor)
      nodes.push(onnx.NodeProto.create({ name: `cnnslicer_expose_${name}`, opType: 'Identity', domain: '', input: [tensor], output: [name] }));
  }
  graph.output = exposed.map(({ name, dims }) => floatOutput(name, dims));
  graph.node = nodes;
  graph.valueInfo = [];
  const input = (graph.input ?? []).find((i) => i.name === inputName);
  const first = input?.type?.tensorType?.shape?.dim?.[0];
  if (first) {
    first.dimValue = undefined as unknown as number;
    first.dimParam = BATCH_DIM;
  }
  return onnx.ModelProto.encode(copy).finish();
}

async function runAll(bytes: Uint8Array, file: string, inputName: string, probe: DiscoveryProbe, n: number): Promise<Record<string, Tensor>> {
  let session: InferenceSession;
  try {
    session = await createSession(bytes, file);
  } catch (err) {
    if (err instanceof CnnSlicerError) throw modelError(file, `onnxruntime cannot load the model: ${err.detail.replace(/^cannot load model: /, '')}`);
    throw err;
  }
  try {
    return (await session.run({ [inputName]: makeTensor(probe.samples, [n, ...probe.inputShape]) })) as Record<string, Tensor>;
  } catch (err) {
    throw modelError(
      file,
      `onnxruntime cannot run the model on ${probe.datasetName} images ${fmt(['batch', ...probe.inputShape])}: ${err instanceof Error ? err.message : String(err)}`,
    );
  } finally {
    await session.release();
  }
}

/**
 * Discovers the layers of `bytes` (an ONNX classifier) and returns them with the rewritten
 * checkpoint. The model is run once on the probe samples with every candidate fetched: the
 * shapes come from that run, and a layer whose output has no batch dimension (something
 * computed from the weights alone) or is not float32 is left out.
 */
export async function discoverLayers(bytes: Uint8Array, file: string, probe: DiscoveryProbe): Promise<DiscoveredModel> {
  const model = decodeModel(bytes, file);
  const graph = model.graph!;
  checkOperators(graph, file);
  const input = checkInput(graph, probe, file);
  const inputName = input.name!;
  const { candidates, logits } = findCandidates(model, file);
  const per = probe.inputShape.reduce((a, b) => a * b, 1);
  const n = probe.samples.length / per;
  if (!Number.isInteger(n) || n < 1)
    throw new CnnSlicerError('internal', `probe samples hold ${probe.samples.length} values, not whole samples of ${fmt(probe.inputShape)}`, file);

  const taken = new Set<string>([
    ...(graph.input ?? []).map((i) => i.name ?? ''),
    ...(graph.initializer ?? []).map((i) => i.name ?? ''),
    ...(graph.node ?? []).flatMap((nd) => nd.output ?? []),
  ]);
  // The tensors themselves are fetched for the shape run: nothing is renamed yet.
  const fetchAll = [...new Set([...candidates.map((c) => c.tensor), logits])].map((tensor) => ({ tensor, name: tensor }));
  const out = await runAll(rewrite(model, inputName, fetchAll), file, inputName, probe, n);

  const logitsOut = out[logits];
  if (!logitsOut || logitsOut.type !== 'float32' || logitsOut.dims.length !== 2 || logitsOut.dims[0] !== n) {
    throw modelError(
      file,
      `the model's output '${logits}' has shape ${fmt(logitsOut?.dims ?? [])} (${logitsOut?.type}); a classifier's logits are [batch, classes] float32`,
    );
  }
  if (logitsOut.dims[1] !== probe.classes) {
    throw modelError(file, `the model has ${logitsOut.dims[1]} outputs (classes), but the ${probe.datasetName} dataset has ${probe.classes} classes`);
  }
  const kept = candidates.filter((c) => {
    const t = out[c.tensor];
    return t !== undefined && t.type === 'float32' && t.dims.length >= 2 && t.dims.length <= 5 && t.dims[0] === n && t.dims.every((d) => d >= 1);
  });
  // The same tensor can be a candidate twice (MatMul+Add, and the Add feeding a later op): once is enough.
  const unique = kept.filter((c, i) => kept.findIndex((k) => k.tensor === c.tensor) === i);
  if (unique.length === 0) throw modelError(file, 'no layer output has a batch dimension and float32 values');
  const names = layerNames(
    unique.map((c) => c.tensor),
    taken,
  );
  const layers: LayerInfo[] = unique.map((c, i) => ({ name: names[i], kind: c.kind, shape: out[c.tensor].dims.slice(1), op: c.op }));
  for (const t of Object.values(out)) t.dispose();

  const exposed = [
    ...unique.map((c, i) => ({ tensor: c.tensor, name: names[i], dims: layers[i].shape })),
    { tensor: logits, name: LOGITS_NAME, dims: [probe.classes] },
  ];
  const opset = model.opsetImport?.find((o) => (o.domain ?? '') === '' || o.domain === 'ai.onnx')?.version;
  return { layers, checkpoint: rewrite(model, inputName, exposed), opsetVersion: opset === undefined || opset === null ? undefined : Number(opset) };
}

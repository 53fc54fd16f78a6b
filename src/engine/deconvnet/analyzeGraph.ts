// Reads a checkpoint's ONNX graph and finds the path the deconvnet follows back from one layer to
// the input: one step per node, each with its weights, its attributes made explicit and the static
// per-sample shapes before and after it. At a residual Add the path goes on along the block's main
// path (mainPath.ts). Anything the deconvnet cannot invert exactly is refused here with the
// operator and node named and what the user can choose instead, so no projection is ever computed
// from a graph it misreads.
import { onnx } from 'onnx-proto';
import { CnnSlicerError } from '../../shared/errors';
import { fmt, GraphIndex, isDefaultDomain, nodeLabel } from './graphIndex';
import { residualBranches, type ResidualBranches } from './mainPath';
import {
  addConstantCheck,
  avgPoolStep,
  batchNormStep,
  clipStep,
  convStep,
  flattenStep,
  globalAverageStep,
  maxPoolStep,
  reduceMeanStep,
  reshapeStep,
  type StepContext,
} from './stepParsers';
import type { DeconvnetPlan, DeconvnetStep } from './steps';

export type { DeconvnetPlan, DeconvnetStep } from './steps';

/** The operators the deconvnet can invert. */
const SUPPORTED_OPS = new Set([
  'Conv',
  'MaxPool',
  'AveragePool',
  'GlobalAveragePool',
  'ReduceMean',
  'Relu',
  'Clip',
  'BatchNormalization',
  'Flatten',
  'Reshape',
  'Add',
  'Identity',
  'Dropout',
]);

const ACTIVATION_REASON = 'the deconvnet rectifies the signal going back as a ReLU does, and has no inverse for this activation';
const DENSE_REASON = 'a fully connected layer mixes every position of the feature map, and a deconvnet (Zeiler & Fergus) inverts feature maps only';

// Operators whose refusal is not obvious to a user of a supported network get the reason.
const REFUSAL_REASONS: Readonly<Record<string, string>> = {
  Gemm: DENSE_REASON,
  MatMul: DENSE_REASON,
  Concat: 'the branches it joins would each need their share of the signal, which Zeiler & Fergus do not define',
  Sigmoid: ACTIVATION_REASON,
  Tanh: ACTIVATION_REASON,
  LeakyRelu: ACTIVATION_REASON,
  PRelu: ACTIVATION_REASON,
  Elu: ACTIVATION_REASON,
  Selu: ACTIVATION_REASON,
  Gelu: ACTIVATION_REASON,
  HardSigmoid: ACTIVATION_REASON,
  HardSwish: ACTIVATION_REASON,
  Softmax: ACTIVATION_REASON,
  GlobalMaxPool: 'a global max pool has no switches output in ONNX to unpool with',
  LRN: 'local response normalisation divides each value by its neighbours, a step with no linear inverse',
};

/** The reason for refusing an operator, where one helps; a product is explained only when it is one of two feature maps. */
function refusalReason(g: GraphIndex, node: onnx.INodeProto, op: string): string | undefined {
  if (op === 'Mul' && g.dataInputsOf(node).length === 2) {
    return 'a product of two feature maps (e.g. an attention or squeeze-and-excitation gate) has no deconvnet inverse';
  }
  return REFUSAL_REASONS[op];
}

/** A refusal at one node, carrying the node's output so a layer before it can be suggested. */
class Refusal extends CnnSlicerError {
  constructor(
    message: string,
    file: string,
    readonly at: string,
  ) {
    super('model-error', message, file);
  }
}

function refuse(op: string, node: string, at: string, layer: string, file: string, reason?: string): Refusal {
  const base = `deconvnet cannot invert operator "${op}" (node "${node}") on the path to layer "${layer}"`;
  return new Refusal(reason === undefined ? base : `${base}: ${reason}`, file, at);
}

/** One node on the path, before its attributes are read. */
interface Link {
  readonly node: onnx.INodeProto;
  readonly label: string;
  readonly op: string;
  /** The value the path goes on from (the node's data input, or a residual Add's main input). */
  readonly input: string;
  readonly output: string;
  readonly residual?: ResidualBranches;
  /** An Add's constant input, for the Add of a constant. */
  readonly constant?: string;
}

/** The path from the layer back to the input, one data input per node (the main one at a residual Add), in forward order. */
function walk(g: GraphIndex, layer: string, input: string): Link[] {
  const file = g.file;
  const chain: Link[] = [];
  const limit = (g.graph.node ?? []).length;
  let cur = layer;
  while (cur !== input) {
    const p = g.producers.get(cur);
    if (p === undefined) {
      if (cur === layer) throw new CnnSlicerError('model-error', `the checkpoint has no value named "${layer}"`, file);
      throw new CnnSlicerError('model-error', `the value "${cur}" on the path to layer "${layer}" is neither computed by a node nor the model's input`, file);
    }
    const { node, index, outputIndex } = p;
    const op = node.opType ?? '';
    const label = nodeLabel(node, index);
    const refuseHere = (reason?: string): Refusal => refuse(op, label, cur, layer, file, reason);
    if (!isDefaultDomain(node)) throw refuseHere(`operators of domain "${node.domain}" are not supported`);
    if (!SUPPORTED_OPS.has(op)) throw refuseHere(refusalReason(g, node, op));
    if (g.isConstant(cur)) throw refuseHere('its output is a constant, not a function of the input');
    if (outputIndex !== 0) throw refuseHere(`the layer is its output ${outputIndex + 1} (${cur}), not its data output`);
    const data = g.dataInputsOf(node);
    let link: Link;
    if (op === 'Add' && data.length === 2) {
      const branches = residualBranches(g, data[0], data[1]);
      if ('reason' in branches) throw refuseHere(branches.reason);
      link = { node, label, op, input: branches.main, output: cur, residual: branches };
    } else if (op === 'Add' && data.length === 1) {
      const constant = (node.input ?? []).find((name) => name !== '' && name !== data[0]) ?? '';
      link = { node, label, op, input: data[0], output: cur, constant };
    } else {
      if (op === 'Reshape' && data.length === 2 && data[0] === node.input?.[0]) {
        throw refuseHere(
          "its target shape is computed from the input's shape (as x.view(x.size(0), -1) exports); use torch.flatten(x, 1), which exports as a Flatten",
        );
      }
      if (data.length !== 1) {
        throw refuseHere(
          `it takes ${data.length} inputs that depend on the model's input (${data.join(', ')}), and the deconvnet follows one path back (a residual Add is the one join it follows, along the block's main path)`,
        );
      }
      if (data[0] !== node.input?.[0])
        throw refuseHere(`its input "${data[0]}" that depends on the model's input is not its data input (the first), e.g. weights computed from the input`);
      link = { node, label, op, input: data[0], output: cur };
    }
    chain.push(link);
    if (chain.length > limit) throw new CnnSlicerError('model-error', `the graph has a cycle on the path to layer "${layer}"`, file);
    cur = link.input;
  }
  return chain.reverse();
}

function stepOf(c: StepContext, link: Link): DeconvnetStep {
  const same = { node: c.label, op: c.op, input: c.input, output: c.output, inShape: c.inShape, outShape: c.inShape };
  switch (c.op) {
    case 'Conv':
      return convStep(c);
    case 'MaxPool':
      return maxPoolStep(c);
    case 'AveragePool':
      return avgPoolStep(c);
    case 'GlobalAveragePool':
      return globalAverageStep(c);
    case 'ReduceMean':
      return reduceMeanStep(c);
    case 'Relu':
      return { kind: 'relu', ...same };
    case 'Clip':
      return clipStep(c);
    case 'BatchNormalization':
      return batchNormStep(c);
    case 'Flatten':
      return flattenStep(c);
    case 'Reshape':
      return reshapeStep(c);
    case 'Add':
      if (link.residual) return { kind: 'residual', ...same, shortcut: link.residual.shortcut, fork: link.residual.fork };
      addConstantCheck(c, link.constant ?? '');
      return { kind: 'pass', ...same };
    default:
      // Identity and Dropout (the identity at inference).
      return { kind: 'pass', ...same };
  }
}

function plan(g: GraphIndex, layer: string, input: string, inputShape: readonly number[]): DeconvnetPlan {
  const steps: DeconvnetStep[] = [];
  let shape: readonly number[] = inputShape;
  for (const link of walk(g, layer, input)) {
    const { node, label, op } = link;
    const refuseWith = (reason: string): CnnSlicerError => refuse(op, label, link.output, layer, g.file, reason);
    const step = stepOf({ g, node, label, op, input: link.input, output: link.output, inShape: shape, refuseWith }, link);
    steps.push(step);
    shape = step.outShape;
  }
  return { layer, input, inputShape, steps, outShape: shape };
}

/** How many earlier layers are tried when suggesting one, so a refusal stays quick on a large graph. */
const SUGGESTION_TRIES = 12;

/**
 * The last recorded layer computed before the refused node that the deconvnet can project, if any:
 * what the user can choose instead.
 */
function earlierLayer(g: GraphIndex, at: string, input: string, inputShape: readonly number[], recorded: readonly string[]): string | undefined {
  const ancestors = g.dataAncestors(at);
  const candidates = recorded
    .filter((name) => name !== at && ancestors.has(name))
    .sort((a, b) => (ancestors.get(b) ?? 0) - (ancestors.get(a) ?? 0))
    .slice(0, SUGGESTION_TRIES);
  for (const name of candidates) {
    try {
      plan(g, name, input, inputShape);
      return name;
    } catch {
      // Not this one either; try the next one back.
    }
  }
  return undefined;
}

/**
 * The deconvnet plan for one layer of a checkpoint: the path from the graph input to the node
 * that outputs `layer`, in forward order. `inputShape` is the per-sample shape of the probe
 * inputs, [C, ...spatial]. `recorded` (the run's layers) lets a refusal name the last recorded
 * layer before the refused node that can be projected instead.
 */
export function planDeconvnet(
  model: onnx.IModelProto,
  layer: string,
  inputShape: readonly number[],
  file: string,
  recorded?: readonly string[],
): DeconvnetPlan {
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
  try {
    return plan(g, layer, input, inputShape);
  } catch (err) {
    if (!(err instanceof Refusal)) throw err;
    let advice: string;
    if (recorded === undefined) {
      advice = 'Choose a layer before this node.';
    } else {
      const earlier = earlierLayer(g, err.at, input, inputShape, recorded);
      advice =
        earlier !== undefined
          ? `Choose a layer before this node: "${earlier}" is the last recorded layer before it that the deconvnet can project.`
          : 'No recorded layer before this node can be projected either: record a convolution, activation or pooling output before it to see what its filters keep.';
    }
    throw new CnnSlicerError('model-error', `${err.detail}. ${advice}`, file);
  }
}

// The deconvnet's forward pass is the checkpoint's own graph, so the layer's values and the
// max-pool switches are exactly those of the real network, shortcut branches and all. This module
// cuts the checkpoint down to what computes the layer, makes every max pool on the path also output
// its indices (the switches), and sets the graph's outputs to the layer and those switches. The
// nodes are copied unchanged under the checkpoint's own opset, so no operator is re-expressed.
import { onnx } from 'onnx-proto';
import type { DeconvnetPlan, MaxPoolStep } from './steps';

const AttrType = onnx.AttributeProto.AttributeType;

/** Every value a node reads, including those its subgraphs (If, Loop, Scan) read from the enclosing graph. */
function readsOf(node: onnx.INodeProto): string[] {
  const names = (node.input ?? []).filter((i) => i !== '');
  for (const a of node.attribute ?? []) {
    const graphs = a.type === AttrType.GRAPH && a.g ? [a.g] : a.type === AttrType.GRAPHS ? (a.graphs ?? []) : [];
    for (const sub of graphs) for (const n of sub.node ?? []) names.push(...readsOf(n));
  }
  return names;
}

function outputInfo(name: string, elemType: onnx.TensorProto.DataType): onnx.ValueInfoProto {
  // No shape: the runtime infers it, and a stale one (a fixed batch) could only be wrong.
  return onnx.ValueInfoProto.create({ name, type: onnx.TypeProto.create({ tensorType: onnx.TypeProto.Tensor.create({ elemType }) }) });
}

/** The switches the backward graph needs, in the plan's order. */
export function switchSteps(plan: DeconvnetPlan): MaxPoolStep[] {
  return plan.steps.filter((s): s is MaxPoolStep => s.kind === 'maxpool');
}

/**
 * The checkpoint cut down to the nodes that compute `plan.layer`, with the layer and every
 * switches value of the plan as its outputs. `model` is not changed.
 */
export function buildForwardModel(model: onnx.IModelProto, plan: DeconvnetPlan): Uint8Array {
  const graph = model.graph as onnx.IGraphProto;
  const pools = switchSteps(plan);
  const addIndices = new Map(pools.filter((s) => s.addSwitches).map((s) => [s.output, s.switches]));
  const producers = new Map<string, number>();
  const nodes = graph.node ?? [];
  nodes.forEach((n, i) => (n.output ?? []).forEach((o) => o !== '' && producers.set(o, i)));

  // The nodes the outputs depend on, found from the outputs back.
  const keep = new Set<number>();
  const used = new Set<string>();
  const stack = [plan.layer, ...pools.map((s) => s.output)];
  while (stack.length > 0) {
    const v = stack.pop() as string;
    if (used.has(v)) continue;
    used.add(v);
    const i = producers.get(v);
    if (i === undefined || keep.has(i)) continue;
    keep.add(i);
    stack.push(...readsOf(nodes[i]));
  }
  const kept = nodes
    .filter((_, i) => keep.has(i))
    .map((n) => {
      const switches = addIndices.get(n.output?.[0] ?? '');
      if (switches === undefined) return n;
      return { ...n, output: [n.output?.[0] ?? '', switches] };
    });

  const outputs = [outputInfo(plan.layer, onnx.TensorProto.DataType.FLOAT), ...pools.map((s) => outputInfo(s.switches, onnx.TensorProto.DataType.INT64))];
  const cut: onnx.IModelProto = {
    ...model,
    graph: {
      ...graph,
      node: kept,
      initializer: (graph.initializer ?? []).filter((t) => used.has(t.name ?? '')),
      sparseInitializer: (graph.sparseInitializer ?? []).filter((t) => used.has(t.values?.name ?? '')),
      input: (graph.input ?? []).filter((i) => used.has(i.name ?? '')),
      output: outputs,
      // Shapes recorded at export may pin the exported batch size; the runtime infers them.
      valueInfo: [],
    },
  };
  return onnx.ModelProto.encode(cut).finish();
}

// The deconvnet's rule for a residual Add (docs/deconvnet.md, "Residual blocks: the main path"):
// the signal goes back along the block's main path only, the branch with the block's layers,
// and the shortcut is dropped. Which input of the Add is the main path is read off the graph:
// both branches start at the same value (the fork, the block's input), and the main path is the
// longer one back to it. An identity shortcut has length 0; a projection shortcut (ResNet's
// downsample: a 1×1 convolution and a batch norm) is shorter than the two convolutions, two
// batch norms and the ReLU of the main path.
import type { GraphIndex } from './graphIndex';

/** Operators that do nothing at inference and so do not make a branch longer. */
const PASS_THROUGH = new Set(['Identity', 'Dropout']);

export interface ResidualBranches {
  /** The Add input the deconvnet follows back. */
  readonly main: string;
  /** The Add input whose branch it drops. */
  readonly shortcut: string;
  /** The last value both branches are computed from: the block's input. */
  readonly fork: string;
  /** Operators on the longest path from each input back to the fork. */
  readonly mainLength: number;
  readonly shortcutLength: number;
}

/**
 * The last value (in the forward order) that both values are computed from. The graph has one
 * input, so there always is one.
 */
function forkOf(a: Map<string, number>, b: Map<string, number>): string | undefined {
  let fork: string | undefined;
  let at = -Infinity;
  for (const [name, pos] of a) {
    if (b.has(name) && pos > at) {
      fork = name;
      at = pos;
    }
  }
  return fork;
}

/** The most operators on any path from `from` back to `fork` (pass-through ones not counted). */
function longestPathTo(g: GraphIndex, from: string, fork: string): number {
  const ancestors = g.dataAncestors(from);
  // Producers come before consumers in an ONNX graph, so one pass in node order sees every
  // input's length before the values computed from it.
  const order = [...ancestors].sort((x, y) => x[1] - y[1]).map(([name]) => name);
  const length = new Map<string, number>();
  for (const v of order) {
    if (v === fork) {
      length.set(v, 0);
      continue;
    }
    const p = g.producers.get(v);
    let best = -Infinity;
    if (p !== undefined) {
      for (const i of g.dataInputsOf(p.node)) best = Math.max(best, length.get(i) ?? -Infinity);
      if (!PASS_THROUGH.has(p.node.opType ?? '')) best += 1;
    }
    length.set(v, best);
  }
  return length.get(from) ?? -Infinity;
}

/**
 * The branches of an Add of two values `a` and `b` that both depend on the model's input, or the
 * reason the main path cannot be told from the shortcut.
 */
export function residualBranches(g: GraphIndex, a: string, b: string): ResidualBranches | { readonly reason: string } {
  const fork = forkOf(g.dataAncestors(a), g.dataAncestors(b));
  if (fork === undefined) return { reason: `its inputs "${a}" and "${b}" are not computed from a common value, so they are not the two branches of a block` };
  const la = longestPathTo(g, a, fork);
  const lb = longestPathTo(g, b, fork);
  if (la === lb) {
    return {
      reason: `its inputs "${a}" and "${b}" are branches of equal length (${la} operators each) from "${fork}", so the deconvnet cannot tell the block's main path from its shortcut`,
    };
  }
  return la > lb ? { main: a, shortcut: b, fork, mainLength: la, shortcutLength: lb } : { main: b, shortcut: a, fork, mainLength: lb, shortcutLength: la };
}

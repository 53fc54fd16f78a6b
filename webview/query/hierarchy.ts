// The query view's blocks: a run's layers as the module tree the Runs tree shows (src/shared/layerGroups.ts),
// with each group's layer indices, and the partition of a range of layers into the blocks that the
// architecture row lists and the L axis bands. Pure functions of the run's layers, no DOM.
import { layerGroupsOf, type LayerGroup } from '../../src/shared/layerGroups';
import type { LayerInfo } from '../../src/shared/runFormat';

/** Layers `from` … `to` (indices into the run's layers, both included). */
export interface LayerRange {
  readonly from: number;
  readonly to: number;
}

/** A block of the model: a group of layers (children) or one layer (no children). */
export interface ArchNode {
  /** The module path of a group; the layer's name for a layer. */
  readonly path: string;
  /** A layer's index into the run's layers; undefined for a group. */
  readonly layer?: number;
  /** A group's blocks in the model's order (its own recorded layer among them); empty for a layer. */
  readonly children: readonly ArchNode[];
  /** The first and last layer index inside. */
  readonly from: number;
  readonly to: number;
  /** How many layers are inside. */
  readonly count: number;
}

export function isGroup(node: ArchNode): boolean {
  return node.children.length > 0;
}

function leaf(path: string, index: number): ArchNode {
  return { path, layer: index, children: [], from: index, to: index, count: 1 };
}

function toNode(group: LayerGroup, indexOf: ReadonlyMap<string, number>): ArchNode | undefined {
  const own = group.layer !== undefined ? indexOf.get(group.layer.name) : undefined;
  if (group.children.length === 0) return own !== undefined ? leaf(group.path, own) : undefined;
  const children = group.children.flatMap((g) => toNode(g, indexOf) ?? []);
  // A block's own layer (its output, `layer1.0`) sits among its sub-layers where the run recorded it.
  if (own !== undefined) children.push(leaf(group.path, own));
  children.sort((a, b) => a.from - b.from);
  if (children.length === 0) return undefined;
  return {
    path: group.path,
    children,
    from: Math.min(...children.map((c) => c.from)),
    to: Math.max(...children.map((c) => c.to)),
    count: children.reduce((n, c) => n + c.count, 0),
  };
}

const trees = new WeakMap<readonly LayerInfo[], readonly ArchNode[]>();

/** The run's top-level blocks in the model's order (layers alone for a run of at most 16 layers), computed once per layer list. */
export function archTree(layers: readonly LayerInfo[]): readonly ArchNode[] {
  let tree = trees.get(layers);
  if (tree === undefined) {
    const indexOf = new Map(layers.map((l, i) => [l.name, i] as const));
    tree = layerGroupsOf(layers)
      .flatMap((g) => toNode(g, indexOf) ?? [])
      .sort((a, b) => a.from - b.from);
    trees.set(layers, tree);
  }
  return tree;
}

/** The group with module path `path`, if the run has one. */
export function findGroup(tree: readonly ArchNode[], path: string): ArchNode | undefined {
  for (const node of tree) {
    if (!isGroup(node)) continue;
    if (node.path === path) return node;
    if (path.startsWith(`${node.path}.`)) return findGroup(node.children, path);
  }
  return undefined;
}

/** The groups holding layer `index`, outermost first. */
export function groupsHolding(tree: readonly ArchNode[], index: number): ArchNode[] {
  const out: ArchNode[] = [];
  let level = tree;
  for (;;) {
    const next = level.find((n) => isGroup(n) && holds(n, index));
    if (next === undefined) return out;
    out.push(next);
    level = next.children;
  }
}

/** Whether layer `index` is inside `node` (a group's layers need not be contiguous, so not just from ≤ index ≤ to). */
export function holds(node: ArchNode, index: number): boolean {
  if (!isGroup(node)) return node.layer === index;
  return index >= node.from && index <= node.to && node.children.some((c) => holds(c, index));
}

/** The layers the L axis spans: the zoomed group's, else all. */
export function axisRange(layers: readonly LayerInfo[], zoom: string | undefined): LayerRange {
  const group = zoom !== undefined ? findGroup(archTree(layers), zoom) : undefined;
  return group !== undefined ? { from: group.from, to: group.to } : { from: 0, to: layers.length - 1 };
}

export function rangeCount(range: LayerRange): number {
  return Math.max(0, range.to - range.from + 1);
}

function overlap(node: ArchNode, range: LayerRange): number {
  return Math.max(0, Math.min(node.to, range.to) - Math.max(node.from, range.from) + 1);
}

/**
 * The blocks that divide `range`: the top-level blocks inside it, where a group spanning all of the
 * range, or more than three quarters of it with modules of its own inside, is replaced by its own
 * blocks, again and again. So MobileNetV2's `features` (all but the last layer) shows as
 * features.0 … features.18, and a range zoomed to `layer2` shows layer2.0 and layer2.1 rather than
 * one block named layer2; VGG's `features`, 31 plain layers of 39, stays one block.
 */
export function partition(tree: readonly ArchNode[], range: LayerRange): ArchNode[] {
  const total = rangeCount(range);
  const dominant = (n: ArchNode): boolean => {
    const part = overlap(n, range);
    return isGroup(n) && (part === total || (part * 4 > total * 3 && n.children.some(isGroup)));
  };
  let items = tree.filter((n) => overlap(n, range) > 0);
  for (;;) {
    const big = items.findIndex(dominant);
    if (big < 0) return items;
    items = [...items.slice(0, big), ...items[big].children.filter((n) => overlap(n, range) > 0), ...items.slice(big + 1)];
  }
}

/** The path of `node` below the group it was partitioned out of (`2.conv` for features.2.conv under features), and its first segment. */
export function shortLabels(node: ArchNode, tree: readonly ArchNode[]): string[] {
  const parents = groupsHolding(tree, node.from).filter((g) => g.path !== node.path && node.path.startsWith(`${g.path}.`));
  const parent = parents[parents.length - 1];
  if (parent === undefined) return [];
  const relative = node.path.slice(parent.path.length + 1);
  const first = relative.split('.')[0];
  return first !== relative ? [relative, first] : [relative];
}

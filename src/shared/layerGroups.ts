// A run's layers grouped by their module path (`layer1.0.conv1` under `layer1` › `0`), in the
// model's order, as torchvision networks name them: the Runs tree's hierarchy of layers and the
// query view's blocks share it, so the two show the same modules. A recorded layer whose name is
// also a group's path (a block's output, `layer1.0`) is that group's own layer. A group with one
// child and no layer of its own is merged into it (`classifier.1` stays one row). Runs of at most
// FLAT_MAX_LAYERS layers stay a flat list: grouping seven layers only adds clicks. Pure: no DOM,
// no editor API.
import type { LayerInfo } from './runFormat';

/** Layers up to which a run's layers are listed flat. */
export const FLAT_MAX_LAYERS = 16;

export interface LayerGroup {
  /** The dotted module path (`layer1.0`); a layer's full name when it is a layer. */
  readonly path: string;
  /** What the row shows: the path relative to the parent group. */
  readonly label: string;
  /** The recorded layer of this path, if any. */
  readonly layer?: LayerInfo;
  readonly children: readonly LayerGroup[];
  /** Recorded layers in this group and below, its own included. */
  readonly layerCount: number;
}

interface Building {
  segment: string;
  layer?: LayerInfo;
  children: Map<string, Building>;
}

function finish(node: Building, parentPath: string, labelPrefix: string): LayerGroup {
  const path = parentPath === '' ? node.segment : `${parentPath}.${node.segment}`;
  const label = labelPrefix === '' ? node.segment : `${labelPrefix}.${node.segment}`;
  const kids = [...node.children.values()];
  if (node.layer === undefined && kids.length === 1) return finish(kids[0], path, label);
  const children = kids.map((k) => finish(k, path, ''));
  const layerCount = (node.layer !== undefined ? 1 : 0) + children.reduce((a, c) => a + c.layerCount, 0);
  return { path, label, ...(node.layer !== undefined ? { layer: node.layer } : {}), children, layerCount };
}

/** The top-level rows of a run's layers: groups and layers in the model's order (flat for small runs). */
export function layerGroups(layers: readonly LayerInfo[]): LayerGroup[] {
  if (layers.length <= FLAT_MAX_LAYERS) return layers.map((layer) => ({ path: layer.name, label: layer.name, layer, children: [], layerCount: 1 }));
  const root: Building = { segment: '', children: new Map() };
  for (const layer of layers) {
    let node = root;
    for (const segment of layer.name.split('.')) {
      let next = node.children.get(segment);
      if (next === undefined) {
        next = { segment, children: new Map() };
        node.children.set(segment, next);
      }
      node = next;
    }
    node.layer = layer;
  }
  return [...root.children.values()].map((k) => finish(k, '', ''));
}

const cache = new WeakMap<readonly LayerInfo[], LayerGroup[]>();

/** layerGroups, computed once per run's layer list. */
export function layerGroupsOf(layers: readonly LayerInfo[]): LayerGroup[] {
  let groups = cache.get(layers);
  if (groups === undefined) {
    groups = layerGroups(layers);
    cache.set(layers, groups);
  }
  return groups;
}

/** The group of `path` and the group it hangs under (undefined at the top), or undefined when no row has that path. */
export function findGroup(groups: readonly LayerGroup[], path: string): { group: LayerGroup; parent: LayerGroup | undefined } | undefined {
  const visit = (list: readonly LayerGroup[], parent: LayerGroup | undefined): { group: LayerGroup; parent: LayerGroup | undefined } | undefined => {
    for (const g of list) {
      if (g.path === path) return { group: g, parent };
      if (path.startsWith(`${g.path}.`)) return visit(g.children, g);
    }
    return undefined;
  };
  return visit(groups, undefined);
}

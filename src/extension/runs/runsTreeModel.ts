// What the Runs tree shows, as plain data: its nodes, their children, and how each one reads.
// RunsTreeProvider only turns a NodePresentation into a vscode.TreeItem, so everything a user sees
// in the tree is decided here and unit-tested without VS Code.
//
// Every string taken from a run (names, classes, metric names) ends up in a TreeItem label,
// description or string tooltip, which VS Code renders as plain text, never as markdown or HTML.
import { formatError } from '../../shared/errors';
import { COMMAND } from '../commandIds';
import type { EpochEntry, LayerInfo, LayerKind, RunInfo } from '../../shared/runFormat';
import { findGroup, layerGroupsOf, type LayerGroup } from './layerGroups';
import { runEntryLabel, type RunEntry } from './runCatalog';
import { formatMoment, type RunLivenessStatus } from './runLiveness';
import {
  channelCount,
  countOf,
  describeEpochMetrics,
  describeLayer,
  describeRunContents,
  epochLabel,
  epochStorage,
  formatShape,
  incompleteEpochLabel,
  metricEntries,
} from './runText';

export type RunsTreeNode =
  | { readonly kind: 'run'; readonly entry: RunEntry }
  | { readonly kind: 'layers' | 'epochs' | 'classes'; readonly runDir: string; readonly info: RunInfo }
  /**
   * A recorded layer. Under a module group, `label` is its path relative to the group and `info`
   * the run's, from which a layer that is also a group (a block's output) finds its sub-layers.
   */
  | { readonly kind: 'layer'; readonly runDir: string; readonly layer: LayerInfo; readonly label?: string; readonly info?: RunInfo }
  /** A module path that groups layers but is not recorded itself (`layer1`, `layer1.0` without blocks). */
  | { readonly kind: 'module'; readonly runDir: string; readonly info: RunInfo; readonly path: string; readonly label: string }
  /** The channels of a layer that also has sub-layers. */
  | { readonly kind: 'channels'; readonly runDir: string; readonly layer: LayerInfo; readonly label?: string; readonly info?: RunInfo }
  | { readonly kind: 'channel'; readonly runDir: string; readonly layer: LayerInfo; readonly channel: number }
  | { readonly kind: 'epoch'; readonly runDir: string; readonly epoch: EpochEntry }
  | { readonly kind: 'incompleteEpoch'; readonly runDir: string; readonly epoch: number }
  | { readonly kind: 'class'; readonly runDir: string; readonly index: number; readonly name: string };

/** `when`-clause values of `viewItem`, used by package.json menus. */
export const TREE_CONTEXT = {
  run: 'run',
  runLoading: 'runLoading',
  runFailed: 'runFailed',
  group: 'group',
  module: 'module',
  layer: 'layer',
  channel: 'channel',
  epoch: 'epoch',
  incompleteEpoch: 'incompleteEpoch',
  class: 'class',
} as const;

export interface NodeIcon {
  /** A codicon id, e.g. `layers` or `loading~spin`. */
  readonly id: string;
  /** A theme colour id, e.g. `errorForeground`. */
  readonly color?: string;
}

export interface NodePresentation {
  /** Unique in the whole tree and stable across refreshes, so VS Code keeps expansion and selection. */
  readonly id: string;
  readonly label: string;
  readonly description?: string;
  readonly tooltip?: string;
  readonly icon: NodeIcon;
  readonly contextValue: string;
  readonly expandable: boolean;
  /** Run when the node is clicked (the node is its argument). */
  readonly command?: { readonly id: string; readonly title: string };
}

const LAYER_ICONS: Readonly<Record<LayerKind, string>> = {
  conv: 'symbol-array',
  pool: 'fold-down',
  norm: 'symbol-operator',
  activation: 'zap',
  linear: 'symbol-numeric',
  flatten: 'fold',
  dropout: 'circle-slash',
  block: 'symbol-namespace',
  other: 'symbol-misc',
};

function nodeId(...parts: readonly (string | number)[]): string {
  return JSON.stringify(parts);
}

/** The tree node of a group of layers (layerGroups.ts). */
function nodeOfGroup(runDir: string, info: RunInfo, g: LayerGroup): RunsTreeNode {
  return g.layer !== undefined
    ? { kind: 'layer', runDir, layer: g.layer, label: g.label, info }
    : { kind: 'module', runDir, info, path: g.path, label: g.label };
}

/** A layer's group in its run's hierarchy, when the node knows its run. */
function groupOfLayer(node: { readonly layer: LayerInfo; readonly info?: RunInfo }): LayerGroup | undefined {
  return node.info !== undefined ? findGroup(layerGroupsOf(node.info.manifest.layers), node.layer.name)?.group : undefined;
}

function channelsOf(runDir: string, layer: LayerInfo): RunsTreeNode[] {
  // Created only when expanded, so a 4096-feature layer costs nothing until asked.
  return Array.from({ length: channelCount(layer) }, (_, channel) => ({ kind: 'channel', runDir, layer, channel }));
}

/** The node above a group (`parent` from findGroup): the Layers group at the top, else the parent's layer or module row. */
function nodeAbove(runDir: string, info: RunInfo, parent: LayerGroup | undefined): RunsTreeNode {
  return parent === undefined ? { kind: 'layers', runDir, info } : nodeOfGroup(runDir, info, parent);
}

export function childrenOf(node: RunsTreeNode): RunsTreeNode[] {
  switch (node.kind) {
    case 'run': {
      if (node.entry.state.kind !== 'loaded') return [];
      const info = node.entry.state.info;
      const runDir = node.entry.dir;
      return [
        { kind: 'layers', runDir, info },
        { kind: 'epochs', runDir, info },
        { kind: 'classes', runDir, info },
      ];
    }
    case 'layers':
      return layerGroupsOf(node.info.manifest.layers).map((g) => nodeOfGroup(node.runDir, node.info, g));
    case 'module': {
      const found = findGroup(layerGroupsOf(node.info.manifest.layers), node.path);
      return (found?.group.children ?? []).map((g) => nodeOfGroup(node.runDir, node.info, g));
    }
    case 'epochs':
      return [
        ...node.info.manifest.epochs.map((epoch): RunsTreeNode => ({ kind: 'epoch', runDir: node.runDir, epoch })),
        ...[...node.info.incompleteEpochs].sort((a, b) => a - b).map((epoch): RunsTreeNode => ({ kind: 'incompleteEpoch', runDir: node.runDir, epoch })),
      ];
    case 'classes':
      return node.info.manifest.classes.map((name, index) => ({ kind: 'class', runDir: node.runDir, index, name }));
    case 'layer': {
      const group = groupOfLayer(node);
      if (group === undefined || group.children.length === 0 || node.info === undefined) return channelsOf(node.runDir, node.layer);
      const info = node.info;
      const channels: RunsTreeNode[] = channelCount(node.layer) > 0 ? [{ kind: 'channels', runDir: node.runDir, layer: node.layer, info }] : [];
      return [...channels, ...group.children.map((g) => nodeOfGroup(node.runDir, info, g))];
    }
    case 'channels':
      return channelsOf(node.runDir, node.layer);
    case 'channel':
    case 'epoch':
    case 'incompleteEpoch':
    case 'class':
      return [];
  }
}

/** A group node of a loaded run, as childrenOf creates it. */
function groupNode(kind: 'layers' | 'epochs' | 'classes', runDir: string, entryOf: (dir: string) => RunEntry | undefined): RunsTreeNode | undefined {
  const entry = entryOf(runDir);
  return entry?.state.kind === 'loaded' ? { kind, runDir, info: entry.state.info } : undefined;
}

/**
 * The node `node` hangs under, as childrenOf builds the tree (TreeView.reveal walks up with it);
 * `entryOf` gives a run's current entry. Undefined for a run, and for a node whose run left the index.
 */
export function parentOf(node: RunsTreeNode, entryOf: (dir: string) => RunEntry | undefined): RunsTreeNode | undefined {
  switch (node.kind) {
    case 'run':
      return undefined;
    case 'layers':
    case 'epochs':
    case 'classes': {
      const entry = entryOf(node.runDir);
      return entry !== undefined ? { kind: 'run', entry } : undefined;
    }
    case 'layer':
    case 'module': {
      const entry = entryOf(node.runDir);
      if (entry?.state.kind !== 'loaded') return undefined;
      const info = entry.state.info;
      const found = findGroup(layerGroupsOf(info.manifest.layers), node.kind === 'layer' ? node.layer.name : node.path);
      return nodeAbove(node.runDir, info, found?.parent);
    }
    case 'channels':
      return layerNodeAt(node.runDir, node.layer, entryOf);
    case 'channel': {
      // A layer that also has sub-layers lists its channels under its Channels row.
      const at = layerGroupAt(node.runDir, node.layer, entryOf);
      if (at !== undefined && at.group.children.length > 0) return { kind: 'channels', runDir: node.runDir, layer: node.layer, info: at.info };
      return at !== undefined ? nodeOfGroup(node.runDir, at.info, at.group) : { kind: 'layer', runDir: node.runDir, layer: node.layer };
    }
    case 'epoch':
    case 'incompleteEpoch':
      return groupNode('epochs', node.runDir, entryOf);
    case 'class':
      return groupNode('classes', node.runDir, entryOf);
  }
}

/** A layer's node as childrenOf makes it (its label relative to its group), from the run's current entry. */
function layerNodeAt(runDir: string, layer: LayerInfo, entryOf: (dir: string) => RunEntry | undefined): RunsTreeNode {
  const at = layerGroupAt(runDir, layer, entryOf);
  return at !== undefined ? nodeOfGroup(runDir, at.info, at.group) : { kind: 'layer', runDir, layer };
}

/** A layer's row in its run's hierarchy, with the run, from the run's current entry; undefined while the run is not loaded. */
function layerGroupAt(runDir: string, layer: LayerInfo, entryOf: (dir: string) => RunEntry | undefined): { info: RunInfo; group: LayerGroup } | undefined {
  const entry = entryOf(runDir);
  if (entry?.state.kind !== 'loaded') return undefined;
  const found = findGroup(layerGroupsOf(entry.state.info.manifest.layers), layer.name);
  return found !== undefined ? { info: entry.state.info, group: found.group } : undefined;
}

/** The node of one layer of a loaded run, to reveal it in the tree; undefined when the run has no such layer. */
export function layerNodeOf(entry: RunEntry, layer: string): RunsTreeNode | undefined {
  if (entry.state.kind !== 'loaded') return undefined;
  const found = entry.state.info.manifest.layers.find((l) => l.name === layer);
  return found !== undefined ? layerNodeAt(entry.dir, found, (dir) => (dir === entry.dir ? entry : undefined)) : undefined;
}

/** The tree id of a node, the same presentNode gives it: how a revealed node is recognised among selection events. */
export function nodeIdOf(node: RunsTreeNode): string {
  return presentNode(node).id;
}

/** The icon of a run whose epochs keep arriving; unlike the `pulse` of the view's Compare button, and coloured unlike a loading spinner. */
export const LIVE_RUN_ICON: NodeIcon = { id: 'sync~spin', color: 'charts.green' };

/** Where the run stands: finished, live, or silent but not finished (its trainer may be slow, or gone). */
function progressLine(info: RunInfo, liveness: RunLivenessStatus | undefined): string {
  if (info.manifest.complete === true) return 'Complete';
  if (liveness === undefined) return 'More epochs may come';
  const last = liveness.lastEpochAt !== undefined ? `the last epoch arrived at ${formatMoment(liveness.lastEpochAt, Date.now())}` : undefined;
  if (liveness.live) return `Live, training: ${last ?? 'no epoch has finished yet'}`;
  return last !== undefined ? `More epochs may come; ${last}` : 'More epochs may come';
}

function runTooltip(info: RunInfo, liveness?: RunLivenessStatus): string {
  const m = info.manifest;
  const lines = [info.name, info.dir];
  const model = [m.model.name, m.model.framework !== undefined ? `(${m.model.framework})` : undefined].filter((s) => s !== undefined).join(' ');
  if (model !== '') lines.push(`Model: ${model}`);
  lines.push(`Probe set: ${countOf(m.probe.count, 'sample')}, input ${formatShape(m.probe.inputShape)}`);
  lines.push(`${countOf(m.layers.length, 'layer')}, ${countOf(m.classes.length, 'class', 'classes')}, ${countOf(m.epochs.length, 'finished epoch')}`);
  if (info.incompleteEpochs.length > 0) lines.push(`Being written: ${info.incompleteEpochs.map(epochLabel).join(', ')}`);
  if (m.createdAt !== undefined) lines.push(`Created ${m.createdAt}`);
  lines.push(progressLine(info, liveness));
  return lines.join('\n');
}

function presentRun(entry: RunEntry): NodePresentation {
  const id = nodeId(entry.dir);
  const label = runEntryLabel(entry);
  switch (entry.state.kind) {
    case 'loading':
      return { id, label, description: 'loading…', tooltip: entry.dir, icon: { id: 'loading~spin' }, contextValue: TREE_CONTEXT.runLoading, expandable: false };
    case 'failed':
      return {
        id,
        label,
        description: entry.state.error.code.replace(/-/g, ' '),
        tooltip: formatError(entry.state.error),
        icon: { id: 'error', color: 'errorForeground' },
        contextValue: TREE_CONTEXT.runFailed,
        expandable: false,
      };
    case 'loaded': {
      const live = entry.liveness?.live === true;
      return {
        id,
        label,
        description: live ? `${describeRunContents(entry.state.info)} · live` : describeRunContents(entry.state.info),
        tooltip: runTooltip(entry.state.info, entry.liveness),
        icon: live ? LIVE_RUN_ICON : { id: 'beaker' },
        contextValue: TREE_CONTEXT.run,
        expandable: true,
        command: { id: COMMAND.openTrainingView, title: 'Open Training View' },
      };
    }
  }
}

function layerTooltip(layer: LayerInfo): string {
  const lines = [layer.name, `${layer.kind}${layer.op !== undefined ? ` (${layer.op})` : ''}, output ${formatShape(layer.shape)} per sample`];
  if (layer.source !== undefined) lines.push(`Defined at ${layer.source.file}:${layer.source.line}`);
  return lines.join('\n');
}

function epochTooltip(epoch: EpochEntry): string {
  const lines = [epochLabel(epoch.epoch), ...metricEntries(epoch.metrics).map((m) => `${m.name}: ${m.text}`), `Stored as ${epochStorage(epoch)}`];
  return lines.join('\n');
}

export function presentNode(node: RunsTreeNode): NodePresentation {
  switch (node.kind) {
    case 'run':
      return presentRun(node.entry);
    case 'layers':
      return {
        id: nodeId(node.runDir, 'layers'),
        label: 'Layers',
        description: String(node.info.manifest.layers.length),
        icon: { id: 'layers' },
        contextValue: TREE_CONTEXT.group,
        expandable: node.info.manifest.layers.length > 0,
      };
    case 'epochs': {
      const finished = node.info.manifest.epochs.length;
      const writing = node.info.incompleteEpochs.length;
      return {
        id: nodeId(node.runDir, 'epochs'),
        label: 'Epochs',
        description: writing > 0 ? `${finished} (+${writing} being written)` : String(finished),
        icon: { id: 'history' },
        contextValue: TREE_CONTEXT.group,
        expandable: finished + writing > 0,
      };
    }
    case 'classes':
      return {
        id: nodeId(node.runDir, 'classes'),
        label: 'Classes',
        description: String(node.info.manifest.classes.length),
        icon: { id: 'tag' },
        contextValue: TREE_CONTEXT.group,
        expandable: node.info.manifest.classes.length > 0,
      };
    case 'layer':
      return {
        id: nodeId(node.runDir, 'layer', node.layer.name),
        label: node.label ?? node.layer.name,
        description: describeLayer(node.layer),
        tooltip: layerTooltip(node.layer),
        icon: { id: LAYER_ICONS[node.layer.kind] ?? LAYER_ICONS.other },
        contextValue: TREE_CONTEXT.layer,
        expandable: channelCount(node.layer) > 0 || (groupOfLayer(node)?.children.length ?? 0) > 0,
      };
    case 'module': {
      const count = findGroup(layerGroupsOf(node.info.manifest.layers), node.path)?.group.layerCount ?? 0;
      return {
        id: nodeId(node.runDir, 'module', node.path),
        label: node.label,
        description: `${count} layer${count === 1 ? '' : 's'}`,
        tooltip: `${node.path}\n${count} recorded layer${count === 1 ? '' : 's'} in this module`,
        icon: { id: 'symbol-namespace' },
        contextValue: TREE_CONTEXT.module,
        expandable: true,
      };
    }
    case 'channels':
      return {
        id: nodeId(node.runDir, 'channels', node.layer.name),
        label: 'Channels',
        description: String(channelCount(node.layer)),
        tooltip: `The channels of ${node.layer.name}`,
        icon: { id: 'symbol-field' },
        contextValue: TREE_CONTEXT.group,
        expandable: channelCount(node.layer) > 0,
      };
    case 'channel': {
      const mapShape = node.layer.shape.slice(1);
      return {
        id: nodeId(node.runDir, 'layer', node.layer.name, node.channel),
        label: `channel ${node.channel}`,
        ...(mapShape.length > 0 ? { description: formatShape(mapShape) } : {}),
        tooltip: `${node.layer.name}, channel ${node.channel} of ${channelCount(node.layer)}`,
        icon: { id: 'symbol-field' },
        contextValue: TREE_CONTEXT.channel,
        expandable: false,
        command: { id: COMMAND.selectChannel, title: 'Show Channel in the Views' },
      };
    }
    case 'epoch': {
      const metrics = describeEpochMetrics(node.epoch.metrics);
      return {
        id: nodeId(node.runDir, 'epoch', node.epoch.epoch),
        label: epochLabel(node.epoch.epoch),
        ...(metrics !== '' ? { description: metrics } : {}),
        tooltip: epochTooltip(node.epoch),
        icon: { id: 'circle-outline' },
        contextValue: TREE_CONTEXT.epoch,
        expandable: false,
      };
    }
    case 'incompleteEpoch':
      return {
        id: nodeId(node.runDir, 'incompleteEpoch', node.epoch),
        label: incompleteEpochLabel(node.epoch),
        tooltip: `The files of ${epochLabel(node.epoch)} are on disk but the manifest does not list it yet.`,
        icon: { id: 'loading~spin' },
        contextValue: TREE_CONTEXT.incompleteEpoch,
        expandable: false,
      };
    case 'class':
      return {
        id: nodeId(node.runDir, 'class', node.index),
        label: node.name,
        description: `label ${node.index}`,
        tooltip: `${node.name}\nlabel ${node.index}`,
        icon: { id: 'symbol-constant' },
        contextValue: TREE_CONTEXT.class,
        expandable: false,
      };
  }
}

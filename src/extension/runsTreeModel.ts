// What the Runs tree shows, as plain data: its nodes, their children, and how each one reads.
// RunsTreeProvider only turns a NodePresentation into a vscode.TreeItem, so everything a user sees
// in the tree is decided here and unit-tested without VS Code.
//
// Every string taken from a run (names, classes, metric names) ends up in a TreeItem label,
// description or string tooltip, which VS Code renders as plain text, never as markdown or HTML.
import { formatError } from '../shared/errors';
import type { EpochEntry, LayerInfo, LayerKind, RunInfo } from '../shared/runFormat';
import { runEntryLabel, type RunEntry } from './runCatalog';
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
  | { readonly kind: 'layer'; readonly runDir: string; readonly layer: LayerInfo }
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
}

const LAYER_ICONS: Readonly<Record<LayerKind, string>> = {
  conv: 'symbol-array',
  pool: 'fold-down',
  norm: 'symbol-operator',
  activation: 'zap',
  linear: 'symbol-numeric',
  flatten: 'fold',
  dropout: 'circle-slash',
  other: 'symbol-misc',
};

function nodeId(...parts: readonly (string | number)[]): string {
  return JSON.stringify(parts);
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
      return node.info.manifest.layers.map((layer) => ({ kind: 'layer', runDir: node.runDir, layer }));
    case 'epochs':
      return [
        ...node.info.manifest.epochs.map((epoch): RunsTreeNode => ({ kind: 'epoch', runDir: node.runDir, epoch })),
        ...[...node.info.incompleteEpochs].sort((a, b) => a - b).map((epoch): RunsTreeNode => ({ kind: 'incompleteEpoch', runDir: node.runDir, epoch })),
      ];
    case 'classes':
      return node.info.manifest.classes.map((name, index) => ({ kind: 'class', runDir: node.runDir, index, name }));
    case 'layer':
      // Created only when the layer is expanded, so a 4096-feature layer costs nothing until asked.
      return Array.from({ length: channelCount(node.layer) }, (_, channel) => ({ kind: 'channel', runDir: node.runDir, layer: node.layer, channel }));
    case 'channel':
    case 'epoch':
    case 'incompleteEpoch':
    case 'class':
      return [];
  }
}

function runTooltip(info: RunInfo): string {
  const m = info.manifest;
  const lines = [info.name, info.dir];
  const model = [m.model.name, m.model.framework !== undefined ? `(${m.model.framework})` : undefined].filter((s) => s !== undefined).join(' ');
  if (model !== '') lines.push(`Model: ${model}`);
  lines.push(`Probe set: ${countOf(m.probe.count, 'sample')}, input ${formatShape(m.probe.inputShape)}`);
  lines.push(`${countOf(m.layers.length, 'layer')}, ${countOf(m.classes.length, 'class', 'classes')}, ${countOf(m.epochs.length, 'finished epoch')}`);
  if (info.incompleteEpochs.length > 0) lines.push(`Being written: ${info.incompleteEpochs.map(epochLabel).join(', ')}`);
  if (m.createdAt !== undefined) lines.push(`Created ${m.createdAt}`);
  lines.push(m.complete === true ? 'Complete' : 'More epochs may come');
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
    case 'loaded':
      return {
        id,
        label,
        description: describeRunContents(entry.state.info),
        tooltip: runTooltip(entry.state.info),
        icon: { id: 'beaker' },
        contextValue: TREE_CONTEXT.run,
        expandable: true,
      };
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
        label: node.layer.name,
        description: describeLayer(node.layer),
        tooltip: layerTooltip(node.layer),
        icon: { id: LAYER_ICONS[node.layer.kind] ?? LAYER_ICONS.other },
        contextValue: TREE_CONTEXT.layer,
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

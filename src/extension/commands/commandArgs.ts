// What a command is called with: a node of the Runs tree, a CodeLens target, the tree's
// options, or nothing (then the user picks a run). Each is checked here, since VS Code passes
// `unknown` and a command can also be run from the palette or by another extension.
import type { RunInfo } from '../../shared/runFormat';
import type { CnnSlicerContext } from '../cnnslicerContext';
import { pickRun } from '../runs/runPicker';
import type { RunsTreeNode } from '../runs/runsTreeModel';
import { readRunWithProgress } from './readRun';

export function isRunNode(value: unknown): value is Extract<RunsTreeNode, { kind: 'run' }> {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'run' && 'entry' in value;
}

export function isLayerNode(value: unknown): value is Extract<RunsTreeNode, { kind: 'layer' | 'channel' }> {
  const kind = typeof value === 'object' && value !== null ? (value as { kind?: unknown }).kind : undefined;
  return (kind === 'layer' || kind === 'channel') && typeof (value as { runDir?: unknown }).runDir === 'string' && 'layer' in (value as object);
}

/** The argument of a layer CodeLens: the run's folder and the layer's name. */
export function isLayerTarget(value: unknown): value is { run: string; layer: string } {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { run?: unknown }).run === 'string' &&
    typeof (value as { layer?: unknown }).layer === 'string'
  );
}

/** The second argument the Runs tree passes when a run is clicked (see runsTreeProvider.ts). */
export function preservesFocus(value: unknown): boolean {
  return typeof value === 'object' && value !== null && (value as { preserveFocus?: unknown }).preserveFocus === true;
}

/** A run's information: from the index when it has read the run, else read now (undefined when cancelled or failed). */
export async function runInfoOf(c: CnnSlicerContext, run: string): Promise<RunInfo | undefined> {
  const entry = c.runIndex.get(run);
  return entry?.state.kind === 'loaded' ? entry.state.info : readRunWithProgress(c, run);
}

/**
 * The run a tree node stands for, read if the index has not finished with it; without a node, the
 * run the user picks in a picker titled `title`, starting on the run of the view the user is in.
 */
export async function runOfNode(c: CnnSlicerContext, node: unknown, title: string): Promise<RunInfo | undefined> {
  if (!isRunNode(node)) {
    const run = await pickRun(c.runIndex, c.sampleRunDir, { title, preferred: c.panels.activeRunDirs() });
    // A run of the workspace the index has read needs no second reading (nor its progress notification).
    return run === undefined ? undefined : runInfoOf(c, run);
  }
  const entry = c.runIndex.get(node.entry.dir) ?? node.entry;
  return entry.state.kind === 'loaded' ? entry.state.info : readRunWithProgress(c, entry.dir);
}

/** The run of a layer or channel node of the Runs tree, or the run the user picks; with the node's layer and channel. */
export async function layerOfNode(c: CnnSlicerContext, node: unknown, title: string): Promise<{ info: RunInfo; layer?: string; channel?: number } | undefined> {
  if (!isLayerNode(node)) {
    const info = await runOfNode(c, node, title);
    return info === undefined ? undefined : { info };
  }
  const info = await runInfoOf(c, node.runDir);
  if (info === undefined) return undefined;
  return { info, layer: node.layer.name, ...(node.kind === 'channel' ? { channel: node.channel } : {}) };
}

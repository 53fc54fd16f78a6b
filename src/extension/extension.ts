// Entry point. VS Code activates the extension on its commands and on opening the CNNSlicer view
// (events it derives from package.json `contributes`), or when the workspace holds a run.
import * as vscode from 'vscode';
import { analyzeModel, openQueryView, openTrainingView, pickRun, pickRuns, readRunWithProgress, showRunSummary } from './analyzeModel';
import { CnnSlicerContext } from './cnnslicerContext';
import { lensOpens } from './codeLens/layerLenses';
import { COMMAND } from './commandIds';
import { CHANNEL_VIEW, openChannelView } from './panels/channelView';
import { openLayerView } from './panels/layerView';
import { TRAINING_VIEW } from './panels/trainingView';
import { cancelAllTrainings, trainModel } from './training/trainCommand';
import type { RunsTreeNode } from './runsTreeModel';
import type { RunInfo } from '../shared/runFormat';

let ctx: CnnSlicerContext | undefined;

/**
 * Registers a command whose failures are reported to the user rather than lost in the developer
 * console: every handler's rejection goes through reportError.
 */
function registerCommand(context: vscode.ExtensionContext, c: CnnSlicerContext, id: string, handler: (...args: unknown[]) => Promise<void> | void): void {
  context.subscriptions.push(
    vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      try {
        await handler(...args);
      } catch (err) {
        c.reportError(`Command ${id} failed`, err);
      }
    }),
  );
}

function isRunNode(value: unknown): value is Extract<RunsTreeNode, { kind: 'run' }> {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'run' && 'entry' in value;
}

function isLayerNode(value: unknown): value is Extract<RunsTreeNode, { kind: 'layer' | 'channel' }> {
  const kind = typeof value === 'object' && value !== null ? (value as { kind?: unknown }).kind : undefined;
  return (kind === 'layer' || kind === 'channel') && typeof (value as { runDir?: unknown }).runDir === 'string' && 'layer' in (value as object);
}

/** The run of a layer or channel node of the Runs tree, or the run the user picks; with the node's layer and channel. */
async function layerOfNode(c: CnnSlicerContext, node: unknown): Promise<{ info: RunInfo; layer?: string; channel?: number } | undefined> {
  if (!isLayerNode(node)) {
    const info = await runOfNode(c, node);
    return info === undefined ? undefined : { info };
  }
  const entry = c.runIndex.get(node.runDir);
  const info = entry?.state.kind === 'loaded' ? entry.state.info : await readRunWithProgress(c, node.runDir);
  if (info === undefined) return undefined;
  return { info, layer: node.layer.name, ...(node.kind === 'channel' ? { channel: node.channel } : {}) };
}

/** The argument of a layer CodeLens: the run's folder and the layer's name. */
function isLayerTarget(value: unknown): value is { run: string; layer: string } {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { run?: unknown }).run === 'string' &&
    typeof (value as { layer?: unknown }).layer === 'string'
  );
}

/** The second argument the Runs tree passes when a run is clicked (see runsTreeProvider.ts). */
function preservesFocus(value: unknown): boolean {
  return typeof value === 'object' && value !== null && (value as { preserveFocus?: unknown }).preserveFocus === true;
}

/** The run a tree node stands for, read if the index has not finished with it; without a node, the run the user picks. */
async function runOfNode(c: CnnSlicerContext, node: unknown): Promise<RunInfo | undefined> {
  if (!isRunNode(node)) {
    const run = await pickRun(c);
    if (run === undefined) return undefined;
    // A run of the workspace the index has read needs no second reading (nor its progress notification).
    const picked = c.runIndex.get(run);
    return picked?.state.kind === 'loaded' ? picked.state.info : readRunWithProgress(c, run);
  }
  const entry = c.runIndex.get(node.entry.dir) ?? node.entry;
  return entry.state.kind === 'loaded' ? entry.state.info : readRunWithProgress(c, entry.dir);
}

export function activate(context: vscode.ExtensionContext): void {
  const c = new CnnSlicerContext(context);
  ctx = c;

  // From the Explorer's context menu the clicked .onnx file or folder (and the selection) come as arguments.
  registerCommand(context, c, COMMAND.analyzeModel, (clicked?: unknown, selected?: unknown) =>
    analyzeModel(c, { extensionPath: context.extensionPath, clicked, selected }),
  );
  registerCommand(context, c, COMMAND.refreshRuns, () => c.runIndex.refresh(true));
  registerCommand(context, c, COMMAND.restartEngine, () => c.restartEngine());
  registerCommand(context, c, COMMAND.showLog, () => c.log.show());
  registerCommand(context, c, COMMAND.showRunSummary, async (node?: unknown) => {
    // From the tree's context menu the argument is the run's node; without one, ask which run.
    const info = await runOfNode(c, node);
    if (info !== undefined) await showRunSummary(c, info);
  });
  registerCommand(context, c, COMMAND.openTrainingView, async (node?: unknown, options?: unknown) => {
    const info = await runOfNode(c, node);
    if (info !== undefined) openTrainingView(c, info, { preserveFocus: preservesFocus(options) });
  });
  registerCommand(context, c, COMMAND.openLayerView, async (node?: unknown, options?: unknown) => {
    const target = await layerOfNode(c, node);
    if (target !== undefined) await openLayerView(c.panels, target.info, { layer: target.layer }, { preserveFocus: preservesFocus(options) });
  });
  registerCommand(context, c, COMMAND.openChannelView, async (node?: unknown, options?: unknown) => {
    const target = await layerOfNode(c, node);
    if (target !== undefined)
      await openChannelView(c.panels, target.info, { layer: target.layer, channel: target.channel }, { preserveFocus: preservesFocus(options) });
  });
  // A click on a channel in the Runs tree: every open view of the run highlights it, and the
  // channel view shows it (opened beside when none is open yet).
  registerCommand(context, c, COMMAND.selectChannel, async (node?: unknown, options?: unknown) => {
    if (!isLayerNode(node) || node.kind !== 'channel') return;
    c.selections.select({ run: node.runDir, layer: node.layer.name, channel: node.channel }, 'tree');
    const open = c.panels.panelsOf(CHANNEL_VIEW).find((p) => p.runDirs.includes(node.runDir));
    if (open !== undefined) {
      // The view already follows the selection; it only needs to be on screen.
      if (!open.panel.visible) open.reveal({ preserveFocus: true });
      return;
    }
    const target = await layerOfNode(c, node);
    if (target !== undefined)
      await openChannelView(c.panels, target.info, { layer: target.layer, channel: target.channel }, { preserveFocus: preservesFocus(options) });
  });
  registerCommand(context, c, COMMAND.openQueryView, async (node?: unknown, options?: unknown) => {
    const target = await layerOfNode(c, node);
    if (target !== undefined) openQueryView(c, target.info, { layer: target.layer, channel: target.channel, preserveFocus: preservesFocus(options) });
  });
  // A CodeLens click: the layer's view opens beside the code, and the views already showing its run select it.
  registerCommand(context, c, COMMAND.showLayer, async (target?: unknown) => {
    if (!isLayerTarget(target)) return;
    const entry = c.runIndex.get(target.run);
    const info = entry?.state.kind === 'loaded' ? entry.state.info : await readRunWithProgress(c, target.run);
    const layer = info?.manifest.layers.find((l) => l.name === target.layer);
    if (info === undefined || layer === undefined) return;
    if (lensOpens(layer) === 'channel') await openChannelView(c.panels, info, { layer: layer.name });
    else openQueryView(c, info, { layer: layer.name });
    c.selections.select({ run: info.dir, layer: layer.name }, 'codelens');
  });
  registerCommand(context, c, COMMAND.trainModel, () =>
    trainModel(c, { extensionPath: context.extensionPath, globalStoragePath: context.globalStorageUri.fsPath }),
  );
  // A trainer outliving VS Code would keep writing a run nobody watches.
  context.subscriptions.push({ dispose: cancelAllTrainings });
  registerCommand(context, c, COMMAND.compareRuns, async () => {
    const runs = await pickRuns(c, { title: 'CNNSlicer: Compare Runs in Training View' });
    if (runs.length > 0) c.panels.show(TRAINING_VIEW, runs);
  });
}

export async function deactivate(): Promise<void> {
  const c = ctx;
  ctx = undefined;
  // Returning the promise lets VS Code wait for the engine process to stop.
  await c?.dispose();
}

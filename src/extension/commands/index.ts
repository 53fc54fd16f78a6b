// Every command of the extension, one factory each: given the extension's context, the handler
// VS Code calls with the command's arguments (a Runs tree node, a CodeLens target, the Explorer's
// clicked resource, or nothing). extension.ts registers them in one flat list.
import type { CnnSlicerContext } from '../cnnslicerContext';
import { lensOpens } from '../codeLens/layerLenses';
import { COMMAND } from '../commandIds';
import { CHANNEL_VIEW, openChannelView } from '../panels/channelView';
import { openInfoPlaneView } from '../panels/infoPlaneView';
import { openLayerView } from '../panels/layerView';
import { openQueryView, openTrainingView } from '../panels/openViews';
import { TRAINING_VIEW } from '../panels/trainingView';
import { pickRuns } from '../runs/runPicker';
import { trainModel } from '../training/trainCommand';
import { analyzeModel, openSampleRun } from './analyzeModel';
import { attachProbe } from './attachProbe';
import { exportActiveView } from './exportView';
import { goToLayer } from './goToLayer';
import { installProbeCommand } from './installProbe';
import { isLayerNode, isLayerTarget, layerOfNode, preservesFocus, runInfoOf, runOfNode } from './commandArgs';
import { showRunSummary } from './readRun';

/** What a command needs beyond the context: where the extension and its storage are. */
export interface CommandEnvironment {
  readonly extensionPath: string;
  readonly globalStoragePath: string;
}

export type CommandHandler = (...args: unknown[]) => Promise<void> | void;
export type CommandFactory = (c: CnnSlicerContext, env: CommandEnvironment) => CommandHandler;

// From the Explorer's context menu the clicked .onnx file or folder (and the selection) come as arguments.
const analyze: CommandFactory = (c, env) => (clicked?: unknown, selected?: unknown) => analyzeModel(c, { extensionPath: env.extensionPath, clicked, selected });

const sampleRun: CommandFactory = (c) => () => openSampleRun(c);

const refreshRuns: CommandFactory = (c) => () => c.runIndex.refresh(true);

const restartEngine: CommandFactory = (c) => () => c.restartEngine();

const showLog: CommandFactory = (c) => () => c.log.show();

// From the tree's context menu the argument is the run's node; without one, ask which run.
const showSummary: CommandFactory = (c) => async (node?: unknown) => {
  const info = await runOfNode(c, node, 'CNNSlicer: Show Run Summary');
  if (info !== undefined) await showRunSummary(c, info);
};

const trainingView: CommandFactory = (c) => async (node?: unknown, options?: unknown) => {
  const info = await runOfNode(c, node, 'CNNSlicer: Open Training View');
  if (info !== undefined) openTrainingView(c.panels, info, { preserveFocus: preservesFocus(options) });
};

const infoPlane: CommandFactory = (c) => async (node?: unknown, options?: unknown) => {
  const info = await runOfNode(c, node, 'CNNSlicer: Open Information Plane');
  if (info !== undefined) openInfoPlaneView(c.panels, info, {}, { preserveFocus: preservesFocus(options) });
};

const layerView: CommandFactory = (c) => async (node?: unknown, options?: unknown) => {
  const target = await layerOfNode(c, node, 'CNNSlicer: Open Layer View');
  if (target !== undefined) await openLayerView(c.panels, target.info, { layer: target.layer }, { preserveFocus: preservesFocus(options) });
};

const channelView: CommandFactory = (c) => async (node?: unknown, options?: unknown) => {
  const target = await layerOfNode(c, node, 'CNNSlicer: Open Channel View');
  if (target !== undefined)
    await openChannelView(c.panels, target.info, { layer: target.layer, channel: target.channel }, { preserveFocus: preservesFocus(options) });
};

// A click on a channel in the Runs tree: every open view of the run highlights it, and the
// channel view shows it (opened beside when none is open yet).
const selectChannel: CommandFactory = (c) => async (node?: unknown, options?: unknown) => {
  if (!isLayerNode(node) || node.kind !== 'channel') return;
  c.selections.select({ run: node.runDir, layer: node.layer.name, channel: node.channel }, 'tree');
  const open = c.panels.panelsOf(CHANNEL_VIEW).find((p) => p.runDirs.includes(node.runDir));
  if (open !== undefined) {
    // The view already follows the selection; it only needs to be on screen.
    if (!open.panel.visible) open.reveal({ preserveFocus: true });
    return;
  }
  const target = await layerOfNode(c, node, 'CNNSlicer: Show Channel in the Views');
  if (target !== undefined)
    await openChannelView(c.panels, target.info, { layer: target.layer, channel: target.channel }, { preserveFocus: preservesFocus(options) });
};

const queryView: CommandFactory = (c) => async (node?: unknown, options?: unknown) => {
  const target = await layerOfNode(c, node, 'CNNSlicer: Open Query View');
  if (target !== undefined) openQueryView(c.panels, target.info, { layer: target.layer, channel: target.channel, preserveFocus: preservesFocus(options) });
};

// A CodeLens click: the layer's view opens beside the code, and the views already showing its run select it.
const showLayer: CommandFactory = (c) => async (target?: unknown) => {
  if (!isLayerTarget(target)) return;
  const info = await runInfoOf(c, target.run);
  const layer = info?.manifest.layers.find((l) => l.name === target.layer);
  if (info === undefined || layer === undefined) return;
  if (lensOpens(layer) === 'channel') await openChannelView(c.panels, info, { layer: layer.name });
  else openQueryView(c.panels, info, { layer: layer.name });
  c.selections.select({ run: info.dir, layer: layer.name }, 'codelens');
};

const train: CommandFactory = (c, env) => () => trainModel(c, { extensionPath: env.extensionPath, globalStoragePath: env.globalStoragePath });

const goTo: CommandFactory = (c) => (node?: unknown) => goToLayer(c, node);

const exportViewCommand: CommandFactory = (c) => () => exportActiveView(c);

// From the palette no argument (the cursor picks the loop); from the "Attach CNNSlicer" CodeLens, the loop.
const attach: CommandFactory = () => (target?: unknown) => attachProbe(target);

const installProbe: CommandFactory = (c, env) => () => installProbeCommand(c, env.extensionPath);

const compareRuns: CommandFactory = (c) => async () => {
  const runs = await pickRuns(c.runIndex, { title: 'CNNSlicer: Compare Runs in Training View' });
  if (runs.length > 0) c.panels.show(TRAINING_VIEW, runs);
};

/** Every command id with its factory. */
export const COMMAND_FACTORIES: readonly (readonly [string, CommandFactory])[] = [
  [COMMAND.analyzeModel, analyze],
  [COMMAND.openSampleRun, sampleRun],
  [COMMAND.refreshRuns, refreshRuns],
  [COMMAND.restartEngine, restartEngine],
  [COMMAND.showLog, showLog],
  [COMMAND.showRunSummary, showSummary],
  [COMMAND.openTrainingView, trainingView],
  [COMMAND.openLayerView, layerView],
  [COMMAND.openChannelView, channelView],
  [COMMAND.selectChannel, selectChannel],
  [COMMAND.openQueryView, queryView],
  [COMMAND.openInfoPlane, infoPlane],
  [COMMAND.showLayer, showLayer],
  [COMMAND.trainModel, train],
  [COMMAND.compareRuns, compareRuns],
  [COMMAND.goToLayer, goTo],
  [COMMAND.exportView, exportViewCommand],
  [COMMAND.attachProbe, attach],
  [COMMAND.installProbe, installProbe],
];

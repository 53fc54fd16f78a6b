// The extension's one long-lived object: it owns the log, the engine client, the run index, the
// Runs view, the summary documents and the view panels, and disposes them all, engine last, on
// deactivation.
import * as vscode from 'vscode';
import { formatError, toErrorInfo } from '../shared/errors';
import type { RunInfo } from '../shared/runFormat';
import { RUNS_VIEW_ID } from './commandIds';
import { pickRuns } from './runs/runPicker';
import { EngineClient } from './engineClient';
import { LayerCodeLensProvider } from './codeLens/layerCodeLensProvider';
import { revealLayerSource } from './codeLens/revealSource';
import { CHANNEL_VIEW } from './panels/channelView';
import { INFO_PLANE_VIEW, openInfoPlaneView } from './panels/infoPlaneView';
import { LAYER_VIEW } from './panels/layerView';
import { openQueryTarget, QUERY_VIEW } from './panels/queryView';
import { SelectionHub } from './panels/selectionHub';
import { TRAINING_VIEW } from './panels/trainingView';
import { ViewPanels } from './panels/viewPanels';
import { plainNotificationText } from './plainText';
import { RunIndex } from './runs/runIndex';
import { RunSummaryDocuments } from './runs/runSummaryDocuments';
import { linkRunsTreeToSelections, RunsTreeProvider } from './runs/runsTreeProvider';
import type { RunsTreeNode } from './runs/runsTreeModel';
import {
  engineCacheEnv,
  engineCacheSettings,
  engineTimeouts,
  sameEngineCacheSettings,
  sameEngineTimeouts,
  type EngineCacheSettings,
  type EngineTimeouts,
} from './settings';

const SHOW_LOG = 'Show Log';
const RESTART_ENGINE = 'Restart Engine';

function readEngineTimeouts(): EngineTimeouts {
  const config = vscode.workspace.getConfiguration();
  return engineTimeouts((key) => config.get<unknown>(key));
}

function readCacheSettings(): EngineCacheSettings {
  const config = vscode.workspace.getConfiguration();
  return engineCacheSettings((key) => config.get<unknown>(key));
}

export class CnnSlicerContext implements vscode.Disposable {
  readonly log: vscode.LogOutputChannel;
  readonly runIndex: RunIndex;
  readonly summaries: RunSummaryDocuments;
  /** The webview panels (training view…), restored after a reload by their serializers. */
  readonly panels: ViewPanels;
  /** The linked selection: the Runs tree and every view publish here, the views follow. */
  readonly selections = new SelectionHub();
  /** The run shipped inside the extension (examples/sample-run), offered when the workspace has none. */
  readonly sampleRunDir: string;
  private readonly runsTree: RunsTreeProvider;
  private readonly runsView: vscode.TreeView<RunsTreeNode>;
  private readonly enginePath: string;
  private engineTimeouts: EngineTimeouts;
  /** Where the engine caches results and activations: by default the CLI's folder, shared with it. */
  private cacheSettings: EngineCacheSettings;
  private engineClient: EngineClient;
  private engineStateSubscription: { dispose(): void };
  private readonly disposables: vscode.Disposable[] = [];

  constructor(extensionContext: vscode.ExtensionContext) {
    this.log = vscode.window.createOutputChannel('CNNSlicer', { log: true });
    this.enginePath = extensionContext.asAbsolutePath('dist/engine/main.js');
    this.sampleRunDir = extensionContext.asAbsolutePath('examples/sample-run');
    this.engineTimeouts = readEngineTimeouts();
    this.cacheSettings = readCacheSettings();
    // The client forks the engine only on its first request, so activation itself stays cheap.
    this.engineClient = this.createEngineClient();
    this.engineStateSubscription = this.watchEngineState(this.engineClient);

    this.runIndex = new RunIndex((runDir) => this.loadRunInfo(runDir), this.log);
    this.summaries = new RunSummaryDocuments((runDir) => this.loadRunInfo(runDir), this.runIndex);
    this.runsTree = new RunsTreeProvider(this.runIndex);
    this.runsView = vscode.window.createTreeView(RUNS_VIEW_ID, { treeDataProvider: this.runsTree, showCollapseAll: true });
    this.panels = new ViewPanels({
      extensionUri: extensionContext.extensionUri,
      log: this.log,
      runIndex: this.runIndex,
      engine: () => this.engineClient,
      loadRunInfo: (dir) => this.loadRunInfo(dir),
      pickRuns: (options) => pickRuns(this.runIndex, options),
      showRunSummary: (info) => this.summaries.show(info),
      selections: this.selections,
      openQueryTarget: (info, selection) => openQueryTarget(this.panels, info, selection),
      openInfoPlane: (info, choice) => openInfoPlaneView(this.panels, info, choice, { preserveFocus: true }),
      revealSource: (info, layer, viewColumn) => revealLayerSource(info, layer, viewColumn),
    });
    // Serializers must be registered during activation, before VS Code restores the panels of the last session.
    this.panels.register(TRAINING_VIEW);
    this.panels.register(LAYER_VIEW);
    this.panels.register(CHANNEL_VIEW);
    this.panels.register(QUERY_VIEW);
    this.panels.register(INFO_PLANE_VIEW);
    this.disposables.push(
      this.runsView,
      this.runsTree,
      this.summaries,
      this.runIndex,
      linkRunsTreeToSelections(this.runsView, this.runIndex, this.selections),
      // Lenses only read runs and files, so they are on in Restricted Mode too.
      new LayerCodeLensProvider({ runIndex: this.runIndex, engine: () => this.engineClient, log: this.log }),
      // Disposed first (the list is disposed in reverse): open panels cancel their engine requests while the engine still runs.
      this.panels,
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('cnnslicer.engine') || e.affectsConfiguration('cnnslicer.cache')) this.applyEngineSettings();
      }),
    );
    if (this.cacheSettings.problem !== undefined) this.log.warn(this.cacheSettings.problem);
    this.log.info(`CNNSlicer activated; engine ${this.enginePath}; cache ${this.cacheSettings.directory ?? 'the default folder (as the cnnslicer CLI)'}`);
  }

  /** The current engine client. Read it at each use: a settings change replaces it. */
  get engine(): EngineClient {
    return this.engineClient;
  }

  loadRunInfo(runDir: string): Promise<RunInfo> {
    return this.engineClient.request('runInfo', { run: runDir });
  }

  /** Stops the engine; the next request starts a fresh one. Runs are then reread, since failures may have come from the old engine. */
  async restartEngine(): Promise<void> {
    this.log.info('Restarting the engine at the user’s request');
    await this.engineClient.restart();
    void vscode.window.showInformationMessage('CNNSlicer: the engine was restarted.');
    await this.runIndex.refresh(true);
  }

  /**
   * Tells the user that `action` failed and why (the file concerned and the problem), and logs it.
   * A cancellation is the user's own doing and is only logged.
   */
  reportError(action: string, err: unknown): void {
    const info = toErrorInfo(err);
    if (info.code === 'cancelled') {
      this.log.info(`${action}: cancelled`);
      return;
    }
    this.log.error(`${action} (${info.code}): ${formatError(info)}`);
    if (err instanceof Error && info.code === 'internal' && err.stack !== undefined) this.log.error(err.stack);
    void vscode.window.showErrorMessage(`CNNSlicer: ${plainNotificationText(formatError(info))}`, SHOW_LOG).then((choice) => {
      if (choice === SHOW_LOG) this.log.show();
    });
  }

  private createEngineClient(): EngineClient {
    return new EngineClient({
      enginePath: this.enginePath,
      heartbeatTimeoutMs: this.engineTimeouts.heartbeatTimeoutMs,
      requestTimeoutMs: this.engineTimeouts.requestTimeoutMs,
      env: engineCacheEnv(this.cacheSettings),
      log: (level, message) => this.log[level](message),
    });
  }

  private watchEngineState(client: EngineClient): { dispose(): void } {
    return client.onDidChangeState((state) => {
      this.log.info(`Engine state: ${state}`);
      if (state !== 'failed') return;
      // Every request is refused from now on, so say so once, with the way out.
      const why = client.failureMessage ?? 'The CNNSlicer engine keeps crashing.';
      void vscode.window.showErrorMessage(plainNotificationText(why), RESTART_ENGINE, SHOW_LOG).then((choice) => {
        if (choice === RESTART_ENGINE && client === this.engineClient) void this.restartEngine();
        if (choice === SHOW_LOG) this.log.show();
      });
    });
  }

  /**
   * The client takes its timeouts when created, so new values replace it. The old one is disposed,
   * which cancels what it still had in flight; failed runs are reread by the rescan that follows.
   */
  private applyEngineSettings(): void {
    const timeouts = readEngineTimeouts();
    const caches = readCacheSettings();
    if (sameEngineTimeouts(timeouts, this.engineTimeouts) && sameEngineCacheSettings(caches, this.cacheSettings)) return;
    this.engineTimeouts = timeouts;
    this.cacheSettings = caches;
    if (caches.problem !== undefined) this.log.warn(caches.problem);
    const old = this.engineClient;
    this.engineStateSubscription.dispose();
    this.engineClient = this.createEngineClient();
    this.engineStateSubscription = this.watchEngineState(this.engineClient);
    this.log.info(
      `Engine settings changed (heartbeat timeout ${timeouts.heartbeatTimeoutMs} ms, request timeout ${timeouts.requestTimeoutMs} ms, ` +
        `cache ${caches.directory ?? 'the default folder'}, activations capped at ${caches.activationsMaxGB} GiB); the engine restarts on its next request`,
    );
    void old.dispose().then(() => this.runIndex.refresh(false));
  }

  /** Disposes the views and watchers first, so nothing sends a request while the engine stops. */
  async dispose(): Promise<void> {
    for (const d of this.disposables.reverse()) d.dispose();
    this.disposables.length = 0;
    this.engineStateSubscription.dispose();
    await this.engineClient.dispose();
    this.log.dispose();
  }
}

// `CNNSlicer: Analyze Model`: pick a run (one found in the workspace, or any folder or manifest on
// disk, or the sample run shipped with the extension when the workspace has none), or an ONNX model
// or a folder of per-epoch ONNX checkpoints to import into a run (importModel.ts), read it through
// the engine with a cancellable progress notification, and open its query view and its
// training-performance view. From the Explorer's context menu the file or folder clicked is the
// target. Also the run pickers the views use to add runs.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { MANIFEST_FILE, type RunInfo } from '../shared/runFormat';
import type { QuerySelection } from '../shared/webviewProtocol';
import { runEntryLabel, type RunEntry } from './runCatalog';
import { formatRunSummary } from './runSummary';
import { describeRunContents } from './runText';
import type { CnnSlicerContext } from './cnnslicerContext';
import { escapeCodicons } from './plainText';
import { QUERY_VIEW, querySelectionOfLayer } from './panels/queryView';
import type { ViewPanel } from './panels/viewPanel';
import { TRAINING_VIEW } from './panels/trainingView';
import { ProgressTracker } from './progressReporting';
import { classifyTarget, type AnalyzeTarget } from './importChoices';
import { importOnnxModel, type ModelChoice } from './importModel';

interface RunPickItem extends vscode.QuickPickItem {
  readonly runDir?: string;
  readonly browse?: true;
  /** An item that imports an outside model instead of opening a run. */
  readonly importKind?: 'onnxFile' | 'onnxFolder';
}

/**
 * The sample run shipped inside the extension, when it is there (a build may leave it out): its
 * name from its manifest, read as plain JSON since nothing else of it is needed to offer it.
 */
function sampleRunItem(dir: string): RunPickItem | undefined {
  let name: string | undefined;
  try {
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, MANIFEST_FILE), 'utf8')) as { name?: unknown };
    name = typeof manifest.name === 'string' ? manifest.name : path.basename(dir);
  } catch {
    return undefined;
  }
  return {
    label: `$(beaker) Sample run: ${escapeCodicons(name)}`,
    description: 'shipped with CNNSlicer',
    detail: 'This workspace holds no run yet: explore the views on this one, or browse for a run folder.',
    runDir: dir,
  };
}

const BROWSE_ITEM: RunPickItem = {
  label: '$(folder-opened) Browse for a run folder or manifest…',
  alwaysShow: true,
  browse: true,
};

/** Offered by Analyze Model (not by the other commands that pick a run): models CNNSlicer did not train. */
const IMPORT_ITEMS: readonly RunPickItem[] = [
  {
    label: '$(file) ONNX model file…',
    description: 'import a classifier and a dataset',
    detail: 'An .onnx model (e.g. from torch.onnx.export) becomes a run with one epoch; you then pick MNIST, CIFAR-10 or an image folder.',
    alwaysShow: true,
    importKind: 'onnxFile',
  },
  {
    label: '$(folder-library) Folder of per-epoch ONNX checkpoints…',
    description: 'one epoch per .onnx file',
    detail: 'Epoch numbers come from the file names (epoch_3.onnx, model-0007.onnx).',
    alwaysShow: true,
    importKind: 'onnxFolder',
  },
];

function runPickItem(entry: RunEntry): RunPickItem {
  const label = escapeCodicons(runEntryLabel(entry));
  const description = escapeCodicons(vscode.workspace.asRelativePath(entry.dir, true));
  switch (entry.state.kind) {
    case 'loaded':
      return { label, description, detail: describeRunContents(entry.state.info), runDir: entry.dir };
    case 'loading':
      return { label, description, detail: 'still being read', runDir: entry.dir };
    case 'failed':
      return { label: `$(error) ${label}`, description, detail: escapeCodicons(entry.state.error.message), runDir: entry.dir };
  }
}

/**
 * Lets the user pick a run; resolves to its folder or manifest path, or undefined when dismissed.
 * The list opens at once and fills when the first workspace scan is done.
 */
export async function pickRun(ctx: CnnSlicerContext): Promise<string | undefined> {
  const picked = await pickRunOrModel(ctx, false);
  return picked?.kind === 'run' ? picked.run : undefined;
}

/** A run to open, or which kind of model to import; undefined when dismissed. */
type PickedTarget = { readonly kind: 'run'; readonly run: string } | { readonly kind: 'import'; readonly ask: 'onnxFile' | 'onnxFolder' };

async function pickRunOrModel(ctx: CnnSlicerContext, offerImport: boolean): Promise<PickedTarget | undefined> {
  const quickPick = vscode.window.createQuickPick<RunPickItem>();
  quickPick.title = 'CNNSlicer: Analyze Model';
  quickPick.placeholder = offerImport
    ? 'Pick a run (a folder holding cnnslicer.json), or an ONNX model to import'
    : 'Pick a run (a folder holding cnnslicer.json)';
  const extra: readonly RunPickItem[] = offerImport ? [BROWSE_ITEM, ...IMPORT_ITEMS] : [BROWSE_ITEM];
  quickPick.matchOnDescription = true;
  quickPick.items = extra;
  quickPick.busy = true;
  let scanned = false;
  let filled = false;
  const fill = (): void => {
    const active = quickPick.activeItems[0];
    const runs = ctx.runIndex.runs.map(runPickItem);
    // Offered only once the scan has found nothing, so it never appears and vanishes under the user's Enter.
    const sample = scanned && runs.length === 0 ? sampleRunItem(ctx.sampleRunDir) : undefined;
    if (sample !== undefined) runs.push(sample);
    // The actions stay on top and runs come below them as they are found (as the Python
    // extension's interpreter list does): a row never moves under the user's pointer.
    quickPick.items = runs.length > 0 ? [...extra, { label: 'runs', kind: vscode.QuickPickItemKind.Separator }, ...runs] : extra;
    // Runs finish loading while the list is open; the highlighted item must not change under the
    // user's Enter. When the runs are known at once, the newest-first list starts on a run.
    const same =
      active === undefined ? undefined : quickPick.items.find((item) => item === active || (active.runDir !== undefined && item.runDir === active.runDir));
    const first = filled ? undefined : quickPick.items.find((item) => item.runDir !== undefined);
    const keep = same ?? first;
    if (keep !== undefined) quickPick.activeItems = [keep];
    filled = true;
  };
  fill();
  const picked = await new Promise<RunPickItem | undefined>((resolve) => {
    const disposables: vscode.Disposable[] = [];
    let settled = false;
    const settle = (item: RunPickItem | undefined): void => {
      if (settled) return;
      settled = true;
      for (const d of disposables) d.dispose();
      quickPick.dispose();
      resolve(item);
    };
    disposables.push(
      quickPick.onDidAccept(() => settle(quickPick.selectedItems[0])),
      quickPick.onDidHide(() => settle(undefined)),
      ctx.runIndex.onDidChange(fill),
    );
    quickPick.show();
    void ctx.runIndex.whenScanned().then(() => {
      if (settled) return;
      quickPick.busy = false;
      scanned = true;
      fill();
    });
  });
  if (picked === undefined) return undefined;
  if (picked.importKind !== undefined) return { kind: 'import', ask: picked.importKind };
  const run = picked.browse === true ? await browseForRun() : picked.runDir;
  return run === undefined ? undefined : { kind: 'run', run };
}

async function browseForRun(): Promise<string | undefined> {
  const uris = await vscode.window.showOpenDialog({
    title: 'Open a CNNSlicer run',
    openLabel: 'Analyze',
    canSelectFiles: true,
    canSelectFolders: true,
    canSelectMany: false,
    defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
    filters: { 'CNNSlicer manifest': ['json'] },
  });
  const uri = uris?.[0];
  if (uri === undefined) return undefined;
  if (uri.scheme !== 'file') {
    void vscode.window.showErrorMessage(
      `CNNSlicer: ${uri.toString()} is not on this machine's file system; CNNSlicer reads runs from the disk the extension runs on.`,
    );
    return undefined;
  }
  const picked = uri.fsPath;
  // A JSON file other than the manifest is a likely slip; the engine would refuse it with a less direct message.
  if (path.extname(picked).toLowerCase() === '.json' && path.basename(picked) !== MANIFEST_FILE) {
    void vscode.window.showErrorMessage(`CNNSlicer: ${picked} is not a run manifest. Pick a run folder or its ${MANIFEST_FILE}.`);
    return undefined;
  }
  return picked;
}

/** The run's folder name, whether `run` is the folder or its manifest. */
function runFolderName(run: string): string {
  return path.basename(path.basename(run) === MANIFEST_FILE ? path.dirname(run) : run);
}

/** Reads a run through the engine under a cancellable progress notification; undefined when cancelled or failed (already reported). */
export async function readRunWithProgress(ctx: CnnSlicerContext, run: string): Promise<RunInfo | undefined> {
  try {
    return await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `CNNSlicer: reading run ${runFolderName(run)}`, cancellable: true },
      (progress, token) => {
        const abort = new AbortController();
        const cancellation = token.onCancellationRequested(() => abort.abort());
        const tracker = new ProgressTracker();
        return ctx.engine
          .request('runInfo', { run }, { signal: abort.signal, onProgress: (p) => progress.report(tracker.next(p)) })
          .finally(() => cancellation.dispose());
      },
    );
  } catch (err) {
    ctx.reportError(`Reading the run ${run} failed`, err);
    return undefined;
  }
}

export async function showRunSummary(ctx: CnnSlicerContext, info: RunInfo): Promise<void> {
  ctx.log.info(`Summary of run ${info.name} (${info.dir}):\n${formatRunSummary(info)}`);
  await ctx.summaries.show(info);
}

/** Opens (or reveals) the training-performance view of one run, showing that run. */
export function openTrainingView(ctx: CnnSlicerContext, info: RunInfo, options: { preserveFocus?: boolean } = {}): void {
  ctx.panels.show(TRAINING_VIEW, [info.dir], { selection: { run: info.dir }, preserveFocus: options.preserveFocus });
}

/**
 * What the Explorer's context menu passes: the clicked resource, and every selected one. Several
 * selected .onnx files are one model's epochs; anything else uses the clicked one alone.
 */
async function explorerTarget(clicked: unknown, selected: unknown): Promise<AnalyzeTarget | ModelChoice | undefined> {
  if (!(clicked instanceof vscode.Uri)) return undefined;
  const all = Array.isArray(selected) ? selected.filter((u): u is vscode.Uri => u instanceof vscode.Uri) : [];
  if (all.length > 1 && all.every((u) => u.scheme === 'file' && path.extname(u.fsPath).toLowerCase() === '.onnx')) {
    return { kind: 'onnxFiles', files: all.map((u) => u.fsPath) };
  }
  if (clicked.scheme !== 'file')
    return {
      kind: 'unsupported',
      path: clicked.toString(),
      reason: "is not on this machine's file system; the engine reads from the disk the extension runs on",
    };
  const p = clicked.fsPath;
  try {
    const stat = await fs.promises.stat(p);
    return classifyTarget(p, stat.isDirectory() ? { isDirectory: true, entries: await fs.promises.readdir(p) } : { isDirectory: false });
  } catch (err) {
    return { kind: 'unsupported', path: p, reason: `cannot be read (${err instanceof Error ? err.message : String(err)})` };
  }
}

export interface AnalyzeModelOptions {
  /** The extension's folder, where the MNIST lookup starts. */
  readonly extensionPath: string;
  /** From the Explorer's context menu: the clicked resource and the selected ones. */
  readonly clicked?: unknown;
  readonly selected?: unknown;
}

export async function analyzeModel(ctx: CnnSlicerContext, options: AnalyzeModelOptions): Promise<void> {
  const target = (await explorerTarget(options.clicked, options.selected)) ?? (await pickRunOrModel(ctx, true));
  if (target === undefined) return;
  let info: RunInfo | undefined;
  switch (target.kind) {
    case 'unsupported':
      void vscode.window.showErrorMessage(`CNNSlicer: ${target.path} ${target.reason}.`);
      return;
    case 'run':
      info = await readRunWithProgress(ctx, target.run);
      break;
    case 'import':
      info = await importOnnxModel(ctx, options.extensionPath, { ask: target.ask });
      break;
    case 'onnxFile':
    case 'onnxFolder':
    case 'onnxFiles':
      info = await importOnnxModel(ctx, options.extensionPath, { choice: target });
      break;
  }
  if (info === undefined) return;
  await openRunViews(ctx, info);
}

/** Logs the run's summary and opens its query view, then its training view, as Analyze Model does. */
async function openRunViews(ctx: CnnSlicerContext, info: RunInfo): Promise<void> {
  ctx.log.info(`Summary of run ${info.name} (${info.dir}):\n${formatRunSummary(info)}`);
  const opened = ctx.panels.panelsOf(QUERY_VIEW).length;
  const query = openQueryView(ctx, info);
  // A webview created while another one is still loading its document sometimes never shows it
  // (seen in VS Code 1.100's workbench under load: the first one stays blank), so a new query
  // view gets to load first, for a bounded time.
  if (ctx.panels.panelsOf(QUERY_VIEW).length > opened) await firstMessage(query, NEW_VIEW_LOAD_WAIT_MS);
  openTrainingView(ctx, info);
}

/** How long Analyze Model lets a new query view load before opening the training view. */
const NEW_VIEW_LOAD_WAIT_MS = 5_000;

/** Resolves when the view's script has sent its first message (it says `ready` once it listens), is closed, or `timeoutMs` passed. */
function firstMessage(view: ViewPanel<unknown>, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const subscriptions: vscode.Disposable[] = [];
    const timer = setTimeout(done, timeoutMs);
    function done(): void {
      clearTimeout(timer);
      for (const d of subscriptions) d.dispose();
      resolve();
    }
    subscriptions.push(view.panel.webview.onDidReceiveMessage(done), view.onDidDispose(done));
  });
}

/** Opens (or reveals) the query view of one run; with `layer`, that layer selected. */
export function openQueryView(
  ctx: CnnSlicerContext,
  info: RunInfo,
  options: { layer?: string; channel?: number; preserveFocus?: boolean } = {},
): ViewPanel<QuerySelection> {
  const selection = options.layer !== undefined ? querySelectionOfLayer(info.dir, options.layer, options.channel) : { run: info.dir };
  return ctx.panels.show(QUERY_VIEW, [info.dir], { selection, preserveFocus: options.preserveFocus });
}

interface RunsPickItem extends vscode.QuickPickItem {
  readonly runDir: string;
}

const BROWSE_BUTTON: vscode.QuickInputButton = { iconPath: new vscode.ThemeIcon('folder-opened'), tooltip: 'Browse for run folders…' };

/** The folder of a run, whether `picked` is the folder or its manifest. */
function runDirOf(picked: string): string {
  return path.basename(picked) === MANIFEST_FILE ? path.dirname(picked) : picked;
}

/**
 * Lets the user pick several runs of the workspace (those read without error), or browse for run
 * folders anywhere; resolves to their folders, none when dismissed. `exclude` are runs already shown.
 */
export async function pickRuns(ctx: CnnSlicerContext, options: { readonly title: string; readonly exclude?: readonly string[] }): Promise<string[]> {
  const exclude = new Set(options.exclude ?? []);
  const quickPick = vscode.window.createQuickPick<RunsPickItem>();
  quickPick.title = options.title;
  quickPick.placeholder = 'Pick runs (Space to select, Enter to accept); the folder button browses the disk';
  quickPick.canSelectMany = true;
  quickPick.matchOnDescription = true;
  quickPick.buttons = [BROWSE_BUTTON];
  quickPick.busy = true;
  const fill = (): void => {
    const selected = new Set(quickPick.selectedItems.map((item) => item.runDir));
    quickPick.items = ctx.runIndex.runs
      .filter((entry) => entry.state.kind === 'loaded' && !exclude.has(entry.dir))
      .map((entry) => ({ ...runPickItem(entry), runDir: entry.dir }));
    quickPick.selectedItems = quickPick.items.filter((item) => selected.has(item.runDir));
  };
  fill();
  const outcome = await new Promise<readonly RunsPickItem[] | 'browse' | undefined>((resolve) => {
    const disposables: vscode.Disposable[] = [];
    let settled = false;
    const settle = (value: readonly RunsPickItem[] | 'browse' | undefined): void => {
      if (settled) return;
      settled = true;
      for (const d of disposables) d.dispose();
      quickPick.dispose();
      resolve(value);
    };
    disposables.push(
      quickPick.onDidAccept(() => settle(quickPick.selectedItems)),
      quickPick.onDidTriggerButton(() => settle('browse')),
      quickPick.onDidHide(() => settle(undefined)),
      ctx.runIndex.onDidChange(fill),
    );
    quickPick.show();
    void ctx.runIndex.whenScanned().then(() => {
      if (settled) return;
      quickPick.busy = false;
      fill();
      if (quickPick.items.length === 0) quickPick.placeholder = 'No other run in the workspace; the folder button browses the disk';
    });
  });
  if (outcome === undefined) return [];
  if (outcome !== 'browse') return outcome.map((item) => item.runDir);
  const uris = await vscode.window.showOpenDialog({
    title: options.title,
    openLabel: 'Add',
    canSelectFiles: false,
    canSelectFolders: true,
    canSelectMany: true,
    defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
  });
  return (uris ?? [])
    .filter((uri) => uri.scheme === 'file')
    .map((uri) => runDirOf(uri.fsPath))
    .filter((dir) => !exclude.has(dir));
}

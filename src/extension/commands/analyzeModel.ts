// `CNNSlicer: Analyze Model`: pick a run (one found in the workspace, or any folder or manifest on
// disk, or the sample run shipped with the extension when the workspace has none), or an ONNX model
// or a folder of per-epoch ONNX checkpoints to import into a run (importModel.ts), read it through
// the engine with a cancellable progress notification, and open its query view and its
// training-performance view. From the Explorer's context menu the file or folder clicked is the
// target.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RunInfo } from '../../shared/runFormat';
import type { CnnSlicerContext } from '../cnnslicerContext';
import { openQueryView, openTrainingView } from '../panels/openViews';
import { QUERY_VIEW } from '../panels/queryView';
import type { ViewPanel } from '../panels/viewPanel';
import { pickRunOrModel } from '../runs/runPicker';
import { formatRunSummary } from '../runs/runSummary';
import { classifyTarget, type AnalyzeTarget } from './importChoices';
import { importOnnxModel, type ModelChoice } from './importModel';
import { readRunWithProgress } from './readRun';

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
  const target =
    (await explorerTarget(options.clicked, options.selected)) ??
    (await pickRunOrModel(ctx.runIndex, ctx.sampleRunDir, true, { title: 'CNNSlicer: Analyze Model' }));
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

/**
 * `CNNSlicer: Open the Sample Run`: the run shipped with the extension, opened as Analyze Model
 * opens a picked run. Analyze Model offers it only in a workspace without runs; the walkthrough's
 * first step needs it whatever the workspace holds.
 */
export async function openSampleRun(ctx: CnnSlicerContext): Promise<void> {
  const info = await readRunWithProgress(ctx, ctx.sampleRunDir);
  if (info !== undefined) await openRunViews(ctx, info);
}

/** Logs the run's summary and opens its query view, then its training view, as Analyze Model does. */
async function openRunViews(ctx: CnnSlicerContext, info: RunInfo): Promise<void> {
  ctx.log.info(`Summary of run ${info.name} (${info.dir}):\n${formatRunSummary(info)}`);
  const opened = ctx.panels.panelsOf(QUERY_VIEW).length;
  const query = openQueryView(ctx.panels, info);
  // A webview created while another one is still loading its document sometimes never shows it
  // (seen in VS Code 1.100's workbench under load: the first one stays blank), so a new query
  // view gets to load first, for a bounded time.
  if (ctx.panels.panelsOf(QUERY_VIEW).length > opened) await firstMessage(query, NEW_VIEW_LOAD_WAIT_MS);
  openTrainingView(ctx.panels, info);
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

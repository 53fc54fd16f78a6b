// `CNNSlicer: Analyze Model`: pick a run (one found in the workspace, or any folder or manifest on
// disk), read it through the engine with a cancellable progress notification, and show its summary.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { MANIFEST_FILE, type RunInfo } from '../shared/runFormat';
import { runEntryLabel, type RunEntry } from './runCatalog';
import { formatRunSummary } from './runSummary';
import { describeRunContents } from './runText';
import type { CnnSlicerContext } from './cnnslicerContext';
import { escapeCodicons } from './plainText';
import { ProgressTracker } from './progressReporting';

interface RunPickItem extends vscode.QuickPickItem {
  readonly runDir?: string;
  readonly browse?: true;
}

const BROWSE_ITEM: RunPickItem = {
  label: '$(folder-opened) Browse for a run folder or manifest…',
  alwaysShow: true,
  browse: true,
};

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
  const quickPick = vscode.window.createQuickPick<RunPickItem>();
  quickPick.title = 'CNNSlicer: Analyze Model';
  quickPick.placeholder = 'Pick a run (a folder holding cnnslicer.json)';
  quickPick.matchOnDescription = true;
  quickPick.items = [BROWSE_ITEM];
  quickPick.busy = true;
  const fill = (): void => {
    const active = quickPick.activeItems[0];
    const runs = ctx.runIndex.runs.map(runPickItem);
    quickPick.items = runs.length > 0 ? [...runs, { label: '', kind: vscode.QuickPickItemKind.Separator }, BROWSE_ITEM] : [BROWSE_ITEM];
    // Runs finish loading while the list is open; the highlighted run must not change under the user's Enter.
    const same = active?.runDir === undefined ? undefined : quickPick.items.find((item) => item.runDir === active.runDir);
    if (same !== undefined) quickPick.activeItems = [same];
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
      fill();
    });
  });
  if (picked === undefined) return undefined;
  if (picked.browse === true) return browseForRun();
  return picked.runDir;
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
    void vscode.window.showErrorMessage(`CNNSlicer: ${uri.toString()} is not on this machine's file system; CNNSlicer reads runs from the disk the extension runs on.`);
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

export async function analyzeModel(ctx: CnnSlicerContext): Promise<void> {
  const run = await pickRun(ctx);
  if (run === undefined) return;
  const info = await readRunWithProgress(ctx, run);
  if (info === undefined) return;
  await showRunSummary(ctx, info);
}

// The run pickers: one run (or, for Analyze Model, an ONNX model to import) from the workspace's
// runs, the sample run shipped with the extension when the workspace has none or the user is in
// one of its views, or a folder on disk; and several runs, for the views that compare runs. They read the run index only.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { MANIFEST_FILE } from '../../shared/runFormat';
import { escapeCodicons } from '../plainText';
import { runEntryLabel, type RunEntry } from './runCatalog';
import type { RunIndex } from './runIndex';
import { describeRunContents } from './runText';

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
function sampleRunItem(dir: string, noRunsFound: boolean): RunPickItem | undefined {
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
    detail: noRunsFound ? 'This workspace holds no run yet: explore the views on this one, or browse for a run folder.' : 'The run of the view you were in.',
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
export async function pickRun(runIndex: RunIndex, sampleRunDir: string, options: RunPickerOptions): Promise<string | undefined> {
  const picked = await pickRunOrModel(runIndex, sampleRunDir, false, options);
  return picked?.kind === 'run' ? picked.run : undefined;
}

/** A run to open, or which kind of model to import; undefined when dismissed. */
export type PickedTarget = { readonly kind: 'run'; readonly run: string } | { readonly kind: 'import'; readonly ask: 'onnxFile' | 'onnxFolder' };

/** How a run picker reads: the command it asks for, and the run it starts on (the active view's). */
export interface RunPickerOptions {
  readonly title: string;
  /** Runs to start on, first found first: those of the view the user is in. */
  readonly preferred?: readonly string[];
}

/** The run picker; with `offerImport`, also the items that import an ONNX model (Analyze Model). */
export async function pickRunOrModel(
  runIndex: RunIndex,
  sampleRunDir: string,
  offerImport: boolean,
  options: RunPickerOptions,
): Promise<PickedTarget | undefined> {
  const quickPick = vscode.window.createQuickPick<RunPickItem>();
  quickPick.title = options.title;
  quickPick.placeholder = offerImport
    ? 'Pick a run (a folder holding cnnslicer.json), or an ONNX model to import'
    : 'Pick a run (a folder holding cnnslicer.json)';
  const extra: readonly RunPickItem[] = offerImport ? [BROWSE_ITEM, ...IMPORT_ITEMS] : [BROWSE_ITEM];
  quickPick.matchOnDescription = true;
  quickPick.items = extra;
  quickPick.busy = true;
  let scanned = false;
  let filled = false;
  const preferred = options.preferred ?? [];
  const fill = (): void => {
    const active = quickPick.activeItems[0];
    const runs = runIndex.runs.map(runPickItem);
    // Offered once the scan has found nothing, so it never appears and vanishes under the user's
    // Enter; or from the start when the user is in a view of it (opened by Open the Sample Run).
    const noRunsFound = scanned && runs.length === 0;
    const offered = noRunsFound || (preferred.includes(sampleRunDir) && !runs.some((item) => item.runDir === sampleRunDir));
    const sample = offered ? sampleRunItem(sampleRunDir, noRunsFound) : undefined;
    if (sample !== undefined) runs.push(sample);
    // The actions stay on top and runs come below them as they are found (as the Python
    // extension's interpreter list does): a row never moves under the user's pointer.
    quickPick.items = runs.length > 0 ? [...extra, { label: 'runs', kind: vscode.QuickPickItemKind.Separator }, ...runs] : extra;
    // Runs finish loading while the list is open; the highlighted item must not change under the
    // user's Enter. When the runs are known at once, the newest-first list starts on a run.
    const same =
      active === undefined ? undefined : quickPick.items.find((item) => item === active || (active.runDir !== undefined && item.runDir === active.runDir));
    const preferredItem = preferred.map((dir) => quickPick.items.find((item) => item.runDir === dir)).find((item) => item !== undefined);
    const first = filled ? undefined : (preferredItem ?? quickPick.items.find((item) => item.runDir !== undefined));
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
      runIndex.onDidChange(fill),
    );
    quickPick.show();
    void runIndex.whenScanned().then(() => {
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
export async function pickRuns(runIndex: RunIndex, options: { readonly title: string; readonly exclude?: readonly string[] }): Promise<string[]> {
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
    quickPick.items = runIndex.runs
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
      runIndex.onDidChange(fill),
    );
    quickPick.show();
    void runIndex.whenScanned().then(() => {
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

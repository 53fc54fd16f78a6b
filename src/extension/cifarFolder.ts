// The CIFAR-10 folder both Train Model and Analyze Model (importing an ONNX model) draw from: the
// setting cnnslicer.cifar10Path when it holds the binary batches, else a folder the user picks,
// checked and saved to the user settings so neither command asks again.
import * as vscode from 'vscode';
import { CIFAR10_PATH_SETTING, resolveSettingPath } from './datasets';
import { plainNotificationText } from './plainText';
import { checkCifarFolder } from './training/datasets';

/** The folder the setting names (`~` and workspace-relative paths resolved), or undefined when unset. */
export function configuredCifarFolder(): string | undefined {
  return resolveSettingPath(vscode.workspace.getConfiguration().get<unknown>(CIFAR10_PATH_SETTING), vscode.workspace.workspaceFolders?.[0]?.uri.fsPath);
}

/**
 * The CIFAR-10 folder: the setting's when it holds the batches (unless `forceAsk`), else one the
 * user picks; undefined when dismissed or refused (the reason is shown and logged).
 */
export async function chooseCifarFolder(
  log: vscode.LogOutputChannel,
  forceAsk: boolean,
  title = 'The CIFAR-10 binary batches (the folder cifar-10-batches-bin)',
): Promise<string | undefined> {
  const configured = configuredCifarFolder();
  if (!forceAsk && configured !== undefined) {
    const problem = checkCifarFolder(configured);
    if (problem === undefined) return configured;
    void vscode.window.showWarningMessage(
      `CNNSlicer: the ${CIFAR10_PATH_SETTING} setting does not point to CIFAR-10: ${plainNotificationText(problem)} Choose the folder.`,
    );
  }
  const picked = await vscode.window.showOpenDialog({
    title,
    openLabel: 'Use for CIFAR-10',
    canSelectFolders: true,
    canSelectFiles: false,
    canSelectMany: false,
  });
  const dir = picked?.[0]?.fsPath;
  if (dir === undefined) return undefined;
  const problem = checkCifarFolder(dir);
  if (problem !== undefined) {
    log.error(`CIFAR-10 folder refused: ${problem}`);
    void vscode.window.showErrorMessage(`CNNSlicer: ${plainNotificationText(problem)}`);
    return undefined;
  }
  // Set once: every later Train Model or import on CIFAR-10 uses it without asking.
  await vscode.workspace.getConfiguration().update(CIFAR10_PATH_SETTING, dir, vscode.ConfigurationTarget.Global);
  log.info(`CIFAR-10 folder saved to the user setting ${CIFAR10_PATH_SETTING}: ${dir}`);
  return dir;
}

// CNNSlicer: Install Probe into Python Environment. Installs the `cnnslicer` wheel shipped in the
// extension into the interpreter Train Model would use (cnnslicer.python.interpreterPath, else the
// Python extension's, else python3 from PATH), offline, so `import cnnslicer` works in the user's
// own training scripts. pip runs code (the interpreter, its site hooks), hence the trust guard.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { CnnSlicerContext } from '../cnnslicerContext';
import { plainNotificationText } from '../plainText';
import { findBundledWheel, installProbe, WHEEL_FOLDER } from '../probeInstall/installer';
import { installedMessage, problemMessage, suggestsVenv } from '../probeInstall/pipOutcome';
import { findInterpreter, whereFrom } from '../training/pythonInterpreter';
import { requireTrustedWorkspace } from '../workspaceTrust';

const ACTION = 'Install Probe into Python Environment';
const OPEN_DOCS = 'Open Docs';
const SHOW_LOG = 'Show Log';

/** The probe's documentation as the extension has it: docs/probe.md in a source checkout, else the README (which ships). */
function docsUri(extensionPath: string): vscode.Uri {
  const probeDoc = path.join(extensionPath, 'docs', 'probe.md');
  return vscode.Uri.file(existsSync(probeDoc) ? probeDoc : path.join(extensionPath, 'README.md'));
}

export async function installProbeCommand(c: CnnSlicerContext, extensionPath: string): Promise<void> {
  if (!requireTrustedWorkspace(ACTION)) return;
  const wheel = findBundledWheel(extensionPath);
  if (wheel === undefined) {
    const message = problemMessage({ kind: 'no-wheel', folder: path.join(extensionPath, WHEEL_FOLDER) }, '');
    c.log.error(message);
    void vscode.window.showErrorMessage(`CNNSlicer: ${plainNotificationText(message)}`);
    return;
  }
  const resource = vscode.window.activeTextEditor?.document.uri ?? vscode.workspace.workspaceFolders?.[0]?.uri;
  const interpreter = await findInterpreter(resource, c.log);
  const python = `${interpreter.path} (from ${whereFrom(interpreter)})`;
  c.log.info(`Install Probe: cnnslicer ${wheel.version} from ${wheel.path} into ${python}`);

  const outcome = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `CNNSlicer: installing the probe into ${interpreter.path}`, cancellable: true },
    (progress, token) => {
      const abort = new AbortController();
      const subscription = token.onCancellationRequested(() => abort.abort());
      return installProbe({
        python: interpreter.path,
        wheel,
        env: process.env,
        signal: abort.signal,
        log: (line) => c.log.info(line),
        onStep: (step) => progress.report({ message: `${step}…` }),
      }).finally(() => subscription.dispose());
    },
  );

  if (outcome.ok) {
    const message = installedMessage(outcome, interpreter.path);
    c.log.info(`${message} import cnnslicer: ${outcome.file ?? '(needs numpy)'}; Python ${outcome.pythonVersion} at ${outcome.executable}`);
    // The message starts with "CNNSlicer probe", so it needs no "CNNSlicer:" in front.
    if (outcome.missing.length === 0) void vscode.window.showInformationMessage(plainNotificationText(message));
    else void vscode.window.showWarningMessage(plainNotificationText(message));
    return;
  }
  const message = problemMessage(outcome.problem, python);
  if (outcome.problem.kind === 'cancelled') {
    // pip may have been stopped half-way; the user chose this, so a quiet note rather than an error.
    c.log.info(message);
    void vscode.window.showInformationMessage(`CNNSlicer: ${plainNotificationText(message)}`);
    return;
  }
  c.log.error(message);
  const buttons = suggestsVenv(outcome.problem) ? [OPEN_DOCS, SHOW_LOG] : [SHOW_LOG];
  const answer = await vscode.window.showErrorMessage(`CNNSlicer: ${plainNotificationText(message)}`, ...buttons);
  if (answer === SHOW_LOG) c.log.show();
  else if (answer === OPEN_DOCS) await vscode.commands.executeCommand('markdown.showPreview', docsUri(extensionPath));
}

// "Attach CNNSlicer" over each epoch loop of a Python file that imports torch and creates no Probe
// yet; a click runs Attach Probe on that loop. Reading the text only, so it is on in Restricted
// Mode. Separate from the layer lenses, which depend on runs, not on the file's text.
import * as vscode from 'vscode';
import { analyzeTrainingScript } from '../attach/trainingScript';
import { COMMAND } from '../commandIds';
import type { AttachTarget } from '../commands/attachProbe';

/** Larger files are not scanned on every edit: a training script is far smaller. */
const MAX_SCANNED_CHARS = 1_000_000;

export const ATTACH_LENS_TITLE = 'Attach CNNSlicer';

class AttachCodeLensProvider implements vscode.CodeLensProvider {
  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    const text = document.getText();
    if (text.length > MAX_SCANNED_CHARS) return [];
    const script = analyzeTrainingScript(text);
    if (!script.importsTorch || script.probeLine !== undefined) return [];
    return script.loops.map((loop) => {
      const target: AttachTarget = { uri: document.uri.toString(), line: loop.line };
      return new vscode.CodeLens(document.lineAt(loop.line).range, {
        title: ATTACH_LENS_TITLE,
        tooltip: `Record this training as a CNNSlicer run: create a Probe before this loop and call ${script.probeVariable}.epoch_end(${loop.epochVariable}) at the end of each epoch`,
        command: COMMAND.attachProbe,
        arguments: [target],
      });
    });
  }
}

/** Registers the provider for Python documents of any scheme (an untitled script too). */
export function registerAttachCodeLens(): vscode.Disposable {
  return vscode.languages.registerCodeLensProvider({ language: 'python' }, new AttachCodeLensProvider());
}

// CNNSlicer: Attach Probe to Training Script. Adds the probe to the epoch loop of the Python file in
// the editor (trainingScript.ts finds the loop, attachSnippet.ts writes the lines) as one undoable
// edit whose placeholders the user tabs through; without a loop, a commented template at the cursor.
// It only edits text and runs nothing, so it works in Restricted Mode.
import * as vscode from 'vscode';
import { defaultRunFolder, planAttach, snippetText, templateParts, type AttachPlan } from '../attach/attachSnippet';
import { analyzeTrainingScript, loopForCursor, type EpochLoop, type TrainingScript } from '../attach/trainingScript';

/** What the "Attach CNNSlicer" CodeLens passes: the document and the loop's `for` line. */
export interface AttachTarget {
  readonly uri: string;
  readonly line: number;
}

export function isAttachTarget(value: unknown): value is AttachTarget {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.uri === 'string' && typeof v.line === 'number' && Number.isInteger(v.line) && v.line >= 0;
}

const ATTACH_ANYWAY = 'Attach Anyway';

async function editorFor(target: AttachTarget | undefined): Promise<vscode.TextEditor | undefined> {
  const active = vscode.window.activeTextEditor;
  if (target === undefined || active?.document.uri.toString() === target.uri) return active;
  const visible = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === target.uri);
  if (visible !== undefined) return vscode.window.showTextDocument(visible.document, visible.viewColumn);
  return vscode.window.showTextDocument(vscode.Uri.parse(target.uri));
}

async function chooseLoop(script: TrainingScript, editor: vscode.TextEditor, target: AttachTarget | undefined): Promise<EpochLoop | undefined> {
  const fromLens = target === undefined ? undefined : script.loops.find((l) => l.line === target.line);
  if (fromLens !== undefined) return fromLens;
  const atCursor = loopForCursor(script.loops, editor.selection.active.line);
  if (atCursor !== undefined) return atCursor;
  const picked = await vscode.window.showQuickPick(
    script.loops.map((loop) => ({ label: loop.header, description: `line ${loop.line + 1}`, loop })),
    { title: 'CNNSlicer: Attach Probe to Training Script', placeHolder: 'Which loop runs the epochs?' },
  );
  return picked?.loop;
}

function eolOf(document: vscode.TextDocument): string {
  return document.eol === vscode.EndOfLine.CRLF ? '\r\n' : '\n';
}

/** The plan's one snippet (import, Probe, epoch_end and close), one undo step. */
function applyPlan(editor: vscode.TextEditor, plan: AttachPlan): Thenable<boolean> {
  const range = new vscode.Range(plan.start.line, plan.start.character, plan.end.line, plan.end.character);
  // keepWhitespace: the parts carry the file's own indentation; VS Code would re-indent them.
  return editor.insertSnippet(new vscode.SnippetString(snippetText(plan.parts)), range, { undoStopBefore: true, undoStopAfter: true, keepWhitespace: true });
}

function indentUnitOf(editor: vscode.TextEditor): string {
  const size =
    typeof editor.options.indentSize === 'number' ? editor.options.indentSize : typeof editor.options.tabSize === 'number' ? editor.options.tabSize : 4;
  return editor.options.insertSpaces === false ? '\t' : ' '.repeat(size);
}

async function insertTemplate(editor: vscode.TextEditor, script: TrainingScript): Promise<void> {
  const document = editor.document;
  const line = document.lineAt(editor.selection.active.line);
  const parts = templateParts(script, {
    indent: line.text.slice(0, line.firstNonWhitespaceCharacterIndex),
    indentUnit: indentUnitOf(editor),
    eol: eolOf(document),
    runFolder: defaultRunFolder(document.fileName),
  });
  await editor.insertSnippet(new vscode.SnippetString(snippetText(parts)), new vscode.Position(line.lineNumber, 0), {
    undoStopBefore: true,
    undoStopAfter: true,
    keepWhitespace: true,
  });
  void vscode.window.showInformationMessage(
    'CNNSlicer: no `for epoch in …` loop found, so a commented template was inserted at the cursor. Uncomment it and move its lines into your training loop.',
  );
}

/** The command: `target` comes from the CodeLens; from the palette there is none and the cursor decides. */
export async function attachProbe(target?: unknown): Promise<void> {
  const editor = await editorFor(isAttachTarget(target) ? target : undefined);
  if (editor === undefined) {
    void vscode.window.showInformationMessage('CNNSlicer: open the Python training script to attach the probe to.');
    return;
  }
  const document = editor.document;
  if (document.languageId !== 'python') {
    void vscode.window.showWarningMessage(`CNNSlicer: Attach Probe works on Python files; ${document.fileName} is ${document.languageId}.`);
    return;
  }
  const script = analyzeTrainingScript(document.getText());
  if (script.probeLine !== undefined) {
    const at = new vscode.Position(script.probeLine, 0);
    editor.selection = new vscode.Selection(at, at);
    editor.revealRange(new vscode.Range(at, at), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    void vscode.window.showInformationMessage(`CNNSlicer: this script already creates a Probe (line ${script.probeLine + 1}); nothing was added.`);
    return;
  }
  // The model may be built in another module, so a script without `import torch` can still be a
  // PyTorch training script: ask rather than refuse.
  if (!script.importsTorch) {
    const choice = await vscode.window.showWarningMessage(
      'CNNSlicer: this file does not import torch. The probe records PyTorch models; attach it anyway?',
      ATTACH_ANYWAY,
    );
    if (choice !== ATTACH_ANYWAY) return;
  }
  if (script.loops.length === 0) {
    await insertTemplate(editor, script);
    return;
  }
  const loop = await chooseLoop(script, editor, isAttachTarget(target) ? target : undefined);
  if (loop === undefined) return;
  const plan = planAttach(document.getText(), script, loop, { runFolder: defaultRunFolder(document.fileName), eol: eolOf(document) });
  if (!(await applyPlan(editor, plan))) void vscode.window.showWarningMessage('CNNSlicer: the script changed while the probe was being attached; try again.');
}

// Opening a layer's recorded source line in an editor: the query view's "Go to source". Only reads
// a file, so it works in Restricted Mode.
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { CnnSlicerError } from '../../shared/errors';
import type { RunInfo, SourceLocation } from '../../shared/runFormat';
import { resolveSourceFile } from '../sourceLocations';

function workspaceFolderPaths(): string[] {
  return (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
}

function isFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The existing file a layer's recorded source names, if any (see sourceLocations.ts for the order tried). */
export function resolveLayerSource(source: SourceLocation, runDir: string): string | undefined {
  return resolveSourceFile(source, { runDir, workspaceFolders: workspaceFolderPaths() }, isFile);
}

/**
 * Opens the file of the layer's source at its line, with the line selected. From a view in the
 * first editor group the file opens beside it; otherwise in the first group, where code usually is.
 */
export async function revealLayerSource(info: RunInfo, layer: string, viewColumn: vscode.ViewColumn | undefined): Promise<{ file: string; line: number }> {
  const found = info.manifest.layers.find((l) => l.name === layer);
  if (found === undefined) throw new CnnSlicerError('bad-request', `the run ${info.name} has no layer ${layer}`);
  const source = found.source;
  if (source === undefined) throw new CnnSlicerError('not-found', `the probe recorded no source line for ${layer}`);
  const file = resolveLayerSource(source, info.dir);
  if (file === undefined)
    throw new CnnSlicerError('not-found', `${source.file} (recorded for ${layer}) is not in the workspace nor next to the run`, source.file);
  const document = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
  const line = Math.min(Math.max(0, source.line - 1), Math.max(0, document.lineCount - 1));
  const text = document.lineAt(line);
  const range = new vscode.Range(line, text.firstNonWhitespaceCharacterIndex, line, text.range.end.character);
  const visible = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === document.uri.toString());
  const column = visible?.viewColumn ?? (viewColumn === vscode.ViewColumn.One ? vscode.ViewColumn.Beside : vscode.ViewColumn.One);
  const editor = await vscode.window.showTextDocument(document, { viewColumn: column, selection: range, preview: true });
  editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  return { file, line: source.line };
}

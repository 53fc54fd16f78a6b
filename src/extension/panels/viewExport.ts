// Exporting a view (issue 17), the host's half: which format (a quick pick), the file the view
// makes of what it shows (an `exportRequest` answered by an `exportContent`,
// src/shared/exportProtocol.ts; the view's half is webview/shared/exportView.ts), where to save it
// (a save dialog), the writing, and "Exported to …" with Open and Reveal. The same flow for
// `CNNSlicer: Export View...` from the palette and the view's own Export button. It writes only
// the file the user chose in the dialog, so it runs in Restricted Mode too.
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { CnnSlicerError, formatError, toErrorInfo } from '../../shared/errors';
import { EXPORT_FORMAT_INFO, isFigureFormat, type ExportContent, type ExportFormat, type ExportRequest } from '../../shared/exportProtocol';
import type { ViewName } from '../../shared/webviewProtocol';

/** A view's file as the host received it. */
export type ExportFile = Extract<ExportContent, { ok: true }>;

/** What exporting needs of a panel (ViewPanel provides it). */
export interface ExportablePanel {
  readonly kind: { readonly name: ViewName };
  readonly panel: vscode.WebviewPanel;
  /** Asks the view for the file; rejects with the view's reason when it has nothing to export. */
  exportContent(format: ExportFormat, lightBackground: boolean): Promise<ExportFile>;
}

/**
 * The longest a view may take to make its file: a PNG of a large figure takes a second or two. A
 * view that never answers (its page was torn down) must not leave the command waiting forever.
 */
const EXPORT_ANSWER_MS = 120_000;

/**
 * The requests a panel sent its view and has no answer for yet, by id. One per ViewPanel; the
 * panel posts the request and hands every `exportContent` the view sends to settle().
 */
export class ExportExchange implements vscode.Disposable {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (file: ExportFile) => void; reject: (err: Error) => void; timer: ReturnType<typeof setTimeout> }>();

  request(post: (message: ExportRequest) => Thenable<boolean>, format: ExportFormat, lightBackground: boolean): Promise<ExportFile> {
    const id = this.nextId++;
    return new Promise<ExportFile>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(id, new CnnSlicerError('timeout', 'the view did not answer the export request')), EXPORT_ANSWER_MS);
      this.pending.set(id, { resolve, reject, timer });
      post({ type: 'exportRequest', id, format, lightBackground }).then(
        (delivered) => {
          if (!delivered) this.fail(id, new CnnSlicerError('internal', 'the view is not showing; bring it forward and export again'));
        },
        (err: unknown) => this.fail(id, err instanceof Error ? err : new Error(String(err))),
      );
    });
  }

  /** The view's answer; one for no pending request (answered after a timeout) is ignored. */
  settle(content: ExportContent): void {
    const p = this.pending.get(content.id);
    if (p === undefined) return;
    this.pending.delete(content.id);
    clearTimeout(p.timer);
    if (content.ok) p.resolve(content);
    else p.reject(new CnnSlicerError('bad-request', content.message));
  }

  private fail(id: number, err: Error): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    p.reject(err);
  }

  dispose(): void {
    for (const id of [...this.pending.keys()]) this.fail(id, new CnnSlicerError('cancelled', 'the view was closed'));
  }
}

interface FormatItem extends vscode.QuickPickItem {
  readonly format: ExportFormat;
  readonly lightBackground: boolean;
}

/** The formats, each picture twice: in the theme's colours, and on a light background for print. */
export function exportFormatItems(): FormatItem[] {
  const png = EXPORT_FORMAT_INFO.png.label;
  const svg = EXPORT_FORMAT_INFO.svg.label;
  return [
    { label: png, description: 'the figure at twice the screen’s pixel density, in the theme’s colours', format: 'png', lightBackground: false },
    { label: `${png}, light background for print`, description: 'theme-independent colours on white', format: 'png', lightBackground: true },
    { label: svg, description: 'the figure as vector graphics, in the theme’s colours', format: 'svg', lightBackground: false },
    { label: `${svg}, light background for print`, description: 'theme-independent colours on white', format: 'svg', lightBackground: true },
    {
      label: EXPORT_FORMAT_INFO.csv.label,
      description: 'the numbers shown, a header of run, layer, epoch, samples and estimator parameters',
      format: 'csv',
      lightBackground: false,
    },
    { label: EXPORT_FORMAT_INFO.json.label, description: 'the same numbers and header as JSON', format: 'json', lightBackground: false },
  ];
}

/** Where the save dialog starts: the workspace's first folder, else the home folder. */
function defaultUri(fileName: string): vscode.Uri {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  return folder !== undefined ? vscode.Uri.joinPath(folder, fileName) : vscode.Uri.file(path.join(os.homedir(), fileName));
}

function bytesOf(file: ExportFile): Uint8Array {
  return file.encoding === 'base64' ? Buffer.from(file.content, 'base64') : Buffer.from(file.content, 'utf8');
}

/** Opens the file, or shows it in the Explorer (inside the workspace) or the system's file manager. */
async function offerToOpen(uri: vscode.Uri): Promise<void> {
  const action = await vscode.window.showInformationMessage(`CNNSlicer: Exported to ${uri.fsPath}`, 'Open', 'Reveal');
  if (action === 'Open') await vscode.commands.executeCommand('vscode.open', uri);
  else if (action === 'Reveal')
    await vscode.commands.executeCommand(vscode.workspace.getWorkspaceFolder(uri) !== undefined ? 'revealInExplorer' : 'revealFileInOS', uri);
}

/**
 * The whole export of one view: format, file from the view, save dialog, write, notice. Every
 * failure is a message to the user and a line in the log, never an exception out of the command.
 */
export async function exportView(target: ExportablePanel, log: vscode.LogOutputChannel): Promise<void> {
  const view = `${target.kind.name} view`;
  const what = `the ${view} “${target.panel.title}”`;
  const picked = await vscode.window.showQuickPick(exportFormatItems(), {
    title: `CNNSlicer: Export ${what}`,
    placeHolder: 'Export the figure or the numbers behind it',
    matchOnDescription: true,
  });
  if (picked === undefined) return;
  const { format, lightBackground } = picked;
  let file: ExportFile;
  try {
    file = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `Exporting the ${view} as ${format.toUpperCase()}` }, () =>
      target.exportContent(format, isFigureFormat(format) && lightBackground),
    );
  } catch (err) {
    const error = toErrorInfo(err);
    log.warn(`exporting the ${view} as ${format}: ${formatError(error)}`);
    void vscode.window.showErrorMessage(`CNNSlicer: Could not export the ${view}: ${error.message}`);
    return;
  }
  const info = EXPORT_FORMAT_INFO[format];
  const uri = await vscode.window.showSaveDialog({
    title: `CNNSlicer: Export the ${view} as ${info.label}`,
    defaultUri: defaultUri(file.fileName),
    filters: { [info.filter]: [format] },
    saveLabel: 'Export',
  });
  if (uri === undefined) return;
  try {
    await vscode.workspace.fs.writeFile(uri, bytesOf(file));
  } catch (err) {
    const error = toErrorInfo(err);
    log.warn(`writing the ${view}'s export to ${uri.fsPath}: ${formatError(error)}`);
    void vscode.window.showErrorMessage(`CNNSlicer: Could not write ${uri.fsPath}: ${error.message}`);
    return;
  }
  log.info(`exported the ${view} as ${format}${lightBackground && isFigureFormat(format) ? ' (light background)' : ''} to ${uri.fsPath}`);
  // Not awaited: the command is done once the file is written; the notice stays until dismissed.
  void offerToOpen(uri);
}

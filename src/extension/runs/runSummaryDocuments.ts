// Read-only markdown documents summarising a run, on the `cnnslicer-summary` scheme. The URI's query
// is the run folder, so a summary reopened after its tab was closed (Go Back, recently closed
// editors) renders itself again from the engine.
import * as vscode from 'vscode';
import { formatError, toErrorInfo } from '../../shared/errors';
import type { RunInfo } from '../../shared/runFormat';
import { SUMMARY_SCHEME } from '../commandIds';
import type { LoadRunInfo, RunIndex } from './runIndex';
import { formatRunSummary, formatUnreadableRunSummary, summaryDocumentPath } from './runSummary';

export function summaryUri(info: RunInfo): vscode.Uri {
  return vscode.Uri.from({ scheme: SUMMARY_SCHEME, path: summaryDocumentPath(info.name), query: info.dir });
}

export class RunSummaryDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changeEmitter.event;
  /** The info each summary was last rendered from, by URI string. */
  private readonly rendered = new Map<string, { readonly uri: vscode.Uri; info: RunInfo }>();
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly loadRunInfo: LoadRunInfo,
    private readonly index: RunIndex,
  ) {
    this.disposables.push(
      vscode.workspace.registerTextDocumentContentProvider(SUMMARY_SCHEME, this),
      // A run that changes on disk (a new epoch) updates its open summary.
      index.onDidChange(() => this.followIndex()),
      vscode.workspace.onDidCloseTextDocument((doc) => {
        if (doc.uri.scheme === SUMMARY_SCHEME) this.rendered.delete(doc.uri.toString());
      }),
      this.changeEmitter,
    );
  }

  /** Opens (or updates and reveals) the summary of `info` beside the active editor, as a preview tab. */
  async show(info: RunInfo): Promise<void> {
    const uri = summaryUri(info);
    const key = uri.toString();
    const previous = this.rendered.get(key);
    this.rendered.set(key, { uri, info });
    if (previous !== undefined && previous.info !== info) this.changeEmitter.fire(uri);
    const doc = await vscode.workspace.openTextDocument(uri);
    if (doc.languageId !== 'markdown') await vscode.languages.setTextDocumentLanguage(doc, 'markdown');
    // Where it is already shown; else beside the code being worked on; with no editor open, "beside" would leave an empty group.
    const shownIn = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === key)?.viewColumn;
    const viewColumn = shownIn ?? (vscode.window.activeTextEditor !== undefined ? vscode.ViewColumn.Beside : vscode.ViewColumn.Active);
    await vscode.window.showTextDocument(doc, { viewColumn, preview: true });
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const key = uri.toString();
    const known = this.rendered.get(key);
    if (known !== undefined) return formatRunSummary(known.info);
    const runDir = uri.query;
    const indexed = this.index.get(runDir);
    try {
      const info = indexed?.state.kind === 'loaded' ? indexed.state.info : await this.loadRunInfo(runDir);
      this.rendered.set(key, { uri, info });
      return formatRunSummary(info);
    } catch (err) {
      return formatUnreadableRunSummary(runDir, formatError(toErrorInfo(err)));
    }
  }

  private followIndex(): void {
    for (const summary of this.rendered.values()) {
      const entry = this.index.get(summary.info.dir);
      if (entry?.state.kind === 'loaded' && entry.state.info !== summary.info) {
        summary.info = entry.state.info;
        this.changeEmitter.fire(summary.uri);
      }
    }
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}

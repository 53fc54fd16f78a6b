// What the panels need from the rest of the extension, as one narrow interface: CnnSlicerContext
// provides it, and nothing in panels/ reaches further into the extension.
import type * as vscode from 'vscode';
import type { ProgressInfo } from '../../shared/engineProtocol';
import type { LinkedSelection } from '../../shared/linkedSelection';
import type { RunInfo } from '../../shared/runFormat';
import type { InfoPlaneSelection, QueryResult } from '../../shared/webviewProtocol';
import type { EngineClient } from '../engineClient';
import type { RunIndex } from '../runs/runIndex';
import type { SelectionHub } from './selectionHub';

export type EngineProgress = (progress: ProgressInfo) => void;

export interface PanelHost {
  /** The extension's folder: the bundles are under dist/webview/. */
  readonly extensionUri: vscode.Uri;
  readonly log: vscode.LogOutputChannel;
  readonly runIndex: Pick<RunIndex, 'get' | 'onDidChange'>;
  /** The current engine client; a settings change replaces it, so it is read at each request. */
  engine(): EngineClient;
  /** Reads a run that is not in the workspace's index. */
  loadRunInfo(dir: string): Promise<RunInfo>;
  /** Asks the user for runs to add to a view; resolves to their folders, none when dismissed. */
  pickRuns(options: { readonly title: string; readonly exclude: readonly string[] }): Promise<string[]>;
  showRunSummary(info: RunInfo): Promise<void>;
  /** The linked selection: what a view publishes, the views showing the same run follow. */
  readonly selections: Pick<SelectionHub, 'select' | 'onDidSelect'>;
  /** Opens the view a query of the query view goes to (queryView.ts decides which). */
  openQueryTarget(info: RunInfo, selection: LinkedSelection): Promise<QueryResult>;
  /** Opens (or reveals) the run's information-plane view on `choice` (infoPlaneView.ts), leaving the keyboard where it is. */
  openInfoPlane(info: RunInfo, choice: Omit<InfoPlaneSelection, 'run'>): void;
  /** Opens the file and line where a layer of the run was constructed; from a view in `viewColumn`. */
  revealSource(info: RunInfo, layer: string, viewColumn: vscode.ViewColumn | undefined): Promise<{ readonly file: string; readonly line: number }>;
}

// Every run in the workspace: the folders holding a cnnslicer.json, each with its info as the engine
// read it, or the reason it could not. File system events are only hints (they are dropped, merged or
// reordered under load, and missed for network drives): each one just schedules a full rescan, and
// the rescan compares manifest stamps to decide what to reload.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { formatError, toErrorInfo } from '../shared/errors';
import { MANIFEST_FILE, type RunInfo } from '../shared/runFormat';
import { RUNS_VIEW_ID } from './commandIds';
import { RunCatalog, SCAN_EXCLUDED_FOLDERS, type FoundManifest, type RunEntry } from './runCatalog';
import { CoalescingRunner, Debouncer, forEachWithConcurrency } from './scheduling';

const MANIFEST_GLOB = `**/${MANIFEST_FILE}`;
/**
 * Passing an exclude to findFiles replaces `files.exclude`, so the folders that setting usually
 * hides and that can be huge are named here.
 */
const SCAN_EXCLUDE = `**/{${SCAN_EXCLUDED_FOLDERS.join(',')}}/**`;
/** A training loop rewrites its manifest once per epoch; a burst of events costs one rescan. */
const RESCAN_DELAY_MS = 300;
/** Engine requests in flight at once while loading many runs, so one scan cannot flood the engine. */
const LOAD_CONCURRENCY = 4;

export type LoadRunInfo = (runDir: string) => Promise<RunInfo>;

export class RunIndex implements vscode.Disposable {
  private readonly catalog = new RunCatalog();
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  /** Fires when a run appears, disappears, or its info or error changes. */
  readonly onDidChange = this.changeEmitter.event;
  private readonly scans = new CoalescingRunner((reloadAll) => this.scan(reloadAll));
  private readonly rescanSoon = new Debouncer(RESCAN_DELAY_MS, () => void this.refresh(false));
  private readonly disposables: vscode.Disposable[] = [];
  private firstScan: Promise<void> | undefined;
  /** Resolves when the first scan has found the manifests, before their info is loaded. */
  private readonly firstFind: Promise<void>;
  private resolveFirstFind: () => void = () => undefined;
  private disposed = false;

  constructor(
    private readonly loadRunInfo: LoadRunInfo,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.firstFind = new Promise((resolve) => (this.resolveFirstFind = resolve));
    const watcher = vscode.workspace.createFileSystemWatcher(MANIFEST_GLOB);
    // Moving a folder in or deleting one is reported for the folder alone, which the manifest glob does not match.
    const folders = vscode.workspace.createFileSystemWatcher('**/*', false, true, false);
    const hint = (): void => this.rescanSoon.trigger();
    this.disposables.push(
      watcher,
      watcher.onDidCreate(hint),
      watcher.onDidChange(hint),
      watcher.onDidDelete(hint),
      folders,
      folders.onDidCreate((uri) => {
        if (uri.scheme === 'file' && this.catalog.mayChangeRuns('created', uri.fsPath)) hint();
      }),
      folders.onDidDelete((uri) => {
        if (uri.scheme === 'file' && this.catalog.mayChangeRuns('deleted', uri.fsPath)) hint();
      }),
      vscode.workspace.onDidChangeWorkspaceFolders(hint),
      this.rescanSoon,
      this.changeEmitter,
    );
  }

  /** Resolves once the first scan has finished, runs' info included; starts it if nothing has yet. */
  whenScanned(): Promise<void> {
    this.firstScan ??= this.refresh(false);
    return this.firstScan;
  }

  /**
   * Resolves once the first scan knows which runs exist (they may still be `loading`); starts it if
   * nothing has yet. The Runs view waits for this rather than briefly claiming there are no runs.
   */
  whenFound(): Promise<void> {
    void this.whenScanned();
    return this.firstFind;
  }

  /**
   * Rescans the workspace. Runs whose manifest changed (or that failed before) are reloaded; with
   * `reloadAll`, every run is. Never rejects: a failed scan is logged and leaves the index as it was.
   */
  refresh(reloadAll: boolean): Promise<void> {
    const done = this.scans.request(reloadAll).catch((err: unknown) => {
      this.log.error(`Scanning the workspace for runs failed: ${toErrorInfo(err).message}`);
      this.resolveFirstFind();
    });
    this.firstScan ??= done;
    return done;
  }

  get runs(): readonly RunEntry[] {
    return this.catalog.entries();
  }

  get(runDir: string): RunEntry | undefined {
    return this.catalog.get(runDir);
  }

  private scan(reloadAll: boolean): Promise<void> {
    if (this.disposed) {
      this.resolveFirstFind();
      return Promise.resolve();
    }
    // Shown as the progress bar on top of the Runs view, and only there.
    return Promise.resolve(vscode.window.withProgress({ location: { viewId: RUNS_VIEW_ID } }, () => this.scanNow(reloadAll)));
  }

  private async scanNow(reloadAll: boolean): Promise<void> {
    const uris = await vscode.workspace.findFiles(MANIFEST_GLOB, SCAN_EXCLUDE);
    // The engine reads runs with Node's fs, so only runs on the extension host's own disk qualify.
    const manifests = uris.filter((uri) => uri.scheme === 'file');
    const found = await Promise.all(manifests.map((uri) => this.findManifest(uri)));
    if (this.disposed) return;
    const { toLoad, changed } = this.catalog.reconcile(found, reloadAll);
    this.resolveFirstFind();
    if (changed) this.changeEmitter.fire();
    await forEachWithConcurrency(toLoad, LOAD_CONCURRENCY, (dir) => this.load(dir));
  }

  private async findManifest(uri: vscode.Uri): Promise<FoundManifest> {
    const dir = path.dirname(uri.fsPath);
    try {
      const stat = await vscode.workspace.fs.stat(uri);
      return { dir, stamp: `${stat.mtime}:${stat.size}` };
    } catch {
      // Deleted between the search and now, or unreadable: loading it reports which.
      return { dir, stamp: undefined };
    }
  }

  private async load(dir: string): Promise<void> {
    const token = this.catalog.beginLoad(dir);
    if (token === undefined) return;
    let applied: boolean;
    try {
      const info = await this.loadRunInfo(dir);
      applied = this.catalog.finishLoad(dir, token, { kind: 'loaded', info });
    } catch (err) {
      const error = toErrorInfo(err);
      applied = this.catalog.finishLoad(dir, token, { kind: 'failed', error });
      if (applied && !this.disposed) this.log.warn(`Run ${dir} could not be read (${error.code}): ${formatError(error)}`);
    }
    if (applied && !this.disposed) this.changeEmitter.fire();
  }

  dispose(): void {
    this.disposed = true;
    for (const d of this.disposables) d.dispose();
  }
}

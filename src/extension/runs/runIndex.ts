// Every run in the workspace: the folders holding a cnnslicer.json, each with its info as the engine
// read it, or the reason it could not. File system events are only hints (they are dropped, merged or
// reordered under load, and missed for network drives): a change to a known run's manifest, or a new
// epoch folder in it, schedules a check of that run alone; anything else schedules a full rescan.
// Either way the manifest's stamp decides what to reload, and the engine reads only what the
// manifest names, so a half-written epoch is never shown as finished. Runs still training are
// *live* (runLiveness.ts); their manifests are also polled, because watchers can miss events.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { formatError, toErrorInfo } from '../../shared/errors';
import { MANIFEST_FILE, type RunInfo } from '../../shared/runFormat';
import { RUNS_VIEW_ID } from '../commandIds';
import { RunCatalog, runEntryLabel, SCAN_EXCLUDED_FOLDERS, type FoundManifest, type RunEntry, type RunState } from './runCatalog';
import { RunLiveness } from './runLiveness';
import { CoalescingRunner, Debouncer, forEachWithConcurrency } from '../scheduling';

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
/**
 * A known run's manifest changed: only that run is reread, so the wait can be short. The writer's
 * temp-file-and-rename burst lasts milliseconds; this keeps a new epoch well within 2 s of the
 * rename on screen (bench/liveRefresh.ts measures it).
 */
const RUN_CHECK_DELAY_MS = 100;
/** How often live runs' manifests are stat'ed, for the events a watcher misses (network drives, containers). */
const LIVE_POLL_MS = 5_000;
/** Past a live run's expiry, so the re-evaluation finds it expired rather than a millisecond short. */
const EXPIRY_SLACK_MS = 50;

/** What an onDidChange reports. */
export interface RunIndexChange {
  /**
   * Runs whose entry changed in place: same label, so same position in the sorted list. Absent when
   * runs appeared, left, or may have moved (a run's name became known), which needs a full redraw.
   */
  readonly runs?: readonly string[];
}

function epochFolderOf(runDir: string, changedPath: string): boolean {
  const parts = path.relative(runDir, changedPath).split(path.sep);
  return parts[0] === 'epochs' && parts.length >= 2 && /^epoch-\d+$/.test(parts[1]);
}

/** Whether a reload found the run as it was: then nothing is announced and the old objects stay. */
function sameState(a: RunState, b: RunState): boolean {
  if (a.kind === 'loaded' && b.kind === 'loaded') return a.info === b.info;
  if (a.kind === 'failed' && b.kind === 'failed') return a.error.code === b.error.code && a.error.message === b.error.message && a.error.file === b.error.file;
  return false;
}

export type LoadRunInfo = (runDir: string) => Promise<RunInfo>;

export class RunIndex implements vscode.Disposable {
  private readonly catalog = new RunCatalog();
  private readonly changeEmitter = new vscode.EventEmitter<RunIndexChange>();
  /** Fires when a run appears, disappears, or its info or error changes. */
  readonly onDidChange = this.changeEmitter.event;
  private readonly livenessEmitter = new vscode.EventEmitter<readonly string[]>();
  /** Fires with the runs that became live or stopped being live, when nothing else of them changed. */
  readonly onDidChangeLiveness = this.livenessEmitter.event;
  private readonly liveness = new RunLiveness();
  /** The runs last announced as live, to tell which flipped. */
  private announcedLive = new Set<string>();
  /** Manifest modification times from the latest stat: a run seen for the first time is live only if it changed recently. */
  private readonly manifestTimes = new Map<string, number>();
  private readonly runChecks = new Map<string, Debouncer>();
  /** Runs whose next check reloads them even if the manifest is unchanged: an epoch folder appeared. */
  private readonly forcedChecks = new Set<string>();
  private expiryTimer: ReturnType<typeof setTimeout> | undefined;
  private pollTimer: ReturnType<typeof setInterval> | undefined;
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
    const manifestHint = (uri: vscode.Uri): void => {
      const dir = uri.scheme === 'file' ? path.dirname(uri.fsPath) : undefined;
      if (dir !== undefined && this.catalog.get(dir) !== undefined) this.checkRunSoon(dir, false);
      else hint();
    };
    this.disposables.push(
      watcher,
      watcher.onDidCreate(manifestHint),
      watcher.onDidChange(manifestHint),
      watcher.onDidDelete(hint),
      folders,
      folders.onDidCreate((uri) => {
        if (uri.scheme !== 'file') return;
        if (this.catalog.mayChangeRuns('created', uri.fsPath)) return hint();
        // An epoch being written: shown as such, and a sign of life, before its manifest entry.
        const run = this.catalog.runContaining(uri.fsPath);
        if (run !== undefined && epochFolderOf(run, uri.fsPath)) this.checkRunSoon(run, true);
      }),
      folders.onDidDelete((uri) => {
        if (uri.scheme === 'file' && this.catalog.mayChangeRuns('deleted', uri.fsPath)) hint();
      }),
      vscode.workspace.onDidChangeWorkspaceFolders(hint),
      this.rescanSoon,
      this.changeEmitter,
      this.livenessEmitter,
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
    return this.catalog.entries().map((entry) => this.withLiveness(entry));
  }

  get(runDir: string): RunEntry | undefined {
    const entry = this.catalog.get(runDir);
    return entry !== undefined ? this.withLiveness(entry) : undefined;
  }

  private withLiveness(entry: RunEntry): RunEntry {
    return { ...entry, liveness: this.liveness.status(entry.dir) };
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
    if (changed) {
      this.forgetRunsNotIndexed();
      this.changeEmitter.fire({});
    }
    await forEachWithConcurrency(toLoad, LOAD_CONCURRENCY, (dir) => this.load(dir));
  }

  private forgetRunsNotIndexed(): void {
    const dirs = new Set(this.catalog.entries().map((e) => e.dir));
    this.liveness.retainOnly(dirs);
    for (const dir of [...this.manifestTimes.keys()]) if (!dirs.has(dir)) this.manifestTimes.delete(dir);
    for (const [dir, check] of [...this.runChecks]) {
      if (dirs.has(dir)) continue;
      check.dispose();
      this.runChecks.delete(dir);
      this.forcedChecks.delete(dir);
    }
    this.announceLiveness(undefined);
  }

  /** A hint that one known run changed; `force` rereads it even if its manifest did not change. */
  private checkRunSoon(dir: string, force: boolean): void {
    if (this.disposed) return;
    if (force) this.forcedChecks.add(dir);
    let check = this.runChecks.get(dir);
    if (check === undefined) {
      check = new Debouncer(RUN_CHECK_DELAY_MS, () => {
        this.checkRun(dir).catch((err: unknown) => this.log.warn(`Checking run ${dir} failed: ${toErrorInfo(err).message}`));
      });
      this.runChecks.set(dir, check);
    }
    check.trigger();
  }

  /** Rereads one run if its manifest's stamp changed (or a check was forced); a vanished manifest takes a full rescan. */
  private async checkRun(dir: string): Promise<void> {
    const forced = this.forcedChecks.delete(dir);
    if (this.disposed || this.catalog.get(dir) === undefined) return;
    const found = await this.findManifest(vscode.Uri.file(path.join(dir, MANIFEST_FILE)));
    if (found.stamp === undefined) return this.rescanSoon.trigger();
    if (this.catalog.restamp(dir, found.stamp) || forced) await this.load(dir);
  }

  private async findManifest(uri: vscode.Uri): Promise<FoundManifest> {
    const dir = path.dirname(uri.fsPath);
    try {
      const stat = await vscode.workspace.fs.stat(uri);
      this.manifestTimes.set(dir, stat.mtime);
      return { dir, stamp: `${stat.mtime}:${stat.size}` };
    } catch {
      // Deleted between the search and now, or unreadable: loading it reports which.
      return { dir, stamp: undefined };
    }
  }

  private async load(dir: string): Promise<void> {
    const token = this.catalog.beginLoad(dir);
    if (token === undefined) return;
    let state: Exclude<RunState, { kind: 'loading' }>;
    try {
      state = { kind: 'loaded', info: await this.loadRunInfo(dir) };
    } catch (err) {
      state = { kind: 'failed', error: toErrorInfo(err) };
    }
    const before = this.catalog.get(dir);
    // A reread that found nothing new keeps the old info object: views compare by identity and stay put.
    if (before?.state.kind === 'loaded' && state.kind === 'loaded' && JSON.stringify(before.state.info) === JSON.stringify(state.info)) state = before.state;
    if (!this.catalog.finishLoad(dir, token, state) || this.disposed) return;
    if (state.kind === 'failed') this.log.warn(`Run ${dir} could not be read (${state.error.code}): ${formatError(state.error)}`);
    if (state.kind === 'loaded') {
      const { manifest, incompleteEpochs } = state.info;
      this.liveness.observe(dir, {
        complete: manifest.complete === true,
        epochs: manifest.epochs.map((e) => e.epoch),
        incompleteEpochs,
        manifestModifiedMs: this.manifestTimes.get(dir),
      });
    }
    const changed = before === undefined || !sameState(before.state, state);
    if (changed) this.changeEmitter.fire(before !== undefined && runEntryLabel(before) === runEntryLabel({ dir, state }) ? { runs: [dir] } : {});
    this.announceLiveness(changed ? dir : undefined);
  }

  /**
   * Tells which runs became live or stopped being live since last told (leaving out a run whose
   * change was just announced, or that left the index: listeners reread those anyway), and sets the
   * timers that only run while some run is live: the expiry of the soonest to go quiet, and the
   * poll of their manifests.
   */
  private announceLiveness(justChanged: string | undefined): void {
    if (this.disposed) return;
    const live = new Set(this.liveness.liveRuns());
    const flipped = [...new Set([...live, ...this.announcedLive])].filter(
      (dir) => live.has(dir) !== this.announcedLive.has(dir) && dir !== justChanged && this.catalog.get(dir) !== undefined,
    );
    this.announcedLive = live;
    if (flipped.length > 0) this.livenessEmitter.fire(flipped);

    if (this.expiryTimer !== undefined) clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    const expiry = this.liveness.nextExpiry();
    if (expiry !== undefined) this.expiryTimer = setTimeout(() => this.announceLiveness(undefined), Math.max(0, expiry - Date.now()) + EXPIRY_SLACK_MS);
    if (live.size > 0 && this.pollTimer === undefined) {
      this.pollTimer = setInterval(() => {
        for (const dir of this.liveness.liveRuns())
          this.checkRun(dir).catch((err: unknown) => this.log.warn(`Checking run ${dir} failed: ${toErrorInfo(err).message}`));
      }, LIVE_POLL_MS);
    } else if (live.size === 0 && this.pollTimer !== undefined) {
      clearInterval(this.pollTimer);
      this.pollTimer = undefined;
    }
  }

  dispose(): void {
    this.disposed = true;
    if (this.expiryTimer !== undefined) clearTimeout(this.expiryTimer);
    if (this.pollTimer !== undefined) clearInterval(this.pollTimer);
    for (const check of this.runChecks.values()) check.dispose();
    this.runChecks.clear();
    for (const d of this.disposables) d.dispose();
  }
}

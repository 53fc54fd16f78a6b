// One open view: a webview panel showing some runs. It loads the view's bundle under a strict CSP,
// answers the view's requests (engine methods are forwarded to the engine, with cancellation and
// progress; the few host methods are answered here), and pushes an update whenever one of its runs
// changes on disk, so a view follows a training run epoch by epoch.
import * as vscode from 'vscode';
import type { EngineMethod, EngineParams } from '../../shared/engineProtocol';
import { CnnSlicerError, formatError, toErrorInfo } from '../../shared/errors';
import type { ExportFormat } from '../../shared/exportProtocol';
import type { LinkedSelection, SelectionSource } from '../../shared/linkedSelection';
import { describeValue, parseRequestParams, parseWebviewMessage, requestedRun, type Parsed } from '../../shared/messageValidation';
import type { RunInfo } from '../../shared/runFormat';
import {
  HOST_METHODS,
  MAX_VIEW_RUNS,
  VIEW_TYPES,
  type HostMethod,
  type HostToWebview,
  type PanelRun,
  type ViewName,
  type ViewUpdate,
  type WebviewMethod,
  type WebviewParams,
  type WebviewResult,
} from '../../shared/webviewProtocol';
import type { RunEntry } from '../runs/runCatalog';
import type { EngineProgress, PanelHost } from './panelHost';
import { ExportExchange, type ExportablePanel, type ExportFile } from './viewExport';
import { createNonce, webviewDocument } from './webviewHtml';

/** What distinguishes one view from another; everything else is ViewPanel's. */
export interface ViewKind<S> {
  /** The folder of its bundle under webview/ and dist/webview/, and the key of its VIEW_TYPES entry. */
  readonly name: ViewName;
  /** The tab title for these runs; plain text. */
  title(runs: readonly PanelRun[]): string;
  /** Checks a selection restored from saved state. */
  parseSelection(value: unknown): Parsed<S>;
  /** The selection of a new panel on `runs`. */
  initialSelection(runs: readonly string[]): S;
}

const HOST_METHOD_SET: ReadonlySet<string> = new Set<HostMethod>(HOST_METHODS);

function isHostMethod(method: WebviewMethod): method is HostMethod {
  return HOST_METHOD_SET.has(method);
}

function panelRunOf(entry: RunEntry): PanelRun {
  switch (entry.state.kind) {
    case 'loaded':
      return { dir: entry.dir, state: 'loaded', info: entry.state.info };
    case 'failed':
      return { dir: entry.dir, state: 'failed', error: entry.state.error };
    case 'loading':
      return { dir: entry.dir, state: 'loading' };
  }
}

function samePanelRun(a: PanelRun | undefined, b: PanelRun): boolean {
  if (a === undefined || a.state !== b.state) return false;
  if (a.state === 'loaded' && b.state === 'loaded') return a.info === b.info;
  if (a.state === 'failed' && b.state === 'failed')
    return a.error.code === b.error.code && a.error.message === b.error.message && a.error.file === b.error.file;
  return true;
}

export class ViewPanel<S> implements vscode.Disposable, ExportablePanel {
  private readonly order: string[] = [];
  private readonly runs = new Map<string, PanelRun>();
  /**
   * A selection a command asked for that the view has not received yet. Only commands set one: after
   * a reload the view's own saved selection (where the user left the slider) is newer than anything
   * the host knows.
   */
  private pendingSelection: S | undefined;
  /** A linked selection (another view's or the tree's choice) not delivered yet: the view was hidden. */
  private pendingLinked: LinkedSelection | undefined;
  /** What this view published last, so the hub's echo of it is not sent back. */
  private published: LinkedSelection | undefined;
  /** Messages are only posted once the view's script listens; before that they would be lost. */
  private ready = false;
  private readonly inFlight = new Map<number, AbortController>();
  private readonly disposables: vscode.Disposable[] = [];
  private readonly disposeEmitter = new vscode.EventEmitter<void>();
  readonly onDidDispose = this.disposeEmitter.event;
  private disposed = false;
  private readonly exports = new ExportExchange();
  private readonly exportAskedEmitter = new vscode.EventEmitter<void>();
  /** The user pressed the view's Export button (ViewPanels runs the export). */
  readonly onDidAskExport = this.exportAskedEmitter.event;

  constructor(
    readonly kind: ViewKind<S>,
    readonly panel: vscode.WebviewPanel,
    private readonly host: PanelHost,
    runs: readonly string[],
    /** What a new view shows first; undefined for a restored view, which has its saved selection. */
    initialSelection: S | undefined,
  ) {
    this.pendingSelection = initialSelection;
    const webview = panel.webview;
    webview.options = {
      enableScripts: true,
      // The bundles and the extension's media, nothing else of the disk.
      localResourceRoots: [vscode.Uri.joinPath(host.extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(host.extensionUri, 'media')],
    };
    this.disposables.push(
      webview.onDidReceiveMessage((raw: unknown) => this.onMessage(raw)),
      panel.onDidDispose(() => this.dispose()),
      host.runIndex.onDidChange(() => this.followIndex()),
      host.selections.onDidSelect((selection) => this.followLinked(selection)),
    );
    this.addRunDirs(runs);
    // After the runs: the document carries them (and the selection asked for), so the view can ask
    // for its data as soon as its script runs, without waiting for the answer to `ready`.
    webview.html = this.html();
  }

  get viewType(): string {
    return VIEW_TYPES[this.kind.name];
  }

  /** The runs shown, in the order they were added. */
  get runDirs(): readonly string[] {
    return this.order;
  }

  /** The view's export file of what it shows now (viewExport.ts); rejects with the view's reason when it has none. */
  exportContent(format: ExportFormat, lightBackground: boolean): Promise<ExportFile> {
    if (this.disposed) return Promise.reject(new CnnSlicerError('cancelled', 'the view was closed'));
    if (!this.ready) return Promise.reject(new CnnSlicerError('incomplete', 'the view is still loading; export again once it shows its figure'));
    return this.exports.request((message) => this.panel.webview.postMessage(message), format, lightBackground);
  }

  /** Brings the panel forward and, with a selection, makes the view show it. */
  reveal(options: { selection?: S; column?: vscode.ViewColumn; preserveFocus?: boolean } = {}): void {
    this.panel.reveal(options.column, options.preserveFocus);
    if (options.selection !== undefined) {
      this.pendingSelection = options.selection;
      this.postPendingSelection();
    }
  }

  /** Sends the pending selection; it stays pending until delivered (a hidden view gets it when shown again). */
  private postPendingSelection(): void {
    const selection = this.pendingSelection;
    if (selection === undefined || this.disposed || !this.ready) return;
    this.panel.webview.postMessage({ type: 'update', update: { kind: 'selection', selection } } satisfies HostToWebview<S>).then(
      (delivered) => {
        if (delivered && this.pendingSelection === selection) this.pendingSelection = undefined;
      },
      (err: unknown) => this.host.log.warn(`${this.kind.name} view: posting the selection failed: ${formatError(toErrorInfo(err))}`),
    );
  }

  /** Relays another view's (or the tree's) choice to this view when it concerns one of its runs. */
  private followLinked(selection: LinkedSelection): void {
    if (selection === this.published || !this.runs.has(selection.run)) return;
    this.pendingLinked = selection;
    this.postPendingLinked();
  }

  private postPendingLinked(): void {
    const selection = this.pendingLinked;
    if (selection === undefined || this.disposed || !this.ready) return;
    this.panel.webview.postMessage({ type: 'update', update: { kind: 'linked', selection } } satisfies HostToWebview<S>).then(
      (delivered) => {
        if (delivered && this.pendingLinked === selection) this.pendingLinked = undefined;
      },
      (err: unknown) => this.host.log.warn(`${this.kind.name} view: posting a linked selection failed: ${formatError(toErrorInfo(err))}`),
    );
  }

  /** Adds runs not shown yet (up to MAX_VIEW_RUNS); returns those added. */
  addRunDirs(dirs: readonly string[]): string[] {
    const added: string[] = [];
    for (const dir of dirs) {
      if (this.runs.has(dir) || this.order.length >= MAX_VIEW_RUNS) continue;
      this.order.push(dir);
      added.push(dir);
      const entry = this.host.runIndex.get(dir);
      this.runs.set(dir, entry !== undefined ? panelRunOf(entry) : { dir, state: 'loading' });
      // A run outside the workspace is not indexed: the engine reads it once here.
      if (entry === undefined) void this.loadOutsideIndex(dir);
    }
    if (added.length > 0) this.runsChanged();
    return added;
  }

  removeRunDir(dir: string): boolean {
    const at = this.order.indexOf(dir);
    if (at < 0 || this.order.length === 1) return false;
    this.order.splice(at, 1);
    this.runs.delete(dir);
    this.runsChanged();
    return true;
  }

  private async loadOutsideIndex(dir: string): Promise<void> {
    let next: PanelRun;
    try {
      const info: RunInfo = await this.host.loadRunInfo(dir);
      next = { dir, state: 'loaded', info };
    } catch (err) {
      next = { dir, state: 'failed', error: toErrorInfo(err) };
    }
    if (this.disposed || !this.runs.has(dir)) return;
    this.runs.set(dir, next);
    this.runsChanged();
  }

  private followIndex(): void {
    let changed = false;
    for (const dir of this.order) {
      const entry = this.host.runIndex.get(dir);
      // A run outside the index keeps what it was loaded as; one that left the index (deleted) too,
      // so the view can still show what was on screen.
      if (entry === undefined) continue;
      const next = panelRunOf(entry);
      if (samePanelRun(this.runs.get(dir), next)) continue;
      this.runs.set(dir, next);
      changed = true;
    }
    if (changed) this.postRuns();
  }

  private runsChanged(): void {
    this.panel.title = this.kind.title(this.panelRuns());
    this.postRuns();
  }

  private panelRuns(): PanelRun[] {
    return this.order.map((dir) => this.runs.get(dir) ?? { dir, state: 'loading' });
  }

  private postRuns(): void {
    this.post({ type: 'update', update: { kind: 'runs', runs: this.panelRuns() } });
  }

  private html(): string {
    const webview = this.panel.webview;
    const bundle = vscode.Uri.joinPath(this.host.extensionUri, 'dist', 'webview', this.kind.name);
    const shared = vscode.Uri.joinPath(this.host.extensionUri, 'dist', 'webview', 'shared');
    return webviewDocument({
      cspSource: webview.cspSource,
      nonce: createNonce(),
      title: this.kind.title(this.panelRuns()),
      styles: [
        webview.asWebviewUri(vscode.Uri.joinPath(shared, 'style.css')).toString(),
        webview.asWebviewUri(vscode.Uri.joinPath(bundle, 'style.css')).toString(),
      ],
      script: webview.asWebviewUri(vscode.Uri.joinPath(bundle, 'main.js')).toString(),
      initialUpdates: [
        ...(this.pendingSelection !== undefined ? [{ kind: 'selection', selection: this.pendingSelection } satisfies ViewUpdate<S>] : []),
        { kind: 'runs', runs: this.panelRuns() } satisfies ViewUpdate<S>,
      ],
    });
  }

  private post(message: HostToWebview<S>): void {
    if (this.disposed || !this.ready) return;
    this.panel.webview.postMessage(message).then(
      (delivered) => {
        // False when the view is hidden and not retained: it reloads on show, says `ready` and gets the state again.
        if (!delivered) this.host.log.debug(`${this.kind.name} view: a ${message.type} message was not delivered (view hidden)`);
      },
      (err: unknown) => this.host.log.warn(`${this.kind.name} view: posting a ${message.type} message failed: ${formatError(toErrorInfo(err))}`),
    );
  }

  private drop(reason: string): void {
    this.host.log.warn(`${this.kind.name} view: dropped a message from the view: ${reason}`);
  }

  private onMessage(raw: unknown): void {
    const parsed = parseWebviewMessage(raw);
    if (!parsed.ok) return this.drop(parsed.reason);
    const message = parsed.value;
    switch (message.type) {
      case 'ready':
        // Also after the view reloaded (moved to another group, the window reloaded): it starts from its saved state.
        this.ready = true;
        // The selection first: a view given its runs first would ask for the data of its default
        // choice (the first layer), then again for the one asked for.
        this.postPendingSelection();
        this.postRuns();
        this.postPendingLinked();
        return;
      case 'cancel':
        this.inFlight.get(message.id)?.abort();
        return;
      case 'log':
        this.host.log[message.level](`${this.kind.name} view: ${message.message}`);
        return;
      case 'select':
        // A view speaks only for its own runs.
        if (!this.runs.has(message.selection.run))
          return this.drop(`a selection of the run ${describeValue(message.selection.run)}, which the view does not show`);
        this.published = message.selection;
        this.host.selections.select(message.selection, this.kind.name satisfies SelectionSource);
        return;
      case 'exportAsked':
        this.exportAskedEmitter.fire();
        return;
      case 'exportContent':
        this.exports.settle(message);
        return;
      case 'request': {
        if (this.inFlight.has(message.id)) return this.drop(`request id ${message.id} is already in flight`);
        const params = parseRequestParams(message.method, message.params);
        if (!params.ok) return this.drop(`request ${message.id} (${message.method}): ${params.reason}`);
        void this.answer(message.id, message.method, params.value);
        return;
      }
    }
  }

  private async answer<M extends WebviewMethod>(id: number, method: M, params: WebviewParams<M>): Promise<void> {
    const abort = new AbortController();
    this.inFlight.set(id, abort);
    try {
      const result = await this.dispatch(method, params, abort.signal, (progress) => this.post({ type: 'progress', id, progress }));
      this.post({ type: 'response', id, ok: true, result });
    } catch (err) {
      const error = toErrorInfo(err);
      if (error.code !== 'cancelled') this.host.log.warn(`${this.kind.name} view: ${method} failed (${error.code}): ${formatError(error)}`);
      this.post({ type: 'response', id, ok: false, error });
    } finally {
      this.inFlight.delete(id);
    }
  }

  private async dispatch<M extends WebviewMethod>(
    method: M,
    params: WebviewParams<M>,
    signal: AbortSignal,
    onProgress: EngineProgress,
  ): Promise<WebviewResult<M>> {
    if (isHostMethod(method)) return (await this.hostMethod(method, params as WebviewParams<HostMethod>)) as WebviewResult<M>;
    const run = requestedRun(params);
    // A view reads only the runs it shows: it cannot make the engine open any path on the disk.
    if (run === undefined || !this.runs.has(run)) throw new CnnSlicerError('bad-request', `the view does not show the run ${describeValue(run)}`);
    const engineMethod: EngineMethod = method;
    return (await this.host.engine().request(engineMethod, params as EngineParams<typeof engineMethod>, { signal, onProgress })) as WebviewResult<M>;
  }

  private async hostMethod(method: HostMethod, params: WebviewParams<HostMethod>): Promise<WebviewResult<HostMethod>> {
    switch (method) {
      case 'addRuns': {
        const picked = await this.host.pickRuns({ title: 'CNNSlicer: Add Runs to the View', exclude: this.order });
        return { added: this.addRunDirs(picked) };
      }
      case 'removeRun':
        return { removed: this.removeRunDir((params as WebviewParams<'removeRun'>).run) };
      case 'showRunSummary': {
        const run = (params as WebviewParams<'showRunSummary'>).run;
        const shown = this.runs.get(run);
        if (shown?.state !== 'loaded') throw new CnnSlicerError('bad-request', `the view shows no loaded run ${describeValue(run)}`);
        await this.host.showRunSummary(shown.info);
        return {};
      }
      case 'query': {
        const selection = params as WebviewParams<'query'>;
        const shown = this.runs.get(selection.run);
        if (shown?.state !== 'loaded') throw new CnnSlicerError('bad-request', `the view shows no loaded run ${describeValue(selection.run)}`);
        // The target view is opened first, so a view created for this query hears the selection too.
        const result = await this.host.openQueryTarget(shown.info, selection);
        this.published = selection;
        this.host.selections.select(selection, this.kind.name satisfies SelectionSource);
        return result;
      }
      case 'revealSource': {
        const { run, layer } = params as WebviewParams<'revealSource'>;
        const shown = this.runs.get(run);
        if (shown?.state !== 'loaded') throw new CnnSlicerError('bad-request', `the view shows no loaded run ${describeValue(run)}`);
        return this.host.revealSource(shown.info, layer, this.panel.viewColumn);
      }
      case 'openInfoPlane': {
        const { run, ...choice } = params as WebviewParams<'openInfoPlane'>;
        const shown = this.runs.get(run);
        if (shown?.state !== 'loaded') throw new CnnSlicerError('bad-request', `the view shows no loaded run ${describeValue(run)}`);
        this.host.openInfoPlane(shown.info, choice);
        return {};
      }
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const abort of this.inFlight.values()) abort.abort();
    this.inFlight.clear();
    this.exports.dispose();
    this.exportAskedEmitter.dispose();
    for (const d of this.disposables) d.dispose();
    this.disposables.length = 0;
    this.panel.dispose();
    this.disposeEmitter.fire();
    this.disposeEmitter.dispose();
  }
}

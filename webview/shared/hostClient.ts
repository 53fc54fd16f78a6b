// The view's side of the host ↔ webview protocol (src/shared/webviewProtocol.ts): typed requests
// matched to their responses by id, cancellation through AbortSignal, progress, pushed updates, and
// the state VS Code keeps for the view across reloads.
import type { ProgressInfo } from '../../src/shared/engineProtocol';
import type { ErrorInfo } from '../../src/shared/errors';
import { parseExportRequest, type ExportContent, type ExportRequest } from '../../src/shared/exportProtocol';
import type { LinkedSelection } from '../../src/shared/linkedSelection';
import { parsePersistedState, type Parsed } from '../../src/shared/messageValidation';
import {
  INITIAL_UPDATES_ELEMENT_ID,
  PERSISTED_STATE_VERSION,
  type PersistedViewState,
  type ViewUpdate,
  type WebviewLogLevel,
  type WebviewMethod,
  type WebviewParams,
  type WebviewResult,
  type WebviewToHost,
} from '../../src/shared/webviewProtocol';
import { isRecord } from '../../src/shared/parse';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState<T>(state: T): T;
}

declare function acquireVsCodeApi(): VsCodeApi;

/** A failed request: the host's or the engine's error, or `cancelled` when the view gave up on it. */
export class RequestError extends Error {
  constructor(readonly info: ErrorInfo) {
    super(info.file !== undefined ? `${info.file}: ${info.message}` : info.message);
  }

  get cancelled(): boolean {
    return this.info.code === 'cancelled';
  }
}

export interface RequestOptions {
  /** Aborting tells the host to cancel and rejects at once with a `cancelled` RequestError. */
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: ProgressInfo) => void;
}

interface Pending {
  readonly method: WebviewMethod;
  readonly resolve: (result: unknown) => void;
  readonly reject: (error: RequestError) => void;
  readonly onProgress?: (progress: ProgressInfo) => void;
  readonly detach: () => void;
}

function isErrorInfo(value: unknown): value is ErrorInfo {
  return isRecord(value) && typeof value.code === 'string' && typeof value.message === 'string';
}

/**
 * The updates the host put in the document (webviewDocument's initialUpdates); undefined when there
 * are none or they cannot be read, and then the view waits for the host's answer to `ready`.
 */
function readInitialUpdates<S>(): ViewUpdate<S>[] | undefined {
  const text = document.getElementById(INITIAL_UPDATES_ELEMENT_ID)?.textContent;
  if (text === null || text === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    if (!Array.isArray(value)) return undefined;
    return value.filter((u): u is ViewUpdate<S> => isRecord(u) && typeof u.kind === 'string');
  } catch {
    return undefined;
  }
}

export class HostClient<S> {
  private readonly api: VsCodeApi;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly updateListeners = new Set<(update: ViewUpdate<S>) => void>();
  private readonly initialUpdates: readonly ViewUpdate<S>[];
  private exportListener: ((request: ExportRequest) => void) | undefined;

  /** Call once per page: VS Code hands out its API object only once. */
  constructor() {
    this.api = acquireVsCodeApi();
    // Only a new view starts from what the host put in its document. A view with saved state was
    // reloaded (moved, or shown again): its own state is newer, and the host sends the current
    // runs after `ready` as it always does.
    const saved = this.api.getState();
    this.initialUpdates = saved === undefined || saved === null ? (readInitialUpdates<S>() ?? []) : [];
    window.addEventListener('message', (event: MessageEvent) => this.onMessage(event.data));
    // Errors inside the view would otherwise be seen only in the webview's developer tools.
    window.addEventListener('error', (event) => {
      // Chromium reports a layout that took more than one frame to settle as an error event; nothing failed.
      if (event.message.startsWith('ResizeObserver loop')) return;
      this.log('error', `uncaught: ${event.message} (${event.filename}:${event.lineno})`);
    });
    window.addEventListener('unhandledrejection', (event) => this.log('error', `unhandled rejection: ${String(event.reason)}`));
  }

  /** Tells the host the view listens; it answers with the runs and the selection. */
  ready(): void {
    this.post({ type: 'ready' });
  }

  request<M extends WebviewMethod>(method: M, params: WebviewParams<M>, options: RequestOptions = {}): Promise<WebviewResult<M>> {
    const { signal, onProgress } = options;
    return new Promise<WebviewResult<M>>((resolve, reject) => {
      if (signal?.aborted) {
        reject(new RequestError({ code: 'cancelled', message: `${method} was cancelled` }));
        return;
      }
      const id = this.nextId++;
      const onAbort = (): void => {
        if (!this.pending.delete(id)) return;
        this.post({ type: 'cancel', id });
        reject(new RequestError({ code: 'cancelled', message: `${method} was cancelled` }));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, {
        method,
        resolve: resolve as (result: unknown) => void,
        reject,
        onProgress,
        detach: () => signal?.removeEventListener('abort', onAbort),
      });
      this.post({ type: 'request', id, method, params });
    });
  }

  /**
   * Listens to the host's updates. The updates in the document come first, once the view's script
   * has run to its end: a view says `ready` last, so the requests these updates start reach the
   * host after it, when the host posts answers.
   */
  onUpdate(listener: (update: ViewUpdate<S>) => void): void {
    this.updateListeners.add(listener);
    const initial = this.initialUpdates;
    if (initial.length === 0) return;
    queueMicrotask(() => {
      for (const update of initial) if (this.updateListeners.has(listener)) listener(update);
    });
  }

  /** The state saved by the last setState of this view (also after VS Code restarted), if valid. */
  savedState(parseSelection: (value: unknown) => Parsed<S>): PersistedViewState<S> | undefined {
    const saved = this.api.getState();
    if (saved === undefined || saved === null) return undefined;
    const parsed = parsePersistedState(saved, parseSelection);
    if (!parsed.ok) {
      this.log('warn', `ignored the saved view state: ${parsed.reason}`);
      return undefined;
    }
    return parsed.value;
  }

  saveState(runs: readonly string[], selection: S): void {
    const state: PersistedViewState<S> = { version: PERSISTED_STATE_VERSION, runs, selection };
    this.api.setState(state);
  }

  /** Tells the host the user chose a layer, channel or epoch here: the other views of the run follow. */
  publish(selection: LinkedSelection): void {
    this.post({ type: 'select', selection });
  }

  /** Answers the host's export requests (webview/shared/exportView.ts installs the one listener). */
  onExportRequest(listener: (request: ExportRequest) => void): void {
    this.exportListener = listener;
  }

  /** The file an export request asked for, or why there is none. */
  postExportContent(content: ExportContent): void {
    this.post(content);
  }

  /** The view's Export button: the host asks for the format and where to save. */
  askExport(): void {
    this.post({ type: 'exportAsked' });
  }

  log(level: WebviewLogLevel, message: string): void {
    this.post({ type: 'log', level, message });
  }

  private post(message: WebviewToHost): void {
    this.api.postMessage(message);
  }

  private onMessage(data: unknown): void {
    if (!isRecord(data)) return;
    switch (data.type) {
      case 'update':
        if (!isRecord(data.update)) return;
        for (const listener of this.updateListeners) listener(data.update as ViewUpdate<S>);
        return;
      case 'progress': {
        const p = typeof data.id === 'number' ? this.pending.get(data.id) : undefined;
        if (p?.onProgress !== undefined && isRecord(data.progress)) p.onProgress(data.progress as unknown as ProgressInfo);
        return;
      }
      case 'response': {
        const id = data.id;
        const p = typeof id === 'number' ? this.pending.get(id) : undefined;
        // No entry: the view cancelled it, and the host's answer crossed the cancel.
        if (p === undefined || typeof id !== 'number') return;
        this.pending.delete(id);
        p.detach();
        if (data.ok === true) p.resolve(data.result);
        else p.reject(new RequestError(isErrorInfo(data.error) ? data.error : { code: 'internal', message: `${p.method}: malformed error response` }));
        return;
      }
      case 'exportRequest': {
        const request = parseExportRequest(data);
        if (!request.ok) return this.log('warn', `ignored an export request: ${request.reason}`);
        // A view that has no export yet says so, rather than leaving the host waiting.
        if (this.exportListener === undefined)
          return this.post({ type: 'exportContent', id: request.value.id, ok: false, message: 'This view cannot export yet.' });
        this.exportListener(request.value);
        return;
      }
      default:
        return;
    }
  }
}

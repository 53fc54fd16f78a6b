// The extension host's side of the engine: forks the engine process on demand, matches responses
// to requests, and turns every way the engine can fail (exit, crash, hang, crash loop) into a
// CnnSlicerError on the requests it affects. Deliberately free of `vscode` so mocha tests it
// directly and the command line can reuse it.
import { ENGINE_MALLOC_ENV } from '../shared/memoryTuning';
import { fork, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { parseEngineMessage, type EngineMethod, type EngineParams, type EngineResult, type HostToEngine, type ProgressInfo } from '../shared/engineProtocol';
import { CnnSlicerError } from '../shared/errors';

export type EngineState = 'idle' | 'starting' | 'running' | 'failed';
export type EngineLogLevel = 'info' | 'warn' | 'error';

export interface EngineClientOptions {
  /** The engine's entry point, normally dist/engine/main.js. */
  readonly enginePath: string;
  /** Node flags for the engine. Default none: the host's own flags (an inspector port, a loader) must not leak in. */
  readonly execArgv?: string[];
  /** Added to (not replacing) the host's environment. */
  readonly env?: NodeJS.ProcessEnv;
  /** No message from the engine for this long means it is hung: it is killed. Default 30 000. */
  readonly heartbeatTimeoutMs?: number;
  /** Default limit of one request; see request()'s `timeoutMs`. Default 600 000. */
  readonly requestTimeoutMs?: number;
  /** This many crashes within `crashWindowMs` put the client in state 'failed'. Default 3. */
  readonly maxCrashes?: number;
  /** Default 180 000. */
  readonly crashWindowMs?: number;
  /** Where the engine's stdout, stderr, log messages and the client's own diagnostics go. */
  readonly log?: (level: EngineLogLevel, message: string) => void;
}

export interface RequestOptions {
  /** Aborting it cancels the request in the engine and rejects it at once with 'cancelled'. */
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: ProgressInfo) => void;
  /** Overrides the client's requestTimeoutMs; Infinity for none. On expiry the request is cancelled and rejects with 'timeout'. */
  readonly timeoutMs?: number;
}

export interface Disposable {
  dispose(): void;
}

interface Pending {
  readonly id: number;
  readonly method: EngineMethod;
  readonly params: unknown;
  readonly resolve: (result: unknown) => void;
  readonly reject: (error: CnnSlicerError) => void;
  readonly onProgress?: (progress: ProgressInfo) => void;
  /** Whether the engine has been sent this request (requests wait for the engine's 'ready'). */
  sent: boolean;
  /** Clears the request's timer and abort listener. */
  cleanup(): void;
}

interface Engine {
  readonly child: ChildProcess;
  ready: boolean;
  /** Once set, this process no longer belongs to the client: its messages and its exit are ignored. */
  detached: boolean;
  /** performance.now() of the last message from the engine. */
  lastSeen: number;
  watchdog?: NodeJS.Timeout;
  recheck?: NodeJS.Immediate;
}

/** How long a graceful stop (IPC disconnect) may take before the engine is killed. */
const STOP_GRACE_MS = 1000;
/** setTimeout's limit; longer delays would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class EngineClient {
  private readonly enginePath: string;
  private readonly execArgv: string[];
  private readonly env: NodeJS.ProcessEnv | undefined;
  private readonly heartbeatTimeoutMs: number;
  private readonly requestTimeoutMs: number;
  private readonly maxCrashes: number;
  private readonly crashWindowMs: number;
  private readonly logSink: (level: EngineLogLevel, message: string) => void;

  private engine: Engine | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private currentState: EngineState = 'idle';
  private readonly listeners = new Set<(state: EngineState) => void>();
  /** Date.now() of recent crashes, oldest first. */
  private crashes: number[] = [];
  private failure: string | undefined;
  private disposed = false;
  private disposing: Promise<void> | undefined;

  constructor(options: EngineClientOptions) {
    this.enginePath = options.enginePath;
    this.execArgv = options.execArgv ?? [];
    this.env = options.env;
    this.heartbeatTimeoutMs = positive(options.heartbeatTimeoutMs, 30_000);
    this.requestTimeoutMs = positive(options.requestTimeoutMs, 600_000);
    this.maxCrashes = Math.max(1, Math.floor(positive(options.maxCrashes, 3)));
    this.crashWindowMs = positive(options.crashWindowMs, 180_000);
    this.logSink = options.log ?? (() => undefined);
  }

  get state(): EngineState {
    return this.currentState;
  }

  /** The engine's pid while one is started; undefined before the first request and after it stopped. */
  get pid(): number | undefined {
    return this.engine?.child.pid;
  }

  /** Why the client is in state 'failed' (the message requests are rejected with). */
  get failureMessage(): string | undefined {
    return this.failure;
  }

  onDidChangeState(listener: (state: EngineState) => void): Disposable {
    this.listeners.add(listener);
    return { dispose: () => void this.listeners.delete(listener) };
  }

  request<M extends EngineMethod>(method: M, params: EngineParams<M>, options: RequestOptions = {}): Promise<EngineResult<M>> {
    return new Promise<EngineResult<M>>((resolve, reject) => {
      if (this.disposed) {
        reject(new CnnSlicerError('engine-unavailable', 'the CNNSlicer engine client has been shut down'));
        return;
      }
      if (this.currentState === 'failed') {
        reject(new CnnSlicerError('engine-unavailable', this.failure ?? 'the CNNSlicer engine is unavailable'));
        return;
      }
      const { signal, onProgress } = options;
      if (signal?.aborted) {
        reject(cancelledError(method));
        return;
      }
      let engine: Engine;
      try {
        engine = this.ensureEngine();
      } catch (err) {
        reject(new CnnSlicerError('engine-crashed', `could not start the engine (${this.enginePath}): ${messageOf(err)}`));
        return;
      }

      const id = this.nextId++;
      const timeoutMs = options.timeoutMs ?? this.requestTimeoutMs;
      let timer: NodeJS.Timeout | undefined;
      if (Number.isFinite(timeoutMs) && timeoutMs > 0) {
        timer = setTimeout(
          () => this.abandon(id, new CnnSlicerError('timeout', `"${method}" did not finish within ${formatSeconds(timeoutMs)} and was cancelled`)),
          Math.min(timeoutMs, MAX_TIMER_MS),
        );
        timer.unref();
      }
      const onAbort = (): void => this.abandon(id, cancelledError(method));
      signal?.addEventListener('abort', onAbort, { once: true });

      const pending: Pending = {
        id,
        method,
        params,
        resolve: resolve as (result: unknown) => void,
        reject,
        onProgress,
        sent: false,
        cleanup: () => {
          if (timer !== undefined) clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        },
      };
      this.pending.set(id, pending);
      if (engine.ready) this.sendRequest(engine, pending);
    });
  }

  /** Stops the engine if one runs and forgets past crashes; the next request starts a fresh engine. */
  async restart(): Promise<void> {
    if (this.disposed) return;
    this.failAll((p) => new CnnSlicerError('cancelled', `"${p.method}" was cancelled because the engine was restarted`));
    await this.stopEngine();
    this.crashes = [];
    this.failure = undefined;
    if (!this.disposed) this.setState('idle');
  }

  /** Stops the engine and rejects everything pending with 'cancelled'. The client cannot be used afterwards. */
  dispose(): Promise<void> {
    // Every caller waits for the same stop, so none resumes while the process still exists.
    this.disposing ??= (async () => {
      this.disposed = true;
      this.failAll((p) => new CnnSlicerError('cancelled', `"${p.method}" was cancelled because the engine client was shut down`));
      await this.stopEngine();
      this.setState('idle');
      this.listeners.clear();
    })();
    return this.disposing;
  }

  private ensureEngine(): Engine {
    if (this.engine !== undefined) return this.engine;
    const env: NodeJS.ProcessEnv = { ...ENGINE_MALLOC_ENV, ...process.env, ...this.env };
    // Inside VS Code process.execPath is Electron; without this the fork would start an Electron app, not Node.
    if (process.versions.electron !== undefined) env.ELECTRON_RUN_AS_NODE = '1';
    const child = fork(this.enginePath, [], {
      execArgv: this.execArgv,
      env,
      serialization: 'advanced',
      // stdin is unused; stdout and stderr are captured for the log.
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const engine: Engine = { child, ready: false, detached: false, lastSeen: performance.now() };
    this.engine = engine;
    this.setState('starting');
    this.log('info', `engine starting (pid ${child.pid ?? '?'}): ${this.enginePath}`);

    child.on('message', (raw: unknown) => this.onMessage(engine, raw));
    child.on('exit', (code, signal) => this.onExit(engine, code, signal));
    child.on('error', (err) => {
      // A process that never spawned emits no 'exit'; anything else (a failed kill or send) is only worth a line in the log.
      if (child.pid === undefined) this.onGone(engine, `the engine process could not be started: ${err.message}`);
      else this.log('warn', `engine process error: ${err.message}`);
    });
    this.pipeLines(engine, child.stdout, 'info');
    this.pipeLines(engine, child.stderr, 'warn');
    this.armWatchdog(engine, this.heartbeatTimeoutMs);
    return engine;
  }

  private pipeLines(engine: Engine, stream: NodeJS.ReadableStream | null, level: EngineLogLevel): void {
    if (stream === null) return;
    stream.setEncoding('utf8');
    let rest = '';
    const pid = engine.child.pid ?? '?';
    stream.on('data', (chunk: string) => {
      const lines = (rest + chunk).split(/\r?\n/);
      rest = lines.pop() ?? '';
      for (const line of lines) if (line.length > 0) this.log(level, `[engine ${pid}] ${line}`);
    });
    stream.on('end', () => {
      if (rest.length > 0) this.log(level, `[engine ${pid}] ${rest}`);
      rest = '';
    });
    stream.on('error', () => undefined);
  }

  private onMessage(engine: Engine, raw: unknown): void {
    if (engine.detached) return;
    engine.lastSeen = performance.now();
    const message = parseEngineMessage(raw);
    if (message === undefined) {
      this.log('warn', `dropped a malformed message from the engine: ${summarize(raw)}`);
      return;
    }
    switch (message.type) {
      case 'ready':
        if (engine.ready) return;
        engine.ready = true;
        this.log('info', `engine ready (pid ${message.pid})`);
        this.setState('running');
        for (const p of this.pending.values()) if (!p.sent) this.sendRequest(engine, p);
        return;
      case 'heartbeat':
        return;
      case 'progress': {
        const p = this.pending.get(message.id);
        if (p?.onProgress === undefined) return;
        try {
          p.onProgress(message.progress);
        } catch (err) {
          this.log('warn', `a progress listener of "${p.method}" threw: ${messageOf(err)}`);
        }
        return;
      }
      case 'response': {
        // Unknown ids are answers to requests already given up on (cancelled, timed out).
        const p = this.pending.get(message.id);
        if (p === undefined) return;
        this.pending.delete(message.id);
        p.cleanup();
        if (message.ok) p.resolve(message.result);
        else p.reject(CnnSlicerError.fromInfo(message.error));
        return;
      }
      case 'log':
        this.log(message.level, `[engine ${engine.child.pid ?? '?'}] ${message.message}`);
        return;
    }
  }

  private sendRequest(engine: Engine, p: Pending): void {
    p.sent = true;
    const message: HostToEngine = { type: 'request', id: p.id, method: p.method, params: p.params };
    try {
      // A write error after this point means the engine is going away; its exit fails the request.
      engine.child.send(message, (err) => {
        if (err) this.log('warn', `could not send "${p.method}" to the engine: ${err.message}`);
      });
    } catch (err) {
      // Thrown synchronously when the parameters cannot be serialised (a function, a symbol…).
      this.settle(p.id, new CnnSlicerError('bad-request', `could not send "${p.method}" to the engine: ${messageOf(err)}`));
    }
  }

  /** Gives up on a request (timeout, abort): it rejects now, and the engine is told to stop working on it. */
  private abandon(id: number, error: CnnSlicerError): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    this.settle(id, error);
    const engine = this.engine;
    if (p.sent && engine !== undefined && engine.child.connected) {
      const cancel: HostToEngine = { type: 'cancel', id };
      try {
        engine.child.send(cancel, () => undefined);
      } catch {
        /* the engine is going away; nothing is left to cancel */
      }
    }
  }

  private settle(id: number, error: CnnSlicerError): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    this.pending.delete(id);
    p.cleanup();
    p.reject(error);
  }

  private failAll(errorFor: (p: Pending) => CnnSlicerError): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) {
      p.cleanup();
      p.reject(errorFor(p));
    }
  }

  /**
   * Any message counts as a sign of life. The check re-arms itself for the remaining time rather
   * than being reset per message, so a stream of progress events costs no timer churn.
   */
  private armWatchdog(engine: Engine, delayMs: number): void {
    engine.watchdog = setTimeout(
      () => {
        if (engine.detached) return;
        if (performance.now() - engine.lastSeen < this.heartbeatTimeoutMs) {
          this.armWatchdog(engine, this.heartbeatTimeoutMs - (performance.now() - engine.lastSeen) + 1);
          return;
        }
        // Timers run before I/O in the event loop: if the host itself was blocked, heartbeats may sit
        // unread in the pipe. setImmediate runs after the pending I/O has been read, so look again then.
        engine.recheck = setImmediate(() => {
          engine.recheck = undefined;
          if (engine.detached) return;
          const silentMs = performance.now() - engine.lastSeen;
          if (silentMs < this.heartbeatTimeoutMs) this.armWatchdog(engine, this.heartbeatTimeoutMs - silentMs + 1);
          else this.onHung(engine);
        });
      },
      Math.min(Math.max(1, delayMs), MAX_TIMER_MS),
    );
    engine.watchdog.unref();
  }

  private onHung(engine: Engine): void {
    const reason = `engine stopped answering (no heartbeat for ${formatSeconds(this.heartbeatTimeoutMs)})`;
    this.log('error', `${reason}; killing pid ${engine.child.pid ?? '?'}`);
    this.detach(engine);
    try {
      engine.child.kill('SIGKILL');
    } catch (err) {
      this.log('error', `could not kill the hung engine: ${messageOf(err)}`);
    }
    this.failAll((p) => new CnnSlicerError('engine-crashed', `${reason} while handling "${p.method}"; it was killed and restarts on the next request`));
    this.recordCrash(reason);
  }

  private onExit(engine: Engine, code: number | null, signal: NodeJS.Signals | null): void {
    if (engine.detached) return;
    const how = signal !== null ? `signal ${signal}` : `code ${code ?? '?'}`;
    this.onGone(engine, `the engine process exited (${how})`, code === 0 && signal === null);
  }

  /** The current engine went away on its own. */
  private onGone(engine: Engine, reason: string, clean = false): void {
    if (engine.detached) return;
    const wasReady = engine.ready;
    this.detach(engine);
    const affected = this.pending.size;
    this.failAll(
      (p) => new CnnSlicerError('engine-crashed', p.sent ? `${reason} while handling "${p.method}"` : `${reason} before it could handle "${p.method}"`),
    );
    if (clean && affected === 0 && wasReady) {
      this.log('info', `${reason}`);
      this.setState('idle');
      return;
    }
    this.log('error', `${reason}${affected > 0 ? `; ${affected} request(s) failed` : ''}`);
    this.recordCrash(reason);
  }

  private detach(engine: Engine): void {
    engine.detached = true;
    clearTimeout(engine.watchdog);
    clearImmediate(engine.recheck);
    if (this.engine === engine) this.engine = undefined;
  }

  private recordCrash(reason: string): void {
    if (this.disposed) return;
    const now = Date.now();
    this.crashes = this.crashes.filter((t) => now - t < this.crashWindowMs);
    this.crashes.push(now);
    if (this.crashes.length >= this.maxCrashes) {
      this.failure =
        `The CNNSlicer engine crashed ${this.crashes.length} times in ${formatSpan(this.crashWindowMs)}; last: ${reason}. ` +
        `Run 'CNNSlicer: Restart Engine' after fixing the cause; see the CNNSlicer output channel.`;
      this.log('error', this.failure);
      this.setState('failed');
    } else {
      this.setState('idle');
    }
  }

  /** Detaches the current engine and waits until its process is gone: asked to leave first, then killed. */
  private async stopEngine(): Promise<void> {
    const engine = this.engine;
    if (engine === undefined) return;
    this.detach(engine);
    const { child } = engine;
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // The engine exits by itself when its IPC channel closes, after closing its open runs.
    try {
      if (child.connected) child.disconnect();
    } catch {
      /* already disconnecting */
    }
    if (await settlesWithin(exited, STOP_GRACE_MS)) return;
    this.log('warn', `engine (pid ${child.pid}) did not exit within ${formatSeconds(STOP_GRACE_MS)} of being asked to; killing it`);
    try {
      child.kill('SIGKILL');
    } catch (err) {
      this.log('error', `could not kill the engine: ${messageOf(err)}`);
      return;
    }
    if (!(await settlesWithin(exited, 5000))) this.log('error', `engine (pid ${child.pid}) still has not exited after SIGKILL`);
  }

  private setState(state: EngineState): void {
    if (this.currentState === state) return;
    this.currentState = state;
    for (const listener of [...this.listeners]) {
      try {
        listener(state);
      } catch (err) {
        this.log('warn', `an engine state listener threw: ${messageOf(err)}`);
      }
    }
  }

  private log(level: EngineLogLevel, message: string): void {
    try {
      this.logSink(level, message);
    } catch {
      /* a broken log sink must not break the client */
    }
  }
}

function positive(value: number | undefined, fallback: number): number {
  return value !== undefined && value > 0 ? value : fallback;
}

function cancelledError(method: EngineMethod): CnnSlicerError {
  return new CnnSlicerError('cancelled', `"${method}" was cancelled`);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** `30 s`, `1.5 s`. */
function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(ms < 10_000 ? 1 : 0))} s`;
}

/** `3 minutes`, `1 minute`, `2.5 seconds`: for sentences shown to users. */
function formatSpan(ms: number): string {
  if (ms >= 60_000 && ms % 60_000 === 0) {
    const m = ms / 60_000;
    return `${m} minute${m === 1 ? '' : 's'}`;
  }
  const s = Number((ms / 1000).toFixed(1));
  return `${s} second${s === 1 ? '' : 's'}`;
}

function summarize(raw: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(raw) ?? String(raw);
  } catch {
    text = Object.prototype.toString.call(raw);
  }
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

function settlesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    void promise.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

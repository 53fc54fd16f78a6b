// The engine's dispatcher: turns host messages into handler calls and handler outcomes into
// responses. It knows nothing of process IPC (main.ts supplies `send`), so it runs in-process in tests.
import { isEngineMethod, parseHostMessage, type EngineMethod, type EngineToHost } from '../shared/engineProtocol';
import { CnnSlicerError, toErrorInfo, type ErrorInfo } from '../shared/errors';
import type { Handler, Handlers, RequestContext } from './handlers';

export type SendToHost = (message: EngineToHost) => void;

export interface EngineServerOptions {
  readonly send: SendToHost;
  readonly handlers: Handlers;
  /**
   * Progress of one request goes out at most this often (the first and the final report always do),
   * so a handler may report per row without flooding the IPC channel. Default 100 ms.
   */
  readonly progressIntervalMs?: number;
}

interface InFlight {
  readonly method: EngineMethod;
  readonly controller: AbortController;
}

export class EngineServer {
  private readonly send: SendToHost;
  private readonly handlers: Handlers;
  private readonly progressIntervalMs: number;
  private readonly inFlight = new Map<number, InFlight>();

  constructor(options: EngineServerOptions) {
    this.send = options.send;
    this.handlers = options.handlers;
    this.progressIntervalMs = options.progressIntervalMs ?? 100;
  }

  /** Ids of the requests being worked on. */
  get pending(): number[] {
    return [...this.inFlight.keys()];
  }

  /** Takes one raw message from the host. Never throws: a bad message is logged and dropped. */
  handle(raw: unknown): void {
    const message = parseHostMessage(raw);
    if (message === undefined) {
      this.rejectUnknownMethod(raw);
      return;
    }
    if (message.type === 'cancel') {
      // A cancel for a finished request is the normal race between host and engine, not an error.
      this.inFlight.get(message.id)?.controller.abort();
      return;
    }
    if (this.inFlight.has(message.id)) {
      // Answering would resolve the host's original request with this one's outcome.
      this.log('warn', `dropped a request reusing id ${message.id}, which is still in flight`);
      return;
    }
    const controller = new AbortController();
    this.inFlight.set(message.id, { method: message.method, controller });
    void this.run(message.id, message.method, message.params, controller);
  }

  /** Aborts every request in flight, e.g. because the host went away. */
  cancelAll(): void {
    for (const { controller } of this.inFlight.values()) controller.abort();
  }

  /**
   * parseHostMessage cannot tell "not a message" from "a request for a method this engine lacks";
   * the latter has an id the host is waiting on, so it deserves an answer instead of a timeout.
   */
  private rejectUnknownMethod(raw: unknown): void {
    if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) {
      const r = raw as Record<string, unknown>;
      if (r.type === 'request' && Number.isSafeInteger(r.id) && !isEngineMethod(r.method)) {
        const method = typeof r.method === 'string' ? `"${r.method.slice(0, 80)}"` : String(r.method);
        this.respondError(r.id as number, { code: 'bad-request', message: `unknown method ${method}` });
        return;
      }
    }
    this.log('warn', `dropped a malformed message from the host: ${summarize(raw)}`);
  }

  private async run(id: number, method: EngineMethod, params: unknown, controller: AbortController): Promise<void> {
    const { signal } = controller;
    let lastProgress = -Infinity;
    let finished = false;
    const ctx: RequestContext = {
      signal,
      progress: (done, total, message) => {
        if (finished || signal.aborted) return;
        const now = Date.now();
        const final = total > 0 && done >= total;
        if (!final && now - lastProgress < this.progressIntervalMs) return;
        lastProgress = now;
        this.trySend({ type: 'progress', id, progress: message === undefined ? { done, total } : { done, total, message } });
      },
    };
    let outcome: { ok: true; result: unknown } | { ok: false; error: ErrorInfo };
    try {
      // The handler table is indexed by a runtime method name, so the parameter type is erased here;
      // each handler validates its own params.
      const handler = this.handlers[method] as Handler<EngineMethod>;
      outcome = { ok: true, result: await handler(params as never, ctx) };
    } catch (err) {
      outcome = { ok: false, error: errorFor(err, signal) };
    } finally {
      finished = true;
      this.inFlight.delete(id);
    }
    if (outcome.ok) {
      try {
        this.send({ type: 'response', id, ok: true, result: outcome.result });
      } catch (err) {
        // Typically a result the structured clone cannot carry: the host must still get an answer.
        this.respondError(id, { code: 'internal', message: `could not send the result of "${method}": ${err instanceof Error ? err.message : String(err)}` });
      }
    } else {
      this.respondError(id, outcome.error);
    }
  }

  private respondError(id: number, error: ErrorInfo): void {
    this.trySend({ type: 'response', id, ok: false, error });
  }

  private log(level: 'info' | 'warn' | 'error', message: string): void {
    this.trySend({ type: 'log', level, message });
  }

  /** Sending fails once the host has gone; nothing useful can be done about it here. */
  private trySend(message: EngineToHost): void {
    try {
      this.send(message);
    } catch {
      /* host gone */
    }
  }
}

function errorFor(err: unknown, signal: AbortSignal): ErrorInfo {
  // Node APIs given the signal throw their own AbortError; the host expects the protocol's code.
  if (signal.aborted && !(err instanceof CnnSlicerError)) return { code: 'cancelled', message: 'the request was cancelled' };
  return toErrorInfo(err);
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

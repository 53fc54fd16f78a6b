// What a view keeps of its requests to the engine: per key of what a result depends on, the
// result, the error, or the progress of the request in flight; and the words it shows for them.
import type { ProgressInfo } from '../../src/shared/engineProtocol';
import type { ErrorInfo } from '../../src/shared/errors';
import { RequestError } from './hostClient';

export function errorText(error: ErrorInfo): string {
  return error.file !== undefined ? `${error.file}: ${error.message}` : error.message;
}

export function progressText(progress: ProgressInfo | undefined): string {
  if (progress === undefined || progress.total <= 0) return 'computing…';
  return `computing… ${Math.floor((100 * progress.done) / progress.total)}%`;
}

export interface Fetched<T> {
  value?: T;
  error?: ErrorInfo;
  progress?: ProgressInfo;
  /** Set while a request is in flight. */
  abort?: AbortController;
  /**
   * The user cancelled it (a view's Cancel button): the entry stays, so the view does not ask
   * again by itself, until the user asks to compute it again (retryFetch) or it is no longer wanted.
   */
  cancelled?: boolean;
}

export type FetchRequest<T> = (signal: AbortSignal, onProgress: (progress: ProgressInfo) => void) => Promise<T>;

/**
 * Starts a request unless `key` has its result or error or is being computed. `changed` runs at
 * each progress and once the request settles (the view schedules a render); `onValue` with the
 * result, before that.
 */
export function fetchInto<T>(store: Map<string, Fetched<T>>, key: string, request: FetchRequest<T>, changed: () => void, onValue?: (value: T) => void): void {
  const current = store.get(key);
  if (current !== undefined && (current.value !== undefined || current.abort !== undefined || current.error !== undefined || current.cancelled)) return;
  const entry: Fetched<T> = { abort: new AbortController() };
  store.set(key, entry);
  request(entry.abort!.signal, (progress) => {
    entry.progress = progress;
    changed();
  })
    .then(
      (value) => {
        entry.value = value;
        entry.error = undefined;
        onValue?.(value);
      },
      (err: unknown) => {
        if (err instanceof RequestError && err.cancelled) {
          // Cancelled because no longer wanted: asked for again when it is wanted again. Cancelled
          // by the user: kept, so the view shows "cancelled" instead of starting it over.
          if (!entry.cancelled && store.get(key) === entry) store.delete(key);
          return;
        }
        entry.error = err instanceof RequestError ? err.info : { code: 'internal', message: String(err) };
      },
    )
    .finally(() => {
      entry.abort = undefined;
      entry.progress = undefined;
      changed();
    });
}

/**
 * Cancels what is being computed for keys no longer wanted, and forgets the oldest results beyond
 * `keep`: stepping through a long run's epochs, layers or channels must not hold every result seen.
 */
export function cancelUnwanted<T>(store: Map<string, Fetched<T>>, wanted: ReadonlySet<string>, keep: number): void {
  for (const [key, entry] of store) {
    if (wanted.has(key)) continue;
    if (entry.abort !== undefined) entry.abort.abort();
    // A cancelled computation is started again when the user comes back to it.
    if (entry.cancelled) store.delete(key);
  }
  let excess = store.size - keep;
  for (const key of store.keys()) {
    if (excess <= 0) break;
    if (wanted.has(key)) continue;
    store.delete(key);
    excess--;
  }
}

/** The user's Cancel: stops the request and remembers that it was cancelled (see Fetched.cancelled). */
export function cancelFetch<T>(entry: Fetched<T> | undefined): void {
  if (entry?.abort === undefined) return;
  entry.cancelled = true;
  entry.abort.abort();
}

/** The user's "Compute again" after a Cancel or an error: forgets the entry, so the next fetchInto asks again. */
export function retryFetch<T>(store: Map<string, Fetched<T>>, key: string): void {
  const entry = store.get(key);
  if (entry !== undefined && entry.abort === undefined && entry.value === undefined) store.delete(key);
}

// Timing helpers for work triggered by bursts of events (file watchers, refresh clicks). No
// `vscode` import, so they are unit-tested with real timers.

/** Calls `action` once, `delayMs` after the last of a burst of `trigger()` calls. */
export class Debouncer {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private disposed = false;

  constructor(
    private readonly delayMs: number,
    private readonly action: () => void,
  ) {}

  trigger(): void {
    if (this.disposed) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.action();
    }, this.delayMs);
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/**
 * Runs an async task one at a time. A request made while the task runs queues exactly one more run
 * (requests made meanwhile join it, OR-ing their `force` flags), so a burst of requests costs at most
 * two runs and the last one always sees the state after the last request.
 */
export class CoalescingRunner {
  private tail: Promise<void> = Promise.resolve();
  private queued: { force: boolean; done: Promise<void> } | undefined;

  constructor(private readonly task: (force: boolean) => Promise<void>) {}

  /** Resolves (or rejects, with the task's error) when a run that started after this call ends. */
  request(force: boolean): Promise<void> {
    if (this.queued !== undefined) {
      this.queued.force ||= force;
      return this.queued.done;
    }
    const queued: { force: boolean; done: Promise<void> } = { force, done: Promise.resolve() };
    queued.done = this.tail.then(() => {
      // From here on this run has started; a new request must queue behind it, not join it.
      this.queued = undefined;
      return this.task(queued.force);
    });
    this.tail = queued.done.catch(() => undefined);
    this.queued = queued;
    return queued.done;
  }
}

/**
 * Calls `fn` on every item with at most `limit` calls in flight. One call failing does not stop the
 * others; once all have settled, the first failure is rethrown.
 */
export async function forEachWithConcurrency<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const failures: unknown[] = [];
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++];
      try {
        await fn(item);
      } catch (err) {
        failures.push(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  if (failures.length > 0) throw failures[0];
}

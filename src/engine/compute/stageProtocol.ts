// The stage protocol of the threaded k-NN searches (knnInteger.ts and knnGram.ts, with their
// threads in knnIntegerThread.ts and knnGramThread.ts): the calling thread opens the stages one
// after the other in a shared control word; every thread claims the open stage's tasks from a
// shared counter, runs them and counts them done; an abort word stops every thread after its
// current task. The control words STAGE and ABORTED are the same for both searches; where each
// stage's counter lies is the search's own layout (`next`).
export const STAGE = 0;
export const ABORTED = 1;

/** For worker threads: blocks until the calling thread opens `stage`; undefined once aborted or past the last stage. */
export function waitForStage(control: Int32Array, stage: number, stageCount: number): number | undefined {
  if (stage > stageCount) return undefined;
  for (;;) {
    if (Atomics.load(control, ABORTED) !== 0) return undefined;
    const current = Atomics.load(control, STAGE);
    if (current >= stage) return stage;
    Atomics.wait(control, STAGE, current, 1000);
  }
}

/**
 * Claims tasks of `stage` from its counter (word `next + stage − 1`) and runs them until none of
 * its `count` is left or the search is aborted, calling `after` between tasks (progress,
 * cancellation, letting the event loop run).
 */
export async function claimStageTasks(
  control: Int32Array,
  next: number,
  stage: number,
  count: number,
  run: (task: number) => Promise<void>,
  after?: () => Promise<void> | void,
): Promise<void> {
  for (;;) {
    if (Atomics.load(control, ABORTED) !== 0) return;
    const t = Atomics.add(control, next + stage - 1, 1);
    if (t >= count) return;
    await run(t);
    await after?.();
  }
}

/** Where task t of `stage` is in a per-task array that holds every stage's tasks in order. */
export function taskSlot(tasks: ArrayLike<number>, stage: number, t: number): number {
  let slot = t;
  for (let s = 1; s < stage; s++) slot += tasks[s - 1];
  return slot;
}

/** Tells every thread to stop after its current task, and wakes those waiting for a stage (and on the words `alsoWake`). */
export function stopAll(control: Int32Array, ...alsoWake: number[]): void {
  Atomics.store(control, ABORTED, 1);
  Atomics.notify(control, STAGE);
  for (const word of alsoWake) Atomics.notify(control, word);
}

/** One thread's share of a search, as the calling thread runs it. */
export interface StageThread {
  work(stage: number, after?: () => Promise<void> | void): Promise<void>;
  task(stage: number, t: number): Promise<void>;
}

/** What the calling thread needs to run a search's stages with its workers. */
export interface StageRun {
  readonly control: Int32Array;
  /** Per task, every stage's in order: 2 once done (taskSlot). */
  readonly taskState: Int32Array;
  /** Tasks of each stage. */
  readonly tasks: ArrayLike<number>;
  readonly stageCount: number;
  /** DONE + s − 1: how many tasks of stage s are done. */
  readonly done: number;
  /** Whether the calling thread takes tasks itself (else it only waits and redoes what a dead worker left). */
  readonly callerComputes: boolean;
  /** The calling thread's own StageThread, loaded on first use. */
  thread(): Promise<StageThread>;
  /** Between the calling thread's tasks: progress, cancellation, letting the event loop run. */
  after(): Promise<void>;
  /** Throws when the search is cancelled. */
  check(): void;
  /** Whether a worker may still finish tasks. */
  workersRunning(): boolean;
  /** Resolves when a worker finishes a task or stops. */
  workerProgress(): Promise<void>;
}

/**
 * Runs every stage on the calling thread and the workers: opens it, takes tasks while any are
 * left, waits for those in the workers' hands (unless every worker has stopped), then runs here
 * any task a failed worker left undone.
 */
export async function runStages(r: StageRun): Promise<void> {
  const { control, taskState, tasks } = r;
  let first = 0;
  for (let stage = 1; stage <= r.stageCount; stage++) {
    if (stage > 1) {
      Atomics.store(control, STAGE, stage);
      Atomics.notify(control, STAGE);
    }
    if (r.callerComputes) await (await r.thread()).work(stage, r.after);
    r.check();
    // Tasks still in the workers' hands: wait for them, unless every worker has stopped.
    while (Atomics.load(control, r.done + stage - 1) < tasks[stage - 1] && r.workersRunning()) {
      await r.workerProgress();
      r.check();
    }
    // A task a failed worker left undone is run here.
    for (let t = 0; t < tasks[stage - 1]; t++) {
      if (Atomics.load(taskState, first + t) !== 2) {
        await (await r.thread()).task(stage, t);
        await r.after();
        r.check();
      }
    }
    first += tasks[stage - 1];
  }
}

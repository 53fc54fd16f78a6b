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

// Worker-thread entry of the k-NN's threaded paths: the integer one (knn.ts) and the blocked Gram
// one (knnGram.ts), as workerData.kind says. Loads its onnxruntime session while the main thread
// prepares the data, then runs its share of each stage's tasks as the main thread opens the
// stages, until the last is done or the search is aborted. Each kind loads only its own modules
// (a Gram worker neither the integer path nor the graph builder and its protobuf code, ~100 ms
// of start-up through tsx): its start-up is time the main thread computes alone.
import { parentPort, workerData } from 'node:worker_threads';
import type { IntegerGemmVariant } from './graphs';
import type { IntegerKnnShared } from './knn';
import type { GramKnnShared } from './knnGramThread';

type Job = { kind: 'integer'; id: number; variant: IntegerGemmVariant } | { kind: 'gram'; id: number; model: Uint8Array };

interface StagedThread {
  work(stage: number, after?: () => void): Promise<void>;
}

const job = workerData as Job;
const port = parentPort!;

// Required, not imported, so that each kind loads only its own modules: a plain require, which
// the bundler inlines and tsx compiles (a dynamic import() would bypass tsx/cjs).
/* eslint-disable @typescript-eslint/no-require-imports */
const gramModule = () => require('./knnGramThread') as typeof import('./knnGramThread');
const integerModule = () => require('./knn') as typeof import('./knn');
const graphsModule = () => require('./graphs') as typeof import('./graphs');
/* eslint-enable @typescript-eslint/no-require-imports */

/** This kind's thread, and the function that waits for the main thread to open each stage. */
async function open(shared: IntegerKnnShared | GramKnnShared): Promise<{ thread: StagedThread; stageOpen: (stage: number) => number | undefined }> {
  if (job.kind === 'gram') {
    const { GramKnnThread, gramStageOpen } = gramModule();
    const s = shared as GramKnnShared;
    return { thread: await GramKnnThread.create(s, job.id), stageOpen: (stage) => gramStageOpen(s, stage) };
  }
  const { IntegerKnnThread, knnStageOpen } = integerModule();
  const s = shared as IntegerKnnShared;
  return { thread: await IntegerKnnThread.create(s, job.id), stageOpen: (stage) => knnStageOpen(s, stage) };
}

// The session, loaded now: the thread's create gets this same (cached) one. A failure surfaces there, in main().
const session = job.kind === 'gram' ? gramModule().gramBlockSession(job.model) : graphsModule().knnIntegerBlockSession(job.variant);
session.catch(() => undefined);

async function main(shared: IntegerKnnShared | GramKnnShared): Promise<void> {
  const { thread, stageOpen } = await open(shared);
  for (let stage = 1; ; stage++) {
    const opened = stageOpen(stage);
    if (opened === undefined) return;
    await thread.work(opened, () => port.postMessage({ type: 'task' }));
  }
}

port.once('message', (shared: IntegerKnnShared | GramKnnShared) => {
  main(shared).then(
    () => port.postMessage({ type: 'done' }),
    // The main thread redoes whatever this worker left undone; the message only says it stopped.
    (err: unknown) => port.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err) }),
  );
});

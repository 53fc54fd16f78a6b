// Worker-thread entry of the k-NN's threaded paths: the integer one (knn.ts) and the blocked Gram
// one (knnGram.ts), as workerData.kind says. Loads its onnxruntime session while the main thread
// prepares the data, then runs its share of each stage's tasks as the main thread opens the
// stages, until the last is done or the search is aborted.
import { parentPort, workerData } from 'node:worker_threads';
import { type IntegerGemmVariant, gramBlockSession, knnIntegerBlockSession } from './graphs';
import { IntegerKnnThread, type IntegerKnnShared, knnStageOpen } from './knn';
import { type GramKnnShared, GramKnnThread, gramStageOpen } from './knnGramThread';

type Job = { kind: 'integer'; id: number; variant: IntegerGemmVariant } | { kind: 'gram'; id: number };

const job = workerData as Job;
const port = parentPort!;
// Cached: the thread's create gets this same session. A failure surfaces there, in main().
const session = job.kind === 'gram' ? gramBlockSession() : knnIntegerBlockSession(job.variant);
session.catch(() => undefined);

async function main(shared: IntegerKnnShared | GramKnnShared): Promise<void> {
  const thread = job.kind === 'gram' ? await GramKnnThread.create(shared as GramKnnShared, job.id) : await IntegerKnnThread.create(shared as IntegerKnnShared, job.id);
  for (let stage = 1; ; stage++) {
    const open = job.kind === 'gram' ? gramStageOpen(shared as GramKnnShared, stage) : knnStageOpen(shared as IntegerKnnShared, stage);
    if (open === undefined) return;
    await thread.work(open, () => port.postMessage({ type: 'task' }));
  }
}

port.once('message', (shared: IntegerKnnShared | GramKnnShared) => {
  main(shared).then(
    () => port.postMessage({ type: 'done' }),
    // The main thread redoes whatever this worker left undone; the message only says it stopped.
    (err: unknown) => port.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err) }),
  );
});

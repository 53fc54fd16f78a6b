// Worker-thread entry of the integer k-NN (see knn.ts): loads its onnxruntime session while the
// main thread prepares the data, then runs its share of each stage's tasks as the main thread
// opens the stages, until the last is done or the search is aborted.
import { parentPort, workerData } from 'node:worker_threads';
import { type IntegerGemmVariant, knnIntegerBlockSession } from './graphs';
import { IntegerKnnThread, type IntegerKnnShared, knnStageOpen } from './knn';

const { id, variant } = workerData as { id: number; variant: IntegerGemmVariant };
const port = parentPort!;
// Cached: IntegerKnnThread.create gets this same session. A failure surfaces there, in main().
const session = knnIntegerBlockSession(variant);
session.catch(() => undefined);

async function main(shared: IntegerKnnShared): Promise<void> {
  const thread = await IntegerKnnThread.create(shared, id);
  for (let stage = 1; ; stage++) {
    const open = knnStageOpen(shared, stage);
    if (open === undefined) return;
    await thread.work(open, () => port.postMessage({ type: 'task' }));
  }
}

port.once('message', (shared: IntegerKnnShared) => {
  main(shared).then(
    () => port.postMessage({ type: 'done' }),
    // The main thread redoes whatever this worker left undone; the message only says it stopped.
    (err: unknown) => port.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err) }),
  );
});

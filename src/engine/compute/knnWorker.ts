// Worker-thread entry of the integer k-NN (see knn.ts): runs its share of each stage's tasks, as
// the main thread opens the stages, until the last is done or the search is aborted.
import { parentPort, workerData } from 'node:worker_threads';
import { IntegerKnnThread, type IntegerKnnShared, knnStageOpen } from './knn';

const { shared, id } = workerData as { shared: IntegerKnnShared; id: number };
const port = parentPort!;

async function main(): Promise<void> {
  const thread = await IntegerKnnThread.create(shared, id);
  for (let stage = 1; ; stage++) {
    const open = knnStageOpen(shared, stage);
    if (open === undefined) return;
    await thread.work(open, () => port.postMessage({ type: 'task' }));
  }
}

main().then(
  () => port.postMessage({ type: 'done' }),
  // The main thread redoes whatever this worker left undone; the message only says it stopped.
  (err: unknown) => port.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err) }),
);

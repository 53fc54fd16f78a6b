// Worker-thread entry of the channel capacity (see capacityMatrixOfCodes in capacityParallel.ts):
// fills its share of the matrix's tasks in shared memory, telling the calling thread after each.
import { parentPort, workerData } from 'node:worker_threads';
import { capacityWorker, type CapacityJob } from './capacityParallel';

const { job, id } = workerData as { job: CapacityJob; id: number };
const port = parentPort!;
try {
  capacityWorker(job, id, () => port.postMessage({ type: 'task' }));
  port.postMessage({ type: 'done' });
} catch (err) {
  // The calling thread redoes whatever this worker left undone; the message only says it stopped.
  port.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err) });
}

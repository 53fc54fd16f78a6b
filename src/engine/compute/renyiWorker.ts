// Worker-thread entry of the Rényi entropies of whole representations (renyiThreads.ts): takes
// one layer's activations at a time and answers with its σ, S_α and joint entropies with the
// shared matrices it was started with.
import { parentPort, workerData } from 'node:worker_threads';
import { CnnSlicerError } from '../../shared/errors';
import { representationEntropies, type RenyiJobMessage, type RenyiReply, type RenyiWorkerData } from './renyiThreads';

const { params, n, shared } = workerData as RenyiWorkerData;
const port = parentPort;
if (port === null) throw new Error('renyiWorker runs as a worker thread');
port.on('message', (job: RenyiJobMessage) => {
  let reply: RenyiReply;
  try {
    reply = { id: job.id, result: representationEntropies(job.data, n, job.d, params, shared) };
  } catch (err) {
    const info = err instanceof CnnSlicerError ? err.toInfo() : { code: 'internal' as const, message: err instanceof Error ? err.message : String(err) };
    reply = { id: job.id, error: info };
  }
  port.postMessage(reply);
});

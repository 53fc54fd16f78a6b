// Worker-thread entry of the k-NN's threaded paths, as workerData.kind says.
//   'integer' (knnInteger.ts): one search. Loads its onnxruntime session while the main thread prepares
//     the data, runs its share of each stage's tasks as the main thread opens the stages, exits.
//   'pool' (knnGramPool.ts): a warm worker that runs the jobs posted to it one after the other:
//     a blocked Gram search's share (knnGram.ts), with its session loaded at start and kept, or
//     an inter-sample entropy's σ and mutual-pair chunks (interSampleEntropy.ts).
// Each kind loads only its own modules (a Gram worker neither the integer path nor the graph
// builder and its protobuf code, ~100 ms of start-up through tsx): its start-up is time the main
// thread computes alone.
import { parentPort, workerData } from 'node:worker_threads';
import type { InterSampleJob } from '../estimators/interSampleEntropy';
import type { IntegerGemmVariant } from './graphs';
import type { IntegerKnnShared } from './knnIntegerThread';
import type { PoolJob, PoolMessage } from './knnGramPool';
import type { GramKnnShared } from './knnGramThread';
import { CLOSE_REQUEST, endWorkerThread, isCloseRequest } from './threads';

type Start = { kind: 'integer'; id: number; variant: IntegerGemmVariant } | { kind: 'pool'; model: Uint8Array; pending: Int32Array };

const start = workerData as Start;
const port = parentPort!;

// Required, not imported, so that each kind loads only its own modules: a plain require, which
// the bundler inlines and tsx compiles (a dynamic import() would bypass tsx/cjs).
/* eslint-disable @typescript-eslint/no-require-imports */
const gramModule = () => require('./knnGramThread') as typeof import('./knnGramThread');
const integerModule = () => require('./knnIntegerThread') as typeof import('./knnIntegerThread');
const graphsModule = () => require('./graphs') as typeof import('./graphs');
const interModule = () => require('../estimators/interSampleEntropy') as typeof import('../estimators/interSampleEntropy');
/* eslint-enable @typescript-eslint/no-require-imports */

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * V8's garbage collector, as `--expose-gc` would give it, without that flag on the command line
 * (the engine is started by VS Code or a user's shell): the flag exposes `gc` to contexts created
 * after it is set.
 */
function garbageCollector(): () => void {
  try {
    /* eslint-disable @typescript-eslint/no-require-imports */
    (require('node:v8') as typeof import('node:v8')).setFlagsFromString('--expose-gc');
    const gc: unknown = (require('node:vm') as typeof import('node:vm')).runInNewContext('gc');
    /* eslint-enable @typescript-eslint/no-require-imports */
    if (typeof gc === 'function') return gc as () => void;
  } catch {
    // Without it the memory is only given back later, when this worker is ended.
  }
  return () => undefined;
}
let collect: (() => void) | undefined;
const collectGarbage = (): void => {
  collect ??= garbageCollector();
  collect();
};

if (start.kind === 'integer') {
  const { IntegerKnnThread, knnStageOpen } = integerModule();
  // The session, loaded now: the thread's create gets this same (cached) one. A failure surfaces there.
  graphsModule()
    .knnIntegerBlockSession(start.variant)
    .catch(() => undefined);
  const main = async (shared: IntegerKnnShared): Promise<void> => {
    const thread = await IntegerKnnThread.create(shared, start.id);
    for (let stage = 1; ; stage++) {
      const opened = knnStageOpen(shared, stage);
      if (opened === undefined) return;
      await thread.work(opened, () => port.postMessage({ type: 'task' }));
    }
  };
  let running: Promise<void> = Promise.resolve();
  port.on('message', (msg: IntegerKnnShared | typeof CLOSE_REQUEST) => {
    if (isCloseRequest(msg)) {
      endWorkerThread(port, running);
      return;
    }
    running = main(msg).then(
      () => port.postMessage({ type: 'done' }),
      // The main thread redoes whatever this worker left undone; the message only says it stopped.
      (err: unknown) => port.postMessage({ type: 'error', message: messageOf(err) }),
    );
  });
} else {
  const { pending, model } = start;
  const gram = gramModule();
  gram.gramBlockSession(model).catch(() => undefined);
  const post = (msg: PoolMessage) => port.postMessage(msg);

  const gramJob = async (job: PoolJob<{ shared: GramKnnShared }>): Promise<void> => {
    const thread = await gram.GramKnnThread.create(job.shared, job.id);
    for (let stage = 1; ; stage++) {
      const opened = gram.gramStageOpen(job.shared, stage);
      if (opened === undefined) return;
      await thread.work(opened, () => post({ type: 'task', seq: job.seq }));
    }
  };

  // Jobs one after the other: one posted while another runs (a lent worker still ending a
  // cancelled search) waits for it.
  let queue = Promise.resolve();
  port.on('message', (job: PoolJob<{ shared: GramKnnShared } | { job: InterSampleJob }> | typeof CLOSE_REQUEST) => {
    if (isCloseRequest(job)) {
      endWorkerThread(port, queue);
      return;
    }
    queue = queue.then(async () => {
      let end: PoolMessage = { type: 'done', seq: job.seq };
      try {
        if ('shared' in job) await gramJob(job);
        else interModule().interSampleWorker(job.job, job.id);
      } catch (err) {
        // The caller redoes whatever this worker left undone; the message only says it stopped.
        end = { type: 'error', seq: job.seq, message: messageOf(err) };
      }
      Atomics.sub(pending, 0, 1);
      post(end);
      // The job's typed arrays are views of SharedArrayBuffers of hundreds of MB (a 65,536-D layer
      // of 1,000 samples), kept alive by this isolate's references until its own GC runs. A warm
      // worker's heap is tiny, so that GC would not come: an engine running one k-NN after
      // another (an analysis) grew by ~220 MB a search, to 2.8 GB on a ResNet-18. Collected now.
      collectGarbage();
      // The inter-sample entropy usually follows a search and borrows this worker: its module is
      // loaded now, while the main thread ends the search, rather than when its job comes.
      // A failure to load it surfaces when an inter job needs it.
      if ('shared' in job) {
        try {
          interModule();
        } catch {
          // reported by that job
        }
      }
    });
  });
}

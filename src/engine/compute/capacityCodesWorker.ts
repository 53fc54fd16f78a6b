// Worker-thread entry of codeChannelMapsParallel (capacityCodesParallel.ts): computes the pair
// distances of each chunk of channels it is sent with its own one-thread onnxruntime session (the
// same graph and options as the calling thread's, which gives the same floats), then either
// returns each channel's largest distance (the first pass of capacityRange 'layer') or bins the
// chunk into the shared codes. The chunk's maps come and go back as a transferred buffer.
import { parentPort, workerData } from 'node:worker_threads';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { codeChannelChunk, maxDistance, type CodedChannels } from '../estimators/channelCapacity';
import { loadOrt, makeTensor, trackSession } from '../onnx/ortRuntime';
import type { CodesJob, CodesReply, CodesTask } from './capacityCodesParallel';
import { upperTriangle } from './pairwiseDistances';
import { CLOSE_REQUEST, endWorkerThread, isCloseRequest } from './threads';

const job = workerData as CodesJob;
const port = parentPort!;
const target: CodedChannels = { ...job.target };

async function session(): Promise<InferenceSession> {
  return trackSession(
    loadOrt().InferenceSession.create(job.graph, {
      executionProviders: ['cpu'],
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      enableCpuMemArena: false,
    }),
  );
}

const ready = session();
ready.catch(() => undefined);
const pairsTensor = makeTensor(upperTriangle(job.n), [job.allPairs]);

async function run(task: CodesTask): Promise<CodesReply> {
  const s = await ready;
  const block = new Float32Array(task.block);
  const out = await s.run({ M: makeTensor(block, [job.perChunk, job.n, job.S]), PAIRS: pairsTensor });
  const d = out.D as Tensor;
  const distances = (d.data as Float32Array).subarray(0, task.count * job.allPairs);
  let maxima: Float64Array | undefined;
  if (task.pass === 'max') {
    maxima = new Float64Array(task.count);
    for (let c = 0; c < task.count; c++) maxima[c] = maxDistance(distances, c * job.allPairs, job.allPairs, task.c0 + c);
  } else {
    codeChannelChunk(target, task.c0, distances, job.allPairs, task.layerUpper, job.sample);
  }
  d.dispose();
  return { type: 'done', c0: task.c0, block: task.block, maxima };
}

// The tasks in flight: a request to end (threads.ts) waits for them before the session goes.
let inFlight: Promise<unknown> = Promise.resolve();

port.on('message', (task: CodesTask | typeof CLOSE_REQUEST) => {
  if (isCloseRequest(task)) {
    endWorkerThread(port, inFlight);
    return;
  }
  const done = run(task).then(
    (reply) => port.postMessage(reply, [reply.block]),
    (err: unknown) =>
      port.postMessage({
        type: 'error',
        c0: task.c0,
        block: task.block,
        message: err instanceof Error ? err.message : String(err),
        code: (err as { code?: string }).code,
      }),
  );
  inFlight = Promise.all([inFlight, done]);
});

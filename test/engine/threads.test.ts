// Worker threads that hold onnxruntime sessions end on request (compute/threads.ts): they
// release their sessions and their threads end on their own (exit code 0), never terminated
// (exit code 1), which now and then aborted the whole process.
import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { closeWorker, closeWorkers, workerEntry } from '../../src/engine/compute/threads';

const computeDir = join(__dirname, '../../src/engine/compute');

function exitCode(worker: Worker): Promise<number> {
  return new Promise((resolve) => worker.once('exit', resolve));
}

describe('closeWorker', () => {
  it('ends k-NN workers holding a session by themselves, whatever they were doing', async function () {
    this.timeout(60000);
    const entry = workerEntry(computeDir, 'knnWorker');
    assert.ok(entry, 'the k-NN worker entry');
    // Each loads its integer k-NN session at start; one is asked to end at once, one once loaded.
    const workers = [0, 1].map((id) => new Worker(entry.filename, { execArgv: entry.execArgv, workerData: { kind: 'integer', id: id + 1, variant: 'u8s8' } }));
    const codes = workers.map(exitCode);
    const started = Date.now();
    const first = closeWorkers([workers[0]], 20000);
    await new Promise((r) => setTimeout(r, 3000));
    await closeWorkers([workers[1]], 20000);
    await first;
    assert.ok(Date.now() - started < 20000, 'ended before the grace period');
    assert.deepEqual(await Promise.all(codes), [0, 0]);
  });

  it('terminates a worker that does not end in time', async function () {
    this.timeout(30000);
    const worker = new Worker('setInterval(() => undefined, 1000); require("node:worker_threads").parentPort.on("message", () => undefined);', { eval: true });
    const code = exitCode(worker);
    await closeWorker(worker, 300);
    assert.equal(await code, 1);
    // An ended worker is done at once.
    await closeWorker(worker, 300);
  });
});

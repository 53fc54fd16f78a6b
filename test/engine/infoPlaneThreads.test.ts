// The information plane on worker threads (compute/renyiThreads.ts, analysis/information.ts): the
// workers' entropies are the calling thread's to the last bit, on synthetic representations and
// on the sample run, and a worker's failure reaches the caller as the error it threw.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { infoPlaneOf } from '../../src/engine/analysis/information';
import { representationEntropies, renyiThreadCount, startRenyiPool } from '../../src/engine/compute/renyiThreads';
import { resolveEstimatorParams } from '../../src/engine/estimators';
import { labelGram, normalizeTrace, renyiGram } from '../../src/engine/estimators/renyiEntropy';
import { RunReader } from '../../src/engine/run/runReader';
import { CnnSlicerError } from '../../src/shared/errors';

const root = path.resolve(__dirname, '..', '..');
const SAMPLE_RUN = path.join(root, 'examples', 'sample-run');

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('Rényi entropies of representations on worker threads', function () {
  this.timeout(120_000);
  const params = resolveEstimatorParams();

  it('give the calling thread’s σ, S_α and joint entropies bit for bit, and pass on a worker’s refusal', async () => {
    const rand = random(5);
    const n = 60;
    const rows = (d: number): Float32Array => Float32Array.from({ length: n * d }, () => rand() * 2 - 1);
    const x = rows(20);
    const ax = renyiGram(x, n, 20, params).gram;
    const ay = normalizeTrace(labelGram(Array.from({ length: n }, (_, i) => i % 4)), n);
    const pool = startRenyiPool(2, n, params, [ax, ay]);
    assert.ok(pool !== undefined, 'the worker entry runs through tsx');
    try {
      const layers = [rows(7), rows(300), rows(1), rows(45)];
      const threaded = await Promise.all(layers.map((data) => pool.run(data, data.length / n)));
      layers.forEach((data, l) => assert.deepEqual(threaded[l], representationEntropies(data, n, data.length / n, params, [ax, ay]), `layer ${l}`));
      const bad = rows(3);
      bad[10] = NaN;
      await assert.rejects(pool.run(bad, 3), (e: unknown) => e instanceof CnnSlicerError && e.code === 'bad-request' && /NaN or infinite/.test(e.message));
      // The pool goes on after a job's refusal.
      assert.deepEqual(await pool.run(layers[0], 7), threaded[0]);
    } finally {
      await pool.close();
    }
    await assert.rejects(pool.run(x, 20), /ended/);
  });

  it('uses CNNSLICER_THREADS or the count given whatever n, else every core from 256 samples', () => {
    assert.equal(renyiThreadCount(10, 3), 3);
    assert.equal(renyiThreadCount(100, undefined), 1);
    assert.ok(renyiThreadCount(1000, undefined) >= 1);
  });
});

describe('the information plane on several threads', function () {
  this.timeout(120_000);
  let reader: RunReader;

  before(async function () {
    if (!fs.existsSync(path.join(SAMPLE_RUN, 'cnnslicer.json'))) this.skip();
    reader = await RunReader.open(SAMPLE_RUN);
  });

  after(async () => {
    await reader?.close();
  });

  it('gives the points of one thread, to the last bit, over several epochs', async () => {
    const samples = { kind: 'indices', indices: Array.from({ length: 150 }, (_, i) => i * 6 + 1) } as const;
    const progress: number[] = [];
    const one = await infoPlaneOf(reader, { samples, epoch: 'all', epochs: [0, 3, 20], threads: 1 });
    const two = await infoPlaneOf(reader, { samples, epoch: 'all', epochs: [0, 3, 20], threads: 2 }, { onProgress: (done) => progress.push(done) });
    assert.deepEqual(two, one);
    assert.equal(two.items.length, 3);
    assert.equal(two.items[0].n, 150);
    assert.deepEqual(
      two.items[2].points.map((p) => p.layer),
      ['input', ...reader.manifest.layers.map((l) => l.name)],
    );
    // The inputs' point does not change with the epoch.
    assert.deepEqual(two.items[0].points[0].IXT, two.items[2].points[0].IXT);
    assert.equal(progress[0], 0);
    assert.equal(progress[progress.length - 1], 3);
    assert.ok(
      progress.every((p, i) => i === 0 || p >= progress[i - 1]),
      'progress never goes back',
    );
  });

  it('refuses a thread count that is not a positive integer', async () => {
    for (const threads of [0, 1.5, -2])
      await assert.rejects(infoPlaneOf(reader, { samples: { kind: 'all' }, epoch: 0, threads }), /threads must be a positive integer/);
  });
});

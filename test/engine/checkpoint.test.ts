import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraphBuilder } from '../../src/core/onnx/graphBuilder';
import { type MaterializeOptions, disposeSessions, materializeOutputs } from '../../src/engine/run/checkpoint';
import {
  TINY_INPUT_SHAPE,
  TINY_OUTPUTS,
  TINY_OUTPUT_SHAPES,
  TINY_SAMPLE_SIZE,
  assertClose,
  buildTinyCnn,
  randomFloats,
  rejectsWith,
  seededRandom,
  tinyCnnReference,
  tinyCnnWeights,
  writeTinyCnn,
} from '../support/tinyCnn';

const PROBE_SIZE = 12;
const probe = randomFloats(seededRandom(11), PROBE_SIZE * TINY_SAMPLE_SIZE);

/** The probe-input callback materializeOutputs expects, over `probe`; records what it was asked for. */
function probeInputs(calls?: number[][]): MaterializeOptions['inputs'] {
  return async (rows) => {
    calls?.push([...rows]);
    const out = new Float32Array(rows.length * TINY_SAMPLE_SIZE);
    rows.forEach((r, k) => {
      if (r >= PROBE_SIZE) throw new Error(`probe index ${r} out of range`);
      out.set(probe.subarray(r * TINY_SAMPLE_SIZE, (r + 1) * TINY_SAMPLE_SIZE), k * TINY_SAMPLE_SIZE);
    });
    return out;
  };
}

/** Reference activations for the given probe rows, in that order. */
function reference(weights = tinyCnnWeights(), rows: readonly number[]) {
  const x = new Float32Array(rows.length * TINY_SAMPLE_SIZE);
  rows.forEach((r, k) => x.set(probe.subarray(r * TINY_SAMPLE_SIZE, (r + 1) * TINY_SAMPLE_SIZE), k * TINY_SAMPLE_SIZE));
  return tinyCnnReference(weights, x, rows.length);
}

describe('materializeOutputs', () => {
  let dir: string;
  let modelPath: string;
  const base = (): MaterializeOptions => ({
    modelPath,
    inputs: probeInputs(),
    inputShape: TINY_INPUT_SHAPE,
    sampleIndices: [0, 1, 2],
    outputs: ['logits'],
  });

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'cnnslicer-checkpoint-'));
    modelPath = writeTinyCnn(join(dir, 'model.onnx'));
  });
  after(async () => {
    await disposeSessions();
    rmSync(dir, { recursive: true, force: true });
  });

  it('returns each requested output as [n, ...per-sample dims] matching the reference', async () => {
    const rows = Array.from({ length: PROBE_SIZE }, (_, i) => i);
    const res = await materializeOutputs({ ...base(), sampleIndices: rows, outputs: [...TINY_OUTPUTS] });
    const ref = reference(undefined, rows);
    assert.deepEqual([...res.keys()].sort(), [...TINY_OUTPUTS].sort());
    for (const name of TINY_OUTPUTS) {
      const out = res.get(name)!;
      assert.deepEqual(out.shape, [PROBE_SIZE, ...TINY_OUTPUT_SHAPES[name]]);
      assertClose(out.data, ref[name], 1e-5, name);
    }
  });

  it('returns only the outputs asked for, once each', async () => {
    const res = await materializeOutputs({ ...base(), outputs: ['pool1', 'logits', 'pool1'] });
    assert.deepEqual([...res.keys()], ['pool1', 'logits']);
  });

  it('gives the same rows with small batches, in sampleIndices order, repeats included', async () => {
    const rows = [7, 2, 2, 11, 0, 5, 7, 3, 9, 1];
    const calls: number[][] = [];
    const progress: [number, number][] = [];
    const batched = await materializeOutputs({
      ...base(),
      inputs: probeInputs(calls),
      sampleIndices: rows,
      outputs: ['relu1', 'logits'],
      batchSize: 3,
      onProgress: (done, total) => progress.push([done, total]),
    });
    assert.deepEqual(calls, [[7, 2, 2], [11, 0, 5], [7, 3, 9], [1]]);
    assert.deepEqual(progress, [
      [3, 10],
      [6, 10],
      [9, 10],
      [10, 10],
    ]);
    const whole = await materializeOutputs({ ...base(), sampleIndices: rows, outputs: ['relu1', 'logits'] });
    const ref = reference(undefined, rows);
    for (const name of ['relu1', 'logits'] as const) {
      assert.deepEqual(batched.get(name)!.shape, whole.get(name)!.shape);
      assertClose(batched.get(name)!.data, whole.get(name)!.data, 1e-6, `${name} batched vs whole`);
      assertClose(batched.get(name)!.data, ref[name], 1e-5, `${name} vs reference`);
    }
  });

  it('names a missing output and the file', async () => {
    const err = await rejectsWith(materializeOutputs({ ...base(), outputs: ['logits', 'conv9'] }), 'model-error', "'conv9'", 'pool1');
    assert.equal(err.file, modelPath);
  });

  it('reports a model file of random bytes as model-error naming the file', async () => {
    const path = join(dir, 'garbage.onnx');
    const rand = seededRandom(5);
    writeFileSync(
      path,
      Uint8Array.from({ length: 4096 }, () => Math.floor(rand() * 256)),
    );
    const err = await rejectsWith(materializeOutputs({ ...base(), modelPath: path }), 'model-error', path, 'cannot load model');
    assert.equal(err.file, path);
  });

  it('reports a truncated model file as model-error naming the file', async () => {
    const path = join(dir, 'truncated.onnx');
    const bytes = buildTinyCnn();
    writeFileSync(path, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    const err = await rejectsWith(materializeOutputs({ ...base(), modelPath: path }), 'model-error', path);
    assert.equal(err.file, path);
  });

  it('reloads a checkpoint that was rewritten, and recovers once a corrupt one is fixed', async () => {
    const path = join(dir, 'rewritten.onnx');
    writeFileSync(path, new Uint8Array([1, 2, 3]));
    await rejectsWith(materializeOutputs({ ...base(), modelPath: path }), 'model-error');

    const w1 = tinyCnnWeights(21);
    writeTinyCnn(path, w1);
    utimesSync(path, 1_000_000, 1_000_000);
    const r1 = await materializeOutputs({ ...base(), modelPath: path });
    assertClose(r1.get('logits')!.data, reference(w1, [0, 1, 2]).logits, 1e-5, 'first weights');

    // Same size as before: only the mtime tells the cache the file changed.
    const w2 = tinyCnnWeights(22);
    writeTinyCnn(path, w2);
    utimesSync(path, 2_000_000, 2_000_000);
    const r2 = await materializeOutputs({ ...base(), modelPath: path });
    assertClose(r2.get('logits')!.data, reference(w2, [0, 1, 2]).logits, 1e-5, 'second weights');
  });

  it('keeps working while sessions are evicted and disposed under it', async () => {
    const paths = [1, 2, 3].map((i) => writeTinyCnn(join(dir, `epoch-${i}.onnx`), tinyCnnWeights(30 + i)));
    // Three models through a two-entry cache, concurrently, each over several batches.
    const results = await Promise.all(
      [...paths, ...paths].map((p) => materializeOutputs({ ...base(), modelPath: p, sampleIndices: [4, 5, 6, 7, 8], batchSize: 2 })),
    );
    await disposeSessions();
    const again = await materializeOutputs({ ...base(), modelPath: paths[0], sampleIndices: [4, 5, 6, 7, 8] });
    results.forEach((r, k) => {
      assertClose(r.get('logits')!.data, reference(tinyCnnWeights(30 + (k % 3) + 1), [4, 5, 6, 7, 8]).logits, 1e-5, `model ${k}`);
    });
    assertClose(again.get('logits')!.data, results[0].get('logits')!.data, 0, 'after dispose');
  });

  it('reports a missing model file as not-found', async () => {
    const path = join(dir, 'absent.onnx');
    const err = await rejectsWith(materializeOutputs({ ...base(), modelPath: path }), 'not-found');
    assert.equal(err.file, path);
  });

  it('stops between batches when aborted, with cancelled', async () => {
    const ac = new AbortController();
    const calls: number[][] = [];
    const err = await rejectsWith(
      materializeOutputs({
        ...base(),
        inputs: probeInputs(calls),
        sampleIndices: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        batchSize: 3,
        signal: ac.signal,
        onProgress: (done) => {
          if (done === 3) ac.abort();
        },
      }),
      'cancelled',
      '3 of 10',
    );
    assert.equal(err.file, modelPath);
    assert.equal(calls.length, 1);
  });

  it('does not start when already aborted', async () => {
    const ac = new AbortController();
    ac.abort();
    const calls: number[][] = [];
    await rejectsWith(materializeOutputs({ ...base(), inputs: probeInputs(calls), signal: ac.signal }), 'cancelled');
    assert.equal(calls.length, 0);
  });

  it('refuses a model with more than one input', async () => {
    const path = join(dir, 'two-inputs.onnx');
    writeFileSync(
      path,
      new GraphBuilder()
        .input('a', 'float32', ['n', 1, 8, 8])
        .input('b', 'float32', ['n', 1, 8, 8])
        .node('Add', ['a', 'b'], ['logits'])
        .output('logits', ['n', 1, 8, 8])
        .toModelBytes(),
    );
    await rejectsWith(materializeOutputs({ ...base(), modelPath: path }), 'model-error', 'exactly one input', 'a, b');
  });

  it('refuses probe inputs of another shape than the model input', async () => {
    await rejectsWith(materializeOutputs({ ...base(), inputShape: [1, 28, 28] }), 'model-error', '[batch, 1, 8, 8]', '[batch, 1, 28, 28]');
  });

  it('refuses an output whose per-sample size changes with the batch', async () => {
    // y = Expand(x [n,1], [n,n]): its per-sample shape is [n], so batches of 3 and 1 disagree.
    const path = join(dir, 'batch-dependent.onnx');
    writeFileSync(
      path,
      new GraphBuilder()
        .input('x', 'float32', ['n', 1])
        .initializer('zero', new BigInt64Array([0n]), [1])
        .initializer('one', new BigInt64Array([1n]), [1])
        .node('Shape', ['x'], ['s'])
        .node('Slice', ['s', 'zero', 'one'], ['nb'])
        .node('Concat', ['nb', 'nb'], ['nn'], { axis: 0 })
        .node('Expand', ['x', 'nn'], ['y'])
        .output('y', ['n', 'n'])
        .toModelBytes(),
    );
    const opts = { ...base(), modelPath: path, inputShape: [1], outputs: ['y'], sampleIndices: [0, 1, 2, 3] };
    opts.inputs = async (rows) => Float32Array.from(rows);
    const ok = await materializeOutputs({ ...opts, batchSize: 4 });
    assert.deepEqual(ok.get('y')!.shape, [4, 4]);
    await rejectsWith(materializeOutputs({ ...opts, batchSize: 3 }), 'model-error', 'per-sample shape [1]', '[3]');
  });

  it('refuses probe inputs of the wrong length from the input callback', async () => {
    await rejectsWith(materializeOutputs({ ...base(), inputs: async () => new Float32Array(10) }), 'internal', 'should hold 192 values, got 10');
  });

  it('refuses malformed options as bad-request', async () => {
    await rejectsWith(materializeOutputs({ ...base(), batchSize: 0 }), 'bad-request', 'batch size');
    await rejectsWith(materializeOutputs({ ...base(), sampleIndices: [] }), 'bad-request', 'no sample');
    await rejectsWith(materializeOutputs({ ...base(), sampleIndices: [1, -1] }), 'bad-request', 'sample index -1');
    await rejectsWith(materializeOutputs({ ...base(), outputs: [] }), 'bad-request', 'no outputs');
  });
});

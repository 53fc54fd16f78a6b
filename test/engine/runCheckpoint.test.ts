import * as assert from 'node:assert';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { LayerInfo } from '../../src/shared/runFormat';
import { disposeSessions } from '../../src/engine/run/checkpoint';
import { RunReader } from '../../src/engine/run/runReader';
import { RunWriter } from '../../src/core/run/runWriter';
import { tempDir } from '../support/runFixtures';
import {
  assertClose,
  buildTinyCnn,
  randomFloats,
  seededRandom,
  tinyCnnReference,
  tinyCnnWeights,
  TINY_INPUT_SHAPE,
  TINY_OUTPUT_SHAPES,
} from '../support/tinyCnn';

// A run whose epochs are ONNX checkpoints only: slices are recomputed by onnxruntime and must
// equal a plain-loop forward pass of the same weights.
describe('slices of checkpoint epochs', () => {
  const n = 11;
  let root: string;
  let dir: string;
  let inputs: Float32Array;
  const weights = [tinyCnnWeights(3), tinyCnnWeights(4)];

  before(async () => {
    root = tempDir();
    dir = path.join(root, 'run');
    inputs = randomFloats(seededRandom(9), n * 64);
    const layers: LayerInfo[] = [
      { name: 'conv1', kind: 'conv', shape: TINY_OUTPUT_SHAPES.conv1 },
      { name: 'relu1', kind: 'activation', shape: TINY_OUTPUT_SHAPES.relu1 },
      { name: 'pool1', kind: 'pool', shape: TINY_OUTPUT_SHAPES.pool1 },
    ];
    const w = await RunWriter.create(dir, {
      model: { name: 'tiny', framework: 'onnx' },
      layers,
      classes: ['a', 'b', 'c'],
      probe: { inputs, inputShape: [...TINY_INPUT_SHAPE], labels: Int32Array.from({ length: n }, (_, i) => i % 3) },
    });
    await w.writeEpoch(0, { metrics: { loss: 1.1 }, checkpoint: buildTinyCnn(weights[0]) });
    await w.writeEpoch(1, { metrics: { loss: 0.9 }, checkpoint: buildTinyCnn(weights[1]) });
  });
  after(async () => {
    await disposeSessions();
    await fs.rm(root, { recursive: true, force: true });
  });

  it('materialises every layer and the logits through onnxruntime', async () => {
    const reader = await RunReader.open(dir);
    try {
      for (const epoch of [0, 1]) {
        const ref = tinyCnnReference(weights[epoch], inputs, n);
        for (const layer of ['conv1', 'relu1', 'pool1', 'logits'] as const) {
          const s = await reader.slice({ samples: { kind: 'all' }, layer, channel: 'all', epoch });
          assert.strictEqual(s.source, 'checkpoint');
          assert.deepStrictEqual(s.shape, [n, ...TINY_OUTPUT_SHAPES[layer]]);
          assertClose(s.data, ref[layer], 1e-5, `${layer} at epoch ${epoch}`);
        }
      }
    } finally {
      await reader.close();
    }
  });

  it('picks one channel of one class', async () => {
    const reader = await RunReader.open(dir);
    try {
      const ref = tinyCnnReference(weights[1], inputs, n).relu1;
      const s = await reader.slice({ samples: { kind: 'class', classIndex: 1 }, layer: 'relu1', channel: 2, epoch: 1 });
      const rows = [1, 4, 7, 10];
      assert.deepStrictEqual(Array.from(s.sampleIndices), rows);
      const want = new Float32Array(rows.length * 64);
      rows.forEach((r, i) => want.set(ref.subarray(r * 256 + 2 * 64, r * 256 + 3 * 64), i * 64));
      assertClose(s.data, want, 1e-5, 'relu1 channel 2 of class 1');
    } finally {
      await reader.close();
    }
  });
});

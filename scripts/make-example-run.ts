// Writes a small example run with the project's own writer, so the CLI and the extension have
// something real to show on a fresh machine before any model is trained: a synthetic probe set
// of 8×8 images in three classes (a horizontal bar, a vertical bar, a diagonal, plus noise) fed to
// an *untrained* tiny CNN (epoch 0, random weights from a fixed seed). Its activations are what
// onnxruntime computes from the checkpoint; loss and accuracy are computed from its logits.
// Usage: tsx scripts/make-example-run.ts <run folder>
import { rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { LayerInfo } from '../src/shared/runFormat';
import { disposeSessions, materializeOutputs } from '../src/engine/run/checkpoint';
import { RunWriter } from '../src/core/run/runWriter';
import { buildTinyCnn, seededRandom, tinyCnnWeights, TINY_INPUT_SHAPE, TINY_OUTPUT_SHAPES } from '../test/support/tinyCnn';

const PER_CLASS = 20;
const CLASSES = ['horizontal', 'vertical', 'diagonal'];

function probeSet(): { inputs: Float32Array; labels: Int32Array } {
  const rand = seededRandom(2024);
  const n = PER_CLASS * CLASSES.length;
  const inputs = new Float32Array(n * 64);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const cls = i % CLASSES.length;
    labels[i] = cls;
    const at = 1 + Math.floor(rand() * 6);
    for (let y = 0; y < 8; y++) {
      for (let x = 0; x < 8; x++) {
        const on = cls === 0 ? y === at : cls === 1 ? x === at : x === y;
        inputs[i * 64 + y * 8 + x] = (on ? 1 : 0) + (rand() - 0.5) * 0.3;
      }
    }
  }
  return { inputs, labels };
}

async function main(): Promise<void> {
  const out = process.argv[2];
  if (!out) throw new Error('usage: make-example-run.ts <run folder>');
  const dir = path.resolve(out);
  rmSync(dir, { recursive: true, force: true });
  const { inputs, labels } = probeSet();
  const n = labels.length;
  const layers: LayerInfo[] = [
    { name: 'conv1', kind: 'conv', shape: TINY_OUTPUT_SHAPES.conv1, op: 'Conv' },
    { name: 'relu1', kind: 'activation', shape: TINY_OUTPUT_SHAPES.relu1, op: 'Relu' },
    { name: 'pool1', kind: 'pool', shape: TINY_OUTPUT_SHAPES.pool1, op: 'MaxPool' },
  ];
  const writer = await RunWriter.create(dir, {
    name: 'example: untrained tiny CNN on synthetic bars',
    model: { name: 'tiny CNN (conv 3×3 → ReLU → max-pool 2×2 → linear), untrained', framework: 'onnx' },
    layers,
    classes: CLASSES,
    probe: { inputs, inputShape: [...TINY_INPUT_SHAPE], labels, description: `synthetic 8×8 bars, ${PER_CLASS} per class, seed 2024` },
  });
  const model = buildTinyCnn(tinyCnnWeights(1));
  // Run the checkpoint once to store its activations beside it, as the probe's store="both" does.
  const tmpModel = path.join(dir, 'model-epoch0.onnx.tmp');
  writeFileSync(tmpModel, model);
  const outputs = await materializeOutputs({
    modelPath: tmpModel,
    inputs: async (rows) => {
      const o = new Float32Array(rows.length * 64);
      rows.forEach((r, i) => o.set(inputs.subarray(r * 64, r * 64 + 64), i * 64));
      return o;
    },
    inputShape: TINY_INPUT_SHAPE,
    sampleIndices: Array.from({ length: n }, (_, i) => i),
    outputs: ['conv1', 'relu1', 'pool1', 'logits'],
  });
  await disposeSessions();
  rmSync(tmpModel);
  const logits = outputs.get('logits')!.data;
  let loss = 0;
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const row = logits.subarray(i * 3, i * 3 + 3);
    const max = Math.max(...row);
    const logSum = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
    loss += logSum - row[labels[i]];
    if (row.indexOf(max) === labels[i]) correct++;
  }
  await writer.writeEpoch(0, {
    metrics: { loss: loss / n, accuracy: correct / n },
    activations: new Map(layers.map((l) => [l.name, outputs.get(l.name)!.data])),
    logits,
    dtype: 'float16',
    checkpoint: model,
  });
  await writer.finish();
  process.stdout.write(`wrote ${dir}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});

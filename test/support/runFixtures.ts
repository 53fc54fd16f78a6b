// Small runs for tests, written with the project's own writer from a seeded generator, so every
// value a test reads back is known.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { LayerInfo, TensorDType } from '../../src/shared/runFormat';
import { RunWriter } from '../../src/core/run/runWriter';
export { seededRandom } from './seededRandom';
import { seededRandom } from './seededRandom';

export function randomArray(n: number, rand: () => number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => (rand() * 2 - 1) * scale);
}

export function product(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

export const SMALL_LAYERS: LayerInfo[] = [
  { name: 'conv1', kind: 'conv', shape: [4, 6, 6], op: 'Conv2d', source: { file: 'model.py', line: 12 } },
  { name: 'pool1', kind: 'pool', shape: [4, 3, 3], op: 'MaxPool2d' },
  { name: 'fc', kind: 'linear', shape: [10], op: 'Linear' },
];

export interface SmallRun {
  readonly dir: string;
  readonly inputs: Float32Array;
  readonly labels: Int32Array;
  /** epoch → layer (and 'logits') → values as written. */
  readonly values: Map<number, Map<string, Float32Array>>;
  cleanup(): void;
}

export function tempDir(prefix = 'cnnslicer-test-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

export async function writeSmallRun(
  options: { n?: number; epochs?: number[]; dtype?: TensorDType; seed?: number; dir?: string; finish?: boolean } = {},
): Promise<SmallRun> {
  const n = options.n ?? 20;
  const epochs = options.epochs ?? [0, 1, 2];
  const rand = seededRandom(options.seed ?? 1);
  const root = options.dir ?? tempDir();
  const dir = path.join(root, 'run');
  const inputShape = [1, 8, 8];
  const inputs = randomArray(n * product(inputShape), rand);
  const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
  const writer = await RunWriter.create(dir, {
    name: 'small test run',
    model: { name: 'TinyCNN', framework: 'test' },
    layers: SMALL_LAYERS,
    classes: ['zero', 'one', 'two'],
    probe: { inputs, inputShape, labels, description: 'seeded random inputs' },
  });
  const values = new Map<number, Map<string, Float32Array>>();
  for (const epoch of epochs) {
    const acts = new Map<string, Float32Array>();
    for (const layer of SMALL_LAYERS) acts.set(layer.name, randomArray(n * product(layer.shape), rand, 3));
    const logits = randomArray(n * 3, rand, 5);
    await writer.writeEpoch(epoch, {
      metrics: { loss: 1 / (epoch + 1), accuracy: 0.3 + 0.1 * epoch },
      activations: acts,
      logits,
      dtype: options.dtype ?? 'float32',
    });
    values.set(epoch, new Map([...acts, ['logits', logits]]));
  }
  if (options.finish ?? true) await writer.finish();
  return { dir, inputs, labels, values, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

// RunInfo values for the extension's unit tests, shaped as the engine returns them.
import type { EpochEntry, LayerInfo, RunInfo, RunManifest } from '../../src/shared/runFormat';

export const MNIST_LAYERS: readonly LayerInfo[] = [
  { name: 'features.0', kind: 'conv', shape: [16, 28, 28], op: 'Conv2d', source: { file: 'model.py', line: 12 } },
  { name: 'features.2', kind: 'pool', shape: [16, 14, 14], op: 'MaxPool2d' },
  { name: 'classifier.1', kind: 'linear', shape: [512], op: 'Linear' },
];

export const MNIST_EPOCHS: readonly EpochEntry[] = [
  { epoch: 0, metrics: { loss: 2.302585, accuracy: 0.0987 }, activations: 'epochs/epoch-0000/activations.safetensors', dtype: 'float16' },
  { epoch: 1, metrics: { loss: 0.123, accuracy: 0.971 }, activations: 'epochs/epoch-0001/activations.safetensors', checkpoint: 'epochs/epoch-0001/model.onnx' },
  { epoch: 2, metrics: { loss: undefined, accuracy: 0.1 }, checkpoint: 'epochs/epoch-0002/model.onnx' },
];

export function makeRun(overrides: { dir?: string; name?: string; incompleteEpochs?: number[]; manifest?: Partial<RunManifest> } = {}): RunInfo {
  const manifest: RunManifest = {
    format: 'cnnslicer-run',
    version: 1,
    model: { name: 'LeNet', framework: 'pytorch' },
    layers: MNIST_LAYERS,
    classes: ['zero', 'one', 'two'],
    probe: { file: 'probe.safetensors', count: 300, inputShape: [1, 28, 28] },
    epochs: MNIST_EPOCHS,
    ...overrides.manifest,
  };
  return {
    dir: overrides.dir ?? '/work/runs/mnist',
    name: overrides.name ?? 'mnist',
    manifest,
    incompleteEpochs: overrides.incompleteEpochs ?? [],
  };
}

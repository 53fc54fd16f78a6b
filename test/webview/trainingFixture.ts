// Runs for the training view's browser tests, written with the project's RunWriter, and the engine
// results for them computed by the engine's own measure functions: what the view receives in
// VS Code, minus the process hops.
//
// The logits are chosen so each epoch's predictions are known exactly: at epoch 0 every sample is
// predicted as class 0 (classes 1 and 2 are never predicted, so H(label | y = 1) and
// H(label | y = 2) are undefined: the paper's ∞), at epoch 1 class 2 is still never predicted,
// from epoch 2 on every class is. Epoch 2's counts are all different, for the colour-ramp check.
import * as path from 'node:path';
import { interSampleEntropyOf, labelEntropiesOf } from '../../src/engine/analysis/measures';
import { RunReader } from '../../src/engine/run/runReader';
import { RunWriter } from '../../src/core/run/runWriter';
import type { InterSampleEntropyResult, LabelEntropiesResult, MeasureSeries } from '../../src/shared/measures';
import type { LayerInfo, RunInfo } from '../../src/shared/runFormat';
import { randomArray, seededRandom } from '../support/runFixtures';

/** A class name and a run name a careless view would turn into markup (and run). */
export const HOSTILE_NAME = '<img src=x onerror=window.__xss=1>';

export const CLASSES = ['zero', 'one', HOSTILE_NAME];

const LAYERS: LayerInfo[] = [{ name: 'fc', kind: 'linear', shape: [4], op: 'Linear' }];
const INPUT_SHAPE = [1, 4, 4];

/**
 * predictions[epoch][trueClass] = how many of that class's samples are predicted as each class.
 * Rows sum to the samples per class.
 */
type Plan = readonly (readonly (readonly number[])[])[];

/** 10 samples per class. */
const SMALL_PLAN: Plan = [
  [
    [10, 0, 0],
    [10, 0, 0],
    [10, 0, 0],
  ],
  [
    [10, 0, 0],
    [4, 6, 0],
    [5, 5, 0],
  ],
  [
    [9, 1, 0],
    [0, 8, 2],
    [3, 0, 7],
  ],
  [
    [10, 0, 0],
    [0, 9, 1],
    [0, 0, 10],
  ],
];

/** 20 samples per class: a second run to compare, with a larger probe set. */
const LARGE_PLAN: Plan = [
  [
    [12, 8, 0],
    [6, 14, 0],
    [10, 10, 0],
  ],
  [
    [18, 2, 0],
    [1, 18, 1],
    [2, 3, 15],
  ],
  [
    [20, 0, 0],
    [0, 20, 0],
    [1, 0, 19],
  ],
];

export interface RecordedRun {
  readonly info: RunInfo;
  readonly labels: MeasureSeries<LabelEntropiesResult>;
  readonly inputEntropy: MeasureSeries<InterSampleEntropyResult>;
  readonly losses: readonly number[];
  readonly plan: Plan;
}

async function writePlannedRun(dir: string, name: string, plan: Plan, losses: readonly number[], seed: number): Promise<void> {
  const perClass = plan[0][0].reduce((a, b) => a + b, 0);
  const n = perClass * CLASSES.length;
  const rand = seededRandom(seed);
  const labels = Array.from({ length: n }, (_, i) => Math.floor(i / perClass));
  const writer = await RunWriter.create(dir, {
    name,
    model: { name: 'PlannedCNN', framework: 'test' },
    layers: LAYERS,
    classes: CLASSES,
    probe: { inputs: randomArray(n * 16, rand), inputShape: INPUT_SHAPE, labels, description: 'seeded random inputs' },
  });
  for (let epoch = 0; epoch < plan.length; epoch++) {
    const logits = new Float32Array(n * CLASSES.length);
    for (let trueClass = 0; trueClass < CLASSES.length; trueClass++) {
      let sample = trueClass * perClass;
      plan[epoch][trueClass].forEach((count, predicted) => {
        for (let j = 0; j < count; j++, sample++) {
          for (let c = 0; c < CLASSES.length; c++) logits[sample * CLASSES.length + c] = c === predicted ? 4 + rand() : rand() - 1;
        }
      });
    }
    await writer.writeEpoch(epoch, {
      metrics: { loss: losses[epoch], accuracy: plan[epoch].reduce((acc, row, r) => acc + row[r], 0) / n },
      activations: new Map([['fc', randomArray(n * 4, rand)]]),
      logits,
    });
  }
  await writer.finish();
}

async function record(dir: string, plan: Plan, losses: readonly number[]): Promise<RecordedRun> {
  const reader = await RunReader.open(dir);
  try {
    const labels = await labelEntropiesOf(reader, { epoch: 'all' });
    const inputEntropy = await interSampleEntropyOf(reader, { samples: { kind: 'all' }, layer: 'input', epoch: 'all' });
    return { info: reader.info, labels, inputEntropy, losses, plan };
  } finally {
    await reader.close();
  }
}

/** The run with ∞ gaps (named with markup) and a larger comparison run, with their recorded results. */
export async function writeTrainingRuns(root: string): Promise<{ small: RecordedRun; large: RecordedRun }> {
  const smallLosses = [2.2, 1.4, 0.71, 0.32];
  const largeLosses = [1.9, 0.62, 0.18];
  await writePlannedRun(path.join(root, 'small'), `small ${HOSTILE_NAME}`, SMALL_PLAN, smallLosses, 7);
  await writePlannedRun(path.join(root, 'large'), 'large-probe', LARGE_PLAN, largeLosses, 11);
  return {
    small: await record(path.join(root, 'small'), SMALL_PLAN, smallLosses),
    large: await record(path.join(root, 'large'), LARGE_PLAN, largeLosses),
  };
}

/** The run as it was before its last epoch was written: the manifest and results without it. */
export function withoutLastEpoch(run: RecordedRun): RecordedRun {
  const manifest = run.info.manifest;
  return {
    ...run,
    info: { ...run.info, manifest: { ...manifest, epochs: manifest.epochs.slice(0, -1), complete: false } },
    labels: { ...run.labels, items: run.labels.items.slice(0, -1) },
  };
}

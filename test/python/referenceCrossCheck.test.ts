// The engine against the independent NumPy/SciPy implementation of the paper's estimators
// (bench/reference/estimators_ref.py) on MNIST subsets: every measure agrees to 1e-4 relative.
import * as assert from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { writeNpy } from '../../bench/npy';
import { knn } from '../../src/engine/compute/knn';
import { pairwiseChannelDistances } from '../../src/engine/compute/pairwiseDistances';
import { imagesAsFloat32, loadMnist, stratifiedSubset, type MnistSplit } from '../../src/core/data/mnist';
import { channelCapacity, featureMapEntropies, interSampleEntropy, labelEntropies, resolveEstimatorParams } from '../../src/engine/estimators';
import { describePythonSearch, findPython, REPO_ROOT, runPython } from '../support/python';

const REFERENCE = path.join(REPO_ROOT, 'bench', 'reference', 'estimators_ref.py');
const REL = 1e-4;

function close(actual: number, expected: number, what: string): void {
  const scale = Math.max(Math.abs(expected), 1e-12);
  assert.ok(Math.abs(actual - expected) <= REL * scale, `${what}: engine ${actual}, reference ${expected}`);
}

/** Fixed random 3×3 convolutions + ReLU of 28×28 digits, then 2×2 max-pooling: two related layers. */
function convLayers(images: Float32Array, n: number, channels: number): { a: Float32Array; b: Float32Array } {
  let seed = 7;
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  const w = Float32Array.from({ length: channels * 9 }, rand);
  const a = new Float32Array(n * channels * 26 * 26);
  const b = new Float32Array(n * channels * 13 * 13);
  for (let s = 0; s < n; s++) {
    for (let c = 0; c < channels; c++) {
      const base = (s * channels + c) * 676;
      for (let y = 0; y < 26; y++) {
        for (let x = 0; x < 26; x++) {
          let v = 0;
          for (let dy = 0; dy < 3; dy++) for (let dx = 0; dx < 3; dx++) v += w[c * 9 + dy * 3 + dx] * images[s * 784 + (y + dy) * 28 + x + dx];
          a[base + y * 26 + x] = Math.max(0, v);
        }
      }
      for (let y = 0; y < 13; y++) {
        for (let x = 0; x < 13; x++) {
          const p = base + 2 * y * 26 + 2 * x;
          b[(s * channels + c) * 169 + y * 13 + x] = Math.max(a[p], a[p + 1], a[p + 26], a[p + 27]);
        }
      }
    }
  }
  return { a, b };
}

describe('engine vs the NumPy/SciPy reference on MNIST subsets', function () {
  this.timeout(300_000);
  let python: string | undefined;
  let dir: string;
  let train: MnistSplit;

  before(async function () {
    python = findPython({ require: ['numpy', 'scipy'] });
    if (!python) {
      if (process.env.CI) throw new Error(`no Python with numpy and scipy: ${describePythonSearch({ require: ['numpy', 'scipy'] })}`);
      console.log(`    (skipped: no Python with numpy and scipy — ${describePythonSearch({ require: ['numpy', 'scipy'] })})`);
      this.skip();
    }
    dir = mkdtempSync(path.join(tmpdir(), 'cnnslicer-xcheck-'));
    train = await loadMnist('train');
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function reference(args: string[]): Promise<Record<string, unknown>> {
    const env = { ...process.env };
    delete env.OPENBLAS_CORETYPE;
    delete env.OPENBLAS_L2_SIZE;
    const r = await runPython(python!, [REFERENCE, ...args], { env, timeoutMs: 240_000 });
    assert.strictEqual(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  }

  for (const [perClass, k] of [
    [30, 50],
    [60, 200],
  ] as const) {
    it(`inter-sample entropy of ${perClass} images per class, k = ${k}`, async () => {
      const indices = stratifiedSubset(train.labels, perClass, 11);
      const points = imagesAsFloat32(train, indices);
      const n = indices.length;
      const file = path.join(dir, `inter-${perClass}.npy`);
      writeNpy(file, points, [n, 784]);
      const graph = await knn(points, n, 784, k);
      const engine = interSampleEntropy(graph, resolveEstimatorParams({ interK: k }));
      const ref = await reference(['inter', '--points', file, '--k', String(k), '--method', 'ckdtree']);
      close(engine.entropy, ref.entropy as number, 'H');
      assert.strictEqual(engine.unsolved, ref.unsolved);
    });
  }

  it('intra-sample entropy of every image and of conv feature maps', async () => {
    const indices = stratifiedSubset(train.labels, 20, 5);
    const images = imagesAsFloat32(train, indices);
    const n = indices.length;
    const { a } = convLayers(images, n, 3);
    for (const [name, data, channels, size] of [
      ['images', images, 1, 784],
      ['conv maps', a, 3, 676],
    ] as const) {
      const file = path.join(dir, `intra-${channels}.npy`);
      writeNpy(file, data, [n, channels, size]);
      const engine = featureMapEntropies(data, n, channels, size, resolveEstimatorParams());
      const ref = await reference(['intra', '--maps', file, '--bins', '32']);
      const entropies = (ref.entropies as (number | null)[][]).flat();
      assert.strictEqual(entropies.length, n * channels);
      entropies.forEach((h, i) => {
        assert.notStrictEqual(h, null);
        assert.ok(Math.abs(engine.entropy[i] - (h as number)) <= REL * Math.max(1, h as number), `${name} map ${i}: ${engine.entropy[i]} vs ${h}`);
      });
    }
  });

  it('channel capacity between a conv layer and its pooled layer', async () => {
    const indices = stratifiedSubset(train.labels, 15, 9);
    const images = imagesAsFloat32(train, indices);
    const n = indices.length;
    const channels = 4;
    const { a, b } = convLayers(images, n, channels);
    const fa = path.join(dir, 'cap-a.npy');
    const fb = path.join(dir, 'cap-b.npy');
    writeNpy(fa, a, [n, channels, 26, 26]);
    writeNpy(fb, b, [n, channels, 13, 13]);
    const params = resolveEstimatorParams();
    const engine = channelCapacity(await pairwiseChannelDistances(a, n, channels, 676), await pairwiseChannelDistances(b, n, channels, 169), params);
    const ref = await reference(['capacity', '--a', fa, '--b', fb, '--bins', String(params.capacityBins)]);
    const matrix = (ref.capacity as number[][]).flat();
    matrix.forEach((c, i) => assert.ok(Math.abs(engine.capacity[i] - c) <= REL * Math.max(1, c), `cell ${i}: ${engine.capacity[i]} vs ${c}`));
    (ref.hA as number[]).forEach((h, i) => close(engine.hA[i], h, `H(A) ${i}`));
    (ref.hB as number[]).forEach((h, i) => close(engine.hB[i], h, `H(B) ${i}`));
  });

  it('label entropies of a confusion matrix with a never-predicted class', async () => {
    const classes = 10;
    const confusion = new Int32Array(classes * classes);
    let seed = 3;
    for (let t = 0; t < classes; t++) {
      for (let p = 0; p < classes; p++) {
        seed = (seed * 69069 + 1) % 4294967296;
        // Column 7 stays empty: nothing is predicted as class 7.
        confusion[t * classes + p] = p === 7 ? 0 : (seed >>> 24) % (t === p ? 60 : 6);
      }
    }
    const file = path.join(dir, 'confusion.npy');
    writeNpy(file, confusion, [classes, classes]);
    const engine = labelEntropies(confusion, classes);
    const ref = await reference(['labels', '--confusion', file]);
    (ref.label_given_prediction as (number | null)[]).forEach((h, i) => {
      if (h === null) assert.strictEqual(engine.labelGivenPrediction[i], undefined, `column ${i}`);
      else close(engine.labelGivenPrediction[i]!, h, `H(label | y = ${i})`);
    });
    (ref.prediction_given_label as (number | null)[]).forEach((h, i) => close(engine.predictionGivenLabel[i]!, h as number, `H(y | label = ${i})`));
    assert.strictEqual(engine.labelGivenPrediction[7], undefined);
  });
});

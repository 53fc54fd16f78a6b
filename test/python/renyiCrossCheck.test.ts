// The matrix-based Rényi entropy (estimators/renyiEntropy.ts) against the independent NumPy/SciPy
// implementation (bench/reference/renyi_ref.py: scipy's pdist, numpy's median and LAPACK's
// eigvalsh) on MNIST subsets and on recorded layers of the sample run: every entropy and
// information agrees to 1e-6 relative.
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { writeNpy } from '../../bench/npy';
import { imagesAsFloat32, loadMnist, stratifiedSubset, type MnistSplit } from '../../src/core/data/mnist';
import { labelGram, normalizeTrace, renyiEntropy, renyiGram, renyiMutualInformation, resolveEstimatorParams } from '../../src/engine/estimators';
import type { RenyiSigmaRule } from '../../src/engine/estimators';
import { disposeSessions } from '../../src/engine/run/checkpoint';
import { RunReader } from '../../src/engine/run/runReader';
import { REPO_ROOT, runPython } from '../support/python';
import { parseOutput, requirePython } from './pyhelpers';

const REFERENCE = path.join(REPO_ROOT, 'bench', 'reference', 'renyi_ref.py');
const SAMPLE_RUN = path.join(REPO_ROOT, 'examples', 'sample-run');
const REL = 1e-6;
const ALPHAS = [1.01, 2, 0.5, 1, 3];

function close(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= REL * Math.max(Math.abs(expected), 1e-12), `${what}: engine ${actual}, reference ${expected}`);
}

interface EntropyReply {
  sigma: number | null;
  entropy: number[];
}
interface InformationReply {
  sigma_a: number;
  sigma_b: number | null;
  entropy_a: number[];
  entropy_b: number[];
  joint: number[];
  information: number[];
}

describe('matrix-based Rényi entropy vs the NumPy/SciPy reference', function () {
  this.timeout(300_000);
  let python: string;
  let dir: string;
  let train: MnistSplit;

  before(async function () {
    python = requirePython(this, ['numpy', 'scipy']);
    dir = mkdtempSync(path.join(tmpdir(), 'cnnslicer-renyi-'));
    train = await loadMnist('train');
  });
  after(async () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    await disposeSessions();
  });

  async function reference<T>(args: string[]): Promise<T> {
    const r = await runPython(python, [REFERENCE, ...args], { timeoutMs: 240_000 });
    assert.equal(r.status, 0, r.stderr);
    return parseOutput<T>(r);
  }
  const alphaArgs = ALPHAS.flatMap((a) => ['--alpha', String(a)]);

  for (const [perClass, rule] of [
    [20, 'median'],
    [20, 'silverman'],
    [20, '4.5'],
    [100, 'median'],
  ] as const) {
    it(`MNIST, ${perClass} images per class, σ ${rule}: S_α of the images and of the labels, I_α(images; labels)`, async () => {
      const indices = stratifiedSubset(train.labels, perClass, 21);
      const n = indices.length;
      const images = imagesAsFloat32(train, indices);
      const labels = Int32Array.from(indices, (i) => train.labels[i]);
      const fx = path.join(dir, `x-${perClass}.npy`);
      const fy = path.join(dir, `y-${perClass}.npy`);
      writeNpy(fx, images, [n, 784]);
      writeNpy(fy, labels, [n]);
      const fixed = Number(rule);
      const params = resolveEstimatorParams(
        Number.isFinite(fixed) ? { renyiSigma: 'fixed', renyiSigmaValue: fixed } : { renyiSigma: rule as RenyiSigmaRule },
      );
      const { gram, sigma } = renyiGram(images, n, 784, params);
      const labelsGram = normalizeTrace(labelGram(labels), n);
      const ref = await reference<InformationReply>(['information', '--a', fx, '--b-labels', fy, '--sigma', rule, ...alphaArgs]);
      close(sigma, ref.sigma_a, 'σ');
      ALPHAS.forEach((alpha, k) => {
        const info = renyiMutualInformation(gram, labelsGram, n, alpha);
        close(info.entropyA, ref.entropy_a[k], `S_${alpha}(images)`);
        close(info.entropyB, ref.entropy_b[k], `S_${alpha}(labels)`);
        close(info.jointEntropy, ref.joint[k], `S_${alpha}(images, labels)`);
        close(info.information, ref.information[k], `I_${alpha}(images; labels)`);
      });
    });
  }

  it('the sample run at epochs 1 and 20: S_α of recorded layers and I_α(input; layer), I_α(layer; labels)', async () => {
    const reader = await RunReader.open(SAMPLE_RUN);
    try {
      const samples = { kind: 'indices' as const, indices: Array.from({ length: 300 }, (_, i) => 3 * i + 1) };
      const allLabels = await reader.labels();
      const labels = Int32Array.from(samples.indices, (i) => allLabels[i]);
      const fy = path.join(dir, 'run-labels.npy');
      writeNpy(fy, labels, [labels.length]);
      const params = resolveEstimatorParams();
      const read = async (layer: string, epoch: number): Promise<{ data: Float32Array; n: number; d: number; file: string }> => {
        const slice = await reader.slice({ samples, layer, channel: 'all', epoch });
        const n = slice.sampleIndices.length;
        const d = slice.data.length / n;
        const file = path.join(dir, `run-${layer}-${epoch}.npy`);
        writeNpy(file, slice.data, [n, d]);
        return { data: slice.data, n, d, file };
      };
      const input = await read('input', 1);
      const inputGram = renyiGram(input.data, input.n, input.d, params).gram;
      const labelsGram = normalizeTrace(labelGram(labels), labels.length);
      for (const epoch of [1, 20]) {
        for (const layer of ['conv1', 'pool2', 'fc', 'logits']) {
          const t = await read(layer, epoch);
          const { gram, sigma } = renyiGram(t.data, t.n, t.d, params);
          const withInput = await reference<InformationReply>(['information', '--a', input.file, '--b', t.file, '--alpha', '1.01', '--alpha', '2']);
          const withLabels = await reference<InformationReply>(['information', '--a', t.file, '--b-labels', fy, '--alpha', '1.01', '--alpha', '2']);
          close(sigma, withLabels.sigma_a, `${layer}@${epoch} σ`);
          [1.01, 2].forEach((alpha, k) => {
            const where = `${layer}@${epoch}, α = ${alpha}`;
            close(renyiEntropy(gram, t.n, alpha), withLabels.entropy_a[k], `S(${where})`);
            close(renyiMutualInformation(inputGram, gram, t.n, alpha).information, withInput.information[k], `I(input; ${where})`);
            close(renyiMutualInformation(gram, labelsGram, t.n, alpha).information, withLabels.information[k], `I(${where}; labels)`);
          });
        }
      }
      // The labels' own entropy: 300 probes of the sample run, 30 of each digit.
      const ref = await reference<EntropyReply>(['entropy', '--labels', fy, ...alphaArgs]);
      ALPHAS.forEach((alpha, k) => close(renyiEntropy(labelsGram, labels.length, alpha), ref.entropy[k], `S_${alpha}(labels)`));
    } finally {
      await reader.close();
    }
  });
});

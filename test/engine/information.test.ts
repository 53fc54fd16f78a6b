// The matrix-based Rényi information over a real run (issue 16, item 3–4): the engine's queries
// on the MNIST sample run (examples/sample-run, the probe samples of one digit to keep it quick)
// agree with one another and with the estimator's own functions, are cached, refuse what is not a
// representation, and the CLI's `infoplane` writes the JSON the issue specifies.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { infoPlaneOf, informationMatrixOf, layerInformationOf } from '../../src/engine/analysis/information';
import { ResultCache } from '../../src/engine/cache/resultCache';
import { normalizeTrace, labelGram, renyiEntropy, renyiGram, renyiJoint } from '../../src/engine/estimators/renyiEntropy';
import { resolveEstimatorParams } from '../../src/engine/estimators';
import { createHandlers } from '../../src/engine/handlers';
import { RunReader } from '../../src/engine/run/runReader';
import type { InfoPlaneJson } from '../../src/shared/information';
import { tempDir } from '../support/runFixtures';

const root = path.resolve(__dirname, '..', '..');
const SAMPLE_RUN = path.join(root, 'examples', 'sample-run');
const DIGIT = { kind: 'class', classIndex: 3 } as const;

function close(a: number, b: number, what: string, tol = 1e-9): void {
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(a), Math.abs(b)), `${what}: ${a} vs ${b}`);
}

describe('matrix-based Rényi information over a run (engine)', function () {
  this.timeout(120_000);
  let reader: RunReader;

  before(async function () {
    if (!fs.existsSync(path.join(SAMPLE_RUN, 'cnnslicer.json'))) this.skip();
    reader = await RunReader.open(SAMPLE_RUN);
  });

  after(async () => {
    await reader?.close();
  });

  it('computes I(X; T) and I(T; Y) as the estimator does, from the slices and the labels', async () => {
    const plane = await infoPlaneOf(reader, { samples: DIGIT, epoch: 20 });
    const [item] = plane.items;
    assert.deepEqual(
      item.points.map((p) => [p.layer, p.depth]),
      ['input', ...reader.manifest.layers.map((l) => l.name)].map((l, i) => [l, i]),
    );
    assert.equal(item.n, 100);
    assert.equal(item.approximate, false);
    // By hand for conv2: the estimator's functions on the engine's slices.
    const params = resolveEstimatorParams();
    const slice = async (layer: string): Promise<{ data: Float32Array; n: number; indices: Int32Array }> => {
      const s = await reader.slice({ samples: DIGIT, layer, channel: 'all', epoch: 20 });
      return { data: s.data, n: s.sampleIndices.length, indices: Int32Array.from(s.sampleIndices) };
    };
    const x = await slice('input');
    const t = await slice('conv2');
    const n = x.n;
    const ax = renyiGram(x.data, n, x.data.length / n, params).gram;
    const at = renyiGram(t.data, n, t.data.length / n, params).gram;
    const labels = await reader.labels();
    const ay = normalizeTrace(labelGram(Array.from(x.indices, (i) => labels[i])), n);
    const s = (a: Float64Array): number => renyiEntropy(a, n, params.renyiAlpha);
    const ixt = s(ax) + s(at) - renyiJoint(ax, at, n, params.renyiAlpha);
    const ity = s(at) + s(ay) - renyiJoint(at, ay, n, params.renyiAlpha);
    const conv2 = item.points.find((p) => p.layer === 'conv2')!;
    close(conv2.IXT, ixt, 'I(X; conv2)');
    close(conv2.ITY, ity, 'I(conv2; Y)');
    // One digit's labels are all equal: S(Y) = 0, so I(T; Y) = 0 for every T.
    for (const p of item.points) close(p.ITY, 0, `I(${p.layer}; Y) within one class`, 1e-9);
  });

  it('gives the same I_α pairwise, in the matrix and in the plane, symmetric in its arguments', async () => {
    const samples = { kind: 'indices', indices: Array.from({ length: 120 }, (_, i) => i * 8) } as const;
    const ab = (await layerInformationOf(reader, { samples, layerA: 'pool1', layerB: 'labels', epoch: 5 })).items[0];
    const ba = (await layerInformationOf(reader, { samples, layerA: 'labels', layerB: 'pool1', epoch: 5 })).items[0];
    close(ab.information, ba.information, 'I(pool1; Y) = I(Y; pool1)');
    assert.ok(ab.information > 0.1, `a probe set of every digit: I(pool1; Y) = ${ab.information}`);
    assert.ok(ab.information <= Math.min(ab.entropyA, ab.entropyB) + 1e-9, 'I ≤ min(S(A), S(B))');
    assert.ok(Number.isNaN(ab.sigmaB), 'the labels’ kernel has no σ');
    const m = await informationMatrixOf(reader, { samples, epoch: 5, layers: ['input', 'pool1', 'labels'] });
    assert.deepEqual(m.layers, ['input', 'pool1', 'labels']);
    close(m.information[1 * 3 + 2], ab.information, 'matrix[pool1][labels]');
    close(m.information[2 * 3 + 1], ab.information, 'symmetric');
    close(m.information[1 * 3 + 1], ab.entropyA, 'diagonal: S(pool1)');
    const plane = (await infoPlaneOf(reader, { samples, epoch: 5 })).items[0];
    close(plane.points.find((p) => p.layer === 'pool1')!.ITY, ab.information, 'plane I(pool1; Y)');
    close(plane.points.find((p) => p.layer === 'pool1')!.IXT, m.information[0 * 3 + 1], 'plane I(X; pool1)');
  });

  it('caches every epoch’s plane, keyed by α and σ', async () => {
    const dir = tempDir('cnnslicer-info-cache-');
    const cached = async (params?: { renyiAlpha: number }): Promise<number> =>
      (await infoPlaneOf(reader, { samples: DIGIT, epoch: 'all', epochs: [0, 1], ...(params ? { params } : {}) }, { cache: new ResultCache({ dir }) })).cached;
    assert.equal(await cached(), 0);
    assert.equal(await cached(), 2);
    assert.equal(await cached({ renyiAlpha: 2 }), 0, 'another α is another result');
  });

  it('refuses what is not a representation, naming it, through the engine’s handler', async () => {
    const handlers = createHandlers({ runs: { get: () => Promise.resolve(reader) } });
    const ctx = { signal: new AbortController().signal, progress: () => undefined };
    await assert.rejects(
      handlers.layerInformation({ run: SAMPLE_RUN, samples: DIGIT, layerA: 'conv9', layerB: 'labels', epoch: 0 }, ctx),
      /"conv9" is not a representation of the run: "input", "labels" or a recorded layer/,
    );
    await assert.rejects(handlers.infoPlane({ run: SAMPLE_RUN, samples: DIGIT, epoch: 0, params: { renyiAlpha: -1 } }, ctx), /renyiAlpha/);
  });

  it('cnnslicer infoplane --json - writes the estimator, α, σ and a point per epoch and layer', () => {
    const cache = tempDir('cnnslicer-info-cli-');
    const res = spawnSync(
      process.execPath,
      [
        '--require',
        'tsx/cjs',
        path.join(root, 'src/engine/cli.ts'),
        'infoplane',
        SAMPLE_RUN,
        '--epochs',
        '0,20',
        '--class',
        '3',
        '--alpha',
        '2',
        '--json',
        '-',
      ],
      { cwd: root, encoding: 'utf8', env: { ...process.env, CNNSLICER_CACHE_DIR: cache } },
    );
    assert.equal(res.status, 0, res.stderr);
    const json = JSON.parse(res.stdout) as InfoPlaneJson;
    assert.equal(json.estimator, 'renyi');
    assert.equal(json.alpha, 2);
    assert.equal(json.sigma, 'median');
    assert.equal(json.n, 100);
    assert.equal(json.points.length, 2 * (1 + reader.manifest.layers.length));
    assert.deepEqual(Object.keys(json.points[0]).sort(), ['ITY', 'IXT', 'epoch', 'layer']);
    const bad = spawnSync(process.execPath, ['--require', 'tsx/cjs', path.join(root, 'src/engine/cli.ts'), 'infoplane', SAMPLE_RUN, '--sigma', 'wide'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, CNNSLICER_CACHE_DIR: cache },
    });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--sigma must be "median", "silverman" or a number > 0, got "wide"/);
  });
});

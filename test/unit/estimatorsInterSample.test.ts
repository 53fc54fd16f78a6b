import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { CnnSlicerError } from '../../src/shared/errors';
import { interSampleEntropy, interSampleEntropyDense, sigmaResidual, type KnnGraph } from '../../src/engine/estimators/interSampleEntropy';
import { ESTIMATOR_DEFAULTS, effectiveK } from '../../src/engine/estimators/params';
import { seededRandom as random } from '../support/seededRandom';

/**
 * Brute-force k-NN: Euclidean distances summed in coordinate order and rounded to float32 (as the
 * dense reference computes them), neighbours by (distance, index), the sample itself excluded.
 */
function bruteForceKnn(points: Float32Array, n: number, d: number, k: number): KnnGraph {
  const distances = new Float32Array(n * k);
  const indices = new Int32Array(n * k);
  for (let i = 0; i < n; i++) {
    const row: { j: number; dist: number }[] = [];
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      let s = 0;
      for (let c = 0; c < d; c++) {
        const diff = points[i * d + c] - points[j * d + c];
        s += diff * diff;
      }
      row.push({ j, dist: Math.fround(Math.sqrt(s)) });
    }
    row.sort((x, y) => x.dist - y.dist || x.j - y.j);
    for (let t = 0; t < k; t++) {
      distances[i * k + t] = row[t].dist;
      indices[i * k + t] = row[t].j;
    }
  }
  return { n, k, distances, indices };
}

/** n points in d dimensions from a few Gaussian-ish clusters, so neighbourhoods are uneven. */
function clusteredPoints(rnd: () => number, n: number, d: number): Float32Array {
  const centres = Array.from({ length: 3 }, () => Array.from({ length: d }, () => rnd() * 10));
  const points = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const centre = centres[Math.floor(rnd() * centres.length)];
    const spread = 0.2 + rnd() * 2;
    for (let c = 0; c < d; c++) points[i * d + c] = centre[c] + (rnd() + rnd() + rnd() - 1.5) * spread;
  }
  return points;
}

/** The same samples listed in another order: sample `permutation[s]` becomes sample s. */
function permutePoints(points: Float32Array, d: number, permutation: number[]): Float32Array {
  const out = new Float32Array(points.length);
  permutation.forEach((from, to) => out.set(points.subarray(from * d, (from + 1) * d), to * d));
  return out;
}

function shuffled(rnd: () => number, n: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

describe('estimators: inter-sample entropy (§4.4.1)', function () {
  // The dense reference is O(n²·k); on a loaded machine it can pass mocha's 2 s default.
  this.timeout(60_000);

  it('gives log2(N(N − 1)) when every sample is at the same distance from every other', () => {
    // With all distances equal, Eq. 5 gives σ = d / ln(k / log2 k) and every P(j|i) is the same,
    // so the joint table is uniform over the N(N − 1) ordered pairs.
    const n = 10;
    const k = n - 1;
    const indices = new Int32Array(n * k);
    for (let i = 0; i < n; i++) for (let t = 0; t < k; t++) indices[i * k + t] = t < i ? t : t + 1;
    const knn = { n, k, distances: new Float32Array(n * k).fill(2.5), indices };
    const result = interSampleEntropy(knn);
    assert.ok(Math.abs(result.entropy - Math.log2(n * (n - 1))) < 1e-12, `${result.entropy}`);
    for (const sigma of result.sigmas) assert.ok(Math.abs(sigma - 2.5 / Math.log(k / Math.log2(k))) < 1e-12 * sigma);
    assert.equal(result.unsolved, 0);
  });

  it('solves Eq. 5 for every σ to better than 1e−6 relative residual', () => {
    for (const [seed, n, d, k] of [
      [1, 60, 3, 2],
      [2, 120, 8, 7],
      [3, 200, 2, 50],
      [4, 150, 20, 149],
      [5, 80, 5, 16],
    ]) {
      const rnd = random(seed);
      const knn = bruteForceKnn(clusteredPoints(rnd, n, d), n, d, k);
      const result = interSampleEntropy(knn);
      assert.equal(result.unsolved, 0);
      assert.equal(result.unconverged, 0);
      for (let i = 0; i < n; i++) {
        const residual = sigmaResidual(knn, result.sigmas, i);
        assert.ok(residual < 1e-6, `n=${n} k=${k} sample ${i}: residual ${residual}`);
        assert.ok(residual <= ESTIMATOR_DEFAULTS.sigmaRelativeTolerance, `n=${n} k=${k} sample ${i}: residual ${residual} above the default tolerance`);
      }
    }
  });

  it('equals the dense brute-force reference on small random sets (property)', () => {
    fc.assert(
      fc.property(
        fc.integer(),
        fc.integer({ min: 50, max: 200 }),
        fc.integer({ min: 1, max: 12 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (seed, n, d, kFraction) => {
          const rnd = random(seed);
          const points = clusteredPoints(rnd, n, d);
          const k = 2 + Math.floor(kFraction * (n - 3));
          const sparse = interSampleEntropy(bruteForceKnn(points, n, d, k));
          const dense = interSampleEntropyDense(points, n, d, k);
          assert.ok(Math.abs(sparse.entropy - dense.entropy) < 1e-8, `n=${n} d=${d} k=${k}: ${sparse.entropy} vs ${dense.entropy}`);
          for (let i = 0; i < n; i++) assert.ok(Math.abs(sparse.sigmas[i] - dense.sigmas[i]) <= 1e-7 * dense.sigmas[i], `σ${i}`);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('takes the σ → 0 limit for samples with too many exact duplicates, and counts them', () => {
    // 30 samples; samples 0–5 are one point repeated 6 times. With k = 8, log2 k = 3, and each of
    // those has 5 neighbours at distance 0 ≥ 3: no σ > 0 solves Eq. 5 for them.
    const rnd = random(7);
    const n = 30;
    const d = 4;
    const points = clusteredPoints(rnd, n, d);
    for (let i = 1; i < 6; i++) points.set(points.subarray(0, d), i * d);
    const knn = bruteForceKnn(points, n, d, 8);
    const result = interSampleEntropy(knn);
    assert.equal(result.unsolved, 6);
    for (let i = 0; i < 6; i++) assert.equal(result.sigmas[i], 0);
    for (let i = 6; i < n; i++) assert.ok(sigmaResidual(knn, result.sigmas, i) < 1e-6);
    const dense = interSampleEntropyDense(points, n, d, 8);
    assert.ok(Math.abs(result.entropy - dense.entropy) < 1e-8, `${result.entropy} vs ${dense.entropy}`);
  });

  it('solves Eq. 5 when duplicates are fewer than log2 k', () => {
    // Two duplicates with k = 8: the sum falls to 2 < 3 as σ → 0, so a σ > 0 exists.
    const rnd = random(8);
    const n = 40;
    const d = 3;
    const points = clusteredPoints(rnd, n, d);
    points.set(points.subarray(0, d), d);
    points.set(points.subarray(0, d), 2 * d);
    const knn = bruteForceKnn(points, n, d, 8);
    const result = interSampleEntropy(knn);
    assert.equal(result.unsolved, 0);
    for (let i = 0; i < n; i++) assert.ok(sigmaResidual(knn, result.sigmas, i) < 1e-6, `sample ${i}`);
    assert.ok(Math.abs(result.entropy - interSampleEntropyDense(points, n, d, 8).entropy) < 1e-8);
  });

  it('is invariant to the order of the samples (property)', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 20, max: 120 }), fc.integer({ min: 2, max: 15 }), (seed, n, k) => {
        const rnd = random(seed);
        const d = 5;
        const points = clusteredPoints(rnd, n, d);
        const permutation = shuffled(rnd, n);
        const a = interSampleEntropy(bruteForceKnn(points, n, d, k));
        const b = interSampleEntropy(bruteForceKnn(permutePoints(points, d, permutation), n, d, k));
        assert.ok(Math.abs(a.entropy - b.entropy) < 1e-9, `${a.entropy} vs ${b.entropy}`);
        permutation.forEach((from, to) => assert.equal(b.sigmas[to], a.sigmas[from]));
      }),
      { numRuns: 50 },
    );
  });

  it('is invariant to scaling the data: σ scales with the distances, P does not change (property)', () => {
    fc.assert(
      fc.property(
        fc.integer(),
        fc.integer({ min: 20, max: 100 }),
        fc.integer({ min: 2, max: 19 }),
        fc.double({ min: 1e-3, max: 1e3, noNaN: true }),
        (seed, n, k, scale) => {
          const rnd = random(seed);
          const d = 4;
          const knn = bruteForceKnn(clusteredPoints(rnd, n, d), n, d, k);
          const scaled = { ...knn, distances: knn.distances.map((x) => x * scale) };
          const a = interSampleEntropy(knn);
          const b = interSampleEntropy(scaled);
          // Scaling rounds each distance to float32 again, a relative change up to 6e−8.
          assert.ok(Math.abs(a.entropy - b.entropy) < 1e-6, `${a.entropy} vs ${b.entropy}`);
          for (let i = 0; i < n; i++) assert.ok(Math.abs(b.sigmas[i] / (scale * a.sigmas[i]) - 1) < 1e-6, `σ${i}`);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('caps k at the N − 1 other samples', () => {
    assert.equal(effectiveK(20000), 1000);
    assert.equal(effectiveK(300), 299);
    assert.equal(effectiveK(50, { interK: 15 }), 15);
  });

  it('rejects a k-NN graph that breaks its contract', () => {
    const rnd = random(9);
    const knn = bruteForceKnn(clusteredPoints(rnd, 10, 2), 10, 2, 3);
    assert.throws(() => interSampleEntropy({ ...knn, k: 1, distances: knn.distances.subarray(0, 10), indices: knn.indices.subarray(0, 10) }), CnnSlicerError);
    const selfLoop = knn.indices.slice();
    selfLoop[4] = 1;
    assert.throws(() => interSampleEntropy({ ...knn, indices: selfLoop }), /itself or outside/);
    const repeated = knn.indices.slice();
    repeated[1] = repeated[0];
    assert.throws(() => interSampleEntropy({ ...knn, indices: repeated }), /twice/);
    const nan = knn.distances.slice();
    nan[7] = NaN;
    assert.throws(() => interSampleEntropy({ ...knn, distances: nan }), /non-finite/);
    assert.throws(() => interSampleEntropy({ ...knn, distances: knn.distances.subarray(1) }), CnnSlicerError);
  });
});

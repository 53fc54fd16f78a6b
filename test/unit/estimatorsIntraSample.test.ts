import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { CnnSlicerError } from '../../src/shared/errors';
import { channelEntropyByClass, featureMapEntropies, histogramEntropy } from '../../src/engine/estimators/intraSampleEntropy';
import { ESTIMATOR_DEFAULTS, type IntraNormalization } from '../../src/engine/estimators/params';
import { seededRandom as random } from '../support/seededRandom';

/** Entropy in bits of a histogram given as counts, straight from the definition. */
function entropyOf(counts: number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  return counts.filter((c) => c > 0).reduce((h, c) => h - (c / total) * Math.log2(c / total), 0);
}

describe('estimators: intra-sample entropy (§4.4.2)', () => {
  it('gives exactly log2 B for one value at the centre of each of B bins', () => {
    for (let bins = 1; bins <= 64; bins++) {
      const values = Float32Array.from({ length: bins }, (_, b) => (b + 0.5) / bins);
      assert.equal(histogramEntropy(values, bins, 0, 1), Math.log2(bins), `B = ${bins}`);
    }
  });

  it('gives log2 B for an equal number of values in each bin', () => {
    for (const [bins, perBin] of [
      [32, 4],
      [10, 7],
      [3, 1000],
    ]) {
      const values = new Float32Array(bins * perBin);
      for (let i = 0; i < values.length; i++) values[i] = -1 + (2 * ((i % bins) + 0.5)) / bins;
      const h = histogramEntropy(values, bins, -1, 1);
      assert.ok(h !== undefined && Math.abs(h - Math.log2(bins)) < 1e-12, `B = ${bins}: ${h}`);
    }
  });

  it('gives 0 for a constant map, in every normalisation', () => {
    assert.equal(histogramEntropy(new Float32Array(49).fill(3.25), 32, 3.25, 3.25), 0);
    // Sample 0's map is constant; sample 1's varies, so the channel and layer ranges are wider than the map.
    const data = new Float32Array(2 * 49);
    data.fill(0.7, 0, 49);
    for (let i = 49; i < 98; i++) data[i] = (i - 49) / 48;
    for (const intraNormalization of ['map', 'channel', 'layer'] as const) {
      const result = featureMapEntropies(data, 2, 1, 49, { intraBins: 32, intraNormalization });
      assert.equal(result.entropy[0], 0, intraNormalization);
      assert.equal(result.defined[0], 1, intraNormalization);
      assert.ok(result.entropy[1] > 4, `${intraNormalization}: ${result.entropy[1]}`);
    }
  });

  it('gives 1 bit for two equally likely values', () => {
    assert.equal(histogramEntropy(Float32Array.from([0, 1, 0, 1, 1, 0]), 32, 0, 1), 1);
    const map = Float32Array.from([-2, 5, 5, -2, 5, -2, -2, 5]);
    assert.equal(featureMapEntropies(map, 1, 1, 8).entropy[0], 1);
  });

  it('puts values at the top of the range in the last bin and clamps values outside it to the end bins', () => {
    // Bins over [0, 4] with B = 4: [0,1) [1,2) [2,3) [3,4]; −5 joins bin 0 and 9 joins bin 3.
    const h = histogramEntropy(Float32Array.from([0, 1, 2, 4, -5, 9, 3.5, 1.5]), 4, 0, 4);
    assert.ok(h !== undefined && Math.abs(h - entropyOf([2, 2, 1, 3])) < 1e-12, `${h}`);
  });

  it('leaves NaN and ±Infinity out of the histogram and counts them', () => {
    const clean = [0.1, 0.9, 0.4, 0.4, 0.75];
    const dirty = Float32Array.from([NaN, 0.1, Infinity, 0.9, 0.4, -Infinity, 0.4, 0.75, NaN]);
    assert.equal(histogramEntropy(dirty, 8, 0, 1), histogramEntropy(Float32Array.from(clean), 8, 0, 1));
    for (const intraNormalization of ['map', 'channel', 'layer'] as const) {
      const result = featureMapEntropies(dirty, 1, 1, dirty.length, { intraBins: 8, intraNormalization });
      const reference = featureMapEntropies(Float32Array.from(clean), 1, 1, clean.length, { intraBins: 8, intraNormalization });
      assert.equal(result.entropy[0], reference.entropy[0], intraNormalization);
      assert.equal(result.nonFiniteValues, 4, intraNormalization);
    }
  });

  it('marks a map with no finite value as undefined rather than giving it an entropy', () => {
    assert.equal(histogramEntropy(Float32Array.from([NaN, Infinity]), 32, 0, 1), undefined);
    assert.equal(histogramEntropy(new Float32Array(0), 32, 0, 1), undefined);
    const data = Float32Array.from([NaN, NaN, NaN, 1, 2, 3]);
    const result = featureMapEntropies(data, 2, 1, 3);
    assert.deepEqual([...result.defined], [0, 1]);
    assert.equal(result.entropy[0], 0);
    assert.equal(result.nonFiniteValues, 3);
    assert.ok(!result.entropy.some(Number.isNaN));
  });

  it('bins over the range the normalisation names: map, channel or layer', () => {
    // B = 2. Channel 0: sample 0 in [0, 0.5], sample 1 in [0, 1]. Channel 1 spans [0, 4].
    const data = Float32Array.from([0, 0.5, 0, 0.5, /* s0 c0 */ 0, 1, 2, 4 /* s0 c1 */, 0, 1, 0, 1, /* s1 c0 */ 0, 1, 1, 1 /* s1 c1 */]);
    const entropies = (intraNormalization: IntraNormalization) => [...featureMapEntropies(data, 2, 2, 4, { intraBins: 2, intraNormalization }).entropy];
    // Per map: s0c0 over [0, 0.5] splits 2/2; s0c1 over [0, 4] is {0, 1} | {2, 4}; s1c0 splits 2/2; s1c1 is {0} | {1, 1, 1}.
    assert.deepEqual(entropies('map'), [1, 1, 1, Math.fround(entropyOf([1, 3]))]);
    // Per channel: channel 0 spans [0, 1], where 0.5 starts the upper bin, so s0c0 still splits 2/2;
    // channel 1 spans [0, 4], where s1c1's {0, 1, 1, 1} all fall in [0, 2).
    assert.deepEqual(entropies('channel'), [1, 1, 1, 0]);
    // Per layer, [0, 4]: only s0c1 reaches the upper bin [2, 4].
    assert.deepEqual(entropies('layer'), [0, 1, 0, 0]);
  });

  it('matches histogramEntropy of each map over its own range (property)', () => {
    fc.assert(
      fc.property(
        fc.integer(),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 70 }),
        fc.integer({ min: 1, max: 40 }),
        (seed, n, channels, mapSize, bins) => {
          const rnd = random(seed);
          const data = Float32Array.from({ length: n * channels * mapSize }, () => (rnd() < 0.2 ? Math.round(rnd() * 3) : rnd() * 10 - 5));
          const result = featureMapEntropies(data, n, channels, mapSize, { intraBins: bins, intraNormalization: 'map' });
          for (let m = 0; m < n * channels; m++) {
            const map = data.subarray(m * mapSize, (m + 1) * mapSize);
            const expected = histogramEntropy(map, bins, Math.min(...map), Math.max(...map));
            assert.ok(expected !== undefined);
            assert.ok(Math.abs(result.entropy[m] - expected) < 1e-6, `map ${m}: ${result.entropy[m]} vs ${expected}`);
            assert.ok(result.entropy[m] >= 0 && result.entropy[m] <= Math.log2(Math.min(bins, mapSize)) + 1e-6);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('rejects a wrong shape or bin count', () => {
    assert.throws(() => featureMapEntropies(new Float32Array(10), 2, 2, 3), CnnSlicerError);
    assert.throws(() => featureMapEntropies(new Float32Array(4), 1, 1, 4, { intraBins: 0, intraNormalization: 'map' }), CnnSlicerError);
    assert.throws(() => histogramEntropy(new Float32Array(4), 4, 1, 0), CnnSlicerError);
  });

  describe('channel aggregates per class', () => {
    it('averages each channel over the samples of each class and over all samples', () => {
      const maps = {
        n: 4,
        channels: 2,
        entropy: Float32Array.from([1, 2, /* s1 */ 3, 4, /* s2 */ 5, 0.5, /* s3 */ 0.25, 6]),
        defined: Uint8Array.from([1, 1, 1, 1, 1, 1, 1, 0]),
        nonFiniteValues: 7,
      };
      // Labels: s0 → 0, s1 → 2, s2 → 0, s3 → 2; class 1 has no sample.
      const result = channelEntropyByClass(maps, Int32Array.from([0, 2, 0, 2]), 3);
      assert.deepEqual([...result.perClass], [3, 1.25, 0, 0, 1.625, 4]); // all exact in float32
      assert.deepEqual([...result.perClassCount], [2, 2, 0, 0, 2, 1]);
      assert.deepEqual([...result.classHasSamples], [1, 0, 1]);
      assert.deepEqual([...result.all], [9.25 / 4, Math.fround(6.5 / 3)]);
      assert.deepEqual([...result.allCount], [4, 3]);
    });

    it('is invariant to the order of the samples (property)', () => {
      fc.assert(
        fc.property(
          fc.integer(),
          fc.integer({ min: 1, max: 30 }),
          fc.integer({ min: 1, max: 4 }),
          fc.integer({ min: 1, max: 5 }),
          (seed, n, channels, classes) => {
            const rnd = random(seed);
            const mapSize = 9;
            const data = Float32Array.from({ length: n * channels * mapSize }, () => rnd() * 4);
            const labels = Int32Array.from({ length: n }, () => Math.floor(rnd() * classes));
            const permutation = Array.from({ length: n }, (_, i) => i).sort(() => rnd() - 0.5);
            const permutedData = new Float32Array(data.length);
            const permutedLabels = new Int32Array(n);
            permutation.forEach((from, to) => {
              permutedData.set(data.subarray(from * channels * mapSize, (from + 1) * channels * mapSize), to * channels * mapSize);
              permutedLabels[to] = labels[from];
            });
            for (const intraNormalization of ['map', 'channel', 'layer'] as const) {
              const params = { ...ESTIMATOR_DEFAULTS, intraNormalization };
              const a = channelEntropyByClass(featureMapEntropies(data, n, channels, mapSize, params), labels, classes);
              const b = channelEntropyByClass(featureMapEntropies(permutedData, n, channels, mapSize, params), permutedLabels, classes);
              assert.deepEqual(b.perClassCount, a.perClassCount);
              assert.deepEqual(b.classHasSamples, a.classHasSamples);
              for (let i = 0; i < a.perClass.length; i++) assert.ok(Math.abs(a.perClass[i] - b.perClass[i]) < 1e-6);
              for (let c = 0; c < channels; c++) assert.ok(Math.abs(a.all[c] - b.all[c]) < 1e-6);
            }
          },
        ),
        { numRuns: 100 },
      );
    });

    it('rejects a label outside the classes', () => {
      const maps = featureMapEntropies(new Float32Array(8), 2, 1, 4);
      assert.throws(() => channelEntropyByClass(maps, Int32Array.from([0, 3]), 3), CnnSlicerError);
      assert.throws(() => channelEntropyByClass(maps, Int32Array.from([0]), 3), CnnSlicerError);
    });
  });
});

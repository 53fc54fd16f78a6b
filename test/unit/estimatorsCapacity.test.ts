import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { CnnSlicerError } from '../../src/shared/errors';
import {
  allocateCodes,
  channelCapacity,
  codeChannelChunk,
  codeDistances,
  fillCapacityRows,
  samplePairs,
  sortOrder,
  type PairDistances,
} from '../../src/engine/estimators/channelCapacity';
import { channelCapacityParallel } from '../../src/engine/compute/capacityParallel';
import { ESTIMATOR_DEFAULTS, resolveEstimatorParams, type CapacityRange } from '../../src/engine/estimators/params';
import { seededRandom as random } from '../support/seededRandom';

/**
 * Mutual information in bits of two channels' binned distances, from its definition
 * Σ p(a,b)·log2(p(a,b) / (p(a)·p(b))). The bin of d is ⌊d·(B/upper)⌋ with the implementation's
 * rounding, so a value within an ulp of a bin edge lands in the same bin in both.
 */
function referenceCapacity(a: Float32Array, b: Float32Array, bins: number, upperA: number, upperB: number): number {
  const code = (d: number, upper: number) => (upper > 0 ? Math.min(bins - 1, Math.max(0, Math.floor(d * (bins / upper)))) : 0);
  const joint = new Map<string, number>();
  const ma = new Array<number>(bins).fill(0);
  const mb = new Array<number>(bins).fill(0);
  for (let p = 0; p < a.length; p++) {
    const x = code(a[p], upperA);
    const y = code(b[p], upperB);
    joint.set(`${x},${y}`, (joint.get(`${x},${y}`) ?? 0) + 1);
    ma[x]++;
    mb[y]++;
  }
  const total = a.length;
  let mi = 0;
  for (const [key, count] of joint) {
    const [x, y] = key.split(',').map(Number);
    mi += (count / total) * Math.log2((count * total) / (ma[x] * mb[y]));
  }
  return mi;
}

function channelOf(layer: PairDistances, c: number): Float32Array {
  return layer.data.subarray(c * layer.pairs, (c + 1) * layer.pairs);
}

function maxOf(values: Float32Array): number {
  return values.reduce((m, v) => (v > m ? v : m), 0);
}

/**
 * A layer whose channels are noisy functions of a few hidden signals, so some channel pairs share
 * much information and others little.
 */
function correlatedLayers(rnd: () => number, pairs: number, colsChannels: number, rowsChannels: number): [PairDistances, PairDistances] {
  const hidden = Array.from({ length: 3 }, () => Float32Array.from({ length: pairs }, () => rnd()));
  const layer = (channels: number): PairDistances => {
    const data = new Float32Array(channels * pairs);
    for (let c = 0; c < channels; c++) {
      const source = hidden[Math.floor(rnd() * hidden.length)];
      const noise = rnd() * 2;
      const power = 0.5 + rnd() * 2;
      for (let p = 0; p < pairs; p++) data[c * pairs + p] = Math.max(0, source[p] ** power + noise * (rnd() - 0.3));
    }
    return { channels, pairs, data };
  };
  return [layer(colsChannels), layer(rowsChannels)];
}

/** Per-channel Euclidean distances between the feature maps of every sample pair i < j. */
function pairDistancesOf(features: Float32Array, n: number, channels: number, mapSize: number): PairDistances {
  const pairs = (n * (n - 1)) / 2;
  const data = new Float32Array(channels * pairs);
  for (let c = 0; c < channels; c++) {
    let p = 0;
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        let s = 0;
        for (let v = 0; v < mapSize; v++) {
          const diff = features[(i * channels + c) * mapSize + v] - features[(j * channels + c) * mapSize + v];
          s += diff * diff;
        }
        data[c * pairs + p++] = Math.sqrt(s);
      }
    }
  }
  return { channels, pairs, data };
}

describe('estimators: channel capacity (§5.3.1, §5.3.2)', () => {
  it('bins each channel over [0, its max] or [0, the layer max], the max into the last bin', () => {
    const layer = { channels: 2, pairs: 4, data: Float32Array.from([0, 1, 2, 4, /**/ 8, 0, 6, 2]) };
    const byChannel = codeDistances(layer, { capacityBins: 4, capacityRange: 'channel' });
    assert.deepEqual([...byChannel.codes.subarray(0, 4)], [0, 1, 2, 3]);
    assert.deepEqual([...byChannel.codes.subarray(byChannel.stride, byChannel.stride + 4)], [3, 0, 3, 1]);
    assert.deepEqual([...byChannel.upper], [4, 8]);
    assert.equal(byChannel.entropy[0], 2);
    const byLayer = codeDistances(layer, { capacityBins: 4, capacityRange: 'layer' });
    assert.deepEqual([...byLayer.codes.subarray(0, 4)], [0, 0, 1, 2]);
    assert.deepEqual([...byLayer.upper], [8, 8]);
  });

  it('gives 0 for independent halves and 1 bit for identical binary codes', () => {
    const a = Float32Array.from([0, 0, 1, 1]);
    const b = Float32Array.from([0, 1, 0, 1]);
    const layerI = { channels: 1, pairs: 4, data: a };
    const layerJ = { channels: 2, pairs: 4, data: Float32Array.from([...b, ...a]) };
    const result = channelCapacity(layerI, layerJ, { capacityBins: 2, capacityRange: 'channel' });
    assert.deepEqual([...result.capacity], [0, 1]);
    assert.deepEqual([...result.hA], [1]);
    assert.deepEqual([...result.hB], [1, 1]);
  });

  it('gives H(A) for a channel paired with itself', () => {
    const rnd = random(11);
    for (const capacityBins of [16, 5, 32, 100]) {
      const [layer] = correlatedLayers(rnd, 3001, 5, 1);
      const result = channelCapacity(layer, layer, { capacityBins, capacityRange: 'channel' });
      for (let c = 0; c < 5; c++) {
        const diagonal = result.capacity[c * 5 + c];
        assert.ok(Math.abs(diagonal - result.hA[c]) <= 1e-6 * result.hA[c], `B=${capacityBins} channel ${c}: ${diagonal} vs H(A) ${result.hA[c]}`);
        assert.ok(result.hA[c] > 1, `B=${capacityBins}: channel ${c} should use several bins`);
      }
    }
  });

  it('gives a dead channel (all distances 0) zero entropy and zero capacity with anything', () => {
    const rnd = random(12);
    const [live] = correlatedLayers(rnd, 500, 3, 1);
    const dead = { channels: 1, pairs: 500, data: new Float32Array(500) };
    const result = channelCapacity(live, dead);
    assert.deepEqual([...result.hB], [0]);
    assert.deepEqual([...result.capacity], [0, 0, 0]);
  });

  it('gives independent channels only the plug-in bias, (B − 1)²/(2·P·ln 2) on average', () => {
    // For independent A and B the plug-in estimate times 2·P·ln 2 is asymptotically χ² with
    // (B − 1)² degrees of freedom: mean (B − 1)²/(2P ln 2), standard deviation √2·(B − 1)/(2P ln 2).
    const rnd = random(13);
    const pairs = 20000;
    const channels = 8;
    const uniform = (): PairDistances => ({ channels, pairs, data: Float32Array.from({ length: channels * pairs }, () => rnd()) });
    for (const bins of [16, 24]) {
      const result = channelCapacity(uniform(), uniform(), { capacityBins: bins, capacityRange: 'channel' });
      const bias = (bins - 1) ** 2 / (2 * pairs * Math.LN2);
      const sd = (Math.SQRT2 * (bins - 1)) / (2 * pairs * Math.LN2);
      for (const c of result.capacity) assert.ok(c > 0 && c < bias + 6 * sd, `B=${bins}: ${c} vs bias ${bias} ± ${sd}`);
      const mean = result.capacity.reduce((s, c) => s + c, 0) / result.capacity.length;
      assert.ok(Math.abs(mean - bias) < (5 * sd) / Math.sqrt(result.capacity.length), `B=${bins}: mean ${mean} vs bias ${bias}`);
    }
  });

  it('matches the mutual-information definition on random data, for packed and byte codes (property)', () => {
    fc.assert(
      fc.property(
        fc.integer(),
        fc.integer({ min: 1, max: 403 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 40 }),
        fc.constantFrom<CapacityRange>('channel', 'layer'),
        (seed, pairs, colsChannels, rowsChannels, capacityBins, capacityRange) => {
          const rnd = random(seed);
          const [layerI, layerJ] = correlatedLayers(rnd, pairs, colsChannels, rowsChannels);
          const result = channelCapacity(layerI, layerJ, { capacityBins, capacityRange });
          const upper = (layer: PairDistances, c: number) =>
            capacityRange === 'channel'
              ? maxOf(channelOf(layer, c))
              : Math.max(...Array.from({ length: layer.channels }, (_, k) => maxOf(channelOf(layer, k))));
          for (let b = 0; b < rowsChannels; b++) {
            for (let a = 0; a < colsChannels; a++) {
              const expected = referenceCapacity(channelOf(layerI, a), channelOf(layerJ, b), capacityBins, upper(layerI, a), upper(layerJ, b));
              const actual = result.capacity[b * colsChannels + a];
              assert.ok(Math.abs(actual - expected) < 1e-6, `B=${capacityBins} P=${pairs} (${a}, ${b}): ${actual} vs ${expected}`);
              assert.ok(actual >= 0 && actual <= Math.min(result.hA[a], result.hB[b]) + 1e-9);
            }
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('is invariant to the order of the probe samples (property)', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 3, max: 40 }), fc.integer({ min: 1, max: 40 }), (seed, n, capacityBins) => {
        const rnd = random(seed);
        const [channelsI, channelsJ, mapSize] = [3, 2, 6];
        const featuresI = Float32Array.from({ length: n * channelsI * mapSize }, () => rnd());
        const featuresJ = Float32Array.from({ length: n * channelsJ * mapSize }, () => rnd());
        const order = Array.from({ length: n }, (_, i) => i).sort(() => rnd() - 0.5);
        const permute = (features: Float32Array, channels: number) => {
          const out = new Float32Array(features.length);
          const size = channels * mapSize;
          order.forEach((from, to) => out.set(features.subarray(from * size, (from + 1) * size), to * size));
          return out;
        };
        const params = { capacityBins, capacityRange: 'channel' as const };
        const a = channelCapacity(pairDistancesOf(featuresI, n, channelsI, mapSize), pairDistancesOf(featuresJ, n, channelsJ, mapSize), params);
        const b = channelCapacity(
          pairDistancesOf(permute(featuresI, channelsI), n, channelsI, mapSize),
          pairDistancesOf(permute(featuresJ, channelsJ), n, channelsJ, mapSize),
          params,
        );
        assert.deepEqual(b.capacity, a.capacity);
        assert.deepEqual(b.hA, a.hA);
        assert.deepEqual(b.hB, a.hB);
      }),
      { numRuns: 60 },
    );
  });

  it('fills the same matrix when the rows are computed in chunks', () => {
    const rnd = random(14);
    for (const capacityBins of [16, 20]) {
      const [layerI, layerJ] = correlatedLayers(rnd, 1001, 4, 7);
      const whole = channelCapacity(layerI, layerJ, { capacityBins, capacityRange: 'channel' });
      const columns = codeDistances(layerI, { capacityBins, capacityRange: 'channel' });
      const rows = codeDistances(layerJ, { capacityBins, capacityRange: 'channel' });
      const chunked = new Float32Array(7 * 4);
      for (const [start, end] of [
        [0, 1],
        [1, 4],
        [4, 7],
      ])
        fillCapacityRows(columns, rows, start, end, chunked);
      assert.deepEqual(chunked, whole.capacity);
    }
  });

  it('codes chunk by chunk exactly as the whole layer, for both ranges and with a sample of pairs', () => {
    const rnd = random(17);
    for (const capacityRange of ['channel', 'layer'] as const) {
      for (const capacityBins of [16, 7, 40]) {
        const [layer] = correlatedLayers(rnd, 1203, 9, 1);
        const params = { capacityBins, capacityRange };
        for (const sample of [undefined, samplePairs(1203, 300)]) {
          const whole = codeDistances(layer, params, {}, sample);
          const chunked = allocateCodes(9, sample?.length ?? 1203, params);
          const layerUpper = capacityRange === 'layer' ? Math.max(...Array.from({ length: 9 }, (_, c) => maxOf(channelOf(layer, c)))) : undefined;
          for (const [c0, c1] of [
            [0, 2],
            [2, 3],
            [3, 9],
          ])
            codeChannelChunk(chunked, c0, layer.data.subarray(c0 * 1203, c1 * 1203), 1203, layerUpper, sample);
          assert.deepEqual(chunked.codes, whole.codes);
          assert.deepEqual(chunked.upper, whole.upper);
          assert.deepEqual(chunked.entropy, whole.entropy);
        }
      }
    }
  });

  describe('sampled pairs (capacityPairs)', () => {
    it('is a parameter: 0 (every pair) by default, else a whole number of pairs', () => {
      assert.equal(ESTIMATOR_DEFAULTS.capacityPairs, 0);
      assert.equal(resolveEstimatorParams({ capacityPairs: 50000 }).capacityPairs, 50000);
      for (const bad of [-1, 1.5, Number.NaN, 2 ** 31]) assert.throws(() => resolveEstimatorParams({ capacityPairs: bad }), CnnSlicerError, String(bad));
      // Codes beyond 2 GiB a layer are refused up front (5,000 probes: 12.5 M pairs × 512 channels), pointing at capacityPairs.
      assert.throws(
        () => allocateCodes(512, 12497500, ESTIMATOR_DEFAULTS),
        (e: unknown) => e instanceof CnnSlicerError && e.code === 'bad-request' && /capacityPairs/.test(e.message),
      );
    });

    it('draws m distinct pairs in increasing order, the same every time, every pair when m ≥ P', () => {
      const a = samplePairs(499500, 50000);
      assert.equal(a.length, 50000);
      for (let i = 1; i < a.length; i++) assert.ok(a[i] > a[i - 1]);
      assert.ok(a[0] >= 0 && a[a.length - 1] < 499500);
      assert.deepEqual(samplePairs(499500, 50000), a);
      // Uniform: the mean index is P/2 within a few standard errors (P/√(12m)).
      const mean = a.reduce((s, p) => s + p, 0) / a.length;
      assert.ok(Math.abs(mean - 499500 / 2) < 4 * (499500 / Math.sqrt(12 * 50000)), `mean ${mean}`);
      assert.deepEqual([...samplePairs(10, 10)], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      assert.deepEqual([...samplePairs(10, 99)], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      assert.throws(() => samplePairs(10, 0), CnnSlicerError);
    });

    it('is the estimator over the sampled pairs, binned over every pair’s range', () => {
      const rnd = random(18);
      const [layerI, layerJ] = correlatedLayers(rnd, 5001, 3, 4);
      const sample = samplePairs(5001, 1500);
      const params = { capacityBins: 16, capacityRange: 'channel' as const };
      const columns = codeDistances(layerI, params, {}, sample);
      const rows = codeDistances(layerJ, params, {}, sample);
      const out = new Float32Array(12);
      fillCapacityRows(columns, rows, 0, 4, out);
      for (let b = 0; b < 4; b++) {
        for (let a = 0; a < 3; a++) {
          const pick = (layer: PairDistances, c: number) => Float32Array.from(sample, (p) => channelOf(layer, c)[p]);
          const want = referenceCapacity(pick(layerI, a), pick(layerJ, b), 16, maxOf(channelOf(layerI, a)), maxOf(channelOf(layerJ, b)));
          assert.ok(Math.abs(out[b * 3 + a] - want) < 1e-6, `(${a}, ${b}): ${out[b * 3 + a]} vs ${want}`);
        }
      }
      // Close to all pairs' capacity: the sample's plug-in error is O(1/√m) bits.
      const exact = channelCapacity(layerI, layerJ, params);
      for (let i = 0; i < 12; i++) assert.ok(Math.abs(out[i] - exact.capacity[i]) < 0.1, `cell ${i}: ${out[i]} vs ${exact.capacity[i]}`);
    });
  });

  describe('on worker threads (channelCapacityParallel)', () => {
    it('gives the single-threaded matrix bit for bit, for any thread count and task size', async function () {
      this.timeout(120000);
      const rnd = random(15);
      for (const [capacityBins, capacityRange, pairs] of [
        [16, 'channel', 2003],
        [20, 'layer', 1001],
        [3, 'channel', 4000],
      ] as const) {
        // 9 rows: the nibble kernel's groups of 4 rows end with a group of 1.
        const [layerI, layerJ] = correlatedLayers(rnd, pairs, 6, 9);
        const params = { capacityBins, capacityRange };
        const single = channelCapacity(layerI, layerJ, params);
        const same = channelCapacity(layerI, layerI, params);
        for (const [threads, taskIncrements, callerComputes] of [
          [1, undefined, true],
          [2, 1, true],
          [3, 3 * 4 * pairs, true],
          [2, 2 * 4 * pairs, false],
        ] as const) {
          const what = `${capacityBins} bins, ${threads} threads, ${taskIncrements} increments a task, caller ${callerComputes}`;
          const parallel = await channelCapacityParallel(layerI, layerJ, params, { threads, taskIncrements, callerComputes });
          assert.deepEqual(parallel.capacity, single.capacity, what);
          assert.deepEqual(parallel.hA, single.hA, what);
          assert.deepEqual(parallel.hB, single.hB, what);
          assert.equal(parallel.rowsChannels, 9);
          assert.equal(parallel.colsChannels, 6);
          assert.ok(!(parallel.capacity.buffer instanceof SharedArrayBuffer), 'the result is out of shared memory');
          if (!callerComputes) assert.ok(parallel.workerThreads >= 1, `${what}: the workers did the work`);
          const itself = await channelCapacityParallel(layerI, layerI, params, { threads, taskIncrements, callerComputes });
          assert.deepEqual(itself.capacity, same.capacity, `${what}, a layer with itself`);
        }
      }
    });

    it('reports progress up to its task count and stops when cancelled', async function () {
      this.timeout(60000);
      const [layerI, layerJ] = correlatedLayers(random(16), 3001, 6, 5);
      const seen: [number, number][] = [];
      await channelCapacityParallel(layerI, layerJ, undefined, { threads: 2, taskIncrements: 1, onProgress: (d, t) => seen.push([d, t]) });
      // 2 groups of up to 4 rows × 6 single-column blocks.
      assert.deepEqual(seen[seen.length - 1], [12, 12]);
      for (let i = 1; i < seen.length; i++) assert.ok(seen[i][0] > seen[i - 1][0], 'progress increases');

      const before = new AbortController();
      before.abort();
      await assert.rejects(
        channelCapacityParallel(layerI, layerJ, undefined, { signal: before.signal, threads: 2 }),
        (e: unknown) => e instanceof CnnSlicerError && e.code === 'cancelled',
      );
      const during = new AbortController();
      await assert.rejects(
        channelCapacityParallel(layerI, layerJ, undefined, {
          signal: during.signal,
          threads: 2,
          taskIncrements: 1,
          onProgress: (d) => d >= 2 && during.abort(),
        }),
        (e: unknown) => e instanceof CnnSlicerError && e.code === 'cancelled',
      );
      await assert.rejects(channelCapacityParallel(layerI, layerJ, undefined, { threads: 0 }), CnnSlicerError);
    });
  });

  it('rejects mismatched layers, bad bin counts and non-finite distances', () => {
    const layer = (pairs: number, fill = 1) => ({ channels: 1, pairs, data: new Float32Array(pairs).fill(fill) });
    assert.throws(() => channelCapacity(layer(4), layer(5)), CnnSlicerError);
    assert.throws(() => channelCapacity(layer(4), layer(4), { capacityBins: 0, capacityRange: 'channel' }), CnnSlicerError);
    assert.throws(() => channelCapacity(layer(4), layer(4), { capacityBins: 257, capacityRange: 'channel' }), CnnSlicerError);
    assert.throws(() => channelCapacity(layer(4), layer(4, NaN)), /non-finite/);
    assert.throws(() => codeDistances({ channels: 2, pairs: 4, data: new Float32Array(7) }), CnnSlicerError);
  });

  describe('sorted heatmap order (§5.3.2)', () => {
    // 3 rows × 4 columns.
    const matrix = Float32Array.from([1, 5, 2, 5, /**/ 3, 0, 2, 1, /**/ 0, 0, 2, 0]);

    it('sorts columns and rows by max or mean, ties in index order', () => {
      assert.deepEqual([...sortOrder(matrix, 3, 4, 'cols', 'max')], [1, 3, 0, 2]);
      assert.deepEqual([...sortOrder(matrix, 3, 4, 'cols', 'max', 'asc')], [2, 0, 1, 3]);
      // Column means 4/3, 5/3, 2, 2.
      assert.deepEqual([...sortOrder(matrix, 3, 4, 'cols', 'mean')], [2, 3, 1, 0]);
      assert.deepEqual([...sortOrder(matrix, 3, 4, 'rows', 'max')], [0, 1, 2]);
      assert.deepEqual([...sortOrder(matrix, 3, 4, 'rows', 'mean', 'asc')], [2, 1, 0]);
    });

    it('returns a permutation ordered by the statistic (property)', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 8 }),
          fc.integer({ min: 1, max: 8 }),
          fc.integer(),
          fc.constantFrom<'rows' | 'cols'>('rows', 'cols'),
          fc.constantFrom<'max' | 'mean'>('max', 'mean'),
          (rows, cols, seed, axis, by) => {
            const rnd = random(seed);
            const m = Float32Array.from({ length: rows * cols }, () => Math.round(rnd() * 4));
            const order = sortOrder(m, rows, cols, axis, by);
            const count = axis === 'cols' ? cols : rows;
            assert.deepEqual(
              [...order].sort((x, y) => x - y),
              Array.from({ length: count }, (_, i) => i),
            );
            const stat = (x: number) => {
              const line = Array.from({ length: axis === 'cols' ? rows : cols }, (_, y) => (axis === 'cols' ? m[y * cols + x] : m[x * cols + y]));
              return by === 'max' ? Math.max(...line) : line.reduce((s, v) => s + v, 0) / line.length;
            };
            for (let k = 1; k < count; k++) {
              const [prev, next] = [stat(order[k - 1]), stat(order[k])];
              assert.ok(prev > next || (prev === next && order[k - 1] < order[k]));
            }
          },
        ),
        { numRuns: 200 },
      );
    });
  });
});

import assert from 'node:assert/strict';
import { buildChannelDistancesGraph, buildKnnBlockGraph } from '../../src/engine/compute/graphs';
import { knn, type KnnOptions } from '../../src/engine/compute/knn';
import { exactGrid } from '../../src/engine/compute/knnIntegerGrid';
import { interSampleEntropyThreaded as interSampleEntropy } from '../../src/engine/compute/interSampleThreads';
import { pairIndex, pairwiseChannelDistances } from '../../src/engine/compute/pairwiseDistances';
import { createSession, makeTensor } from '../../src/engine/onnx/ortRuntime';
import { assertMatchesBrute, assertSameResult, bruteKnn } from '../support/knnBrute';
import { randomFloats, rejectsWith, seededRandom } from '../support/tinyCnn';

describe('k-NN graphs', () => {
  it('the block graph returns the k smallest |x|² − 2q·x per row, ascending, with their columns', async () => {
    const rand = seededRandom(3);
    const m = 4;
    const n = 9;
    const d = 3;
    const q = randomFloats(rand, m * d);
    const x = randomFloats(rand, n * d);
    const xx = new Float32Array(n);
    for (let j = 0; j < n; j++) for (let t = 0; t < d; t++) xx[j] += x[j * d + t] ** 2;
    const session = await createSession(buildKnnBlockGraph(), 'knn block test graph');
    const out = await session.run({
      Q: makeTensor(q, [m, d]),
      X: makeTensor(x, [n, d]),
      XX: makeTensor(xx, [1, n]),
      K: makeTensor(new BigInt64Array([3n]), [1]),
    });
    const values = out.V.data as Float32Array;
    const cols = out.I.data as BigInt64Array;
    assert.deepEqual(out.V.dims, [m, 3]);
    for (let r = 0; r < m; r++) {
      const expected = Array.from({ length: n }, (_, j) => {
        let dot = 0;
        for (let t = 0; t < d; t++) dot += q[r * d + t] * x[j * d + t];
        return { j, v: xx[j] - 2 * dot };
      }).sort((a, b) => a.v - b.v);
      for (let c = 0; c < 3; c++) {
        assert.equal(Number(cols[r * 3 + c]), expected[c].j, `row ${r}, rank ${c}`);
        assert.ok(Math.abs(values[r * 3 + c] - expected[c].v) < 1e-5, `row ${r}, rank ${c}: ${values[r * 3 + c]} vs ${expected[c].v}`);
      }
    }
  });

  it('the channel graph returns each channel’s upper-triangle distances in pair order', async () => {
    // Channel 0: samples on a line at 0, 1, 3 (1 value each); channel 1: all the same map.
    const m = new Float32Array([0, 1, 3, 5, 5, 5]);
    const pairs = new BigInt64Array([1n, 2n, 5n]); // (0,1), (0,2), (1,2) of a 3×3 block
    const session = await createSession(buildChannelDistancesGraph(), 'channel distances test graph');
    const out = await session.run({ M: makeTensor(m, [2, 3, 1]), PAIRS: makeTensor(pairs, [3]) });
    assert.deepEqual(out.D.dims, [2, 3]);
    assert.deepEqual(Array.from(out.D.data as Float32Array), [1, 3, 2, 0, 0, 0]);
  });
});

describe('knn', () => {
  for (const d of [20, 784]) {
    const n = 300;
    const rand = seededRandom(d);
    const points = randomFloats(rand, n * d, 0, 1);
    const want50 = bruteKnn(points, n, d, 50);
    for (const k of [1, 5, 50]) {
      const want = {
        distances: Float64Array.from({ length: n * k }, (_, t) => want50.distances[Math.floor(t / k) * 50 + (t % k)]),
        indices: Int32Array.from({ length: n * k }, (_, t) => want50.indices[Math.floor(t / k) * 50 + (t % k)]),
      };
      it(`matches a float64 brute force: n = ${n}, d = ${d}, k = ${k}`, async () => {
        const got = await knn(points, n, d, k);
        assert.equal(got.n, n);
        assert.equal(got.k, k);
        assert.ok(got.refined >= n * k, 'small problems refine every candidate distance');
        assertMatchesBrute(got, want, `d=${d} k=${k}`);
      });
    }
  }

  it('handles exact and near duplicates: self left out, zero distances first, ties by index', async () => {
    const n = 200;
    const d = 16;
    const k = 5;
    const rand = seededRandom(11);
    // A large common offset makes |q|² + |x|² ≫ D², the float32 cancellation the refinement is for.
    const points = randomFloats(rand, n * d, 100, 101);
    const copy = (from: number, to: number) => points.copyWithin(to * d, from * d, (from + 1) * d);
    copy(7, 50);
    copy(7, 120);
    // Nine copies of point 30: more than k + 1, so a member's own index need not be among the
    // k + 1 smallest that the graph returns.
    for (const to of [31, 60, 61, 62, 90, 150, 151, 199]) copy(30, to);
    // A near-duplicate of point 10, one float32 ulp away in one coordinate, and a second one
    // two ulps away in another: their order is invisible in float32 D² at this offset.
    copy(10, 11);
    copy(10, 12);
    points[11 * d + 3] = Math.fround(points[10 * d + 3] * (1 + 2 ** -23));
    points[12 * d + 5] = Math.fround(points[10 * d + 5] * (1 + 2 ** -22));
    const want = bruteKnn(points, n, d, k);
    for (const refine of ['all', 'cancellation'] as const) {
      const got = await knn(points, n, d, k, { refine });
      assertMatchesBrute(got, want, `${refine} refinement`, refine === 'all' ? 0 : 1e-5);
      for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) assert.notEqual(got.indices[i * k + c], i, `row ${i} lists itself`);
      assert.deepEqual(Array.from(got.indices.subarray(7 * k, 7 * k + 2)), [50, 120]);
      assert.deepEqual(Array.from(got.distances.subarray(7 * k, 7 * k + 2)), [0, 0]);
      assert.deepEqual(Array.from(got.indices.subarray(199 * k, 200 * k)), [30, 31, 60, 61, 62]);
      assert.deepEqual(Array.from(got.indices.subarray(10 * k, 10 * k + 2)), [11, 12]);
      assert.ok(got.distances[10 * k] > 0 && got.distances[10 * k] < got.distances[10 * k + 1]);
      if (refine === 'cancellation') assert.ok(got.refined < n * k, `only the near-duplicates are refined (${got.refined})`);
    }
  });

  it('leaves unrefined distances within the documented 2⁻¹⁰ bound on D², and far closer in practice', async () => {
    const n = 400;
    const d = 64;
    const k = 20;
    const points = randomFloats(seededRandom(5), n * d, 0, 1);
    const got = await knn(points, n, d, k, { refine: 'cancellation' });
    assert.equal(got.refined, 0, 'random points have no near-duplicates');
    const want = bruteKnn(points, n, d, k);
    let worst = 0;
    for (let t = 0; t < n * k; t++) worst = Math.max(worst, Math.abs(got.distances[t] ** 2 - want.distances[t] ** 2) / want.distances[t] ** 2);
    assert.ok(worst < 2 ** -10, `worst relative error of D² ${worst}`);
    assert.ok(worst < 1e-5, `worst relative error of D² ${worst}: float32 rounding should be far inside the bound`);
  });

  it('gives identical results whatever the chunking', async () => {
    const n = 257;
    const d = 33;
    const k = 12;
    const points = randomFloats(seededRandom(9), n * d, -1, 1);
    for (const refine of ['all', 'cancellation'] as const) {
      const opts: KnnOptions = { refine };
      const whole = await knn(points, n, d, k, { ...opts, chunkRows: n });
      for (const chunkRows of [1, 7, 64, 256]) {
        assertSameResult(await knn(points, n, d, k, { ...opts, chunkRows }), whole, `${refine}, ${chunkRows} rows per chunk`);
      }
      // The default chunking from a block budget that allows 10 rows at a time.
      assertSameResult(await knn(points, n, d, k, { ...opts, maxBlockBytes: 10 * 4 * n }), whole, `${refine}, 10-row block budget`);
    }
  });

  it('reports progress per chunk and stops with "cancelled" when aborted', async () => {
    const n = 100;
    const d = 8;
    const points = randomFloats(seededRandom(2), n * d);
    const seen: number[] = [];
    await knn(points, n, d, 3, { chunkRows: 30, onProgress: (done, total) => seen.push(done / total) });
    assert.deepEqual(seen, [0.3, 0.6, 0.9, 1]);

    const before = new AbortController();
    before.abort();
    await rejectsWith(knn(points, n, d, 3, { signal: before.signal }), 'cancelled');

    const during = new AbortController();
    let chunks = 0;
    const err = await rejectsWith(
      knn(points, n, d, 3, {
        chunkRows: 10,
        signal: during.signal,
        onProgress: () => {
          chunks++;
          if (chunks === 2) during.abort();
        },
      }),
      'cancelled',
    );
    assert.ok(err.message.includes('k-nearest-neighbour'));
    assert.equal(chunks, 2, 'no chunk runs after the abort');
  });

  it('refuses impossible requests with bad-request', async () => {
    const points = randomFloats(seededRandom(1), 10 * 2);
    await rejectsWith(knn(points, 10, 2, 10), 'bad-request', 'k = 10', '9 other points');
    await rejectsWith(knn(points, 10, 3, 2), 'bad-request', '20 values');
    await rejectsWith(knn(points, 10, 2, 0), 'bad-request', 'k must be a positive integer');
    const withNaN = points.slice();
    withNaN[7] = NaN;
    await rejectsWith(knn(withNaN, 10, 2, 2), 'bad-request', 'point 3', 'NaN');
  });
});

/** n points of d integer levels in 0…levels − 1, some rows copied onto others and dimension 1 constant. */
function levelPoints(seed: number, n: number, d: number, levels: number, copies: [number, number][]): Float32Array {
  const rand = seededRandom(seed);
  const points = new Float32Array(n * d);
  for (let t = 0; t < n * d; t++) points[t] = Math.floor(rand() * levels);
  for (let i = 0; i < n; i++) points[i * d + 1] = 3;
  for (const [from, to] of copies) points.copyWithin(to * d, from * d, (from + 1) * d);
  return points;
}

describe('knn: the exact integer path', function () {
  // Worker threads start through tsx here, which takes a second or so on a loaded machine.
  this.timeout(120_000);

  it('recognises values on a grid of 8-bit levels, and nothing else', () => {
    const pixels = Float32Array.from([0, 1, 2, 254, 255], (p) => p / 255);
    assert.equal(exactGrid(pixels, 5, 1)?.scale, 1 / 255);
    assert.deepEqual(Array.from(exactGrid(pixels, 5, 1)!.levels), [0, 1, 2, 254, 255]);
    // Normalised pixels, (p/255 − μ)/σ computed in float32 as a data loader does.
    const normalised = Float32Array.from([0, 7, 128, 255], (p) => Math.fround(Math.fround(Math.fround(p / 255) - 0.1307) / 0.3081));
    assert.deepEqual(Array.from(exactGrid(normalised, 4, 1)!.levels), [0, 7, 128, 255]);
    // Raw levels whose range stops short of 255, and pixels / 255 that never reach 1.
    assert.equal(exactGrid(Float32Array.from([3, 9, 100]), 3, 1)?.scale, 1);
    assert.equal(
      exactGrid(
        Float32Array.from([3, 9, 100], (p) => p / 255),
        3,
        1,
      )?.scale,
      1 / 255,
    );
    assert.equal(exactGrid(Float32Array.from([0, 0.5, 0.25, 0.3]), 4, 1), undefined);
    assert.equal(exactGrid(Float32Array.from([0, 1, 256]), 3, 1), undefined, 'more than 256 levels');
    assert.equal(exactGrid(new Float32Array(4).fill(2), 4, 1), undefined, 'a single value');
  });

  for (const [n, d, k, levels] of [
    [300, 24, 10, 256],
    [257, 17, 256, 256],
    // Four levels in 9 dimensions: exact ties everywhere, which only the index may break.
    [400, 9, 40, 4],
  ] as const) {
    it(`returns exactly the float64 brute force's neighbours and distances: n = ${n}, d = ${d}, k = ${k}, ${levels} levels`, async () => {
      const copies: [number, number][] = [
        [5, 6],
        [5, 7],
        [5, 100],
        [40, 41],
      ];
      const points = levelPoints(n + d, n, d, levels, copies);
      const want = bruteKnn(points, n, d, k);
      const got = await knn(points, n, d, k);
      assert.equal(got.method, 'integer');
      assert.equal(got.refined, 0, 'nothing to recompute');
      // Integer D² make float64 distances distinct unless D² are equal: the order is fully determined.
      assert.deepEqual(got.indices, want.indices);
      assert.deepEqual(got.distances, Float32Array.from(want.distances));
      assert.deepEqual(Array.from(got.indices.subarray(5 * k, 5 * k + 3)), [6, 7, 100]);
      assert.deepEqual(Array.from(got.distances.subarray(5 * k, 5 * k + 3)), [0, 0, 0]);
    });
  }

  it('gives the same result with the u8 × u8 product that CPUs without VNNI use', async () => {
    const n = 350;
    const d = 21;
    const k = 12;
    const points = levelPoints(9, n, d, 256, [[0, 349]]);
    const want = bruteKnn(points, n, d, k);
    // The default is whichever the check finds exact on this CPU; u8 × u8 is exact on any.
    for (const integerVariant of [undefined, 'u8u8'] as const) {
      const got = await knn(points, n, d, k, { integerVariant, chunkRows: 100 });
      assert.equal(got.method, 'integer');
      assert.deepEqual(got.indices, want.indices, integerVariant);
      assert.deepEqual(got.distances, Float32Array.from(want.distances), integerVariant);
    }
  });

  it('handles more duplicates of a point than k: itself left out, the others by index', async () => {
    const n = 60;
    const d = 5;
    const k = 4;
    const copies: [number, number][] = [3, 9, 20, 21, 30, 44, 59].map((to) => [2, to]);
    const points = levelPoints(3, n, d, 256, copies);
    const got = await knn(points, n, d, k);
    assert.equal(got.method, 'integer');
    assert.deepEqual(Array.from(got.indices.subarray(2 * k, 3 * k)), [3, 9, 20, 21]);
    assert.deepEqual(Array.from(got.indices.subarray(59 * k, 60 * k)), [2, 3, 9, 20]);
    assert.deepEqual(Array.from(got.distances.subarray(59 * k, 60 * k)), [0, 0, 0, 0]);
  });

  it('scales distances of pixels / 255 back, matching the float32 inputs to float32 rounding', async () => {
    const n = 300;
    const d = 40;
    const k = 15;
    const points = levelPoints(77, n, d, 256, [[8, 9]]).map((p) => p / 255);
    const got = await knn(points, n, d, k);
    assert.equal(got.method, 'integer');
    // The inputs are within 2⁻²⁴ of p/255 each: far inside float32 rounding of the distances here.
    assertMatchesBrute(got, bruteKnn(points, n, d, k), 'pixels / 255', 1e-6);
  });

  it('leaves data off any 8-bit grid, and every call with integer: false, to the float path', async () => {
    const n = 100;
    const d = 8;
    const onGrid = levelPoints(4, n, d, 256, []);
    assert.equal((await knn(randomFloats(seededRandom(4), n * d, 0, 1), n, d, 5)).method, 'float32');
    const forced = await knn(onGrid, n, d, 5, { integer: false });
    assert.equal(forced.method, 'float32');
    const exact = await knn(onGrid, n, d, 5);
    assert.equal(exact.method, 'integer');
    assertSameResult(forced, exact, 'float path (every distance refined) against integer path');
  });

  it('gives identical results whatever the block size and thread count, worker threads included', async () => {
    const n = 700;
    const d = 33;
    const k = 30;
    const points = levelPoints(12, n, d, 16, [
      [1, 2],
      [1, 650],
    ]);
    const one = await knn(points, n, d, k, { threads: 1 });
    assert.equal(one.workerThreads, 0);
    for (const chunkRows of [1000, 256, 97]) {
      assertSameResult(await knn(points, n, d, k, { threads: 1, chunkRows }), one, `one thread, ${chunkRows}-row blocks`);
    }
    // The calling thread only coordinates: every block pair (45 of them) is computed in a worker.
    const workers = await knn(points, n, d, k, { threads: 3, chunkRows: 77, callerComputes: false });
    assert.ok(workers.workerThreads >= 1, 'a worker thread computed part of the result');
    assertSameResult(workers, one, 'three threads, the workers only');
    assertSameResult(await knn(points, n, d, k, { threads: 2, chunkRows: 64 }), one, 'two threads');
  });

  it('reports progress up to n and stops with "cancelled" when aborted', async () => {
    const n = 500;
    const d = 12;
    const points = levelPoints(6, n, d, 256, []);
    const seen: number[] = [];
    await knn(points, n, d, 5, { chunkRows: 50, onProgress: (done, total) => seen.push(done / total) });
    assert.equal(seen[seen.length - 1], 1);
    for (let t = 1; t < seen.length; t++) assert.ok(seen[t] > seen[t - 1], 'progress only moves forward');

    const ac = new AbortController();
    let calls = 0;
    const err = await rejectsWith(
      knn(points, n, d, 5, {
        chunkRows: 50,
        signal: ac.signal,
        onProgress: () => {
          if (++calls === 3) ac.abort();
        },
      }),
      'cancelled',
    );
    assert.ok(err.message.includes('k-nearest-neighbour'));
  });
});

describe('interSampleEntropy on worker threads', function () {
  this.timeout(120_000);

  it('gives the same result whatever the thread count, with the workers doing the work', async () => {
    const n = 1300;
    const d = 10;
    const k = 25;
    const graph = await knn(randomFloats(seededRandom(31), n * d, 0, 1), n, d, k);
    const one = interSampleEntropy(graph, undefined, { threads: 1 });
    assert.equal(one.workerThreads, 0);
    const workers = interSampleEntropy(graph, undefined, { threads: 3, callerComputes: false });
    assert.ok(workers.workerThreads >= 1, 'a worker thread computed part of the result');
    assert.equal(workers.entropy, one.entropy);
    assert.deepEqual(workers.sigmas, one.sigmas);
    assert.equal(workers.unsolved, one.unsolved);
    assert.equal(workers.unconverged, one.unconverged);
    assert.equal(interSampleEntropy(graph, undefined, { threads: 2 }).entropy, one.entropy);
  });

  it('reports a malformed graph found by a worker as the error it is', async () => {
    const n = 600;
    const k = 4;
    const graph = await knn(randomFloats(seededRandom(32), n * 3, 0, 1), n, 3, k);
    const indices = graph.indices.slice();
    // Sample 590 lists its first neighbour twice: found only in the mutual-pair pass.
    indices[590 * k + 1] = indices[590 * k];
    assert.throws(() => interSampleEntropy({ ...graph, indices }, undefined, { threads: 2, callerComputes: false }), /twice/);
  });
});

describe('pairwiseChannelDistances', () => {
  /** Float64 distance between the maps of samples i and j in channel c of an n × C × S array. */
  function exact(maps: Float32Array, C: number, S: number, c: number, i: number, j: number): number {
    let s = 0;
    for (let t = 0; t < S; t++) {
      const u = maps[(i * C + c) * S + t] - maps[(j * C + c) * S + t];
      s += u * u;
    }
    return Math.sqrt(s);
  }

  it('matches float64 brute force to 1e-4 relative, in [C × pairs] pair order', async () => {
    const n = 70;
    const C = 5;
    const S = 49;
    const rand = seededRandom(21);
    // Post-ReLU-like maps: non-negative, mostly zero, on a per-channel positive offset.
    const maps = new Float32Array(n * C * S);
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < C; c++) {
        for (let t = 0; t < S; t++) maps[(i * C + c) * S + t] = c + Math.max(0, rand() * 2 - 1.2);
      }
    }
    const got = await pairwiseChannelDistances(maps, n, C, S);
    assert.equal(got.channels, C);
    assert.equal(got.pairs, (n * (n - 1)) / 2);
    assert.equal(got.data.length, C * got.pairs);
    let p = 0;
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++, p++) {
        assert.equal(pairIndex(i, j, n), p);
        for (let c = 0; c < C; c++) {
          const want = exact(maps, C, S, c, i, j);
          const v = got.data[c * got.pairs + p];
          assert.ok(Math.abs(v - want) <= 1e-4 * want, `channel ${c}, pair (${i}, ${j}): ${v} vs ${want}`);
        }
      }
    }
  });

  it('gives 0 (never NaN) for identical maps, within the documented float32 bound', async () => {
    const n = 6;
    const C = 2;
    const S = 30;
    const maps = randomFloats(seededRandom(8), n * C * S, 0, 3);
    maps.copyWithin(4 * C * S, 1 * C * S, 2 * C * S); // sample 4 = sample 1 in both channels
    const got = await pairwiseChannelDistances(maps, n, C, S);
    for (let c = 0; c < C; c++) {
      const v = got.data[c * got.pairs + pairIndex(1, 4, n)];
      assert.ok(v >= 0);
      // 3(S + 2)·2⁻²⁴·(|a|² + |b|²) bounds D² for the centred maps; 2·S·3² bounds |a|² + |b|² here.
      assert.ok(v <= Math.sqrt(3 * (S + 2) * 2 ** -24 * 2 * S * 9), `channel ${c}: ${v}`);
    }
  });

  it('gives identical results whatever the channel chunking, and reports progress', async () => {
    const n = 40;
    const C = 7;
    const S = 16;
    const maps = randomFloats(seededRandom(12), n * C * S);
    const whole = await pairwiseChannelDistances(maps, n, C, S, { chunkChannels: C });
    const progress: number[] = [];
    const chunked = await pairwiseChannelDistances(maps, n, C, S, { chunkChannels: 3, onProgress: (done) => progress.push(done) });
    assert.deepEqual(chunked.data, whole.data);
    assert.deepEqual(progress, [3, 6, 7]);
    const byBudget = await pairwiseChannelDistances(maps, n, C, S, { maxBlockBytes: 2 * 4 * n * n });
    assert.deepEqual(byBudget.data, whole.data);
  });

  it('stops with "cancelled" when aborted and refuses bad shapes', async () => {
    const maps = randomFloats(seededRandom(1), 10 * 4 * 5);
    const ac = new AbortController();
    await rejectsWith(pairwiseChannelDistances(maps, 10, 4, 5, { chunkChannels: 1, signal: ac.signal, onProgress: () => ac.abort() }), 'cancelled');
    await rejectsWith(pairwiseChannelDistances(maps, 10, 4, 6), 'bad-request', '200 values');
    await rejectsWith(pairwiseChannelDistances(maps.subarray(0, 20), 1, 4, 5), 'bad-request', 'at least 2 samples');
  });
});

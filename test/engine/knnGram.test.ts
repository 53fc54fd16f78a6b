// The blocked Gram k-NN (src/engine/compute/knnGram.ts), which knn() uses for points off an
// 8-bit grid with more than `blockDims` dimensions: agreement with a float64 brute force, its
// worst-case bound, near and exact duplicates, ties, and independence of chunking and threads.
import assert from 'node:assert/strict';
import { knn, type KnnOptions, type KnnResult } from '../../src/engine/compute/knn';
import { gramErrorBound } from '../../src/engine/compute/knnGram';
import { idleWorkers } from '../../src/engine/compute/knnGramPool';
import { interSampleEntropyThreaded as interSampleEntropy } from '../../src/engine/compute/interSampleThreads';
import { assertMatchesBrute, assertSameResult, bruteKnn } from '../support/knnBrute';
import { rejectsWith, seededRandom } from '../support/tinyCnn';

/** The first k of each row of a brute-force result computed for a larger k. */
function firstK(want: { distances: Float64Array; indices: Int32Array }, kWide: number, n: number, k: number): { distances: Float64Array; indices: Int32Array } {
  return {
    distances: Float64Array.from({ length: n * k }, (_, t) => want.distances[Math.floor(t / k) * kWide + (t % k)]),
    indices: Int32Array.from({ length: n * k }, (_, t) => want.indices[Math.floor(t / k) * kWide + (t % k)]),
  };
}

/** Post-ReLU-like activations rounded to float16: ~60% zeros, positive values of a few units, correlated through a few shared patterns. */
function activations(seed: number, n: number, d: number): Float32Array {
  const rand = seededRandom(seed);
  const patterns = Array.from({ length: 4 }, () => Float64Array.from({ length: d }, () => rand() * 2 - 1));
  const points = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const mix = patterns.map(() => rand());
    for (let t = 0; t < d; t++) {
      let v = rand() - 0.6;
      for (let p = 0; p < patterns.length; p++) v += 0.5 * mix[p] * patterns[p][t];
      // float16: 11 significant bits.
      if (v > 0) {
        const e = 2 ** (Math.floor(Math.log2(4 * v)) - 10);
        points[i * d + t] = Math.round((4 * v) / e) * e;
      }
    }
  }
  return points;
}

/** Largest relative error of the returned D² against the brute force's. */
function worstSquaredError(got: KnnResult, want: { distances: Float64Array }): number {
  let worst = 0;
  for (let t = 0; t < got.n * got.k; t++) {
    const w = want.distances[t] ** 2;
    worst = Math.max(worst, Math.abs(got.distances[t] ** 2 - w) / w);
  }
  return worst;
}

describe('knn: the blocked Gram path (many dimensions)', function () {
  this.timeout(120000);
  const n = 60;
  const d = 5000;
  const points = activations(1, n, d);
  const want = bruteKnn(points, n, d, n - 1);

  for (const k of [7, n - 1]) {
    it(`returns exactly the float64 brute force's neighbours with every distance recomputed: n = ${n}, d = ${d}, k = ${k}`, async () => {
      const got = await knn(points, n, d, k);
      assert.equal(got.method, 'float32');
      assert.ok(got.refined >= n * k, `small problems recompute every returned distance (${got.refined})`);
      assertMatchesBrute(got, firstK(want, n - 1, n, k), `k = ${k}`);
    });

    it(`keeps unrefined D² within the documented 2⁻¹⁰ and ~10⁻⁶ in practice: n = ${n}, d = ${d}, k = ${k}`, async () => {
      const got = await knn(points, n, d, k, { refine: 'cancellation' });
      assert.equal(got.refined, 0, 'no pair of these points is a near-duplicate');
      const worst = worstSquaredError(got, firstK(want, n - 1, n, k));
      assert.ok(worst < 2 ** -10, `worst relative error of D² ${worst}`);
      assert.ok(worst < 1e-5, `worst relative error of D² ${worst}: float32 rounding of the distances, far inside the bound`);
      assertMatchesBrute(got, firstK(want, n - 1, n, k), `k = ${k}, cancellation`, 2 ** -11);
    });
  }

  it('states a bound that does not grow with d: 2⁻¹³ of |ci||cj| at 1,024 dimensions a product', () => {
    const one = gramErrorBound(32768, 32768);
    const blocked = gramErrorBound(32768, 1024);
    assert.ok(blocked.a < 1.01 * 2 ** -13 && blocked.a > 2 ** -13, `a = ${blocked.a}`);
    assert.ok(one.a > 30 * blocked.a);
    assert.ok(blocked.c < 2 ** -21, `c = ${blocked.c}`);
  });

  it('recomputes exact and near duplicates exactly under cancellation: self left out, zero distances first, ties by index', async () => {
    const m = 40;
    const dd = 3000;
    const rand = seededRandom(7);
    // A large common offset: |ci|² is huge against the D² of neighbours, the cancellation that the
    // bound must catch (the centring removes most of it; the near-duplicates keep the rest).
    const p = Float32Array.from({ length: m * dd }, () => 1000 + rand());
    const copy = (from: number, to: number) => p.copyWithin(to * dd, from * dd, (from + 1) * dd);
    copy(3, 20);
    copy(3, 33);
    // More copies of point 5 than k: its own index need not be among the k nearest.
    for (const to of [6, 7, 8, 9, 10, 11]) copy(5, to);
    // Point 1's near-duplicates: one float32 ulp off in one coordinate, two ulps in another.
    copy(1, 2);
    copy(1, 30);
    p[2 * dd + 17] = Math.fround(p[dd + 17] * (1 + 2 ** -23));
    p[30 * dd + 400] = Math.fround(p[dd + 400] * (1 + 2 ** -22));
    const k = 4;
    const brute = bruteKnn(p, m, dd, k);
    for (const refine of ['all', 'cancellation'] as const) {
      const got = await knn(p, m, dd, k, { refine });
      // Recomputed pairs exactly; the others within the bound, in practice a float32 ulp or so.
      assertMatchesBrute(got, brute, refine, refine === 'all' ? 0 : 2 ** -11);
      for (let i = 0; i < m; i++) for (let c = 0; c < k; c++) assert.notEqual(got.indices[i * k + c], i, `row ${i} lists itself`);
      assert.deepEqual(Array.from(got.indices.subarray(3 * k, 3 * k + 2)), [20, 33]);
      assert.deepEqual(Array.from(got.distances.subarray(3 * k, 3 * k + 2)), [0, 0]);
      assert.deepEqual(Array.from(got.indices.subarray(11 * k, 12 * k)), [5, 6, 7, 8]);
      assert.deepEqual(Array.from(got.distances.subarray(11 * k, 12 * k)), [0, 0, 0, 0]);
      assert.deepEqual(Array.from(got.indices.subarray(k, k + 2)), [2, 30]);
      assert.ok(got.distances[k] > 0 && got.distances[k] < got.distances[k + 1], 'the one-ulp neighbour first, at its exact distance');
      if (refine === 'cancellation') assert.ok(got.refined > 0 && got.refined < m * (m - 1), `only the pairs the bound cannot vouch for (${got.refined})`);
    }
  });

  it('leaves out the dimensions constant over all points, with the same neighbours and distances', async () => {
    const m = 300;
    const dd = 2500;
    const k = 20;
    const rand = seededRandom(13);
    const p = new Float32Array(m * dd);
    for (let i = 0; i < m; i++) {
      for (let t = 0; t < dd; t++) {
        // Dimensions 0…999 always 0 (a border), 1000…1499 always 2.5 (a saturated unit), the
        // rest varying, but for dimension 2499, which only point 299 changes.
        p[i * dd + t] = t < 1000 ? 0 : t < 1500 ? 2.5 : Math.round(rand() * 256) / 64;
      }
      p[i * dd + 2499] = i === 299 ? 40 : 0;
    }
    const brute = bruteKnn(p, m, dd, k);
    assertMatchesBrute(await knn(p, m, dd, k, { refine: 'all' }), brute, 'refine all');
    assertMatchesBrute(await knn(p, m, dd, k, { refine: 'cancellation' }), brute, 'cancellation', 2 ** -11);
    // All points the same: every dimension constant, every distance 0, neighbours by index.
    const same = new Float32Array(5 * dd).fill(0.75);
    const got = await knn(same, 5, dd, 4);
    assert.deepEqual(Array.from(got.distances), new Array(20).fill(0));
    assert.deepEqual(Array.from(got.indices.subarray(0, 8)), [1, 2, 3, 4, 0, 2, 3, 4]);
  });

  it('refuses non-finite values as knn() always has, and copes with column sums that overflow', async () => {
    const m = 20;
    const dd = 1500;
    const p = activations(3, m, dd);
    for (const bad of [NaN, Infinity, -Infinity]) {
      const q = p.slice();
      q[3 * dd + 1234] = bad;
      await rejectsWith(knn(q, m, dd, 5), 'bad-request', 'point 3', String(bad), 'dimension 1234');
    }
    // Finite values whose float32 column sum is infinite (the centre must stay finite), and
    // whose centred products overflow float32 (those pairs must be recomputed).
    const big = p.slice();
    for (let i = 0; i < m; i++) big[i * dd + 7] = 3e38 - i * 1e36;
    for (const refine of ['all', 'cancellation'] as const) {
      const got = await knn(big, m, dd, 5, { refine });
      assert.equal(got.refined, m * (m - 1), `${refine}: every pair overflowed in float32 and was recomputed`);
      assertMatchesBrute(got, bruteKnn(big, m, dd, 5), `overflowing column sum, ${refine}`);
    }
  });

  it('orders exactly equal distances by index', async () => {
    // Point 0 and, at distance exactly 3 from it, points 1…9 (one coordinate each, +3 or −3),
    // then random points farther away.
    const m = 30;
    const dd = 2000;
    const rand = seededRandom(9);
    const p = new Float32Array(m * dd);
    for (let t = 0; t < dd; t++) p[t] = Math.round(rand() * 64) / 16;
    for (let i = 1; i < 10; i++) {
      p.copyWithin(i * dd, 0, dd);
      p[i * dd + 5 * i] += i % 2 === 0 ? 3 : -3;
    }
    for (let t = 10 * dd; t < m * dd; t++) p[t] = Math.round(rand() * 64) / 16;
    const got = await knn(p, m, dd, 12, { refine: 'all' });
    assert.deepEqual(Array.from(got.indices.subarray(0, 9)), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(Array.from(got.distances.subarray(0, 9)), new Array(9).fill(3));
    assertMatchesBrute(got, bruteKnn(p, m, dd, 12), 'ties');
  });

  it('gives identical results whatever the thread count, with the workers doing the work, duplicates included', async () => {
    const k = 11;
    // Copies and near-copies, whose rows need exact recomputations: a worker leaves those rows
    // to the main thread when it has the whole Gram matrix, and does them itself otherwise.
    const p = points.slice();
    p.copyWithin(40 * d, 3 * d, 4 * d);
    p.copyWithin(41 * d, 3 * d, 4 * d);
    p[41 * d + 100] = Math.fround(p[41 * d + 100] + 2 ** -8);
    const brute = bruteKnn(p, n, d, k);
    for (const [what, base] of [
      ['cancellation', { refine: 'cancellation', chunkRows: 8 }],
      ['refine all', { refine: 'all', chunkRows: 8 }],
      ['Gram matrix by chunks of rows', { refine: 'cancellation', chunkRows: 8, maxBlockBytes: 8 * n * n - 1 }],
    ] as [string, KnnOptions][]) {
      const one = await knn(p, n, d, k, { ...base, threads: 1 });
      assert.equal(one.workerThreads, 0);
      assertMatchesBrute(one, brute, what, base.refine === 'all' ? 0 : 2 ** -11);
      assert.deepEqual(Array.from(one.indices.subarray(3 * k, 3 * k + 2)), [40, 41], `${what}: point 3's copy and near-copy`);
      assert.deepEqual(Array.from(one.distances.subarray(3 * k, 3 * k + 2)), [0, 2 ** -8], `${what}: at their exact distances`);
      for (const [how, more] of [
        ['two threads, the workers alone', { threads: 2, callerComputes: false }],
        ['three threads', { threads: 3 }],
      ] as [string, KnnOptions][]) {
        const got = await knn(p, n, d, k, { ...base, ...more });
        assertSameResult(got, one, `${what}, ${how}`);
        assert.equal(got.refined, one.refined, `${what}, ${how}: recomputations`);
        if (more.callerComputes === false) assert.ok(got.workerThreads >= 1, `${what}, ${how}: worker threads did the work`);
      }
    }
  });

  it('keeps the neighbours and the bound whatever the chunking, slice width and Gram storage', async () => {
    // MLAS's kernels for other row counts may sum a product's terms in another order, so the
    // distances can differ in their last bits, never beyond the bound.
    const k = 11;
    const want11 = firstK(want, n - 1, n, k);
    for (const [what, opts] of [
      ['one chunk', { chunkRows: n }],
      ['7-row chunks', { chunkRows: 7 }],
      ['Gram matrix by chunks of rows (no symmetry)', { maxBlockBytes: 8 * n * n - 1, chunkRows: 9 }],
      ['slices of 777 dimensions, the last one ragged', { blockDims: 777 }],
    ] as [string, KnnOptions][]) {
      const got = await knn(points, n, d, k, { refine: 'cancellation', ...opts });
      assertMatchesBrute(got, want11, what, 2 ** -11);
    }
  });

  it('gives the inter-sample entropy of the float64 brute force to 1e-9 relative', async () => {
    const got = await knn(points, n, d, n - 1, { refine: 'cancellation' });
    const exact = { n, k: n - 1, distances: Float32Array.from(want.distances), indices: want.indices };
    const h = interSampleEntropy(got).entropy;
    const hExact = interSampleEntropy(exact).entropy;
    assert.ok(Math.abs(h - hExact) <= 1e-9 * hExact, `${h} vs ${hExact}`);
  });

  it('takes this path only above blockDims dimensions, and the TopK path gives the same neighbours below', async () => {
    const k = 5;
    const gram = await knn(points, n, d, k, { blockDims: d - 1, threads: 2, callerComputes: false, chunkRows: 16 });
    const topK = await knn(points, n, d, k, { blockDims: d });
    assert.ok(gram.workerThreads >= 1, 'the Gram path runs on worker threads when asked');
    assert.equal(topK.workerThreads, 0, 'the TopK path runs on onnxruntime threads only');
    assertSameResult(gram, topK, 'both recompute every returned distance');
  });

  it('keeps its worker warm for the next search and lends it to the inter-sample entropy, with the same results', async () => {
    // n·k ≥ 2¹⁶ edges, from which interSampleEntropy borrows idle pooled workers by default.
    const m = 300;
    const dd = 1100;
    const p = activations(5, m, dd);
    const first = await knn(p, m, dd, m - 1, { threads: 2, refine: 'cancellation' });
    // The worker ends its share of the search on its own, just after knn returns.
    for (let waited = 0; idleWorkers() === 0 && waited < 10000; waited += 20) await new Promise((r) => setTimeout(r, 20));
    assert.ok(idleWorkers() >= 1, 'the worker is back in the pool, idle');
    const second = await knn(p, m, dd, m - 1, { threads: 2, refine: 'cancellation', callerComputes: false });
    assert.ok(second.workerThreads >= 1, 'the pooled worker did the second search');
    assertSameResult(second, first, 'second search on the warm worker');
    for (let waited = 0; idleWorkers() === 0 && waited < 10000; waited += 20) await new Promise((r) => setTimeout(r, 20));
    const alone = interSampleEntropy(second, undefined, { threads: 1 });
    const borrowed = interSampleEntropy(second, undefined, { callerComputes: false });
    assert.ok(borrowed.workerThreads >= 1, 'the entropy borrowed the idle worker by default');
    assert.equal(borrowed.entropy, alone.entropy);
    assert.deepEqual(borrowed.sigmas, alone.sigmas);
  });

  it('reports progress up to n and stops with "cancelled" when aborted', async () => {
    const seen: number[] = [];
    await knn(points, n, d, 3, { chunkRows: 10, onProgress: (done, total) => seen.push(done / total) });
    assert.ok(seen.length >= 3, `progress reported ${seen.length} times`);
    for (let t = 1; t < seen.length; t++) assert.ok(seen[t] > seen[t - 1], 'progress only grows');
    assert.equal(seen[seen.length - 1], 1);

    const before = new AbortController();
    before.abort();
    await rejectsWith(knn(points, n, d, 3, { signal: before.signal }), 'cancelled');
    const during = new AbortController();
    let calls = 0;
    await rejectsWith(
      knn(points, n, d, 3, {
        chunkRows: 10,
        signal: during.signal,
        onProgress: () => {
          if (++calls === 2) during.abort();
        },
      }),
      'cancelled',
    );
    await rejectsWith(knn(points, n, d, 3, { blockDims: 0 }), 'bad-request', 'blockDims');
  });
});

// The squared pair distances of the matrix-based Rényi entropy in WebAssembly
// (estimators/pairDistancesWasm.ts) against the JavaScript loop they replace
// (squaredPairDistancesJs): the same float64 values bit for bit, for every shape the octets and
// the ranges of k can take, duplicate rows exactly 0, and the same refusals.
import * as assert from 'node:assert/strict';
import { CnnSlicerError } from '../../src/shared/errors';
import { CHUNK, squaredPairDistancesWasm } from '../../src/engine/estimators/pairDistancesWasm';
import { squaredPairDistances, squaredPairDistancesJs } from '../../src/engine/estimators/renyiEntropy';

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Indices of the entries where a and b differ as float64 bit patterns. */
function differences(a: Float64Array, b: Float64Array): number[] {
  assert.equal(a.length, b.length);
  const out: number[] = [];
  for (let v = 0; v < a.length; v++) if (!Object.is(a[v], b[v])) out.push(v);
  return out;
}

describe('squared pair distances in WebAssembly (estimators/pairDistancesWasm.ts)', () => {
  it('equal the JavaScript loop bit for bit: n around the octets, d around the ranges of k, float32 and float64 rows', () => {
    const rand = random(7);
    for (const n of [1, 2, 3, 7, 8, 9, 16, 17, 30]) {
      for (const d of [1, 5, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 3]) {
        for (const kind of ['float32', 'float64'] as const) {
          const values = Array.from({ length: n * d }, () => (rand() - 0.5) * 2 ** Math.floor(rand() * 20 - 10));
          const data = kind === 'float32' ? Float32Array.from(values) : Float64Array.from(values);
          const wasm = squaredPairDistancesWasm(data, n, d);
          assert.ok(wasm !== undefined, 'this Node runs WebAssembly with 128-bit vectors');
          assert.ok(wasm.finite);
          assert.deepEqual(differences(wasm.sq, squaredPairDistancesJs(data, n, d)), [], `n = ${n}, d = ${d}, ${kind}`);
        }
      }
    }
  });

  it('give exactly 0 for duplicate rows and the diagonal, and a symmetric matrix, at n = 101', () => {
    const rand = random(11);
    const n = 101;
    const d = 300;
    const data = Float32Array.from({ length: n * d }, () => rand() * 4 - 2);
    // Rows 40 and 41 copy row 3; row 100 copies row 0 (the last octet is a short one).
    for (const [to, from] of [
      [40, 3],
      [41, 3],
      [100, 0],
    ])
      data.copyWithin(to * d, from * d, from * d + d);
    const sq = squaredPairDistances(data, n, d);
    assert.deepEqual(differences(sq, squaredPairDistancesJs(data, n, d)), []);
    for (const [i, j] of [
      [40, 3],
      [41, 3],
      [41, 40],
      [100, 0],
    ]) {
      assert.ok(Object.is(sq[i * n + j], 0) && Object.is(sq[j * n + i], 0), `(${i}, ${j})`);
    }
    for (let i = 0; i < n; i++) {
      assert.ok(Object.is(sq[i * n + i], 0));
      for (let j = 0; j < i; j++) assert.ok(Object.is(sq[i * n + j], sq[j * n + i]));
    }
  });

  it('refuse NaN and infinite values as the JavaScript loop does, and fall back to it on request', () => {
    const data = Float64Array.from({ length: 10 * 3 }, (_, v) => v);
    data[17] = NaN;
    const refused = (e: unknown): boolean => e instanceof CnnSlicerError && e.code === 'bad-request' && /NaN or infinite/.test(e.message);
    assert.throws(() => squaredPairDistances(data, 10, 3), refused);
    assert.throws(() => squaredPairDistancesJs(data, 10, 3), refused);
    data[17] = Infinity;
    assert.throws(() => squaredPairDistances(data, 10, 3), refused);
    assert.throws(() => squaredPairDistances(data, 10, 4), /expected 10 × 4 values/);
    process.env.CNNSLICER_EIGEN_KERNEL = 'js';
    try {
      assert.equal(squaredPairDistancesWasm(Float64Array.from([0, 1, 3]), 3, 1), undefined, 'CNNSLICER_EIGEN_KERNEL=js keeps the JavaScript loop');
      assert.deepEqual([...squaredPairDistances(Float64Array.from([0, 1, 3]), 3, 1)], [0, 1, 9, 1, 0, 4, 9, 4, 0]);
    } finally {
      delete process.env.CNNSLICER_EIGEN_KERNEL;
    }
  });
});

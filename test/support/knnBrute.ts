// The float64 brute-force k-NN the k-NN tests compare against, and the comparisons.
import assert from 'node:assert/strict';
import type { KnnResult } from '../../src/engine/compute/knn';

/** Float64 brute force: every distance from the vectors, sorted by (distance, index), self left out. */
export function bruteKnn(points: Float32Array, n: number, d: number, k: number): { distances: Float64Array; indices: Int32Array } {
  const distances = new Float64Array(n * k);
  const indices = new Int32Array(n * k);
  const row = new Float64Array(n);
  const order: number[] = [];
  for (let i = 0; i < n; i++) {
    order.length = 0;
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < d; t++) {
        const u = points[i * d + t] - points[j * d + t];
        s += u * u;
      }
      row[j] = Math.sqrt(s);
      if (j !== i) order.push(j);
    }
    order.sort((a, b) => row[a] - row[b] || a - b);
    for (let c = 0; c < k; c++) {
      distances[i * k + c] = row[order[c]];
      indices[i * k + c] = order[c];
    }
  }
  return { distances, indices };
}

/**
 * With every returned distance recomputed in float64 (tol = 0) the engine must return exactly the
 * float32 rounding of the true distances; otherwise each within `tol` relative. The neighbours
 * must be the same, except where two true distances are equal within that tolerance (the float32
 * rounding when tol = 0), whose order is then free.
 */
export function assertMatchesBrute(got: KnnResult, want: { distances: Float64Array; indices: Int32Array }, what: string, tol = 0): void {
  const { n, k } = got;
  const same = (a: number, b: number) => (tol === 0 ? Math.fround(a) === Math.fround(b) : Math.abs(a - b) <= tol * Math.max(a, b));
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < k; c++) {
      const t = i * k + c;
      const w = want.distances[t];
      if (tol === 0) assert.equal(got.distances[t], Math.fround(w), `${what}: row ${i}, neighbour ${c}: distance`);
      else assert.ok(Math.abs(got.distances[t] - w) <= tol * w, `${what}: row ${i}, neighbour ${c}: distance ${got.distances[t]} vs ${w}`);
      if (got.indices[t] !== want.indices[t]) {
        const tied = (c > 0 && same(want.distances[t - 1], w)) || (c + 1 < k && same(want.distances[t + 1], w));
        assert.ok(tied, `${what}: row ${i}, neighbour ${c}: index ${got.indices[t]}, expected ${want.indices[t]}`);
      }
    }
  }
}

export function assertSameResult(a: KnnResult, b: KnnResult, what: string): void {
  assert.deepEqual(a.indices, b.indices, `${what}: indices`);
  assert.deepEqual(a.distances, b.distances, `${what}: distances`);
}

// The matrix-based Rényi entropy of many samples without every eigenvalue: above renyiExactMax the
// O(n³) reduction (symmetricEigen.ts) gives way to O(n²) matrix products, by stochastic Lanczos
// quadrature (Ubaru, Chen & Saad 2017; the Lanczos estimator of Dong et al. 2022) on a deflated
// matrix. docs/estimators.md gives the measured error.
//
// Why deflation and the split below: α = 1.01 divides log2 Σ λ^α by 1 − α = −0.01, so an error
// of δ in Σ λ^α (which is ≈ 1) costs δ/(0.01 · ln 2) bits: 1 % is 1.4 bits. Hutchinson's estimate
// of tr f(A) has a relative error of about √(2 Σ f(λ)² / s) / Σ f(λ) with s probes, which the few
// large eigenvalues of a Gram matrix dominate. So:
// 1. A block Krylov space (deflationBlocks products of A with 16 vectors) and Rayleigh–Ritz on it
//    give the largest eigenpairs (θ_i, q_i); those that converged are taken exactly, and the rest
//    of the matrix is B = P A P with P = I − Q Qᵀ.
// 2. Σ λ^α = Σ θ_i^α + tr B + tr g(B), g(λ) = λ^α − λ: tr B = tr A − Σ θ_i is exact, and only
//    tr g(B), which is about (α − 1)·ln 2 times B's share of the entropy, is estimated, by
//    Hutchinson's estimator over 16·probeBlocks Rademacher vectors with Gauss quadrature from
//    lanczosSteps Lanczos steps each (16 probes advanced by one block product, 16 columns a pass
//    over A). Its error in bits is then the relative error of that estimate times B's share of the
//    entropy, whatever α. Where tr f(B) is the smaller (α well above 1) it is estimated instead,
//    and at α = 1 (−Σ λ log2 λ) tr f(B) is estimated directly.
// Probes and start vector come from fixed seeds: the same matrix always gives the same estimate.

import { CnnSlicerError } from '../../shared/errors';
import { BLOCK, denseProducts, type DenseProducts } from './denseProductWasm';
import { tridiagonalEigen } from './symmetricEigen';

/** The estimate's settings; the defaults are what renyiEntropy uses (docs/estimators.md measures them). */
export interface EstimateOptions {
  /** Blocks of 16 Hutchinson probes (each block one product per Lanczos step). */
  readonly probeBlocks: number;
  /** Lanczos steps per probe: Gauss quadrature nodes. */
  readonly lanczosSteps: number;
  /** Block products (16 vectors each) that look for the largest eigenpairs, and how many of them may be deflated. */
  readonly deflationBlocks: number;
  readonly deflationMax: number;
}

export const ESTIMATE_DEFAULTS: EstimateOptions = { probeBlocks: 2, lanczosSteps: 20, deflationBlocks: 12, deflationMax: 64 };

/** A Ritz pair is deflated when its residual ‖A q − θ q‖ is below this times θ_max: its coupling to the rest then moves S by its square. */
const RESIDUAL = 1e-4;

/** A deterministic generator (32-bit LCG): the estimate must not change from one call to the next. */
function generator(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** w −= Σ_j (q_j · w) q_j, twice ("twice is enough", Parlett): full reorthogonalisation against `basis`. */
function orthogonalize(w: Float64Array, basis: readonly Float64Array[]): void {
  for (let pass = 0; pass < 2; pass++) {
    for (const q of basis) {
      const c = dot(q, w);
      for (let i = 0; i < w.length; i++) w[i] -= c * q[i];
    }
  }
}

/** Eigenvalues and eigenvectors of the small dense symmetric `h` (m × m, overwritten), by cyclic Jacobi rotations: `vectors[k · m + i]` is component k of vector i. */
function jacobiEigen(h: Float64Array, m: number): { values: Float64Array; vectors: Float64Array } {
  const v = new Float64Array(m * m);
  for (let i = 0; i < m; i++) v[i * m + i] = 1;
  for (let sweep = 0; sweep < 50; sweep++) {
    let off = 0;
    let diag = 0;
    for (let i = 0; i < m; i++) {
      diag += h[i * m + i] * h[i * m + i];
      for (let j = 0; j < i; j++) off += h[i * m + j] * h[i * m + j];
    }
    if (off <= 1e-30 * diag) break;
    for (let p = 0; p < m; p++) {
      for (let q = p + 1; q < m; q++) {
        const hpq = h[p * m + q];
        if (hpq === 0) continue;
        // The rotation that zeroes h_pq (Golub & Van Loan, Algorithm 8.5.1).
        const tau = (h[q * m + q] - h[p * m + p]) / (2 * hpq);
        const t = (tau >= 0 ? 1 : -1) / (Math.abs(tau) + Math.sqrt(1 + tau * tau));
        const c = 1 / Math.sqrt(1 + t * t);
        const sn = t * c;
        for (let k = 0; k < m; k++) {
          const hkp = h[k * m + p];
          const hkq = h[k * m + q];
          h[k * m + p] = c * hkp - sn * hkq;
          h[k * m + q] = sn * hkp + c * hkq;
        }
        for (let k = 0; k < m; k++) {
          const hpk = h[p * m + k];
          const hqk = h[q * m + k];
          h[p * m + k] = c * hpk - sn * hqk;
          h[q * m + k] = sn * hpk + c * hqk;
          const vkp = v[k * m + p];
          const vkq = v[k * m + q];
          v[k * m + p] = c * vkp - sn * vkq;
          v[k * m + q] = sn * vkp + c * vkq;
        }
      }
    }
  }
  return { values: Float64Array.from({ length: m }, (_, i) => h[i * m + i]), vectors: v };
}

/** Orthonormalises `block` against `basis` and within itself (Gram–Schmidt, twice), dropping vectors that vanish. */
function orthonormalBlock(block: Float64Array[], basis: readonly Float64Array[]): Float64Array[] {
  const out: Float64Array[] = [];
  for (const w of block) {
    const before = Math.sqrt(dot(w, w));
    orthogonalize(w, [...basis, ...out]);
    const norm = Math.sqrt(dot(w, w));
    if (!(norm > 1e-10 * before)) continue;
    for (let i = 0; i < w.length; i++) w[i] /= norm;
    out.push(w);
  }
  return out;
}

/**
 * The largest eigenpairs of A that converge in a block Krylov space: 16 vectors from a fixed seed,
 * deflationBlocks block products (one pass over A for 16 vectors), Rayleigh–Ritz on the space,
 * and the Ritz pairs whose residual ‖A q − θ q‖ is within RESIDUAL · θ_max, at most deflationMax.
 */
function largestEigenpairs(products: DenseProducts, n: number, options: EstimateOptions): { values: number[]; vectors: Float64Array[] } {
  const rand = generator(0x5eed);
  const basis: Float64Array[] = [];
  const images: Float64Array[] = [];
  let block = orthonormalBlock(
    Array.from({ length: Math.min(BLOCK, n) }, () => Float64Array.from({ length: n }, () => rand() - 0.5)),
    [],
  );
  for (let step = 0; step < options.deflationBlocks && block.length > 0 && basis.length < n; step++) {
    products.X.fill(0);
    block.forEach((v, l) => {
      for (let i = 0; i < n; i++) products.X[i * BLOCK + l] = v[i];
    });
    products.matmul();
    const next = block.map((_, l) => Float64Array.from({ length: n }, (_, i) => products.Y[i * BLOCK + l]));
    basis.push(...block);
    images.push(...next.map((w) => w.slice()));
    block = orthonormalBlock(next, basis);
  }
  const m = basis.length;
  // H = Vᵀ A V, symmetrised.
  const h = new Float64Array(m * m);
  for (let i = 0; i < m; i++) for (let j = 0; j <= i; j++) h[i * m + j] = h[j * m + i] = (dot(basis[i], images[j]) + dot(basis[j], images[i])) / 2;
  const { values, vectors } = jacobiEigen(h, m);
  const order = Array.from({ length: m }, (_, i) => i).sort((i, j) => values[j] - values[i]);
  const top = Math.abs(values[order[0]] ?? 0);
  const out: { values: number[]; vectors: Float64Array[] } = { values: [], vectors: [] };
  for (const i of order) {
    if (out.values.length >= options.deflationMax || !(values[i] > 0)) break;
    const q = new Float64Array(n);
    const aq = new Float64Array(n);
    for (let k = 0; k < m; k++) {
      const c = vectors[k * m + i];
      const b = basis[k];
      const a = images[k];
      for (let t = 0; t < n; t++) {
        q[t] += c * b[t];
        aq[t] += c * a[t];
      }
    }
    let residual = 0;
    for (let t = 0; t < n; t++) residual += (aq[t] - values[i] * q[t]) ** 2;
    if (Math.sqrt(residual) > RESIDUAL * top) continue;
    out.values.push(values[i]);
    out.vectors.push(q);
  }
  return out;
}

/**
 * One block's share of Hutchinson's estimate of tr h(B), B = P A P with P the projector off
 * `deflated`: 16 Rademacher vectors z, each zᵀ h(B) z from `steps` Lanczos steps (Gauss
 * quadrature: ‖Pz‖² Σ_k τ_k² h(θ_k)), advanced together by one block product per step; the mean.
 */
function deflatedTraceBlock(
  products: DenseProducts,
  n: number,
  deflated: readonly Float64Array[],
  h: (x: number) => number,
  steps: number,
  seed: number,
): number {
  const PROBES = BLOCK;
  const rand = generator(seed);
  const basis: Float64Array[][] = [];
  const alpha: number[][] = [];
  const beta: number[][] = [];
  const weight: number[] = [];
  let v: Float64Array[] = [];
  for (let l = 0; l < PROBES; l++) {
    const z = Float64Array.from({ length: n }, () => (rand() < 0.5 ? -1 : 1));
    orthogonalize(z, deflated);
    const norm2 = dot(z, z);
    weight.push(norm2);
    const inv = norm2 > 0 ? 1 / Math.sqrt(norm2) : 0;
    for (let i = 0; i < n; i++) z[i] *= inv;
    v.push(z);
    basis.push([]);
    alpha.push([]);
    beta.push([]);
  }
  const done = new Array<boolean>(PROBES).fill(false);
  for (let k = 0; k < steps; k++) {
    for (let l = 0; l < PROBES; l++) for (let i = 0; i < n; i++) products.X[i * BLOCK + l] = v[l][i];
    products.matmul();
    const next: Float64Array[] = [];
    for (let l = 0; l < PROBES; l++) {
      const w = new Float64Array(n);
      for (let i = 0; i < n; i++) w[i] = products.Y[i * BLOCK + l];
      if (done[l]) {
        next.push(v[l]);
        continue;
      }
      basis[l].push(v[l]);
      alpha[l].push(dot(v[l], w));
      // B w = P A P v: v stays orthogonal to the deflated vectors, so only A v needs projecting.
      orthogonalize(w, [...deflated, ...basis[l]]);
      const b = Math.sqrt(dot(w, w));
      if (b <= 1e-14 * Math.max(Math.abs(alpha[l][0]), 1e-300) || k === steps - 1) {
        done[l] = true;
        next.push(v[l]);
        continue;
      }
      beta[l].push(b);
      for (let i = 0; i < n; i++) w[i] /= b;
      next.push(w);
    }
    v = next;
    if (done.every(Boolean)) break;
  }
  let sum = 0;
  for (let l = 0; l < PROBES; l++) {
    const m = alpha[l].length;
    if (m === 0 || weight[l] === 0) continue;
    const { values, vectors } = tridiagonalEigen(
      Float64Array.from(alpha[l]),
      Float64Array.from({ length: m }, (_, i) => beta[l][i] ?? 0),
      1,
    );
    let quadrature = 0;
    for (let k = 0; k < m; k++) quadrature += vectors[k] * vectors[k] * h(Math.max(values[k], 0));
    sum += weight[l] * quadrature;
  }
  return sum / PROBES;
}

/**
 * The estimate of S_α(A), bits, for a trace-1 positive semi-definite n × n matrix `a` (row-major,
 * both triangles): the largest eigenvalues exactly, the rest by stochastic Lanczos quadrature.
 */
export function renyiEntropyEstimate(a: Float64Array, n: number, alpha: number, options: EstimateOptions = ESTIMATE_DEFAULTS): number {
  if (!Number.isInteger(n) || n < 1 || a.length !== n * n) throw new CnnSlicerError('internal', `Rényi estimate: expected ${n} × ${n} values, got ${a.length}`);
  let trace = 0;
  for (let i = 0; i < n; i++) trace += a[i * n + i];
  const products = denseProducts(a, n);
  const top = largestEigenpairs(products, n, options);
  const steps = Math.min(options.lanczosSteps, n);
  const estimate = (h: (x: number) => number): number => {
    let sum = 0;
    for (let b = 0; b < options.probeBlocks; b++) sum += deflatedTraceBlock(products, n, top.vectors, h, steps, 0xb10c + 7919 * b);
    return sum / options.probeBlocks;
  };
  const f = (x: number): number => (x > 0 ? (alpha === 1 ? -x * Math.log2(x) : Math.pow(x, alpha)) : 0);
  const exact = top.values.reduce((s, x) => s + f(x), 0);
  if (alpha === 1) return exact + estimate(f);
  const rest = trace - top.values.reduce((s, x) => s + x, 0);
  // Estimate the smaller of tr f(B) and tr g(B), g(λ) = λ^α − λ (tr B being exact), judged at
  // B's mean eigenvalue μ: |μ^α − μ| < μ^α for every μ when α < 1, and when μ^(α − 1) > 1/2 above.
  const mean = rest / Math.max(1, n - top.values.length);
  const split = alpha < 1 || Math.pow(mean, alpha - 1) > 0.5;
  const sum = exact + (split ? rest + estimate((x) => f(x) - x) : estimate(f));
  return Math.log2(sum) / (1 - alpha);
}

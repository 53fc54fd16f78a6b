// Matrix-based Rényi α-order entropy (Sánchez Giraldo, Rao & Príncipe 2015) and the information
// between representations built on it (Yu et al. 2020): beyond the paper, a measure whose value
// does not grow with the number of samples the way the inter-sample entropy's does.
//
// For a representation of n samples x_1 … x_n (a layer's activations, the inputs, or the labels):
//   K_ij = exp(−‖x_i − x_j‖² / 2σ²)        (labels: K_ij = [y_i = y_j])
//   A = K / tr(K)                           (positive semi-definite, trace 1)
//   S_α(A) = log2(Σ_i λ_i(A)^α) / (1 − α)   bits, in [0, log2 n]
//   S_2(A) = −log2 ‖A‖_F²                   (α = 2 needs no eigenvalues)
//   S_α(A, B) = S_α(A ∘ B / tr(A ∘ B))      (∘ the elementwise product)
//   I_α(A; B) = S_α(A) + S_α(B) − S_α(A, B)
// docs/estimators.md ("Matrix-based Rényi entropy") gives the defaults and the reasons for them.
//
// What to call (every matrix is a row-major n × n Float64Array; all functions are pure):
//   renyiGram(data, n, d, params)        → { gram: A, sigma }: a representation's normalised Gram
//                                          matrix, σ chosen by params.renyiSigma
//   labelGram(labels) → K; normalizeTrace(K, n) → A: the labels' normalised Gram matrix
//   renyiEntropy(A, n, alpha, exactMax)  → S_α(A), bits (exactMax: params.renyiExactMax)
//   renyiJoint(A, B, n, alpha, exactMax) → S_α(A, B)
//   renyiMutualInformation(A, B, n, alpha, exactMax) → S_α(A), S_α(B), S_α(A, B), I_α(A; B)
//   isApproximate(n, exactMax, alpha)    → whether those sums were estimated rather than computed
// and the parts: squaredPairDistances (in WebAssembly, pairDistancesWasm.ts; squaredPairDistancesJs
// its reference), medianPairDistance, silvermanSigma, kernelSigma, gaussianGram(FromDistances),
// hadamardNormalized, renyiEntropyOfEigenvalues, renyiEntropy2.
// For the information plane, compute each representation's S_α once and the joint entropies per
// pair: renyiMutualInformation recomputes both marginals.

import { CnnSlicerError } from '../../shared/errors';
import { squaredPairDistancesWasm } from './pairDistancesWasm';
import type { EstimatorParams, RenyiSigmaRule } from './params';
import { renyiEntropyEstimate } from './renyiApproximation';
import { symmetricEigenvalues } from './symmetricEigen';

/** The parameters the Rényi functions read. */
export type RenyiParams = Pick<EstimatorParams, 'renyiAlpha' | 'renyiSigma' | 'renyiSigmaValue' | 'renyiExactMax'>;

function checkMatrix(a: Float64Array, n: number, what: string): void {
  if (!Number.isInteger(n) || n < 1 || a.length !== n * n) throw new CnnSlicerError('internal', `${what}: expected ${n} × ${n} values, got ${a.length}`);
}

function checkRows(data: Float32Array | Float64Array, n: number, d: number): void {
  if (!Number.isInteger(n) || !Number.isInteger(d) || n < 1 || d < 1 || data.length !== n * d) {
    throw new CnnSlicerError('internal', `pair distances: expected ${n} × ${d} values, got ${data.length}`);
  }
}

function nonFinite(): CnnSlicerError {
  return new CnnSlicerError('bad-request', 'pair distances: the representation holds NaN or infinite values');
}

/**
 * ‖x_i − x_j‖² for every pair of the n rows of `data` (d values each, row-major), n × n with a
 * zero diagonal, in float64 from coordinate differences (exactly 0 for identical rows, no
 * cancellation for close ones): each pair's Σ_k (x_ik − x_jk)² added in the order of k. O(n²·d), in
 * WebAssembly with 128-bit vectors where it runs (pairDistancesWasm.ts, the same values bit for
 * bit), else `squaredPairDistancesJs`.
 */
export function squaredPairDistances(data: Float32Array | Float64Array, n: number, d: number): Float64Array {
  checkRows(data, n, d);
  const fast = squaredPairDistancesWasm(data, n, d);
  if (fast === undefined) return squaredPairDistancesJs(data, n, d);
  if (!fast.finite) throw nonFinite();
  return fast.sq;
}

/** squaredPairDistances in plain JavaScript: the reference of the WebAssembly kernel, and its fallback. */
export function squaredPairDistancesJs(data: Float32Array | Float64Array, n: number, d: number): Float64Array {
  checkRows(data, n, d);
  const out = new Float64Array(n * n);
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < d; k++) row[k] = data[i * d + k];
    let j = 0;
    // Four rows against row i at once: each of its values is loaded once for four sums.
    for (; j + 4 <= i; j += 4) {
      const b0 = j * d;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let k = 0; k < d; k++) {
        const x = row[k];
        const t0 = x - data[b0 + k];
        const t1 = x - data[b0 + d + k];
        const t2 = x - data[b0 + 2 * d + k];
        const t3 = x - data[b0 + 3 * d + k];
        s0 += t0 * t0;
        s1 += t1 * t1;
        s2 += t2 * t2;
        s3 += t3 * t3;
      }
      out[i * n + j] = s0;
      out[i * n + j + 1] = s1;
      out[i * n + j + 2] = s2;
      out[i * n + j + 3] = s3;
    }
    for (; j < i; j++) {
      const b = j * d;
      let s = 0;
      for (let k = 0; k < d; k++) {
        const t = row[k] - data[b + k];
        s += t * t;
      }
      out[i * n + j] = s;
    }
    for (j = 0; j < i; j++) out[j * n + i] = out[i * n + j];
  }
  for (let v = 0; v < out.length; v++) {
    if (!Number.isFinite(out[v])) throw nonFinite();
  }
  return out;
}

/** The k-th smallest (0-based) of `values`, reordering them (Hoare's selection, median-of-three pivots). */
function select(values: Float64Array, k: number): number {
  let lo = 0;
  let hi = values.length - 1;
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    // Median of three as the pivot: sorted, worst cases need adversarial input.
    if (values[mid] < values[lo]) [values[mid], values[lo]] = [values[lo], values[mid]];
    if (values[hi] < values[lo]) [values[hi], values[lo]] = [values[lo], values[hi]];
    if (values[hi] < values[mid]) [values[hi], values[mid]] = [values[mid], values[hi]];
    const pivot = values[mid];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (values[i] < pivot) i++;
      while (values[j] > pivot) j--;
      if (i <= j) {
        const t = values[i];
        values[i] = values[j];
        values[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return values[k];
  }
  return values[k];
}

/**
 * The median of the Euclidean distances ‖x_i − x_j‖ over the pairs i < j, from squared distances
 * (n × n): the middle one, or the mean of the two middle ones for an even count of pairs. 0 for n < 2.
 */
export function medianPairDistance(sq: Float64Array, n: number): number {
  checkMatrix(sq, n, 'median pair distance');
  const pairs = (n * (n - 1)) / 2;
  if (pairs === 0) return 0;
  const values = new Float64Array(pairs);
  let at = 0;
  for (let i = 1; i < n; i++) for (let j = 0; j < i; j++) values[at++] = sq[i * n + j];
  const upper = select(values, pairs >> 1);
  if (pairs % 2 === 1) return Math.sqrt(upper);
  // The lower middle value is the largest of those left below the upper one.
  let lower = -Infinity;
  for (let v = 0; v < pairs >> 1; v++) if (values[v] > lower) lower = values[v];
  return (Math.sqrt(lower) + Math.sqrt(upper)) / 2;
}

/**
 * Silverman's rule of thumb for a d-dimensional Gaussian kernel, σ = σ̂·(4 / ((d + 2)·n))^(1/(d + 4)),
 * with one width for every dimension: σ̂² the unbiased variance per dimension averaged over the d
 * dimensions, Σ_{i<j} ‖x_i − x_j‖² / (n(n − 1)·d). 0 for n < 2.
 */
export function silvermanSigma(sq: Float64Array, n: number, d: number): number {
  checkMatrix(sq, n, 'Silverman σ');
  if (n < 2) return 0;
  let sum = 0;
  for (let i = 1; i < n; i++) for (let j = 0; j < i; j++) sum += sq[i * n + j];
  const sigmaHat = Math.sqrt(sum / (n * (n - 1) * d));
  return sigmaHat * Math.pow(4 / ((d + 2) * n), 1 / (d + 4));
}

/** σ for one representation under `rule` (`value` when fixed), from its squared pair distances. */
export function kernelSigma(sq: Float64Array, n: number, d: number, rule: RenyiSigmaRule, value: number): number {
  switch (rule) {
    case 'median':
      return medianPairDistance(sq, n);
    case 'silverman':
      return silvermanSigma(sq, n, d);
    case 'fixed':
      return value;
  }
}

/**
 * K_ij = exp(−sq_ij / 2σ²) from squared distances (n × n, symmetric; a new array). σ = 0 is the
 * limit σ → 0: K_ij = 1 where sq_ij = 0 and 0 elsewhere (what the median rule gives when more than
 * half the pairs are duplicates).
 */
export function gaussianGramFromDistances(sq: Float64Array, n: number, sigma: number): Float64Array {
  checkMatrix(sq, n, 'Gaussian Gram matrix');
  if (!(sigma >= 0 && sigma < Infinity)) throw new CnnSlicerError('bad-request', `Gaussian kernel width must be a number ≥ 0, got ${sigma}`);
  const k = new Float64Array(n * n);
  const scale = sigma > 0 ? -1 / (2 * sigma * sigma) : 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      const s = sq[i * n + j];
      const v = sigma > 0 ? Math.exp(s * scale) : s === 0 ? 1 : 0;
      k[i * n + j] = v;
      k[j * n + i] = v;
    }
    k[i * n + i] = 1;
  }
  return k;
}

/** The Gaussian Gram matrix K of the n rows of `data` (d values each) at width σ. */
export function gaussianGram(data: Float32Array | Float64Array, n: number, d: number, sigma: number): Float64Array {
  return gaussianGramFromDistances(squaredPairDistances(data, n, d), n, sigma);
}

/** The labels' Gram matrix, K_ij = 1 when samples i and j have the same label, else 0. */
export function labelGram(labels: ArrayLike<number>): Float64Array {
  const n = labels.length;
  const k = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) k[i * n + j] = labels[i] === labels[j] ? 1 : 0;
  return k;
}

/** K / tr(K) (a new array). Throws `bad-request` when tr(K) is not positive. */
export function normalizeTrace(k: Float64Array, n: number): Float64Array {
  checkMatrix(k, n, 'trace normalisation');
  let trace = 0;
  for (let i = 0; i < n; i++) trace += k[i * n + i];
  if (!(trace > 0 && trace < Infinity)) throw new CnnSlicerError('bad-request', `a Gram matrix needs a positive finite trace, got ${trace}`);
  const a = new Float64Array(n * n);
  const inv = 1 / trace;
  for (let v = 0; v < a.length; v++) a[v] = k[v] * inv;
  return a;
}

/** A ∘ B / tr(A ∘ B): the normalised elementwise product, whose entropy is the joint entropy. */
export function hadamardNormalized(a: Float64Array, b: Float64Array, n: number): Float64Array {
  checkMatrix(a, n, 'joint Gram matrix');
  checkMatrix(b, n, 'joint Gram matrix');
  const c = new Float64Array(n * n);
  for (let v = 0; v < c.length; v++) c[v] = a[v] * b[v];
  return normalizeTrace(c, n);
}

/**
 * A representation's normalised Gram matrix A = K / tr(K) with σ chosen by `params.renyiSigma`
 * (from the squared pair distances when given, else from `data`), and that σ.
 */
export function renyiGram(
  data: Float32Array | Float64Array,
  n: number,
  d: number,
  params: Pick<RenyiParams, 'renyiSigma' | 'renyiSigmaValue'>,
  sq: Float64Array = squaredPairDistances(data, n, d),
): { gram: Float64Array; sigma: number } {
  const sigma = kernelSigma(sq, n, d, params.renyiSigma, params.renyiSigmaValue);
  return { gram: normalizeTrace(gaussianGramFromDistances(sq, n, sigma), n), sigma };
}

function checkAlpha(alpha: number): void {
  if (!(alpha > 0 && alpha < Infinity)) throw new CnnSlicerError('bad-request', `Rényi order α must be a number > 0, got ${alpha}`);
}

/**
 * S_α from the eigenvalues of a trace-1 matrix: log2(Σ λ^α)/(1 − α), and −Σ λ log2 λ at α = 1.
 * Eigenvalues at or below n·ε·λ_max (ε = 2⁻⁵²) count as 0: that is the solver's rounding on a
 * positive semi-definite matrix (whose zero eigenvalues come out as ±1e-17 or so), and for α < 1
 * their λ^α would otherwise add up (11 rounding eigenvalues of 1e-17 make 3.5e-8 at α = 0.5).
 */
export function renyiEntropyOfEigenvalues(lambda: ArrayLike<number>, alpha: number): number {
  checkAlpha(alpha);
  let max = 0;
  for (let i = 0; i < lambda.length; i++) if (lambda[i] > max) max = lambda[i];
  const floor = lambda.length * 2 ** -52 * max;
  let sum = 0;
  for (let i = 0; i < lambda.length; i++) {
    const l = lambda[i];
    if (l > floor) sum += alpha === 1 ? -l * Math.log2(l) : Math.pow(l, alpha);
  }
  return alpha === 1 ? sum : Math.log2(sum) / (1 - alpha);
}

/** S_2(A) = −log2 ‖A‖_F² = −log2 Σ λ²: no eigenvalues needed. */
export function renyiEntropy2(a: Float64Array, n: number): number {
  checkMatrix(a, n, 'Rényi entropy');
  let sum = 0;
  for (let v = 0; v < a.length; v++) sum += a[v] * a[v];
  return -Math.log2(sum);
}

/** Whether S_α of n samples is estimated rather than computed: n above `exactMax`, unless α = 2 (always exact). */
export function isApproximate(n: number, exactMax: number, alpha: number): boolean {
  return n > exactMax && alpha !== 2;
}

/**
 * S_α(A) in bits, A a trace-1 positive semi-definite n × n matrix, from every eigenvalue
 * (symmetricEigen.ts) up to `exactMax` samples, estimated above (renyiApproximation.ts, whose
 * error docs/estimators.md gives); α = 2 always exactly, from the Frobenius norm.
 */
export function renyiEntropy(a: Float64Array, n: number, alpha: number, exactMax = Infinity): number {
  checkMatrix(a, n, 'Rényi entropy');
  checkAlpha(alpha);
  if (alpha === 2) return renyiEntropy2(a, n);
  if (isApproximate(n, exactMax, alpha)) return renyiEntropyEstimate(a, n, alpha);
  return renyiEntropyOfEigenvalues(symmetricEigenvalues(a, n), alpha);
}

/** The joint entropy S_α(A, B) = S_α(A ∘ B / tr(A ∘ B)). */
export function renyiJoint(a: Float64Array, b: Float64Array, n: number, alpha: number, exactMax = Infinity): number {
  return renyiEntropy(hadamardNormalized(a, b, n), n, alpha, exactMax);
}

export interface RenyiInformation {
  readonly entropyA: number;
  readonly entropyB: number;
  readonly jointEntropy: number;
  /** I_α(A; B) = S_α(A) + S_α(B) − S_α(A, B). */
  readonly information: number;
}

/** S_α(A), S_α(B), S_α(A, B) and I_α(A; B) of two normalised Gram matrices of the same n samples. */
export function renyiMutualInformation(a: Float64Array, b: Float64Array, n: number, alpha: number, exactMax = Infinity): RenyiInformation {
  const entropyA = renyiEntropy(a, n, alpha, exactMax);
  const entropyB = renyiEntropy(b, n, alpha, exactMax);
  const jointEntropy = renyiJoint(a, b, n, alpha, exactMax);
  return { entropyA, entropyB, jointEntropy, information: entropyA + entropyB - jointEntropy };
}

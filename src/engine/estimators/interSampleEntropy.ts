// Inter-sample entropy (paper §4.4.1): how spread out a set of samples is in its own space. Each
// sample's distances to its k nearest neighbours become conditional probabilities through an
// exponential kernel with a per-sample scale σi (Eq. 4, 5), which are symmetrised into a joint
// table (Eq. 6), normalised, and summarised by their Shannon entropy in bits (Eq. 7).
//
// Sparse convention (as in UMAP and Barnes–Hut t-SNE): P(j|i) exists only for j among i's k
// nearest neighbours and is 0 elsewhere, so the joint table is nonzero exactly on the union of the
// directed k-NN edges; P(i|j) for an edge i→j is read from j's own list when i is in it, else 0.

import { CnnSlicerError } from '../../shared/errors';
import { ESTIMATOR_DEFAULTS, type EstimatorParams } from './params';

/** Each sample's k nearest other samples, as the k-NN graph computation produces them. */
export interface KnnGraph {
  readonly n: number;
  readonly k: number;
  /** Euclidean (not squared) distances, n×k, row i ascending, sample i itself excluded. */
  readonly distances: Float32Array;
  /** Neighbour indices matching `distances`, n×k, each in [0, n) and ≠ its row. */
  readonly indices: Int32Array;
}

export type InterSampleParams = Pick<EstimatorParams, 'sigmaRelativeTolerance' | 'sigmaMaxIterations'>;

export interface InterSampleEntropy {
  /** H of the symmetrised, normalised k-NN probabilities, in bits (Eq. 7). */
  readonly entropy: number;
  /**
   * σi per sample (Eq. 5). Float64 because Eq. 5's residual is checked against σ: rounding σ to
   * float32 alone moves the residual by up to ~k/(e·log2 k)·6e−8 relative, ~2e−6 at k = 1000.
   * 0 for an unsolved sample (see `unsolved`).
   */
  readonly sigmas: Float64Array;
  /**
   * Samples for which Eq. 5 has no solution: Σj exp(−dij/σ) falls to the number z of neighbours
   * at distance 0 as σ → 0, so when z ≥ log2 k (exact duplicates) no σ > 0 reaches log2 k. They
   * take the σ → 0 limit: P(j|i) = 1 for each duplicate neighbour, 0 for the others.
   */
  readonly unsolved: number;
  /** Samples whose σ stopped at `sigmaMaxIterations` with the residual still above tolerance. */
  readonly unconverged: number;
}

/**
 * P(j|i) for a neighbour at distance d of a sample with scale sigma (Eq. 4); sigma = 0 is the
 * σ → 0 limit given to unsolved samples.
 */
function kernel(d: number, sigma: number): number {
  return sigma > 0 ? Math.exp(-d / sigma) : d === 0 ? 1 : 0;
}

/** Distances below zero can only be rounding in a GEMM-based distance computation. */
function clampDistance(raw: number): number {
  return raw > 0 ? raw : 0;
}

/** Result of solving Eq. 5 for one sample, written into preallocated fields to avoid an object per sample. */
interface SigmaSolution {
  sigma: number;
  /** Σj P(j|i) at the returned σ. */
  rowSum: number;
  /** Σj P(j|i)·log2 P(j|i) at the returned σ. */
  rowSumWLogW: number;
  solved: boolean;
  converged: boolean;
}

/**
 * σ with Σj exp(−dj/σ) = log2 k over `distances[offset, offset + k)`, by Newton's method in log σ
 * kept inside a bracket that shrinks on every step (bisection when Newton would leave it).
 *
 * The sum rises monotonically from z (the count of zero distances) at σ → 0 to k at σ → ∞, and the
 * bracket comes from bounding it by its extreme terms: at σ = dmax / ln(k/T) every term is at least
 * T/k, so the sum is ≥ T; at σ = dmin⁺ / ln((k−z)/(T−z)) each positive term is at most (T−z)/(k−z),
 * so the sum is ≤ T (T = log2 k, dmin⁺ the smallest positive distance).
 */
function solveSigma(distances: Float32Array, offset: number, k: number, params: InterSampleParams, out: SigmaSolution): void {
  const target = Math.log2(k);
  let zeros = 0;
  let minPositive = Infinity;
  let max = 0;
  for (let t = offset; t < offset + k; t++) {
    const d = clampDistance(distances[t]);
    if (d === 0) zeros++;
    else if (d < minPositive) minPositive = d;
    if (d > max) max = d;
  }
  if (zeros >= target) {
    out.sigma = 0;
    out.rowSum = zeros;
    // Weights of 1 and 0 only.
    out.rowSumWLogW = 0;
    out.solved = false;
    out.converged = true;
    return;
  }
  let lo = Math.log(minPositive / Math.log((k - zeros) / (target - zeros)));
  let hi = Math.log(max / Math.log(k / target));
  let s = 0.5 * (lo + hi);
  const tolerance = params.sigmaRelativeTolerance * target;
  let bestS = s;
  let bestResidual = Infinity;
  let bestSum = 0;
  let bestSlope = 0;
  for (let iteration = 0; iteration < params.sigmaMaxIterations; iteration++) {
    const inverseSigma = Math.exp(-s);
    let sum = 0;
    // d/ds Σ exp(−d e^{−s}) = Σ exp(−d/σ)·d/σ
    let slope = 0;
    for (let t = offset; t < offset + k; t++) {
      const x = clampDistance(distances[t]) * inverseSigma;
      const w = Math.exp(-x);
      sum += w;
      slope += w * x;
    }
    const residual = sum - target;
    if (Math.abs(residual) < bestResidual) {
      bestResidual = Math.abs(residual);
      bestS = s;
      bestSum = sum;
      bestSlope = slope;
    }
    if (bestResidual <= tolerance) break;
    if (residual < 0) lo = s;
    else hi = s;
    const newton = s - residual / slope;
    s = newton > lo && newton < hi ? newton : 0.5 * (lo + hi);
  }
  out.sigma = Math.exp(bestS);
  out.rowSum = bestSum;
  // log2 exp(−x) = −x/ln 2, so Σ w·log2 w is the slope already summed, with no logarithm.
  out.rowSumWLogW = -bestSlope / Math.LN2;
  out.solved = true;
  out.converged = bestResidual <= tolerance;
}

function validateKnn(knn: KnnGraph): void {
  const { n, k, distances, indices } = knn;
  if (!Number.isInteger(n) || n < 2) throw new CnnSlicerError('bad-request', `inter-sample entropy needs at least 2 samples, got ${n}`);
  if (!Number.isInteger(k) || k < 2 || k > n - 1) {
    throw new CnnSlicerError('bad-request', `inter-sample entropy needs 2 ≤ k ≤ n − 1 = ${n - 1} neighbours (Eq. 5 has no solution for k = 1), got k = ${k}`);
  }
  if (distances.length !== n * k || indices.length !== n * k) {
    throw new CnnSlicerError('internal', `k-NN graph: expected ${n}×${k} = ${n * k} distances and indices, got ${distances.length} and ${indices.length}`);
  }
  for (let i = 0; i < n; i++) {
    for (let t = i * k; t < (i + 1) * k; t++) {
      const d = distances[t];
      const j = indices[t];
      if (d - d !== 0) throw new CnnSlicerError('internal', `k-NN graph: distance ${d} from sample ${i} (non-finite activations?)`);
      if (!(j >= 0 && j < n) || j === i) throw new CnnSlicerError('internal', `k-NN graph: sample ${i} lists neighbour ${j}, which is itself or outside [0, ${n})`);
    }
  }
}

/** w·log2 w of P(j|i) = exp(−d/σ), computed as −w·(d/σ)/ln 2 exactly as the σ solver sums it. */
function weightLogWeight(w: number, d: number, sigma: number): number {
  return sigma > 0 ? (-w * (d / sigma)) / Math.LN2 : 0;
}

/**
 * Inter-sample entropy H(dCNN(x, l, −, t)) of the samples whose k-NN graph is given.
 *
 * After normalising Eq. 6 the 1/2N factor cancels: with w(i→j) = P(j|i) and S = Σ w over all
 * directed edges, the table holds v/(2S) at both (i, j) and (j, i) for each pair of the edge
 * union, v = w(i→j) + w(j→i) (a missing direction counts 0), and Σ v over ordered pairs is 2S. So
 * H = log2(2S) − (E + M)/S, where E = Σ w·log2 w over directed edges (a by-product of solving σ)
 * and M corrects the mutual pairs, those listed in both directions:
 * M = Σ (w1 + w2)·log2(w1 + w2) − w1·log2 w1 − w2·log2 w2. Mutual pairs are found through the
 * transposed graph (each sample's incoming edges, as positions into the input arrays), which
 * makes this O(n·k) time with 4·n·k bytes beyond the input.
 */
export function interSampleEntropy(knn: KnnGraph, params: InterSampleParams = ESTIMATOR_DEFAULTS): InterSampleEntropy {
  validateKnn(knn);
  const { n, k, distances, indices } = knn;

  const sigmas = new Float64Array(n);
  let unsolved = 0;
  let unconverged = 0;
  let total = 0;
  let sumWLogW = 0;
  const solution: SigmaSolution = { sigma: 0, rowSum: 0, rowSumWLogW: 0, solved: false, converged: false };
  for (let i = 0; i < n; i++) {
    solveSigma(distances, i * k, k, params, solution);
    sigmas[i] = solution.sigma;
    if (!solution.solved) unsolved++;
    if (!solution.converged) unconverged++;
    total += solution.rowSum;
    sumWLogW += solution.rowSumWLogW;
  }

  // Incoming edges per sample, as counting-sort buckets of positions into `indices`.
  const inStart = new Int32Array(n + 1);
  for (let t = 0; t < n * k; t++) inStart[indices[t] + 1]++;
  for (let j = 0; j < n; j++) inStart[j + 1] += inStart[j];
  const inPosition = new Int32Array(n * k);
  const cursor = inStart.slice(0, n);
  for (let t = 0; t < n * k; t++) inPosition[cursor[indices[t]]++] = t;

  // While sample i is processed: mark[j] === i + 1 iff j is one of i's out-neighbours, at position outPosition[j].
  const mark = new Int32Array(n);
  const outPosition = new Int32Array(n);
  let mutualCorrection = 0;
  for (let i = 0; i < n; i++) {
    const stamp = i + 1;
    for (let t = i * k; t < (i + 1) * k; t++) {
      const j = indices[t];
      if (mark[j] === stamp) throw new CnnSlicerError('internal', `k-NN graph: sample ${i} lists neighbour ${j} twice`);
      mark[j] = stamp;
      outPosition[j] = t;
    }
    const sigmaI = sigmas[i];
    for (let p = inStart[i]; p < inStart[i + 1]; p++) {
      const tIn = inPosition[p];
      const source = (tIn / k) | 0;
      // source > i: each mutual pair is corrected once, from its lower-numbered end.
      if (source <= i || mark[source] !== stamp) continue;
      const dOut = clampDistance(distances[outPosition[source]]);
      const dIn = clampDistance(distances[tIn]);
      const sigmaSource = sigmas[source];
      const wOut = kernel(dOut, sigmaI);
      const wIn = kernel(dIn, sigmaSource);
      const v = wOut + wIn;
      if (v > 0) mutualCorrection += v * Math.log2(v) - weightLogWeight(wOut, dOut, sigmaI) - weightLogWeight(wIn, dIn, sigmaSource);
    }
  }
  const entropy = Math.log2(2 * total) - (sumWLogW + mutualCorrection) / total;
  return { entropy, sigmas, unsolved, unconverged };
}

/**
 * Eq. 5 relative residual |Σj exp(−dij/σi) − log2 k| / log2 k of sample i, for checking a solution
 * (NaN for an unsolved sample, whose σ is the σ → 0 limit and has no residual).
 */
export function sigmaResidual(knn: KnnGraph, sigmas: Float64Array, i: number): number {
  const { k, distances } = knn;
  if (!(sigmas[i] > 0)) return NaN;
  const target = Math.log2(k);
  let sum = 0;
  for (let t = i * k; t < (i + 1) * k; t++) sum += Math.exp(-clampDistance(distances[t]) / sigmas[i]);
  return Math.abs(sum - target) / target;
}

/**
 * Reference implementation for tests only: O(n²) memory and time, sharing no code with
 * `interSampleEntropy`. Points are n×d row-major; distances are rounded to float32 as a k-NN graph
 * stores them, neighbours chosen by (distance, index); σ by plain bisection in log σ; Eq. 6 and 7
 * computed literally on the dense n×n table.
 */
export function interSampleEntropyDense(points: Float32Array, n: number, d: number, k: number): { entropy: number; sigmas: Float64Array } {
  const dist = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let c = 0; c < d; c++) {
        const diff = points[i * d + c] - points[j * d + c];
        s += diff * diff;
      }
      dist[i * n + j] = Math.fround(Math.sqrt(s));
    }
  }
  const target = Math.log2(k);
  const conditional = new Float64Array(n * n);
  const sigmas = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const others: number[] = [];
    for (let j = 0; j < n; j++) if (j !== i) others.push(j);
    others.sort((a, b) => dist[i * n + a] - dist[i * n + b] || a - b);
    const neighbours = others.slice(0, k);
    const ds = neighbours.map((j) => dist[i * n + j]);
    const zeros = ds.filter((x) => x === 0).length;
    let sigma = 0;
    if (zeros < target) {
      const positive = ds.filter((x) => x > 0);
      let lo = Math.log(Math.min(...positive)) - 60;
      let hi = Math.log(Math.max(...positive)) + 60;
      // 100 halvings shrink the bracket by 2^100, past double resolution for any real distances.
      for (let it = 0; it < 100; it++) {
        const mid = 0.5 * (lo + hi);
        const sum = ds.reduce((acc, x) => acc + Math.exp(-x / Math.exp(mid)), 0);
        if (sum < target) lo = mid;
        else hi = mid;
      }
      sigma = Math.exp(0.5 * (lo + hi));
    }
    sigmas[i] = sigma;
    for (const j of neighbours) {
      const x = dist[i * n + j];
      conditional[i * n + j] = sigma > 0 ? Math.exp(-x / sigma) : x === 0 ? 1 : 0;
    }
  }
  const joint = new Float64Array(n * n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      joint[i * n + j] = (conditional[i * n + j] + conditional[j * n + i]) / (2 * n);
      total += joint[i * n + j];
    }
  }
  let entropy = 0;
  for (let i = 0; i < n * n; i++) {
    const p = joint[i] / total;
    if (p > 0) entropy -= p * Math.log2(p);
  }
  return { entropy, sigmas };
}

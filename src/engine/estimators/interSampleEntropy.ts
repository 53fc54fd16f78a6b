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
  /** Worker threads that computed part of the result (see InterSampleOptions.helpers). */
  readonly workerThreads: number;
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
 * σ with Σj exp(−dj/σ) = log2 k over `distances[offset, offset + k)`, by Halley's method in log σ
 * (Newton's with the second derivative, which costs one multiply-add a term more and no more
 * exponentials) kept inside a bracket that shrinks on every step (bisection when a step would
 * leave it). From the bracket's Jensen end: 3.4 evaluations of the sum a sample at n = 1,000,
 * k = 999 (bench a2) against 5.1 by Newton's method from the bracket's middle, at tolerance 1e−9.
 *
 * The sum rises monotonically from z (the count of zero distances) at σ → 0 to k at σ → ∞, and the
 * bracket comes from bounding it: at σ = dmin⁺ / ln((k−z)/(T−z)) each positive term is at most
 * (T−z)/(k−z), so the sum is ≤ T (T = log2 k, dmin⁺ the smallest positive distance); at
 * σ = d̄ / ln(k/T), d̄ the mean distance, the sum is ≥ k·exp(−d̄/σ) = T by Jensen's inequality (exp
 * is convex), a tighter upper end than dmax / ln(k/T), where every term is at least T/k.
 */
function solveSigma(distances: Float32Array, offset: number, k: number, params: InterSampleParams, out: SigmaSolution): void {
  const target = Math.log2(k);
  let zeros = 0;
  let minPositive = Infinity;
  let total = 0;
  for (let t = offset; t < offset + k; t++) {
    const d = clampDistance(distances[t]);
    if (d === 0) zeros++;
    else if (d < minPositive) minPositive = d;
    total += d;
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
  // Rounding could put the Jensen end a hair below the other; the bracket must stay a bracket.
  let hi = Math.max(lo, Math.log(total / k / Math.log(k / target)));
  let s = hi;
  const tolerance = params.sigmaRelativeTolerance * target;
  let bestS = s;
  let bestResidual = Infinity;
  let bestSum = 0;
  let bestSlope = 0;
  for (let iteration = 0; iteration < params.sigmaMaxIterations; iteration++) {
    const inverseSigma = Math.exp(-s);
    let sum = 0;
    // f(s) = Σ exp(−d e^{−s}); f′(s) = Σ w·x and f″(s) = Σ w·x² − f′(s), with x = d/σ, w = e^{−x}.
    let slope = 0;
    let second = 0;
    for (let t = offset; t < offset + k; t++) {
      const x = clampDistance(distances[t]) * inverseSigma;
      const w = Math.exp(-x);
      const wx = w * x;
      sum += w;
      slope += wx;
      second += wx * x;
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
    const curvature = second - slope;
    // NaN or ±Infinity (a zero slope: every weight underflowed) fails the test: bisection.
    const halley = s - (2 * residual * slope) / (2 * slope * slope - residual * curvature);
    s = halley > lo && halley < hi ? halley : 0.5 * (lo + hi);
  }
  out.sigma = Math.exp(bestS);
  out.rowSum = bestSum;
  // log2 exp(−x) = −x/ln 2, so Σ w·log2 w is the slope already summed, with no logarithm.
  out.rowSumWLogW = -bestSlope / Math.LN2;
  out.solved = true;
  out.converged = bestResidual <= tolerance;
}

/** n, k and the arrays' lengths. */
function validateSizes(knn: KnnGraph): void {
  const { n, k, distances, indices } = knn;
  if (!Number.isInteger(n) || n < 2) throw new CnnSlicerError('bad-request', `inter-sample entropy needs at least 2 samples, got ${n}`);
  if (!Number.isInteger(k) || k < 2 || k > n - 1) {
    throw new CnnSlicerError('bad-request', `inter-sample entropy needs 2 ≤ k ≤ n − 1 = ${n - 1} neighbours (Eq. 5 has no solution for k = 1), got k = ${k}`);
  }
  if (distances.length !== n * k || indices.length !== n * k) {
    throw new CnnSlicerError('internal', `k-NN graph: expected ${n}×${k} = ${n * k} distances and indices, got ${distances.length} and ${indices.length}`);
  }
}

/** Every distance finite, every neighbour another sample (a neighbour listed twice is found by the mutual-pair pass). */
function validateEntries(knn: KnnGraph): void {
  const { n, k, distances, indices } = knn;
  for (let i = 0; i < n; i++) {
    for (let t = i * k; t < (i + 1) * k; t++) {
      const d = distances[t];
      const j = indices[t];
      if (d - d !== 0) throw new CnnSlicerError('internal', `k-NN graph: distance ${d} from sample ${i} (non-finite activations?)`);
      if (!(j >= 0 && j < n) || j === i)
        throw new CnnSlicerError('internal', `k-NN graph: sample ${i} lists neighbour ${j}, which is itself or outside [0, ${n})`);
    }
  }
}

/** w·log2 w of P(j|i) = exp(−d/σ), computed as −w·(d/σ)/ln 2 exactly as the σ solver sums it. */
function weightLogWeight(w: number, d: number, sigma: number): number {
  return sigma > 0 ? (-w * (d / sigma)) / Math.LN2 : 0;
}

/**
 * Threads that share one inter-sample entropy with the calling thread, reserved for a graph of
 * n samples and k neighbours cut into `chunks` chunks. This module computes; where threads come
 * from is the compute layer's business (compute/interSampleThreads.ts), so it stays free of
 * worker_threads and files.
 */
export interface InterSampleThreads {
  /** The threads, the calling one included (1: it computes alone). */
  readonly threads: number;
  /** Starts the helpers on `job` (its arrays in shared memory), as threads 1, 2, … of it. */
  start(job: InterSampleJob): void;
  /** Ends or gives back the helpers; called once the job's FAILED word tells them to stop. */
  stop(): void;
}

/** Options of interSampleEntropy that change only how it runs, never its result. */
export interface InterSampleOptions {
  /** Reserves helper threads for a graph of this size; without it the calling thread computes alone. */
  helpers?: (n: number, k: number, chunks: number) => InterSampleThreads;
  /**
   * Whether the calling thread computes its share (default) or, when there are helpers, only
   * builds the transposed graph and waits: for tests that must see the helpers do the work.
   */
  callerComputes?: boolean;
}

/**
 * Rows per unit of work: small enough to balance two threads at n = 1,000 (16 chunks), large
 * enough that claiming one (an atomic add) is free.
 */
const ROWS_PER_CHUNK = 64;

// Words of InterSampleJob.control.
const NEXT_SIGMA = 0;
const DONE_SIGMA = 1;
const MUTUAL_READY = 2;
const NEXT_MUTUAL = 3;
const DONE_MUTUAL = 4;
/** Set by a worker that hit an error: the calling thread then redoes what is left, and throws it. */
const FAILED = 5;
const CONTROL_WORDS = 6;

/**
 * Everything the threads of one inter-sample entropy share, in typed arrays over SharedArrayBuffers
 * when worker threads take part (see interSampleEntropy). Each phase is cut into chunks of
 * ROWS_PER_CHUNK rows, which threads claim from a counter; a chunk's state goes 0 → 1 (claimed)
 * → 2 (done), so that the calling thread can redo a chunk whose worker died, and a chunk done
 * twice counts once (both write the same values).
 */
export interface InterSampleJob {
  readonly n: number;
  readonly k: number;
  readonly params: InterSampleParams;
  readonly distances: Float32Array;
  readonly indices: Int32Array;
  readonly chunks: number;
  /** Per sample: σ, Σj P(j|i), Σj P(j|i)·log2 P(j|i), and flags (1 unsolved, 2 unconverged). */
  readonly sigmas: Float64Array;
  readonly rowSums: Float64Array;
  readonly rowWLogW: Float64Array;
  readonly rowFlags: Uint8Array;
  /**
   * The transposed graph: sample j's incoming edges are [inStart[j], inStart[j + 1]) in
   * inSource (the sample each comes from) and inDistance (its length, as listed by that sample).
   */
  readonly inStart: Int32Array;
  readonly inSource: Int32Array;
  readonly inDistance: Float32Array;
  /** The mutual-pair correction M summed over each chunk's rows. */
  readonly mutualPartial: Float64Array;
  readonly control: Int32Array;
  readonly sigmaState: Int32Array;
  readonly mutualState: Int32Array;
  /** Chunks computed by each thread: the calling one is 0, worker w is w. */
  readonly threadChunks: Int32Array;
}

function createJob(knn: KnnGraph, params: InterSampleParams, threads: number): InterSampleJob {
  const shared = threads > 1;
  const { n, k } = knn;
  const chunks = Math.ceil(n / ROWS_PER_CHUNK);
  const buffer = (bytes: number) => (shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
  // Workers read the graph itself: shared as it is when the k-NN search left it in shared memory.
  const inShared = <T extends Float32Array | Int32Array>(a: T, make: (b: ArrayBuffer | SharedArrayBuffer) => T): T => {
    if (!shared || a.buffer instanceof SharedArrayBuffer) return a;
    const copy = make(buffer(a.byteLength));
    copy.set(a);
    return copy;
  };
  return {
    n,
    k,
    params: { sigmaRelativeTolerance: params.sigmaRelativeTolerance, sigmaMaxIterations: params.sigmaMaxIterations },
    distances: inShared(knn.distances, (b) => new Float32Array(b)),
    indices: inShared(knn.indices, (b) => new Int32Array(b)),
    chunks,
    sigmas: new Float64Array(buffer(8 * n)),
    rowSums: new Float64Array(buffer(8 * n)),
    rowWLogW: new Float64Array(buffer(8 * n)),
    rowFlags: new Uint8Array(buffer(n)),
    inStart: new Int32Array(buffer(4 * (n + 1))),
    inSource: new Int32Array(buffer(4 * n * k)),
    inDistance: new Float32Array(buffer(4 * n * k)),
    mutualPartial: new Float64Array(buffer(8 * chunks)),
    control: new Int32Array(buffer(4 * CONTROL_WORDS)),
    sigmaState: new Int32Array(buffer(4 * chunks)),
    mutualState: new Int32Array(buffer(4 * chunks)),
    threadChunks: new Int32Array(buffer(4 * threads)),
  };
}

/** Solves Eq. 5 for the rows of chunk c. */
function sigmaChunk(job: InterSampleJob, c: number): void {
  const { n, k, distances, params, sigmas, rowSums, rowWLogW, rowFlags } = job;
  const solution: SigmaSolution = { sigma: 0, rowSum: 0, rowSumWLogW: 0, solved: false, converged: false };
  for (let i = c * ROWS_PER_CHUNK; i < Math.min(n, (c + 1) * ROWS_PER_CHUNK); i++) {
    solveSigma(distances, i * k, k, params, solution);
    sigmas[i] = solution.sigma;
    rowSums[i] = solution.rowSum;
    rowWLogW[i] = solution.rowSumWLogW;
    rowFlags[i] = (solution.solved ? 0 : 1) | (solution.converged ? 0 : 2);
  }
}

/**
 * Incoming edges per sample, by a counting sort. Each carries its distance, so that the mutual-pair
 * pass reads them in order rather than one random access into `distances` per mutual pair (which
 * cost more than this second scattered write does).
 */
function transpose(job: InterSampleJob): void {
  const { n, k, indices, distances, inStart, inSource, inDistance } = job;
  for (let t = 0; t < n * k; t++) inStart[indices[t] + 1]++;
  for (let j = 0; j < n; j++) inStart[j + 1] += inStart[j];
  const cursor = inStart.slice(0, n);
  for (let i = 0; i < n; i++) {
    for (let t = i * k; t < (i + 1) * k; t++) {
      const p = cursor[indices[t]]++;
      inSource[p] = i;
      inDistance[p] = distances[t];
    }
  }
}

/**
 * The mutual-pair correction over the rows of chunk c, returned: stored here, after the loop, it
 * deoptimised the code V8 compiled while the loop ran (no type feedback for the store yet), chunk
 * after chunk. `mark` and `outPosition` are the calling
 * thread's own (n entries each, mark zero at first): while sample i is processed, mark[j] === i + 1
 * iff j is one of i's out-neighbours, at position outPosition[j].
 */
function mutualChunk(job: InterSampleJob, c: number, mark: Int32Array, outPosition: Int32Array): number {
  const { n, k, distances, indices, sigmas, inStart, inSource, inDistance } = job;
  let correction = 0;
  for (let i = c * ROWS_PER_CHUNK; i < Math.min(n, (c + 1) * ROWS_PER_CHUNK); i++) {
    const stamp = i + 1;
    for (let t = i * k; t < (i + 1) * k; t++) {
      const j = indices[t];
      if (mark[j] === stamp) throw new CnnSlicerError('internal', `k-NN graph: sample ${i} lists neighbour ${j} twice`);
      mark[j] = stamp;
      outPosition[j] = t;
    }
    const sigmaI = sigmas[i];
    for (let p = inStart[i]; p < inStart[i + 1]; p++) {
      const source = inSource[p];
      // source > i: each mutual pair is corrected once, from its lower-numbered end.
      if (source <= i || mark[source] !== stamp) continue;
      const dOut = clampDistance(distances[outPosition[source]]);
      const dIn = clampDistance(inDistance[p]);
      const sigmaSource = sigmas[source];
      const wOut = kernel(dOut, sigmaI);
      const wIn = kernel(dIn, sigmaSource);
      const v = wOut + wIn;
      if (v > 0) correction += v * Math.log2(v) - weightLogWeight(wOut, dOut, sigmaI) - weightLogWeight(wIn, dIn, sigmaSource);
    }
  }
  return correction;
}

/**
 * Claims chunks of one phase until none is left (or a thread failed), running `run` on each;
 * wakes whoever waits on the phase's done counter when it completes.
 */
function claimChunks(job: InterSampleJob, id: number, next: number, done: number, state: Int32Array, run: (c: number) => void): void {
  const { control, chunks } = job;
  for (;;) {
    if (Atomics.load(control, FAILED) !== 0) return;
    const c = Atomics.add(control, next, 1);
    if (c >= chunks) return;
    Atomics.store(state, c, 1);
    run(c);
    Atomics.add(job.threadChunks, id, 1);
    if (Atomics.compareExchange(state, c, 1, 2) === 1 && Atomics.add(control, done, 1) + 1 === chunks) Atomics.notify(control, done);
  }
}

/** A worker thread's share of a job (compute/sigmaWorker.ts, or a pooled k-NN worker): σ chunks, then mutual-pair chunks once the calling thread opens them. */
export function interSampleWorker(job: InterSampleJob, id: number): void {
  const { control } = job;
  try {
    claimChunks(job, id, NEXT_SIGMA, DONE_SIGMA, job.sigmaState, (c) => sigmaChunk(job, c));
    while (Atomics.load(control, MUTUAL_READY) === 0 && Atomics.load(control, FAILED) === 0) Atomics.wait(control, MUTUAL_READY, 0, 1000);
    const mark = new Int32Array(job.n);
    const outPosition = new Int32Array(job.n);
    claimChunks(job, id, NEXT_MUTUAL, DONE_MUTUAL, job.mutualState, (c) => (job.mutualPartial[c] = mutualChunk(job, c, mark, outPosition)));
  } catch (err) {
    Atomics.store(control, FAILED, 1);
    Atomics.notify(control, DONE_SIGMA);
    Atomics.notify(control, DONE_MUTUAL);
    throw err;
  }
}

/** How long the calling thread waits without progress before it redoes a worker's claimed chunks itself. */
const STALL_MS = 5000;

/**
 * Waits until every chunk of a phase is done. Blocking is fine here: this thread has nothing else
 * to do, and its own chunks are claimed before. A worker that dies (or throws) holding a chunk
 * leaves it claimed but not done; after STALL_MS without progress (at once on a failure) this
 * thread computes whatever is not done, and a failure then surfaces here as the error it is.
 */
function finishPhase(job: InterSampleJob, done: number, state: Int32Array, run: (c: number) => void): void {
  const { control, chunks } = job;
  let seen = Atomics.load(control, done);
  let since = Date.now();
  while (seen < chunks) {
    if (Atomics.load(control, FAILED) !== 0 || Date.now() - since > STALL_MS) {
      for (let c = 0; c < chunks; c++) {
        if (Atomics.load(state, c) !== 2) {
          run(c);
          Atomics.add(job.threadChunks, 0, 1);
          if (Atomics.exchange(state, c, 2) !== 2) Atomics.add(control, done, 1);
        }
      }
      return;
    }
    Atomics.wait(control, done, seen, 100);
    const now = Atomics.load(control, done);
    if (now !== seen) {
      seen = now;
      since = Date.now();
    }
  }
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
 * transposed graph (each sample's incoming edges, with their sources and distances), which
 * makes this O(n·k) time with 8·n·k bytes beyond the input.
 *
 * Threads. The σ of each sample and the mutual correction of each chunk of samples are
 * independent, so helper threads (options.helpers; compute/interSampleThreads.ts) share them,
 * over shared memory, with the calling thread, which meanwhile also builds the transposed graph. The call stays synchronous: the
 * calling thread blocks (Atomics.wait) only once no chunk is left to claim. S and E are summed in
 * sample order and M in chunk order whatever the threads did, so the result does not depend on
 * the thread count (nor on which thread computed what).
 */
export function interSampleEntropy(knn: KnnGraph, params: InterSampleParams = ESTIMATOR_DEFAULTS, options: InterSampleOptions = {}): InterSampleEntropy {
  validateSizes(knn);
  const { n, k } = knn;
  const reserved = options.helpers?.(n, k, Math.ceil(n / ROWS_PER_CHUNK)) ?? { threads: 1, start: () => undefined, stop: () => undefined };
  const threads = reserved.threads;
  const shared = createJob(knn, params, threads);
  const chunks = shared.chunks;
  if (threads > 1) reserved.start(shared);
  const mark = new Int32Array(n);
  const outPosition = new Int32Array(n);
  const runSigma = (c: number) => sigmaChunk(shared, c);
  const runMutual = (c: number) => (shared.mutualPartial[c] = mutualChunk(shared, c, mark, outPosition));
  const callerComputes = options.callerComputes !== false || threads === 1;
  try {
    // After the workers have their job: they solve σ meanwhile. On a bad entry they stop at their
    // next chunk (FAILED, below), and the error is thrown here.
    validateEntries(knn);
    transpose(shared);
    if (callerComputes) claimChunks(shared, 0, NEXT_SIGMA, DONE_SIGMA, shared.sigmaState, runSigma);
    finishPhase(shared, DONE_SIGMA, shared.sigmaState, runSigma);
    Atomics.store(shared.control, MUTUAL_READY, 1);
    Atomics.notify(shared.control, MUTUAL_READY);
    if (callerComputes) claimChunks(shared, 0, NEXT_MUTUAL, DONE_MUTUAL, shared.mutualState, runMutual);
    finishPhase(shared, DONE_MUTUAL, shared.mutualState, runMutual);
  } finally {
    // The stop signal: a lent worker still in its job leaves it at once.
    Atomics.store(shared.control, FAILED, 1);
    reserved.stop();
  }

  const { sigmas, rowSums, rowWLogW, rowFlags, mutualPartial } = shared;
  let unsolved = 0;
  let unconverged = 0;
  let total = 0;
  let sumWLogW = 0;
  for (let i = 0; i < n; i++) {
    if (rowFlags[i] & 1) unsolved++;
    if (rowFlags[i] & 2) unconverged++;
    total += rowSums[i];
    sumWLogW += rowWLogW[i];
  }
  let mutualCorrection = 0;
  for (let c = 0; c < chunks; c++) mutualCorrection += mutualPartial[c];
  const entropy = Math.log2(2 * total) - (sumWLogW + mutualCorrection) / total;
  const workerThreads = shared.threadChunks.reduce((a, c, id) => a + (id > 0 && c > 0 ? 1 : 0), 0);
  return { entropy, sigmas: threads > 1 ? sigmas.slice() : sigmas, unsolved, unconverged, workerThreads };
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

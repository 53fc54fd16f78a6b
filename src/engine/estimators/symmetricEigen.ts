// Eigenvalues of a real symmetric matrix, in Float64, with no dependency: what the matrix-based
// Rényi entropy (renyiEntropy.ts) needs, since S_α(A) = log2(Σ λ_i^α)/(1 − α) takes every
// eigenvalue of an n × n Gram matrix and never its eigenvectors.
//
// Two stages, as LAPACK's dsyevd/dsterf with jobz = 'N':
// 1. Householder reduction to a symmetric tridiagonal T = Qᵀ A Q (4n³/3 flops, nearly all the time),
//    one reflector per column. The rank-2 update of step k and the matrix-vector product of step
//    k + 1 are fused into one pass over the trailing lower triangle (each element loaded and stored
//    once per step, not read three times), which halves the memory traffic of the textbook order:
//    the matrix of n = 1,000 (4 MB of lower triangle) does not fit the cache, so traffic is the cost.
//    The pass itself is `fusedSweep`: here in JavaScript, in WebAssembly with 128-bit vectors in
//    symmetricEigenWasm.ts (about twice as fast), the same arithmetic.
// 2. Implicit QL with Wilkinson-like shifts on T (EISPACK's tql1, as JAMA writes it), O(n²).
//
// The input is scaled by its largest |a_ij| first and the eigenvalues scaled back, so that the
// reflectors' sums of squares neither overflow nor underflow whatever the matrix's scale.
// Eigenvalues come back ascending; their absolute error is a small multiple of eps·‖A‖₂ (the
// reduction is backward stable), so eigenvalues far below ‖A‖ are known only to that absolute
// accuracy, and a positive semi-definite matrix may show tiny negative ones (renyiEntropy.ts
// clamps them to 0).

import { CnnSlicerError } from '../../shared/errors';
import { createEigenMemory, eigenLayout, instantiateSweep } from './symmetricEigenWasm';

/**
 * One step's pass over rows [rowStart, rowEnd) of the trailing lower triangle, columns
 * [col, row]: a_ij −= vPrev_i·wPrev_j + wPrev_i·vPrev_j (the previous step's rank-2 update), then
 * p += A·u with the updated values (this step's matrix-vector product, by symmetry from the lower
 * triangle only). `a` has rows of `lda` elements; `p` is accumulated into, entries [col, rowEnd).
 * c_i receives the updated a_i,col: the next step's column, which is then read contiguously
 * rather than down a column of the matrix (a cache miss per element).
 */
export type FusedSweep = (
  a: Float64Array,
  lda: number,
  col: number,
  rowStart: number,
  rowEnd: number,
  vPrev: Float64Array,
  wPrev: Float64Array,
  u: Float64Array,
  p: Float64Array,
  c: Float64Array,
) => void;

/** The fused pass in plain JavaScript (the reference the WebAssembly kernel is tested against). */
export const fusedSweepJs: FusedSweep = (a, lda, col, rowStart, rowEnd, vPrev, wPrev, u, p, c) => {
  for (let i = rowStart; i < rowEnd; i++) {
    const row = i * lda;
    const vi = vPrev[i];
    const wi = wPrev[i];
    const ui = u[i];
    let acc = 0;
    for (let j = col; j < i; j++) {
      const x = a[row + j] - vi * wPrev[j] - wi * vPrev[j];
      a[row + j] = x;
      acc += x * u[j];
      p[j] += x * ui;
    }
    const diag = a[row + i] - 2 * vi * wi;
    a[row + i] = diag;
    p[i] += acc + diag * ui;
    c[i] = i === col ? diag : a[row + col];
  }
};

/** The symmetric tridiagonal form: diagonal d (n) and off-diagonal e (e[i] couples i and i + 1; e[n − 1] = 0). */
export interface Tridiagonal {
  readonly d: Float64Array;
  readonly e: Float64Array;
}

/** The work vectors of a reduction, n entries each. */
export interface ReductionVectors {
  v: Float64Array;
  w: Float64Array;
  u: Float64Array;
  p: Float64Array;
  c: Float64Array;
}

/** The fused pass over every row in [col, n), however it is run (this thread, WebAssembly, threads). */
export type StepSweep = (col: number, vPrev: Float64Array, wPrev: Float64Array, u: Float64Array, p: Float64Array, c: Float64Array) => void;

/**
 * Row boundaries that split the pass over rows [first, n) into `parts` ranges of about equal work
 * (row i costs i − first + 1 elements): parts + 1 numbers, from first to n.
 */
export function splitTriangleRows(first: number, n: number, parts: number): number[] {
  const bounds = [first];
  const m = n - first;
  for (let t = 1; t < parts; t++) bounds.push(first + Math.min(m, Math.round(m * Math.sqrt(t / parts))));
  bounds.push(n);
  return bounds;
}

/**
 * The Householder reduction of the symmetric matrix `a` (rows of `lda` elements, n × n; only the
 * lower triangle, diagonal included, is read; overwritten) to tridiagonal form. `sweep` runs each
 * step's fused pass (fusedSweepJs on this thread by default); `vectors` are its work vectors
 * (where the sweep can read them: WebAssembly memory), allocated when absent.
 */
export function tridiagonalize(a: Float64Array, n: number, lda = n, sweep?: StepSweep, vectors?: ReductionVectors): Tridiagonal {
  const pass: StepSweep = sweep ?? ((col, vPrev, wPrev, u, p, c) => fusedSweepJs(a, lda, col, col, n, vPrev, wPrev, u, p, c));
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  // v, w: the previous step's reflector and update vector (zero before column k); u: this step's
  // reflector; p: A₂₂·u; c: column k as the previous pass left it. v and u swap each step.
  let v = vectors?.v ?? new Float64Array(n);
  let u = vectors?.u ?? new Float64Array(n);
  const w = vectors?.w ?? new Float64Array(n);
  const p = vectors?.p ?? new Float64Array(n);
  const c = vectors?.c ?? new Float64Array(n);
  v.fill(0);
  w.fill(0);
  if (n === 1) d[0] = a[0];
  for (let i = 0; i < n; i++) c[i] = a[i * lda];
  for (let k = 0; k < n - 1; k++) {
    // Column k up to date: the previous step's update was not yet applied to it.
    const vk = v[k];
    const wk = w[k];
    for (let i = k; i < n; i++) c[i] -= v[i] * wk + w[i] * vk;
    d[k] = c[k];
    if (k === n - 2) {
      e[k] = c[n - 1];
      d[n - 1] = a[(n - 1) * lda + n - 1] - 2 * v[n - 1] * w[n - 1];
      break;
    }
    // The reflector H = I − τ u uᵀ (u_{k+1} = 1) that zeroes column k below row k + 1 (LAPACK's
    // dlarfg). Its norm is taken relative to the column's largest entry: squares of entries below
    // 1e-154 underflow, and a norm off by its rounding to a subnormal gives a τ that no longer
    // makes H orthogonal, which wrecks every eigenvalue (seen on kernels with entries of 1e-200).
    const alpha = c[k + 1];
    let big = 0;
    for (let i = k + 2; i < n; i++) {
      const x = Math.abs(c[i]);
      if (x > big) big = x;
    }
    // Only entries from k + 1 on are read below; u (two steps' reflector ago) is nonzero from k − 1.
    p.fill(0, k + 1);
    u.fill(0, Math.max(0, k - 1), k + 1);
    let tau = 0;
    if (big < MIN_NORMAL) {
      // Zero below the subdiagonal, or subnormal (a kernel of 1e-310 entries: 1/big would be
      // infinite and the reflector NaN): H = I, no update from this step. Dropping entries below
      // 2.2e-308 moves no eigenvalue of a matrix scaled to unit size by more than that.
      e[k] = alpha;
      u.fill(0);
    } else {
      if (Math.abs(alpha) > big) big = Math.abs(alpha);
      const inv = 1 / big;
      let sumSq = 0;
      for (let i = k + 1; i < n; i++) {
        const x = c[i] * inv;
        sumSq += x * x;
      }
      const beta = -Math.sign(alpha || 1) * big * Math.sqrt(sumSq);
      tau = (beta - alpha) / beta;
      const scale = 1 / (alpha - beta);
      u[k + 1] = 1;
      for (let i = k + 2; i < n; i++) u[i] = c[i] * scale;
      e[k] = beta;
    }
    // One pass: the previous step's update on the trailing triangle, p = A₂₂·u with its result,
    // and column k + 1 into c.
    pass(k + 1, v, w, u, p, c);
    // w = τ·p − (τ²/2)(pᵀu)·u, so that H A₂₂ H = A₂₂ − u wᵀ − w uᵀ.
    let pu = 0;
    for (let i = k + 1; i < n; i++) pu += p[i] * u[i];
    const half = 0.5 * tau * tau * pu;
    const next = v;
    v = u;
    u = next;
    w[k] = 0;
    for (let i = k + 1; i < n; i++) w[i] = tau * p[i] - half * v[i];
  }
  return { d, e };
}

/** The smallest normal float64: entries below it are treated as zero by the reduction. */
const MIN_NORMAL = 2.2250738585072014e-308;

/** √(x² + y²) without overflow or underflow of the squares. */
function hypot(x: number, y: number): number {
  const ax = Math.abs(x);
  const ay = Math.abs(y);
  const big = ax > ay ? ax : ay;
  if (big === 0) return 0;
  const small = ax > ay ? ay : ax;
  const r = small / big;
  return big * Math.sqrt(1 + r * r);
}

/**
 * Eigenvalues of the symmetric tridiagonal (d, e), ascending, by implicit QL (tql1). `d` and `e`
 * are overwritten; `d` holds the result. Throws `internal` if an eigenvalue takes more than 30
 * iterations (as LAPACK, never seen for a symmetric matrix of finite entries).
 */
export function tridiagonalEigenvalues(d: Float64Array, e: Float64Array): Float64Array {
  return tridiagonalEigen(d, e, 0).values;
}

/**
 * Eigenvalues of the symmetric tridiagonal (d, e), ascending, with the first `rows` rows of the
 * matrix of eigenvectors (`vectors[r · n + i]`: component r of the eigenvector of `values[i]`):
 * rows = n for every eigenvector, 1 for the first components that Gauss quadrature weighs by
 * (tql2, accumulating the rotations on those rows only). `d` and `e` are overwritten.
 */
export function tridiagonalEigen(d: Float64Array, e: Float64Array, rows: number): { values: Float64Array; vectors: Float64Array } {
  const n = d.length;
  const z = new Float64Array(rows * n);
  for (let r = 0; r < Math.min(rows, n); r++) z[r * n + r] = 1;
  if (n === 0) return { values: d, vectors: z };
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n - 1 && Math.abs(e[m]) > eps * tst1) m++;
    if (m > l) {
      let iterations = 0;
      do {
        if (++iterations > 30) throw new CnnSlicerError('internal', `symmetric eigenvalues: no convergence at eigenvalue ${l} of ${n}`);
        // The shift: the eigenvalue of the leading 2 × 2 block nearer d[l].
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        // The implicit QL sweep from m up to l.
        p = d[m];
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1];
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          const ei = e[i];
          // A plain square root where the squares neither overflow nor underflow (always, on a
          // matrix scaled to max |a_ij| = 1): the careful hypot's division costs a third of the loop.
          r = Math.sqrt(p * p + ei * ei);
          if (!(r >= 1e-150 && r <= 1e150)) r = hypot(p, ei);
          e[i + 1] = s * r;
          s = ei / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          for (let k = 0; k < rows; k++) {
            const at = k * n + i;
            const zh = z[at + 1];
            z[at + 1] = s * z[at] + c * zh;
            z[at] = c * z[at] - s * zh;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]) > eps * tst1);
    }
    d[l] += f;
    e[l] = 0;
  }
  if (rows === 0) return { values: d.sort(), vectors: z };
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => d[i] - d[j]);
  const values = Float64Array.from(order, (i) => d[i]);
  const vectors = new Float64Array(rows * n);
  for (let k = 0; k < rows; k++) order.forEach((i, to) => (vectors[k * n + to] = z[k * n + i]));
  return { values, vectors };
}

/**
 * Scales the lower triangle of `a` (rows of `lda` elements) in place so that its largest |a_ij| is
 * 1; returns that factor (1 for a zero matrix). Throws `bad-request` on a NaN or infinite entry.
 */
export function scaleToUnit(a: Float64Array, n: number, lda = n): number {
  let big = 0;
  for (let i = 0; i < n; i++) {
    const row = i * lda;
    for (let j = 0; j <= i; j++) {
      const x = Math.abs(a[row + j]);
      if (!(x <= big)) {
        if (!Number.isFinite(x)) throw new CnnSlicerError('bad-request', `symmetric eigenvalues: entry (${i}, ${j}) is ${a[row + j]}`);
        big = x;
      }
    }
  }
  if (big === 0 || big === 1) return 1;
  const inv = 1 / big;
  for (let i = 0; i < n; i++) {
    const row = i * lda;
    for (let j = 0; j <= i; j++) a[row + j] *= inv;
  }
  return big;
}

function checkSize(a: Float64Array, n: number): void {
  if (!Number.isInteger(n) || n < 0 || a.length < n * n)
    throw new CnnSlicerError('bad-request', `symmetric eigenvalues: ${a.length} entries for a ${n} × ${n} matrix`);
}

/**
 * Every eigenvalue of the symmetric matrix `a` (row-major n × n, lower triangle read), ascending,
 * on this thread in JavaScript. `overwrite`: use `a` as the workspace instead of a copy.
 */
export function symmetricEigenvaluesJs(a: Float64Array, n: number, overwrite = false): Float64Array {
  checkSize(a, n);
  const work = overwrite ? a : a.slice(0, n * n);
  const scale = scaleToUnit(work, n);
  const { d, e } = tridiagonalize(work, n);
  const lambda = tridiagonalEigenvalues(d, e);
  if (scale !== 1) for (let i = 0; i < n; i++) lambda[i] *= scale;
  return lambda;
}

/**
 * Copies the lower triangle of `a` (n × n) into `work` (rows of `lda`), divided by its largest
 * |a_ij| when that lies outside [2⁻²⁰⁰, 2²⁰⁰] (only there can the reduction's products overflow or
 * lose precision to underflow; a Gram matrix's entries never do), and returns the divisor (1 when
 * none). Throws `bad-request` on a NaN or infinite entry.
 */
export function copyScaled(a: Float64Array, n: number, work: Float64Array, lda: number): number {
  let big = 0;
  for (let i = 0; i < n; i++) {
    const from = i * n;
    const to = i * lda;
    for (let j = 0; j <= i; j++) {
      const v = a[from + j];
      work[to + j] = v;
      const x = Math.abs(v);
      if (!(x <= big)) {
        if (!Number.isFinite(x)) throw new CnnSlicerError('bad-request', `symmetric eigenvalues: entry (${i}, ${j}) is ${v}`);
        big = x;
      }
    }
  }
  if (big === 0 || (big >= 2 ** -200 && big <= 2 ** 200)) return 1;
  const inv = 1 / big;
  for (let i = 0; i < n; i++) {
    const to = i * lda;
    for (let j = 0; j <= i; j++) work[to + j] *= inv;
  }
  return big;
}

/**
 * Every eigenvalue of the symmetric matrix `a` (row-major n × n; only the lower triangle, diagonal
 * included, is read; `a` is not modified), ascending, on this thread: the WebAssembly sweep where
 * the runtime has 128-bit SIMD and the matrix fits its 4 GiB memory, else JavaScript (the same
 * arithmetic; `CNNSLICER_EIGEN_KERNEL=js` forces it). About 8·n² bytes beyond the input.
 */
export function symmetricEigenvalues(a: Float64Array, n: number): Float64Array {
  checkSize(a, n);
  const layout = eigenLayout(n, 1);
  const memory = n >= 3 ? createEigenMemory(layout, false) : undefined;
  const sweep = memory && instantiateSweep(memory, false);
  if (memory === undefined || sweep === undefined) return symmetricEigenvaluesJs(a, n);
  const { lda, matrix } = layout;
  const work = new Float64Array(memory.buffer, matrix, n * lda);
  const scale = copyScaled(a, n, work, lda);
  const vector = (offset: number): Float64Array => new Float64Array(memory.buffer, offset, n);
  const vectors = { v: vector(layout.v), w: vector(layout.w), u: vector(layout.u), p: vector(layout.p), c: vector(layout.c) };
  const ldaBytes = lda * 8;
  const { d, e } = tridiagonalize(
    work,
    n,
    lda,
    (col, vPrev, wPrev, u, p, c) => sweep(matrix, ldaBytes, col, col, n, vPrev.byteOffset, wPrev.byteOffset, u.byteOffset, p.byteOffset, c.byteOffset),
    vectors,
  );
  const lambda = tridiagonalEigenvalues(d, e);
  if (scale !== 1) for (let i = 0; i < n; i++) lambda[i] *= scale;
  return lambda;
}

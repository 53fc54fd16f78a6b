// The matrix-based Rényi entropy (estimators/renyiEntropy.ts) and its symmetric eigenvalue solver
// (estimators/symmetricEigen.ts, symmetricEigenWasm.ts): eigenvalues of matrices built with known
// spectra, the closed forms of the entropy, and the parameters. The NumPy/SciPy cross-check is in
// test/python/renyiCrossCheck.test.ts.
import * as assert from 'node:assert/strict';
import { CnnSlicerError } from '../../src/shared/errors';
import { ESTIMATOR_DEFAULTS, resolveEstimatorParams, type EstimatorParams } from '../../src/engine/estimators/params';
import {
  gaussianGram,
  gaussianGramFromDistances,
  hadamardNormalized,
  isApproximate,
  kernelSigma,
  labelGram,
  medianPairDistance,
  normalizeTrace,
  renyiEntropy,
  renyiEntropy2,
  renyiEntropyOfEigenvalues,
  renyiGram,
  renyiJoint,
  renyiMutualInformation,
  silvermanSigma,
  squaredPairDistances,
} from '../../src/engine/estimators/renyiEntropy';
import {
  fusedSweepJs,
  splitTriangleRows,
  symmetricEigenvalues,
  symmetricEigenvaluesJs,
  tridiagonalEigenvalues,
} from '../../src/engine/estimators/symmetricEigen';
import { createEigenMemory, eigenLayout, instantiateSweep } from '../../src/engine/estimators/symmetricEigenWasm';
import { BLOCK, denseProducts } from '../../src/engine/estimators/denseProductWasm';

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Q·diag(λ)·Qᵀ with Q a product of `reflections` random Householder reflections: a symmetric matrix whose spectrum is λ. */
function withSpectrum(lambda: readonly number[], seed: number, reflections = 4): Float64Array {
  const n = lambda.length;
  const rand = random(seed);
  const a = new Float64Array(n * n);
  lambda.forEach((l, i) => (a[i * n + i] = l));
  const v = new Float64Array(n);
  const av = new Float64Array(n);
  for (let r = 0; r < reflections; r++) {
    let norm = 0;
    for (let i = 0; i < n; i++) {
      v[i] = rand() - 0.5;
      norm += v[i] * v[i];
    }
    // H A H with H = I − 2vvᵀ/‖v‖²: A − 2 v (Av)ᵀ/‖v‖² − 2 (Av) vᵀ/‖v‖² + 4 (vᵀAv) vvᵀ/‖v‖⁴.
    let vav = 0;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += a[i * n + j] * v[j];
      av[i] = s;
      vav += v[i] * s;
    }
    const c = 2 / norm;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] += -c * (v[i] * av[j] + av[i] * v[j]) + c * c * vav * v[i] * v[j];
  }
  // Exactly symmetric, as the solver reads the lower triangle only.
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) a[j * n + i] = a[i * n + j];
  return a;
}

function assertSpectrum(actual: Float64Array, expected: readonly number[], tolerance: number, what: string): void {
  const sorted = [...expected].sort((x, y) => x - y);
  const scale = Math.max(1e-300, ...sorted.map(Math.abs));
  assert.equal(actual.length, sorted.length, what);
  sorted.forEach((l, i) => assert.ok(Math.abs(actual[i] - l) <= tolerance * scale, `${what}: λ${i} = ${actual[i]}, expected ${l}`));
}

describe('estimators: symmetric eigenvalues', () => {
  it('finds known spectra: random, repeated, graded, with zeros, of every small size and odd and even n', () => {
    const cases: [string, number[]][] = [
      ['1 × 1', [3.5]],
      ['2 × 2', [-1, 2]],
      ['3 × 3', [0, 1e-3, 7]],
      ['repeated', [1, 1, 1, 2, 2, 5, 5, 5, 5]],
      ['graded', Array.from({ length: 24 }, (_, i) => 10 ** (-i / 2))],
      ['zeros', [0, 0, 0, 0, 1, -1, 0.5]],
    ];
    const rand = random(3);
    for (const n of [4, 5, 16, 17, 64, 101]) cases.push([`random ${n}`, Array.from({ length: n }, () => rand() * 4 - 2)]);
    cases.forEach(([what, lambda], c) => {
      const a = withSpectrum(lambda, 10 + c);
      assertSpectrum(symmetricEigenvalues(a, lambda.length), lambda, 1e-12, `${what} (WebAssembly)`);
      assertSpectrum(symmetricEigenvaluesJs(a, lambda.length), lambda, 1e-12, `${what} (JavaScript)`);
    });
  });

  it('reads only the lower triangle, leaves the input alone and scales any magnitude', () => {
    const lambda = [1e-200, 3e-200, -2e-200, 5e-200, 4e-200];
    const a = withSpectrum(lambda, 5);
    const before = a.slice();
    for (let i = 0; i < 5; i++) for (let j = i + 1; j < 5; j++) a[i * 5 + j] = NaN;
    const copy = a.slice();
    assertSpectrum(symmetricEigenvalues(a, 5), lambda, 1e-12, 'tiny, upper triangle NaN');
    assert.deepEqual(a, copy);
    const big = before.map((x) => x * 1e300);
    assertSpectrum(
      symmetricEigenvalues(big, 5),
      lambda.map((l) => l * 1e300),
      1e-12,
      'huge',
    );
    assert.deepEqual([...symmetricEigenvalues(new Float64Array(9), 3)], [0, 0, 0]);
    assert.deepEqual([...symmetricEigenvalues(new Float64Array(0), 0)], []);
  });

  it('stays orthogonal when a column holds entries that underflow when squared (a Gaussian kernel of far-apart points)', () => {
    // I + off-diagonal entries spread over 1e-320 … 1e-150: every eigenvalue is 1 to within ~1e-150.
    const rand = random(23);
    const n = 60;
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      a[i * n + i] = 1;
      for (let j = 0; j < i; j++) a[i * n + j] = a[j * n + i] = 10 ** -(150 + 170 * rand());
    }
    for (const [what, lambda] of [
      ['WebAssembly', symmetricEigenvalues(a, n)],
      ['JavaScript', symmetricEigenvaluesJs(a, n)],
    ] as const)
      assertSpectrum(lambda, new Array<number>(n).fill(1), 1e-14, what);
  });

  it('treats a column whose entries are all subnormal as zero (the joint kernel of Silverman-width Gram matrices)', () => {
    // 1/n on the diagonal and 1e-323 … 1e-310 off it: 1/max would be infinite and the reflector NaN.
    const rand = random(29);
    const n = 50;
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      a[i * n + i] = 1 / n;
      for (let j = 0; j < i; j++) a[i * n + j] = a[j * n + i] = rand() < 0.5 ? 5e-324 : 10 ** -(310 + 13 * rand());
    }
    for (const [what, lambda] of [
      ['WebAssembly', symmetricEigenvalues(a, n)],
      ['JavaScript', symmetricEigenvaluesJs(a, n)],
    ] as const)
      assertSpectrum(lambda, new Array<number>(n).fill(1 / n), 1e-14, what);
    // And through the estimator: S_α of the Hadamard square of a near-identity Gram matrix is log2 n.
    const gram = normalizeTrace(
      gaussianGramFromDistances(
        new Float64Array(n * n).map((_, k) => (k % (n + 1) === 0 ? 0 : 1500)),
        n,
        1,
      ),
      n,
    );
    const joint = hadamardNormalized(gram, gram, n);
    assert.ok(Math.abs(renyiEntropy(joint, n, 1.01) - Math.log2(n)) < 1e-9);
  });

  it('refuses NaN and infinite entries and a wrong size', () => {
    const bad = (f: () => unknown): void => assert.throws(f, (e: unknown) => e instanceof CnnSlicerError && e.code === 'bad-request');
    bad(() => symmetricEigenvalues(Float64Array.from([1, 0, NaN, 1]), 2));
    bad(() => symmetricEigenvalues(Float64Array.from([Infinity, 0, 0, 1]), 2));
    bad(() => symmetricEigenvalues(new Float64Array(8), 3));
  });

  it('the WebAssembly sweep computes what the JavaScript sweep computes, on every row range', () => {
    const rand = random(7);
    for (const n of [9, 34, 57]) {
      const layout = eigenLayout(n, 1);
      const memory = createEigenMemory(layout, false);
      const sweep = memory && instantiateSweep(memory, false);
      assert.ok(memory !== undefined && sweep !== undefined, 'WebAssembly with 128-bit SIMD is available on Node ≥ 16');
      const { lda } = layout;
      const view = (offset: number, length: number): Float64Array => new Float64Array(memory.buffer, offset, length);
      const a = view(layout.matrix, n * lda);
      const [v, w, u, p, c] = [layout.v, layout.w, layout.u, layout.p, layout.c].map((o) => view(o, n));
      for (const col of [0, 1, 4, n - 2]) {
        for (const [rowStart, rowEnd] of [
          [col, n],
          [col + 1, n],
          [col, col + 3],
          [col + 2, n - 1],
        ]) {
          for (const x of [a, v, w, u]) for (let i = 0; i < x.length; i++) x[i] = rand() - 0.5;
          p.fill(0.25);
          c.fill(0);
          const [a2, v2, w2, u2, p2, c2] = [a, v, w, u, p, c].map((x) => x.slice());
          fusedSweepJs(a2, lda, col, rowStart, Math.min(rowEnd, n), v2, w2, u2, p2, c2);
          sweep(layout.matrix, lda * 8, col, rowStart, Math.min(rowEnd, n), layout.v, layout.w, layout.u, layout.p, layout.c);
          const where = `n ${n}, col ${col}, rows [${rowStart}, ${rowEnd})`;
          // Updated entries are computed alike, bit for bit; the row sums only in another order.
          assert.deepEqual([...a], [...a2], `${where}: matrix`);
          assert.deepEqual([...c], [...c2], `${where}: next column`);
          p.forEach((x, i) => assert.ok(Math.abs(x - p2[i]) <= 1e-13, `${where}: p[${i}] ${x} vs ${p2[i]}`));
        }
      }
    }
  });

  it('splits a pass into row ranges of about equal work', () => {
    assert.deepEqual(splitTriangleRows(0, 100, 1), [0, 100]);
    const b = splitTriangleRows(10, 1010, 2);
    assert.equal(b[0], 10);
    assert.equal(b[2], 1010);
    const work = (from: number, to: number): number => ((to - 10) ** 2 - (from - 10) ** 2) / 2;
    assert.ok(Math.abs(work(b[0], b[1]) - work(b[1], b[2])) < 0.01 * work(10, 1010));
  });

  it('tridiagonal eigenvalues of the 1-2-1 matrix: 2 − 2cos(kπ/(n + 1))', () => {
    const n = 50;
    const lambda = tridiagonalEigenvalues(new Float64Array(n).fill(2), new Float64Array(n).fill(-1));
    const expected = Array.from({ length: n }, (_, k) => 2 - 2 * Math.cos(((k + 1) * Math.PI) / (n + 1)));
    assertSpectrum(lambda, expected, 1e-13, '1-2-1');
  });
});

describe('estimators: matrix-based Rényi entropy', () => {
  const alphas = [0.5, 1, 1.01, 2, 3];

  it('n identical points: S_α = 0 for every α and every σ rule', () => {
    const n = 12;
    const data = new Float32Array(n * 3).map((_, i) => [0.5, -2, 7][i % 3]);
    for (const rule of ['median', 'silverman', 'fixed'] as const) {
      const { gram, sigma } = renyiGram(data, n, 3, { renyiSigma: rule, renyiSigmaValue: 0.3 });
      assert.equal(sigma, rule === 'fixed' ? 0.3 : 0);
      for (const alpha of alphas) assert.ok(Math.abs(renyiEntropy(gram, n, alpha)) < 1e-12, `${rule}, α = ${alpha}: ${renyiEntropy(gram, n, alpha)}`);
    }
  });

  it('an orthogonal (identity) kernel: S_α = log2 n', () => {
    for (const n of [1, 2, 7, 64]) {
      const k = new Float64Array(n * n);
      for (let i = 0; i < n; i++) k[i * n + i] = 1;
      for (const alpha of alphas) assert.ok(Math.abs(renyiEntropy(normalizeTrace(k, n), n, alpha) - Math.log2(n)) < 1e-12, `n = ${n}, α = ${alpha}`);
    }
    // Points far apart at a small σ make the same kernel.
    const data = Float64Array.from({ length: 20 }, (_, i) => i * 100);
    const a = normalizeTrace(gaussianGram(data, 20, 1, 1), 20);
    assert.ok(Math.abs(renyiEntropy(a, 20, 1.01) - Math.log2(20)) < 1e-12);
  });

  it('balanced labels over C classes: S_α = log2 C; unbalanced ones: the Rényi entropy of the class proportions', () => {
    for (const classes of [1, 2, 3, 10]) {
      const labels = Array.from({ length: classes * 7 }, (_, i) => i % classes);
      const a = normalizeTrace(labelGram(labels), labels.length);
      for (const alpha of alphas) assert.ok(Math.abs(renyiEntropy(a, labels.length, alpha) - Math.log2(classes)) < 1e-12, `C = ${classes}, α = ${alpha}`);
    }
    // Proportions 1/2, 1/3, 1/6: A's nonzero eigenvalues are exactly the proportions.
    const labels = [0, 0, 0, 1, 1, 2];
    const p = [1 / 2, 1 / 3, 1 / 6];
    for (const alpha of [0.5, 1.01, 2, 3]) {
      const expected = Math.log2(p.reduce((s, x) => s + x ** alpha, 0)) / (1 - alpha);
      assert.ok(Math.abs(renyiEntropy(normalizeTrace(labelGram(labels), 6), 6, alpha) - expected) < 1e-12, `α = ${alpha}`);
    }
    const shannon = -p.reduce((s, x) => s + x * Math.log2(x), 0);
    assert.ok(Math.abs(renyiEntropy(normalizeTrace(labelGram(labels), 6), 6, 1) - shannon) < 1e-12, 'α = 1');
  });

  it('α = 2 in closed form equals the eigenvalue route; S_α falls with α and lies in [0, log2 n]', () => {
    const rand = random(11);
    const n = 40;
    const data = Float64Array.from({ length: n * 5 }, () => rand());
    const { gram } = renyiGram(data, n, 5, ESTIMATOR_DEFAULTS);
    const lambda = symmetricEigenvalues(gram, n);
    const closed = renyiEntropy2(gram, n);
    assert.ok(Math.abs(closed - renyiEntropyOfEigenvalues(lambda, 2)) < 1e-12, `${closed} vs ${renyiEntropyOfEigenvalues(lambda, 2)}`);
    assert.equal(renyiEntropy(gram, n, 2), closed);
    const values = alphas.map((alpha) => renyiEntropy(gram, n, alpha));
    values.forEach((v, i) => {
      assert.ok(v > 0 && v < Math.log2(n), `α = ${alphas[i]}: ${v}`);
      if (i > 0) assert.ok(v < values[i - 1], `S decreases with α: ${values}`);
    });
    // α → 1 approaches the von Neumann entropy.
    assert.ok(Math.abs(renyiEntropy(gram, n, 1 + 1e-7) - values[1]) < 1e-5);
  });

  it('I_α is symmetric, I_α(A; A) follows its formula, and labels carry information about a layer that separates them', () => {
    const rand = random(13);
    const n = 30;
    const labels = Array.from({ length: n }, (_, i) => i % 3);
    // Three clusters, one per label, plus noise.
    const data = Float64Array.from({ length: n * 4 }, (_, v) => labels[Math.floor(v / 4)] * 3 + rand());
    const a = renyiGram(data, n, 4, ESTIMATOR_DEFAULTS).gram;
    const b = normalizeTrace(labelGram(labels), n);
    for (const alpha of [1.01, 2]) {
      const ab = renyiMutualInformation(a, b, n, alpha);
      const ba = renyiMutualInformation(b, a, n, alpha);
      assert.ok(Math.abs(ab.information - ba.information) < 1e-12, `α = ${alpha}: ${ab.information} vs ${ba.information}`);
      assert.ok(Math.abs(ab.jointEntropy - renyiJoint(a, b, n, alpha)) < 1e-15);
      assert.ok(ab.information > 0.5 && ab.information <= Math.log2(3) + 1e-12, `I(A; labels) = ${ab.information}`);
      const aa = renyiMutualInformation(a, a, n, alpha);
      const expected = 2 * renyiEntropy(a, n, alpha) - renyiEntropy(hadamardNormalized(a, a, n), n, alpha);
      assert.ok(Math.abs(aa.information - expected) < 1e-12, `I(A; A) = ${aa.information}, expected ${expected}`);
    }
  });

  it('scaling a representation leaves S_α unchanged under the median and Silverman rules', () => {
    const rand = random(17);
    const n = 25;
    const data = Float64Array.from({ length: n * 6 }, () => rand());
    for (const rule of ['median', 'silverman'] as const) {
      const base = renyiEntropy(renyiGram(data, n, 6, { renyiSigma: rule, renyiSigmaValue: 1 }).gram, n, 1.01);
      const scaled = renyiEntropy(
        renyiGram(
          data.map((x) => x * 1000),
          n,
          6,
          { renyiSigma: rule, renyiSigmaValue: 1 },
        ).gram,
        n,
        1.01,
      );
      assert.ok(Math.abs(base - scaled) < 1e-9, `${rule}: ${base} vs ${scaled}`);
    }
  });

  it('pair distances, the median and Silverman widths, and the σ → 0 kernel', () => {
    // Points 0, 1, 3 on a line: distances 1, 2, 3.
    const sq = squaredPairDistances(Float32Array.from([0, 1, 3]), 3, 1);
    assert.deepEqual([...sq], [0, 1, 9, 1, 0, 4, 9, 4, 0]);
    assert.equal(medianPairDistance(sq, 3), 2);
    // Four points 0, 1, 3, 7: distances 1, 2, 3, 4, 6, 7; median (3 + 4)/2.
    const four = squaredPairDistances(Float64Array.from([0, 1, 3, 7]), 4, 1);
    assert.equal(medianPairDistance(four, 4), 3.5);
    assert.equal(kernelSigma(four, 4, 1, 'fixed', 2.5), 2.5);
    // Silverman: σ̂² = Σ d²/(n(n − 1)d), times (4/((d + 2)n))^(1/(d + 4)).
    const sumSq = 1 + 4 + 9 + 16 + 36 + 49;
    assert.ok(Math.abs(silvermanSigma(four, 4, 1) - Math.sqrt(sumSq / 12) * (4 / 12) ** (1 / 5)) < 1e-15);
    // Pairs of rows 4 at a time and the rest one at a time agree with a direct sum.
    const rand = random(19);
    const n = 11;
    const d = 7;
    const data = Float32Array.from({ length: n * d }, () => rand());
    const all = squaredPairDistances(data, n, d);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < d; k++) s += (data[i * d + k] - data[j * d + k]) ** 2;
        assert.ok(Math.abs(all[i * n + j] - s) <= 1e-15 * s, `(${i}, ${j})`);
      }
    }
    assert.deepEqual([...gaussianGramFromDistances(Float64Array.from([0, 0, 4, 0, 0, 1, 4, 1, 0]), 3, 0)], [1, 1, 0, 1, 1, 0, 0, 0, 1]);
    const k = gaussianGramFromDistances(sq, 3, 2);
    assert.ok(Math.abs(k[2] - Math.exp(-9 / 8)) < 1e-16 && k[0] === 1);
  });

  it('refuses bad parameters, bad σ and a zero trace', () => {
    const bad = (overrides: Partial<Record<keyof EstimatorParams, unknown>>): void =>
      assert.throws(
        () => resolveEstimatorParams(overrides as Partial<EstimatorParams>),
        (e: unknown) => e instanceof CnnSlicerError && e.code === 'bad-request',
        JSON.stringify(overrides),
      );
    for (const o of [
      { renyiAlpha: 0 },
      { renyiAlpha: -1 },
      { renyiAlpha: NaN },
      { renyiAlpha: Infinity },
      { renyiSigma: 'scott' },
      { renyiSigmaValue: 0 },
      { renyiSigmaValue: NaN },
      { renyiExactMax: 1 },
      { renyiExactMax: 2.5 },
    ])
      bad(o);
    assert.equal(resolveEstimatorParams({ renyiAlpha: 2, renyiSigma: 'fixed', renyiSigmaValue: 0.5 }).renyiSigmaValue, 0.5);
    assert.deepEqual(
      [ESTIMATOR_DEFAULTS.renyiAlpha, ESTIMATOR_DEFAULTS.renyiSigma, ESTIMATOR_DEFAULTS.renyiExactMax],
      [1.01, 'median', 4096],
      'the defaults docs/estimators.md states',
    );
    assert.throws(() => gaussianGramFromDistances(new Float64Array(4), 2, -1), CnnSlicerError);
    assert.throws(() => normalizeTrace(new Float64Array(4), 2), CnnSlicerError);
    assert.throws(() => renyiEntropy(new Float64Array(4), 2, 0), CnnSlicerError);
  });
});

describe('estimators: the Rényi entropy estimate above renyiExactMax', () => {
  // 600 points of 10 noisy clusters in 20 dimensions, and their labels.
  const rand = random(29);
  const n = 600;
  const d = 20;
  const centres = Array.from({ length: 10 * d }, () => rand() * 4);
  const labels = Array.from({ length: n }, (_, i) => i % 10);
  const data = Float64Array.from({ length: n * d }, (_, v) => centres[labels[Math.floor(v / d)] * d + (v % d)] + (rand() - 0.5) * 3);
  const a = renyiGram(data, n, d, ESTIMATOR_DEFAULTS).gram;
  const joint = hadamardNormalized(a, normalizeTrace(labelGram(labels), n), n);

  it('is used above exactMax (not for α = 2), and gives the same value every time', () => {
    assert.equal(isApproximate(601, 600, 1.01), true);
    assert.equal(isApproximate(600, 600, 1.01), false);
    assert.equal(isApproximate(601, 600, 2), false);
    const first = renyiEntropy(a, n, 1.01, 100);
    assert.equal(renyiEntropy(a, n, 1.01, 100), first);
    assert.notEqual(first, renyiEntropy(a, n, 1.01));
    assert.equal(renyiEntropy(a, n, 2, 100), renyiEntropy2(a, n));
  });

  it('stays within 0.1 bit of the exact value at α = 0.5, 1, 1.01 and 1e-5 bit at α = 3 (measured: 0.003 and 0.08 bit)', () => {
    for (const [what, m] of [
      ['clusters', a],
      ['clusters ∘ labels', joint],
    ] as const) {
      for (const [alpha, bound] of [
        [1.01, 0.1],
        [1, 0.1],
        [0.5, 0.1],
        [3, 1e-5],
      ]) {
        const exact = renyiEntropy(m, n, alpha);
        const estimate = renyiEntropy(m, n, alpha, 100);
        assert.ok(Math.abs(estimate - exact) <= bound, `${what}, α = ${alpha}: estimate ${estimate}, exact ${exact}`);
      }
    }
  });

  it('its matrix products, in WebAssembly and in JavaScript, for odd and even n', () => {
    for (const [size, kernel] of [
      [7, 'wasm'],
      [10, 'wasm'],
      [7, 'js'],
    ] as const) {
      const m = Float64Array.from({ length: size * size }, () => rand() - 0.5);
      if (kernel === 'js') process.env.CNNSLICER_EIGEN_KERNEL = 'js';
      const wasm = denseProducts(m, size);
      delete process.env.CNNSLICER_EIGEN_KERNEL;
      assert.equal(wasm.x.buffer instanceof ArrayBuffer && wasm.x.byteOffset > 0, kernel === 'wasm', 'the WebAssembly memory holds the matrix first');
      wasm.x.set(Float64Array.from({ length: size }, () => rand()));
      wasm.X.set(Float64Array.from({ length: size * BLOCK }, () => rand()));
      wasm.matvec();
      wasm.matmul();
      for (let i = 0; i < size; i++) {
        let s = 0;
        for (let j = 0; j < size; j++) s += m[i * size + j] * wasm.x[j];
        assert.ok(Math.abs(wasm.y[i] - s) < 1e-14, `${kernel}, n ${size}: y[${i}]`);
        for (let l = 0; l < BLOCK; l++) {
          let t = 0;
          for (let j = 0; j < size; j++) t += m[i * size + j] * wasm.X[j * BLOCK + l];
          assert.ok(Math.abs(wasm.Y[i * BLOCK + l] - t) < 1e-14, `${kernel}, n ${size}: Y[${i}, ${l}]`);
        }
      }
    }
  });
});

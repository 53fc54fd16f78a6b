// Products of a dense symmetric n × n float64 matrix with one vector or a block of 16, in
// WebAssembly with 128-bit vectors: what the Lanczos iterations of the Rényi entropy's estimate
// (renyiApproximation.ts) spend their time on. The text is assembled at run time (wasmAssembler.ts).
//
// Memory (one WebAssembly.Memory per matrix): the matrix with rows of `lda` elements (n rounded up
// to even, the padding zero), then the vectors x and y (lda each), then the blocks X and Y (n × 16
// each, row-major: row j holds the 16 vectors' entries j). The JavaScript fallbacks compute the
// same products on plain arrays where WebAssembly is missing.
import { assembleModule } from './wasmAssembler';
import { MAX_PAGES, PAGE, wasmApi, type WasmMemory, localGet as get, localSet as set } from './wasmRuntime';

/** Vectors in a block product: 16 float64 per matrix row, eight 128-bit accumulators. */
export const BLOCK = 16;

/** matvec(a, ldaBytes, n, x, y): y_i = Σ_j a_ij·x_j over the padded row, two columns a vector, two accumulators. */
function matvecText(): string {
  const lines = ['i32.const 0', 'i32x4.splat', set('zero'), 'i32.const 0', set('i')];
  lines.push('block', 'loop', get('i'), get('n'), 'i32.ge_u', 'br_if 1');
  lines.push(get('a'), get('i'), get('lda'), 'i32.mul', 'i32.add', set('pa'), get('pa'), get('lda'), 'i32.add', set('end'), get('x'), set('px'));
  lines.push(get('zero'), set('acc0'), get('zero'), set('acc1'));
  lines.push('block', 'loop', get('pa'), 'i32.const 32', 'i32.add', get('end'), 'i32.gt_u', 'br_if 1');
  for (const [offset, acc] of [
    [0, 'acc0'],
    [16, 'acc1'],
  ] as const) {
    lines.push(get(acc), get('pa'), `v128.load offset=${offset}`, get('px'), `v128.load offset=${offset}`, 'f64x2.mul', 'f64x2.add', set(acc));
  }
  lines.push(get('pa'), 'i32.const 32', 'i32.add', set('pa'), get('px'), 'i32.const 32', 'i32.add', set('px'), 'br 0', 'end', 'end');
  // A row of lda ≡ 2 (mod 4) elements ends with one more vector.
  lines.push('block', get('pa'), get('end'), 'i32.ge_u', 'br_if 0');
  lines.push(get('acc0'), get('pa'), 'v128.load', get('px'), 'v128.load', 'f64x2.mul', 'f64x2.add', set('acc0'), 'end');
  lines.push(get('acc0'), get('acc1'), 'f64x2.add', set('acc0'));
  lines.push(
    get('y'),
    get('i'),
    'i32.const 3',
    'i32.shl',
    'i32.add',
    get('acc0'),
    'f64x2.extract_lane 0',
    get('acc0'),
    'f64x2.extract_lane 1',
    'f64.add',
    'f64.store',
  );
  lines.push(get('i'), 'i32.const 1', 'i32.add', set('i'), 'br 0', 'end', 'end');
  return lines.join('\n');
}

/** matmul(a, ldaBytes, n, X, Y): Y[i, :] = Σ_j a_ij·X[j, :] for 16 columns, in eight accumulators. */
function matmulText(): string {
  const accs = Array.from({ length: BLOCK / 2 }, (_, k) => `acc${k}`);
  const lines = ['i32.const 0', 'i32x4.splat', set('zero'), 'i32.const 0', set('i'), get('y'), set('py')];
  lines.push('block', 'loop', get('i'), get('n'), 'i32.ge_u', 'br_if 1');
  lines.push(
    get('a'),
    get('i'),
    get('lda'),
    'i32.mul',
    'i32.add',
    set('pa'),
    get('pa'),
    get('n'),
    'i32.const 3',
    'i32.shl',
    'i32.add',
    set('end'),
    get('x'),
    set('px'),
  );
  for (const acc of accs) lines.push(get('zero'), set(acc));
  lines.push('block', 'loop', get('pa'), get('end'), 'i32.ge_u', 'br_if 1');
  lines.push(get('pa'), 'f64.load', 'f64x2.splat', set('s'));
  accs.forEach((acc, k) => lines.push(get(acc), get('s'), get('px'), `v128.load offset=${16 * k}`, 'f64x2.mul', 'f64x2.add', set(acc)));
  lines.push(get('pa'), 'i32.const 8', 'i32.add', set('pa'), get('px'), `i32.const ${8 * BLOCK}`, 'i32.add', set('px'), 'br 0', 'end', 'end');
  accs.forEach((acc, k) => lines.push(get('py'), get(acc), `v128.store offset=${16 * k}`));
  lines.push(get('py'), `i32.const ${8 * BLOCK}`, 'i32.add', set('py'), get('i'), 'i32.const 1', 'i32.add', set('i'), 'br 0', 'end', 'end');
  return lines.join('\n');
}

let compiled: object | null | undefined;

function module(): object | null {
  if (compiled === undefined) {
    const i32 = (name: string): [string, 'i32'] => [name, 'i32'];
    const v128 = (name: string): [string, 'v128'] => [name, 'v128'];
    try {
      if (wasmApi === undefined) throw new Error('no WebAssembly');
      compiled = new wasmApi.Module(
        assembleModule({
          memory: { initial: 1, maximum: MAX_PAGES, shared: false },
          functions: [
            {
              name: 'matvec',
              params: ['a', 'lda', 'n', 'x', 'y'].map(i32),
              locals: [...['i', 'pa', 'px', 'end'].map(i32), ...['zero', 'acc0', 'acc1'].map(v128)],
              body: matvecText(),
            },
            {
              name: 'matmul',
              params: ['a', 'lda', 'n', 'x', 'y'].map(i32),
              locals: [...['i', 'pa', 'px', 'py', 'end'].map(i32), ...['zero', 's', ...Array.from({ length: BLOCK / 2 }, (_, k) => `acc${k}`)].map(v128)],
              body: matmulText(),
            },
          ],
        }),
      );
    } catch {
      // No WebAssembly, or no 128-bit SIMD: the JavaScript products below.
      compiled = null;
    }
  }
  return compiled;
}

/** A symmetric matrix ready for products: y = A·x (n) and Y = A·X (n × 16). */
export interface DenseProducts {
  readonly n: number;
  /** x and y: n entries each (the views the products read and write). */
  readonly x: Float64Array;
  readonly y: Float64Array;
  /** X and Y: n × 16, row-major. */
  readonly X: Float64Array;
  readonly Y: Float64Array;
  /** y = A·x. */
  matvec(): void;
  /** Y = A·X. */
  matmul(): void;
}

/** Products with the n × n matrix `a` (row-major, both triangles), in WebAssembly when it can, else in JavaScript. */
export function denseProducts(a: Float64Array, n: number): DenseProducts {
  const lda = n + (n & 1);
  const bytes = 8 * (n * lda + 2 * lda + 2 * n * BLOCK);
  const mod = process.env.CNNSLICER_EIGEN_KERNEL === 'js' ? null : module();
  const pages = Math.ceil(bytes / PAGE);
  if (mod !== null && wasmApi !== undefined && pages <= MAX_PAGES) {
    let memory: WasmMemory | undefined;
    try {
      memory = new wasmApi.Memory({ initial: pages, maximum: pages });
    } catch {
      memory = undefined;
    }
    if (memory !== undefined) {
      const exports = new wasmApi.Instance(mod, { env: { memory } }).exports;
      const matvec = exports.matvec as (a: number, lda: number, n: number, x: number, y: number) => void;
      const matmul = exports.matmul as (a: number, lda: number, n: number, x: number, y: number) => void;
      const matrix = new Float64Array(memory.buffer, 0, n * lda);
      for (let i = 0; i < n; i++) matrix.set(a.subarray(i * n, i * n + n), i * lda);
      const at = [n * lda, n * lda + lda, n * lda + 2 * lda, n * lda + 2 * lda + n * BLOCK].map((e) => 8 * e);
      return {
        n,
        x: new Float64Array(memory.buffer, at[0], n),
        y: new Float64Array(memory.buffer, at[1], n),
        X: new Float64Array(memory.buffer, at[2], n * BLOCK),
        Y: new Float64Array(memory.buffer, at[3], n * BLOCK),
        matvec: () => matvec(0, 8 * lda, n, at[0], at[1]),
        matmul: () => matmul(0, 8 * lda, n, at[2], at[3]),
      };
    }
  }
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  const X = new Float64Array(n * BLOCK);
  const Y = new Float64Array(n * BLOCK);
  return {
    n,
    x,
    y,
    X,
    Y,
    matvec: () => {
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += a[i * n + j] * x[j];
        y[i] = s;
      }
    },
    matmul: () => {
      Y.fill(0);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          const v = a[i * n + j];
          for (let l = 0; l < BLOCK; l++) Y[i * BLOCK + l] += v * X[j * BLOCK + l];
        }
      }
    },
  };
}

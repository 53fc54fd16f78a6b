// The fused pass of the Householder tridiagonalisation (symmetricEigen.ts) in WebAssembly with
// 128-bit vectors: two float64 lanes per instruction and no bounds checks, about twice the speed of
// the JavaScript loop, which V8 runs one element at a time. The text is assembled at run time
// (wasmAssembler.ts): no toolchain, no build step, no binary in the repository.
//
// Arithmetic is the JavaScript kernel's, element for element: x = (a − v_i·w_j) − w_i·v_j, stored,
// then p_j += x·u_i, row after row; only the row sum Σ_j x·u_j is added in another order (partial
// sums per lane and per unrolled step), so results differ from the JavaScript path by rounding.
// Two rows are taken at once: each vector of w, v, u and p is loaded once for both and p stored
// once, which relieves the load and store ports (seven memory operations per two elements for one
// row, nine per four for two), the bottleneck of the one-row loop.
//
// Memory (one WebAssembly.Memory per matrix, shared so that worker threads in
// src/engine/compute/ can run the same kernel on other rows): four vectors of n float64 (v, w, u,
// p), then `threads − 1` more p vectors (one per extra thread), then the matrix with its leading
// dimension rounded up to even, so that rows and vectors are 16-byte aligned at the same columns.
import { assembleModule } from './wasmAssembler';
import { MAX_PAGES, PAGE, wasmApi, type WasmMemory, localGet as get, localSet as set } from './wasmRuntime';

/** Rows a pass takes at once: each vector of w, v, u and p loaded serves both, and p is stored once. */
const ROWS = [0, 1] as const;

/** Instruction lines, one per entry. */
type Lines = string[];

/** Moves the shared pointers and the first `rows` row pointers on by `bytes`. */
function advance(rows: number, bytes: number): Lines {
  return [...ROWS.slice(0, rows).map((r) => `pa${r}`), 'pw', 'pv', 'pu', 'pp'].flatMap((ptr) => [get(ptr), `i32.const ${bytes}`, 'i32.add', set(ptr)]);
}

/**
 * One vector step over `rows` rows: two columns at the pointers plus `offset` bytes. For each row
 * x = (a − VI·w) − WI·v is stored and acc += x·u, then p += x·UI row after row (the order of the
 * JavaScript kernel, which takes the rows one at a time).
 */
function vectorStep(rows: number, offset: number, acc: string): Lines {
  const load = (ptr: string): Lines => [get(ptr), `v128.load offset=${offset}`];
  const lines: Lines = [...load('pw'), set('W'), ...load('pv'), set('V'), ...load('pu'), set('U'), ...load('pp'), set('P')];
  for (const r of ROWS.slice(0, rows)) {
    lines.push(get(`pa${r}`), ...load(`pa${r}`), get(`VI${r}`), get('W'), 'f64x2.mul', 'f64x2.sub', get(`WI${r}`), get('V'), 'f64x2.mul', 'f64x2.sub');
    lines.push(`local.tee $x`, `v128.store offset=${offset}`);
    lines.push(get(`acc${r}${acc}`), get('x'), get('U'), 'f64x2.mul', 'f64x2.add', set(`acc${r}${acc}`));
    lines.push(get('P'), get('x'), get(`UI${r}`), 'f64x2.mul', 'f64x2.add', set('P'));
  }
  lines.push(get('pp'), get('P'), `v128.store offset=${offset}`);
  return lines;
}

/** One column over `rows` rows, as vectorStep in scalars; each row's new value stays in $xs<r>; the pointers move on. */
function scalarStep(rows: number): Lines {
  const load = (ptr: string): Lines => [get(ptr), 'f64.load'];
  const lines: Lines = [...load('pw'), set('ws'), ...load('pv'), set('vs'), ...load('pu'), set('us'), ...load('pp'), set('ps')];
  for (const r of ROWS.slice(0, rows)) {
    lines.push(get(`pa${r}`), ...load(`pa${r}`), get(`vi${r}`), get('ws'), 'f64.mul', 'f64.sub', get(`wi${r}`), get('vs'), 'f64.mul', 'f64.sub');
    lines.push(`local.tee $xs${r}`, 'f64.store');
    lines.push(get(`accs${r}`), get(`xs${r}`), get('us'), 'f64.mul', 'f64.add', set(`accs${r}`));
    lines.push(get('ps'), get(`xs${r}`), get(`ui${r}`), 'f64.mul', 'f64.add', set('ps'));
  }
  lines.push(get('pp'), get('ps'), 'f64.store', ...advance(rows, 8));
  return lines;
}

/** `body` inside a block left when `condition` (lines leaving an i32) is nonzero. */
function unless(condition: Lines, body: Lines): Lines {
  return ['block', ...condition, 'br_if 0', ...body, 'end'];
}

/** `body` repeated while `condition` is zero. */
function until(condition: Lines, body: Lines): Lines {
  return ['block', 'loop', ...condition, 'br_if 1', ...body, 'br 0', 'end', 'end'];
}

/**
 * Row r's diagonal, with the pointers at it: a_ii −= 2·v_i·w_i (2·v_i exact, so the JavaScript
 * kernel's 2·v_i·w_i), then p_i += (Σ_j<i a_ij·u_j) + a_ii·u_i.
 */
function diagonal(r: number, storeColumn: boolean): Lines {
  const lines: Lines = [get(`pa${r}`), get(`pa${r}`), 'f64.load', get(`vi${r}`), get(`vi${r}`), 'f64.add', get(`wi${r}`), 'f64.mul', 'f64.sub'];
  lines.push(`local.tee $xs${r}`, 'f64.store');
  // The row of the step's first column is the diagonal alone: c gets a_ii.
  if (storeColumn) lines.push(...unless([get('i'), get('col'), 'i32.ne'], [get('c'), get('qEnd'), 'i32.add', get(`xs${r}`), 'f64.store']));
  lines.push(get(`acc${r}a`), get(`acc${r}b`), 'f64x2.add', set('x'));
  lines.push(get('pp'), get('pp'), 'f64.load', get(`accs${r}`), get('x'), 'f64x2.extract_lane 0', 'f64.add', get('x'), 'f64x2.extract_lane 1', 'f64.add');
  lines.push(get(`xs${r}`), get(`ui${r}`), 'f64.mul', 'f64.add', 'f64.add', 'f64.store');
  return lines;
}

/** Rows i … i + rows − 1 (rows 1 or 2; a pair only when i > col): columns [col, i) together, then what each row has beyond. */
function rowsText(rows: number): Lines {
  const lines: Lines = [get('i'), 'i32.const 3', 'i32.shl', set('qEnd')];
  const atColumn = (base: string, ptr: string): Lines => [get(base), get('q'), 'i32.add', set(ptr)];
  for (const r of ROWS.slice(0, rows)) {
    lines.push(get('a'), get('i'), ...(r > 0 ? [`i32.const ${r}`, 'i32.add'] : []), get('lda'), 'i32.mul', 'i32.add', set(`row${r}`));
    lines.push(...atColumn(`row${r}`, `pa${r}`));
    for (const [vec, name] of [
      ['v', 'vi'],
      ['w', 'wi'],
      ['u', 'ui'],
    ]) {
      lines.push(get(vec), get('qEnd'), 'i32.add', `f64.load offset=${8 * r}`, `local.tee $${name}${r}`, 'f64x2.splat', set(`${name.toUpperCase()}${r}`));
    }
    lines.push(get('zero'), set(`acc${r}a`), get('zero'), set(`acc${r}b`), 'i32.const 0', 'f64.convert_i32_s', set(`accs${r}`));
  }
  lines.push(...atColumn('w', 'pw'), ...atColumn('v', 'pv'), ...atColumn('u', 'pu'), ...atColumn('p', 'pp'));
  lines.push(get('row0'), get('qEnd'), 'i32.add', set('end'));
  const before = (bytes: number): Lines => [
    get('pa0'),
    ...(bytes > 0 ? [`i32.const ${bytes}`, 'i32.add'] : []),
    get('end'),
    bytes > 0 ? 'i32.gt_u' : 'i32.ge_u',
  ];
  // Column col below the diagonal: also kept in c, the next step's column.
  const keep = ROWS.slice(0, rows).flatMap((r) => [get('c'), get('qEnd'), 'i32.add', get(`xs${r}`), `f64.store offset=${8 * r}`]);
  lines.push(...unless(before(0), [...scalarStep(rows), ...keep]));
  // An odd column: one element, so that the vectors below are 16-byte aligned.
  lines.push(...unless([get('pa0'), 'i32.const 8', 'i32.and', 'i32.eqz'], unless(before(0), scalarStep(rows))));
  // Four columns a step, in two accumulators per row so that the additions overlap.
  lines.push(...until(before(32), [...vectorStep(rows, 0, 'a'), ...vectorStep(rows, 16, 'b'), ...advance(rows, 32)]));
  lines.push(...unless(before(16), [...vectorStep(rows, 0, 'a'), ...advance(rows, 16)]));
  lines.push(...unless(before(0), scalarStep(rows)));
  // The pointers are at column i: row i's diagonal, then row i + 1's column i and its diagonal.
  lines.push(...diagonal(0, rows === 1));
  if (rows === 2) {
    const [pw, pv, pu, pp] = ['pw', 'pv', 'pu', 'pp'];
    // x = (a − v_{i+1}·w_i) − w_{i+1}·v_i; acc += x·u_i; p_i += x·u_{i+1}.
    lines.push(
      get('pa1'),
      get('pa1'),
      'f64.load',
      get('vi1'),
      get(pw),
      'f64.load',
      'f64.mul',
      'f64.sub',
      get('wi1'),
      get(pv),
      'f64.load',
      'f64.mul',
      'f64.sub',
    );
    lines.push('local.tee $xs1', 'f64.store');
    lines.push(get('accs1'), get('xs1'), get(pu), 'f64.load', 'f64.mul', 'f64.add', set('accs1'));
    lines.push(get(pp), get(pp), 'f64.load', get('xs1'), get('ui1'), 'f64.mul', 'f64.add', 'f64.store');
    lines.push(...advance(2, 8), ...diagonal(1, false));
  }
  return lines;
}

/**
 * sweep(a, ldaBytes, col, rowStart, rowEnd, v, w, u, p, c): fusedSweepJs (symmetricEigen.ts) over
 * byte addresses: row col alone when it is in range (its diagonal only), then pairs of rows, then
 * a last row alone.
 */
function sweepText(): string {
  const next = (rows: number): Lines => [get('i'), `i32.const ${rows}`, 'i32.add', set('i')];
  const lines: Lines = ['i32.const 0', 'i32x4.splat', set('zero'), get('col'), 'i32.const 3', 'i32.shl', set('q'), get('rowStart'), set('i')];
  lines.push(...unless([get('i'), get('rowEnd'), 'i32.ge_u', get('i'), get('col'), 'i32.ne', 'i32.or'], [...rowsText(1), ...next(1)]));
  lines.push(...until([get('i'), 'i32.const 1', 'i32.add', get('rowEnd'), 'i32.ge_u'], [...rowsText(2), ...next(2)]));
  lines.push(...unless([get('i'), get('rowEnd'), 'i32.ge_u'], [...rowsText(1), ...next(1)]));
  return lines.join('\n');
}

/**
 * The module's bytes. Its memory import admits any memory up to 4 GiB (initial 1 page, maximum
 * MAX_PAGES), so one compiled module serves every matrix size; `shared` when threads run it too.
 */
export function sweepModuleBytes(shared: boolean): Uint8Array {
  const i32 = (name: string): [string, 'i32'] => [name, 'i32'];
  return assembleModule({
    memory: { initial: 1, maximum: MAX_PAGES, shared },
    functions: [
      {
        name: 'sweep',
        params: ['a', 'lda', 'col', 'rowStart', 'rowEnd', 'v', 'w', 'u', 'p', 'c'].map(i32),
        locals: [
          ...['i', 'q', 'qEnd', 'end', 'row0', 'row1', 'pa0', 'pa1', 'pw', 'pv', 'pu', 'pp'].map(i32),
          ...['vi0', 'wi0', 'ui0', 'vi1', 'wi1', 'ui1', 'xs0', 'xs1', 'accs0', 'accs1', 'ws', 'vs', 'us', 'ps'].map((n): [string, 'f64'] => [n, 'f64']),
          ...['VI0', 'WI0', 'UI0', 'VI1', 'WI1', 'UI1', 'W', 'V', 'U', 'P', 'x', 'acc0a', 'acc0b', 'acc1a', 'acc1b', 'zero'].map((n): [string, 'v128'] => [
            n,
            'v128',
          ]),
        ],
        body: sweepText(),
      },
    ],
  });
}

/** The sweep as exported: byte addresses, and the matrix's row stride in bytes. */
export type WasmSweep = (
  a: number,
  ldaBytes: number,
  col: number,
  rowStart: number,
  rowEnd: number,
  v: number,
  w: number,
  u: number,
  p: number,
  c: number,
) => void;

/** Where each part of a tridiagonalisation lies in its memory (byte offsets). */
export interface EigenLayout {
  readonly n: number;
  /** Leading dimension of the matrix (n rounded up to even), in elements. */
  readonly lda: number;
  readonly v: number;
  readonly w: number;
  readonly u: number;
  /** The next step's column, written by the sweep. */
  readonly c: number;
  /** p of the calling thread; thread t > 0 accumulates at p + t·vectorBytes. */
  readonly p: number;
  readonly vectorBytes: number;
  readonly matrix: number;
  readonly pages: number;
}

export function eigenLayout(n: number, threads: number): EigenLayout {
  const lda = n + (n & 1);
  const vectorBytes = Math.ceil((n * 8) / 64) * 64;
  const matrix = (4 + threads) * vectorBytes;
  const bytes = matrix + n * lda * 8;
  const at = (k: number): number => k * vectorBytes;
  return { n, lda, v: at(0), w: at(1), u: at(2), c: at(3), p: at(4), vectorBytes, matrix, pages: Math.ceil(bytes / PAGE) };
}

/** A memory for `layout`, or undefined when WebAssembly is missing or the memory is refused or too large. */
export function createEigenMemory(layout: EigenLayout, shared: boolean): WasmMemory | undefined {
  if (wasmApi === undefined || layout.pages > MAX_PAGES || process.env.CNNSLICER_EIGEN_KERNEL === 'js') return undefined;
  try {
    return new wasmApi.Memory({ initial: layout.pages, maximum: layout.pages, shared });
  } catch {
    return undefined;
  }
}

/** Compiled once per kind of memory; null: this runtime refused the module (no 128-bit SIMD). */
const compiled = new Map<boolean, object | null>();

/** The sweep of the module instantiated over `memory`; undefined when WebAssembly cannot run it. */
export function instantiateSweep(memory: WasmMemory, shared: boolean): WasmSweep | undefined {
  if (wasmApi === undefined) return undefined;
  let module = compiled.get(shared);
  if (module === undefined) {
    try {
      module = new wasmApi.Module(sweepModuleBytes(shared));
    } catch {
      // A runtime without 128-bit SIMD refuses the module: the JavaScript sweep does the same work.
      module = null;
    }
    compiled.set(shared, module);
  }
  if (module === null) return undefined;
  return new wasmApi.Instance(module, { env: { memory } }).exports.sweep as WasmSweep;
}

// Squared pair distances ‖x_i − x_j‖² of n rows of d values (the matrix-based Rényi entropy's
// Gaussian kernel, renyiEntropy.ts) in WebAssembly with 128-bit vectors, bit for bit the values of
// the JavaScript loop `squaredPairDistancesJs`: each pair's sum runs over k = 0 … d − 1 in order,
// s += (x_ik − x_jk)², in float64, from 0; only which pairs share an instruction changes. So the
// two lanes of a vector are two rows j, j + 1 at the same k (never two k of one pair, which would
// add in another order), and (x_jk − x_ik)² is (x_ik − x_jk)² exactly.
//
// Layout: the rows are copied in float64, eight rows interleaved ("octets", n rounded up to a
// multiple of 8 with zero rows): octet g holds, for k = 0 … d − 1, the 64 bytes x_{8g..8g+7, k}.
// A tile is two rows i, i + 1 (of one octet) against the eight rows of an octet g: per k, two
// values of i splatted, four vector loads of one cache line, eight accumulators of two pairs each
// (8 subtractions, 8 multiplications, 8 additions for 16 pairs). The lower triangle's tiles are
// taken a range of k at a time (`CHUNK`), so that the octets' range stays in the core's L2 cache
// while every row pair i sweeps it; partial sums wait in the output between ranges (exact: a
// float64 stored and loaded is the same float64). The output is nPad × nPad float64 behind the
// data; tiles on the diagonal also fill some upper entries, which are ignored.
//
// About 6·10⁹ pair-values a second on one core of the 2-core development machine (2 per cycle: the
// 8 subtractions and 8 additions share two adder pipes), 4.5 times the JavaScript loop; d = 5,408
// at n = 1,000 takes 0.5 s instead of 2.2 s. Without the ranges of k it is half as fast: the
// octets stream from memory for every row pair. CNNSLICER_EIGEN_KERNEL=js keeps the JavaScript
// loop, as it does for the eigenvalues.
import { assembleModule } from './wasmAssembler';
import { MAX_PAGES, PAGE, wasmApi, type WasmMemory, localGet as get, localSet as set } from './wasmRuntime';

/** Values of k per range: the octets' range (n · CHUNK · 8 bytes, 1 MB at n = 1,000) is re-read by every row pair. */
export const CHUNK = 128;

/** Vectors of an octet's row: 4 × 2 rows j. */
const LANES = [0, 1, 2, 3] as const;
const ROWS = [0, 1] as const;

/**
 * pairs(data, octetBytes, out, ldo, i0, i1, k0, k1, first): for the row pairs i = i0, i0 + 2, …
 * below i1 (i0 even), every octet g ≤ i/8, s_ij += Σ_{k0 ≤ k < k1} (x_jk − x_ik)² at
 * out + i·ldo + 8j (from 0 when `first`).
 */
function pairsText(): string {
  const acc = (r: number, l: number): string => `acc${r}${l}`;
  const lines: string[] = ['i32.const 0', 'i32x4.splat', set('zero')];
  // span = (k1 − k0)·64 bytes of an octet; koff = k0·64.
  lines.push(get('k1'), get('k0'), 'i32.sub', 'i32.const 6', 'i32.shl', set('span'), get('k0'), 'i32.const 6', 'i32.shl', set('koff'));
  lines.push(get('i0'), set('i'));
  lines.push('block', 'loop', get('i'), get('i1'), 'i32.ge_u', 'br_if 1');
  // pi0: row i's value at k0 (row i + 1's is 8 bytes on); gi: its octet.
  lines.push(get('i'), 'i32.const 3', 'i32.shr_u', set('gi'));
  lines.push(
    get('data'),
    get('gi'),
    get('octet'),
    'i32.mul',
    'i32.add',
    get('koff'),
    'i32.add',
    get('i'),
    'i32.const 7',
    'i32.and',
    'i32.const 3',
    'i32.shl',
    'i32.add',
    set('pi0'),
  );
  // po: the output row i at column 0; pj0: octet 0 at k0.
  lines.push(get('out'), get('i'), get('ldo'), 'i32.mul', 'i32.add', set('po'), get('data'), get('koff'), 'i32.add', set('pj0'));
  lines.push('i32.const 0', set('g'));
  lines.push('block', 'loop', get('g'), get('gi'), 'i32.gt_u', 'br_if 1');
  // Accumulators: 0, or the sums so far from the output.
  lines.push('block', get('first'), 'i32.eqz', 'br_if 0');
  for (const r of ROWS) for (const l of LANES) lines.push(get('zero'), set(acc(r, l)));
  lines.push('end');
  lines.push('block', get('first'), 'br_if 0');
  for (const r of ROWS) for (const l of LANES) lines.push(get('po'), ...(r === 1 ? [get('ldo'), 'i32.add'] : []), `v128.load offset=${16 * l}`, set(acc(r, l)));
  lines.push('end');
  lines.push(get('pi0'), set('pi'), get('pj0'), set('pj'), get('pj0'), get('span'), 'i32.add', set('end'));
  lines.push('block', 'loop', get('pj'), get('end'), 'i32.ge_u', 'br_if 1');
  lines.push(get('pi'), 'f64.load', 'f64x2.splat', set('a0'), get('pi'), 'f64.load offset=8', 'f64x2.splat', set('a1'));
  for (const l of LANES) {
    lines.push(get('pj'), `v128.load offset=${16 * l}`, set('b'));
    for (const r of ROWS) lines.push(get(acc(r, l)), get('b'), get(`a${r}`), 'f64x2.sub', `local.tee $t`, get('t'), 'f64x2.mul', 'f64x2.add', set(acc(r, l)));
  }
  lines.push(get('pi'), 'i32.const 64', 'i32.add', set('pi'), get('pj'), 'i32.const 64', 'i32.add', set('pj'), 'br 0', 'end', 'end');
  for (const r of ROWS) {
    for (const l of LANES) lines.push(get('po'), get(acc(r, l)), `v128.store offset=${16 * l}`);
    if (r === 0) lines.push(get('po'), get('ldo'), 'i32.add', set('po'));
  }
  // The next octet: back to row i's output, 64 bytes (8 columns) on.
  lines.push(get('po'), get('ldo'), 'i32.sub', 'i32.const 64', 'i32.add', set('po'));
  lines.push(get('pj0'), get('octet'), 'i32.add', set('pj0'), get('g'), 'i32.const 1', 'i32.add', set('g'), 'br 0', 'end', 'end');
  lines.push(get('i'), 'i32.const 2', 'i32.add', set('i'), 'br 0', 'end', 'end');
  return lines.join('\n');
}

/** Compiled once; null: this runtime refused the module (no 128-bit SIMD). */
let compiled: object | null | undefined;

function compiledModule(): object | null {
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
              name: 'pairs',
              params: ['data', 'octet', 'out', 'ldo', 'i0', 'i1', 'k0', 'k1', 'first'].map(i32),
              locals: [
                ...['span', 'koff', 'i', 'gi', 'pi0', 'po', 'pj0', 'g', 'pi', 'pj', 'end'].map(i32),
                ...['zero', 'a0', 'a1', 'b', 't', ...ROWS.flatMap((r) => LANES.map((l) => `acc${r}${l}`))].map(v128),
              ],
              body: pairsText(),
            },
          ],
        }),
      );
    } catch {
      // No WebAssembly, or no 128-bit SIMD: the JavaScript loop does the same sums.
      compiled = null;
    }
  }
  return compiled;
}

/** Where the rows and the sums lie in a distance memory (byte offsets), and its size. */
export interface DistanceLayout {
  readonly n: number;
  readonly d: number;
  /** n rounded up to a multiple of 8. */
  readonly nPad: number;
  /** Bytes of one octet: d · 64. */
  readonly octetBytes: number;
  readonly data: number;
  /** The nPad × nPad sums, rows of ldo bytes. */
  readonly out: number;
  readonly ldo: number;
  readonly pages: number;
}

export function distanceLayout(n: number, d: number): DistanceLayout {
  const nPad = Math.ceil(n / 8) * 8;
  const octetBytes = d * 64;
  const out = (nPad / 8) * octetBytes;
  const ldo = nPad * 8;
  return { n, d, nPad, octetBytes, data: 0, out, ldo, pages: Math.ceil((out + nPad * ldo) / PAGE) };
}

/** The kernel over one memory: sums for the row pairs from i0 (even) below i1, k in [k0, k1). */
export type DistanceKernel = (i0: number, i1: number, k0: number, k1: number, first: boolean) => void;

/** A memory for `layout`, or undefined when WebAssembly with SIMD is missing, refused, or the memory too large. */
export function createDistanceMemory(layout: DistanceLayout): WasmMemory | undefined {
  if (wasmApi === undefined || layout.pages > MAX_PAGES || process.env.CNNSLICER_EIGEN_KERNEL === 'js' || compiledModule() === null) return undefined;
  try {
    return new wasmApi.Memory({ initial: layout.pages, maximum: layout.pages });
  } catch {
    return undefined;
  }
}

/** The kernel over `memory` (made by createDistanceMemory). */
export function distanceKernel(memory: WasmMemory, layout: DistanceLayout): DistanceKernel {
  const module = compiledModule();
  if (module === null || wasmApi === undefined) throw new Error('pair distances: no WebAssembly kernel');
  const pairs = new wasmApi.Instance(module, { env: { memory } }).exports.pairs as (...args: number[]) => void;
  const { data, octetBytes, out, ldo } = layout;
  return (i0, i1, k0, k1, first) => pairs(data, octetBytes, out, ldo, i0, i1, k0, k1, first ? 1 : 0);
}

/** Copies the n rows of `source` into the memory's octets (the padding rows stay 0). */
export function fillOctets(memory: WasmMemory, layout: DistanceLayout, source: Float32Array | Float64Array): void {
  const { n, d } = layout;
  const rows = new Float64Array(memory.buffer, layout.data, (layout.nPad / 8) * d * 8);
  // Octet by octet, written in order: eight rows read side by side.
  for (let g = 0; g * 8 < n; g++) {
    const base = g * d * 8;
    const count = Math.min(8, n - g * 8);
    const from = g * 8 * d;
    if (count === 8) {
      for (let k = 0, at = base; k < d; k++, at += 8) {
        const f = from + k;
        rows[at] = source[f];
        rows[at + 1] = source[f + d];
        rows[at + 2] = source[f + 2 * d];
        rows[at + 3] = source[f + 3 * d];
        rows[at + 4] = source[f + 4 * d];
        rows[at + 5] = source[f + 5 * d];
        rows[at + 6] = source[f + 6 * d];
        rows[at + 7] = source[f + 7 * d];
      }
    } else {
      for (let r = 0; r < count; r++) for (let k = 0; k < d; k++) rows[base + 8 * k + r] = source[from + r * d + k];
    }
  }
}

/** The k ranges the sums are taken in. */
export function chunkRanges(d: number): [number, number][] {
  const out: [number, number][] = [];
  for (let k0 = 0; k0 < d; k0 += CHUNK) out.push([k0, Math.min(d, k0 + CHUNK)]);
  return out;
}

/** Runs the kernel over row pairs [i0, i1) for every k range. */
export function runRows(kernel: DistanceKernel, d: number, i0: number, i1: number): void {
  chunkRanges(d).forEach(([k0, k1], c) => kernel(i0, i1, k0, k1, c === 0));
}

/** The n × n result from the memory's sums: the lower triangle mirrored, a zero diagonal; `finite` false when a sum is not finite. */
export function readDistances(memory: WasmMemory, layout: DistanceLayout): { sq: Float64Array; finite: boolean } {
  const { n, nPad } = layout;
  const sums = new Float64Array(memory.buffer, layout.out, nPad * nPad);
  const sq = new Float64Array(n * n);
  let finite = true;
  for (let i = 0; i < n; i++) {
    const row = i * nPad;
    for (let j = 0; j < i; j++) {
      const v = sums[row + j];
      if (!Number.isFinite(v)) finite = false;
      sq[i * n + j] = v;
      sq[j * n + i] = v;
    }
  }
  return { sq, finite };
}

/** The squared distances in WebAssembly on this thread; undefined when it cannot run here. */
export function squaredPairDistancesWasm(data: Float32Array | Float64Array, n: number, d: number): { sq: Float64Array; finite: boolean } | undefined {
  const layout = distanceLayout(n, d);
  const memory = createDistanceMemory(layout);
  if (memory === undefined) return undefined;
  fillOctets(memory, layout, data);
  runRows(distanceKernel(memory, layout), d, 0, layout.nPad);
  return readDistances(memory, layout);
}

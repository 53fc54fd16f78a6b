// The channel capacity's counting kernel in WebAssembly, for bins ≤ 16 (codes of 4 bits).
//
// Why WebAssembly: the histograms are ~Ca·Cb·P increments (1.3·10¹¹ for 512 × 512 channels over
// 1,000 probe samples), and V8 runs the JavaScript nibble kernel (capacityKernel.ts) at ~1 G
// increments per CPU-second here, this kernel at ~4 G: no bounds checks (the memory is
// guarded), 128-bit vectors to build 16 pairs' histogram offsets at once, each increment counting
// two capacity cells (see kernelText), and the histograms' addresses compiled into each thread's
// instance as immediate offsets. The text below is assembled at run time (wasmAssembler.ts): no
// toolchain, no build step, no binary in the repository.
//
// Memory: one shared WebAssembly.Memory per capacity matrix (a CapacityArena), holding each
// thread's histograms (a slot of SLOT_BYTES from 0) and then the codes of both layers, so that
// worker threads read the same codes without copies.
import { assembleModule } from './wasmAssembler';
import { MAX_PAGES, PAGE, wasmApi, type WasmMemory } from './wasmRuntime';

/** Row channels counted in one call, against one load of each column vector. */
export const WASM_ROWS = 4;
/** Cells of one histogram over (code of column a, code of column a + 1, code of the row): 16³, int32. */
const HIST_CELLS = 4096;
const HIST_BYTES = HIST_CELLS * 4;
/** Where in a slot the two 16 × 16 marginals of each row go (WASM_ROWS × 256 int32 each). */
const FIRST = WASM_ROWS * HIST_BYTES;
const SECOND = FIRST + WASM_ROWS * 1024;
/** One thread's scratch: WASM_ROWS histograms of 16³ int32 cells, then their marginals. */
export const SLOT_BYTES = SECOND + WASM_ROWS * 1024;
/** Scratch slots at the start of an arena: the most threads one matrix uses. */
export const ARENA_SLOTS = 64;

export interface CapacityArena {
  /** A shared WebAssembly.Memory. */
  readonly memory: WasmMemory;
  readonly bytes: number;
  /** First free byte, moved by allocateInArena. */
  next: number;
}

/** Whether this runtime has WebAssembly with shared memory (Node ≥ 16 has; a disabled flag or a stripped runtime may not). */
let support: boolean | undefined;
function wasmSupported(): boolean {
  if (support === undefined) {
    try {
      if (wasmApi === undefined) throw new Error('no WebAssembly');
      const pages = Math.ceil(SLOT_BYTES / PAGE);
      const memory = new wasmApi.Memory({ initial: pages, maximum: pages, shared: true });
      new WasmCounter({ memory, bytes: pages * PAGE, next: pages * PAGE }, 0);
      support = memory.buffer instanceof SharedArrayBuffer;
    } catch {
      support = false;
    }
  }
  return support;
}

/**
 * An arena for `codeBytes` bytes of codes (each layer's rounded up to 64 bytes) behind the
 * threads' scratch, or undefined when WebAssembly with shared memory is not available or the
 * codes would not fit its 4 GiB (callers then keep the codes in plain memory and count in JavaScript).
 */
export function createCapacityArena(codeBytes: readonly number[]): CapacityArena | undefined {
  if (process.env.CNNSLICER_CAPACITY_KERNEL === 'js' || !wasmSupported() || wasmApi === undefined) return undefined;
  const start = ARENA_SLOTS * SLOT_BYTES;
  const bytes = start + codeBytes.reduce((sum, b) => sum + Math.ceil(b / 64) * 64, 0);
  const pages = Math.ceil(bytes / PAGE);
  if (pages > MAX_PAGES) return undefined;
  try {
    return { memory: new wasmApi.Memory({ initial: pages, maximum: pages, shared: true }), bytes: pages * PAGE, next: start };
  } catch {
    // Address space or memory refused: the caller falls back to plain buffers.
    return undefined;
  }
}

/** `bytes` bytes of the arena, 64-byte aligned. */
export function allocateInArena(arena: CapacityArena, bytes: number): Uint8Array {
  const offset = arena.next;
  if (offset + bytes > arena.bytes) throw new Error(`capacity arena: ${bytes} bytes do not fit (${arena.bytes - offset} left)`);
  arena.next = offset + Math.ceil(bytes / 64) * 64;
  return new Uint8Array(arena.memory.buffer, offset, bytes);
}

/**
 * count(col, end, da, d0, d1, d2, d3): for each 16 pairs from byte `col` up to `end`, the codes of
 * two column channels (at col and col + da) and of four row channels (at col + d0 … col + d3).
 * Each pair's (column code, next column code, row code) is one of 16³ cells, whose byte offset
 * (cell × 4) comes out of a few vector operations for 16 pairs at once; its counter in that row's
 * histogram is incremented. One increment thus counts a pair into two capacity cells at once, (a,
 * b) and (a + 1, b), which the caller separates by summing the histogram over the other column's
 * code: half the increments of counting each cell alone, and ~1.7 times the cells per second of a
 * one-column kernel (which extracts each pair's byte with shifts, ALU-bound at ~1 increment a cycle).
 */
function kernelText(slotBase: number): string {
  const lines = ['block', 'loop', 'local.get $col', 'local.get $end', 'i32.ge_u', 'br_if 1'];
  // (a code << 4) | (a + 1 code): codes are < 16, so each stays within its byte.
  lines.push('local.get $col', 'v128.load', 'i32.const 4', 'i8x16.shl', 'local.get $col', 'local.get $da', 'i32.add', 'v128.load', 'v128.or', 'local.set $cc');
  // As 16-bit lanes, times 64: the column pair's part of cell × 4.
  lines.push('local.get $cc', 'i16x8.extend_low_i8x16_u', 'i32.const 6', 'i16x8.shl', 'local.set $lo');
  lines.push('local.get $cc', 'i16x8.extend_high_i8x16_u', 'i32.const 6', 'i16x8.shl', 'local.set $hi');
  for (let r = 0; r < WASM_ROWS; r++) {
    lines.push('local.get $col', `local.get $d${r}`, 'i32.add', 'v128.load', 'local.set $row');
    lines.push('local.get $lo', 'local.get $row', 'i16x8.extend_low_i8x16_u', 'i32.const 2', 'i16x8.shl', 'v128.or', `local.set $lo${r}`);
    lines.push('local.get $hi', 'local.get $row', 'i16x8.extend_high_i8x16_u', 'i32.const 2', 'i16x8.shl', 'v128.or', `local.set $hi${r}`);
  }
  // Lanes are extracted rather than stored and reloaded: a 16-bit load from a just-stored vector
  // waits for the store (~25% slower here).
  for (let k = 0; k < 16; k++) {
    for (let r = 0; r < WASM_ROWS; r++) {
      const offset = slotBase + r * HIST_BYTES;
      lines.push(
        `local.get $${k < 8 ? 'lo' : 'hi'}${r}`,
        `i16x8.extract_lane_u ${k % 8}`,
        'local.tee $i',
        'local.get $i',
        `i32.load offset=${offset}`,
        'i32.const 1',
        'i32.add',
        `i32.store offset=${offset}`,
      );
    }
  }
  lines.push('local.get $col', 'i32.const 16', 'i32.add', 'local.set $col', 'br 0', 'end', 'end');
  return lines.join('\n');
}

/**
 * reduce(): the two 16 × 16 marginals of each row's 16³ histogram h[x][x'][y] (x, x' the two
 * columns' codes, y the row's), first[r][x][y] = Σ_x' h and second[r][x'][y] = Σ_x h, four cells
 * per vector operation, zeroing the histograms as it reads them for the next count (ten times
 * faster than the same sums in JavaScript, which cost as much as the counting itself when the
 * pairs are few).
 */
function reduceText(slotBase: number): string {
  const lines = ['i32.const 0', 'i32x4.splat', 'local.set $zero'];
  for (let v = 0; v < (WASM_ROWS * 1024) / 16; v++) lines.push('i32.const 0', 'local.get $zero', `v128.store offset=${slotBase + SECOND + 16 * v}`);
  lines.push('i32.const 0', 'local.set $r', 'block', 'loop', 'local.get $r', `i32.const ${WASM_ROWS}`, 'i32.ge_u', 'br_if 1');
  lines.push('i32.const 0', 'local.set $x', 'block', 'loop', 'local.get $x', 'i32.const 16', 'i32.ge_u', 'br_if 1');
  // h: this (r, x)'s 16 × 16 cells (x', y); s: row r's marginals.
  lines.push('local.get $r', `i32.const ${HIST_BYTES}`, 'i32.mul', 'local.get $x', 'i32.const 1024', 'i32.mul', 'i32.add', 'local.set $h');
  lines.push('local.get $r', 'i32.const 1024', 'i32.mul', 'local.set $s');
  for (let k = 0; k < 4; k++) lines.push('local.get $zero', `local.set $f${k}`);
  for (let x2 = 0; x2 < 16; x2++) {
    for (let k = 0; k < 4; k++) {
      const cell = 64 * x2 + 16 * k;
      lines.push('local.get $h', `v128.load offset=${slotBase + cell}`, 'local.set $v');
      lines.push(`local.get $f${k}`, 'local.get $v', 'i32x4.add', `local.set $f${k}`);
      lines.push(
        'local.get $s',
        'local.get $s',
        `v128.load offset=${slotBase + SECOND + cell}`,
        'local.get $v',
        'i32x4.add',
        `v128.store offset=${slotBase + SECOND + cell}`,
      );
      lines.push('local.get $h', 'local.get $zero', `v128.store offset=${slotBase + cell}`);
    }
  }
  lines.push('local.get $s', 'local.get $x', 'i32.const 64', 'i32.mul', 'i32.add', 'local.set $t');
  for (let k = 0; k < 4; k++) lines.push('local.get $t', `local.get $f${k}`, `v128.store offset=${slotBase + FIRST + 16 * k}`);
  lines.push('local.get $x', 'i32.const 1', 'i32.add', 'local.set $x', 'br 0', 'end', 'end');
  lines.push('local.get $r', 'i32.const 1', 'i32.add', 'local.set $r', 'br 0', 'end', 'end');
  return lines.join('\n');
}

/** One thread's instance of the kernel over an arena, counting into scratch slot `slot`. */
export class WasmCounter {
  private readonly count: (col: number, end: number, da: number, d0: number, d1: number, d2: number, d3: number) => void;
  private readonly reduce: () => void;
  /** Row r's joint counts with the first column at [256·r, 256·r + 256), cell (column code << 4) | row code. */
  readonly first: Int32Array;
  /** The same with the second column. */
  readonly second: Int32Array;

  constructor(arena: CapacityArena, slot: number) {
    if (!Number.isInteger(slot) || slot < 0 || slot >= ARENA_SLOTS) throw new Error(`capacity kernel: no scratch slot ${slot}`);
    const pages = arena.bytes / PAGE;
    const rows = Array.from({ length: WASM_ROWS }, (_, r) => r);
    const base = slot * SLOT_BYTES;
    const bytes = assembleModule({
      memory: { initial: pages, maximum: pages, shared: true },
      functions: [
        {
          name: 'count',
          params: [['col', 'i32'], ['end', 'i32'], ['da', 'i32'], ...rows.map((r): [string, 'i32'] => [`d${r}`, 'i32'])],
          locals: [
            ['cc', 'v128'],
            ['lo', 'v128'],
            ['hi', 'v128'],
            ['row', 'v128'],
            ['i', 'i32'],
            ...rows.flatMap((r): [string, 'v128'][] => [
              [`lo${r}`, 'v128'],
              [`hi${r}`, 'v128'],
            ]),
          ],
          body: kernelText(base),
        },
        {
          name: 'reduce',
          params: [],
          locals: [
            ['r', 'i32'],
            ['x', 'i32'],
            ['h', 'i32'],
            ['s', 'i32'],
            ['t', 'i32'],
            ['zero', 'v128'],
            ['v', 'v128'],
            ['f0', 'v128'],
            ['f1', 'v128'],
            ['f2', 'v128'],
            ['f3', 'v128'],
          ],
          body: reduceText(base),
        },
      ],
    });
    if (wasmApi === undefined) throw new Error('capacity kernel: no WebAssembly');
    const instance = new wasmApi.Instance(new wasmApi.Module(bytes), { env: { memory: arena.memory } });
    this.count = instance.exports.count as WasmCounter['count'];
    this.reduce = instance.exports.reduce as WasmCounter['reduce'];
    // The histograms start at zero (fresh memory) and reduce() leaves them so.
    this.first = new Int32Array(arena.memory.buffer, base + FIRST, 256 * WASM_ROWS);
    this.second = new Int32Array(arena.memory.buffer, base + SECOND, 256 * WASM_ROWS);
  }

  /**
   * Counts the first 16 × `blocks` pairs of column channels at byte offsets `column` and
   * `nextColumn` against the WASM_ROWS row channels at byte offsets `rows[r]` (offsets in the
   * arena), into `first` (with column) and `second` (with nextColumn), overwritten. Rows beyond
   * those wanted may repeat row 0, and nextColumn may be column: what they count is simply not read.
   */
  countBlocks(column: number, nextColumn: number, rows: readonly number[], blocks: number): void {
    this.count(column, column + 16 * blocks, nextColumn - column, rows[0] - column, rows[1] - column, rows[2] - column, rows[3] - column);
    this.reduce();
  }
}

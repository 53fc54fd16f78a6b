// The channel capacity's counting kernel in WebAssembly, for bins ≤ 16 (two codes in one byte).
//
// Why WebAssembly: the histograms are ~Ca·Cb·P increments (1.3·10¹¹ for 512 × 512 channels over
// 1,000 probe samples), and V8 runs the JavaScript nibble kernel (capacityKernel.ts) at ~1 G
// increments/s of CPU time, the same loop in WebAssembly at ~2.5 G/s: no bounds checks (the
// memory is guarded), 64-bit words (eight pairs per OR), and the histograms' addresses are
// immediate offsets compiled into each thread's instance, so that an increment is a shift, an AND,
// a load, an add and a store. The text below is assembled at run time (wasmAssembler.ts): no
// toolchain, no build step, no binary in the repository.
//
// Memory: one shared WebAssembly.Memory per capacity matrix (a CapacityArena), holding each
// thread's histograms (a slot of SLOT_BYTES from 0) and then the codes of both layers, so that
// worker threads read the same codes without copies.
import { assembleModule } from '../compute/wasmAssembler';

/** Row channels counted against one load of a column word (as the JavaScript nibble kernel). */
export const WASM_ROWS = 4;
/** Histograms per row: consecutive pairs alternate between them, so equal neighbouring cells do not serialise on one counter. */
const LANES = 2;
const HIST_BYTES = 256 * 4;
/** One thread's scratch: WASM_ROWS × LANES histograms of 256 int32 cells. */
export const SLOT_BYTES = WASM_ROWS * LANES * HIST_BYTES;
/** Scratch slots at the start of an arena: the most threads one matrix uses. */
export const ARENA_SLOTS = 64;
const PAGE = 65536;
/** wasm32 addresses 4 GiB; V8 caps a memory at 65,536 pages. */
const MAX_PAGES = 65536;

// The engine compiles against ES2022 and Node's types, which do not declare WebAssembly (the DOM
// library does); these are the parts used here, read from globalThis.
interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
}
interface WasmApi {
  Memory: new (descriptor: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { readonly exports: Record<string, unknown> };
}
const wasmApi = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

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
      const memory = new wasmApi.Memory({ initial: 1, maximum: 1, shared: true });
      new WasmCounter({ memory, bytes: PAGE, next: PAGE }, 0);
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
 * One increment of histogram (row, lane) for byte k of the joint word in `$v`: the byte is
 * (column code << 4) | row code, the cell's byte offset that times 4, taken straight from the
 * word's bits.
 */
function increment(v: string, k: number, offset: number): string {
  const scaled = k === 0 ? 'i64.const 2\ni64.shl' : `i64.const ${8 * k - 2}\ni64.shr_u`;
  return `local.get ${v}
${scaled}
i32.wrap_i64
i32.const 1020
i32.and
local.tee $i
local.get $i
i32.load offset=${offset}
i32.const 1
i32.add
i32.store offset=${offset}`;
}

/**
 * count4(col, end, d0, d1, d2, d3): for each 8-byte word from `col` up to `end`, ORs the column
 * codes (shifted into the high nibbles) with the row codes at col + d0 … col + d3 and counts the
 * eight joint bytes of each row into that row's histograms at `slotBase`.
 */
function kernelText(slotBase: number): string {
  const rows = ['$x', '$y', '$z', '$w'];
  const lines = ['block', 'loop', 'local.get $col', 'local.get $end', 'i32.ge_u', 'br_if 1', 'local.get $col', 'i64.load', 'i64.const 4', 'i64.shl', 'local.set $c'];
  rows.forEach((v, r) => lines.push('local.get $c', 'local.get $col', `local.get $d${r}`, 'i32.add', 'i64.load', 'i64.or', `local.set ${v}`));
  for (let k = 0; k < 8; k++) {
    rows.forEach((v, r) => lines.push(increment(v, k, slotBase + (r * LANES + (k % LANES)) * HIST_BYTES)));
  }
  lines.push('local.get $col', 'i32.const 8', 'i32.add', 'local.set $col', 'br 0', 'end', 'end');
  return lines.join('\n');
}

/** One thread's instance of the kernel over an arena, counting into scratch slot `slot`. */
export class WasmCounter {
  private readonly count4: (col: number, end: number, d0: number, d1: number, d2: number, d3: number) => void;
  private readonly hist: Int32Array;

  constructor(arena: CapacityArena, slot: number) {
    if (!Number.isInteger(slot) || slot < 0 || slot >= ARENA_SLOTS) throw new Error(`capacity kernel: no scratch slot ${slot}`);
    const pages = arena.bytes / PAGE;
    const bytes = assembleModule({
      memory: { initial: pages, maximum: pages, shared: true },
      functions: [
        {
          name: 'count4',
          params: [['col', 'i32'], ['end', 'i32'], ['d0', 'i32'], ['d1', 'i32'], ['d2', 'i32'], ['d3', 'i32']],
          locals: [['c', 'i64'], ['x', 'i64'], ['y', 'i64'], ['z', 'i64'], ['w', 'i64'], ['i', 'i32']],
          body: kernelText(slot * SLOT_BYTES),
        },
      ],
    });
    if (wasmApi === undefined) throw new Error('capacity kernel: no WebAssembly');
    const instance = new wasmApi.Instance(new wasmApi.Module(bytes), { env: { memory: arena.memory } });
    this.count4 = instance.exports.count4 as WasmCounter['count4'];
    this.hist = new Int32Array(arena.memory.buffer, slot * SLOT_BYTES, SLOT_BYTES / 4);
  }

  /**
   * Counts the joint bytes of column codes at byte `column` against WASM_ROWS rows at
   * `rows[r]` (byte offsets in the arena) over the first `words` × 8 pairs, into
   * counts[256·r + cell] (overwritten). Rows beyond those wanted may repeat row 0: their counts are
   * simply not read.
   */
  countWords(column: number, rows: readonly number[], words: number, counts: Int32Array): void {
    const { hist } = this;
    hist.fill(0);
    this.count4(column, column + 8 * words, rows[0] - column, rows[1] - column, rows[2] - column, rows[3] - column);
    for (let r = 0; r < WASM_ROWS; r++) {
      const base = r * LANES * 256;
      for (let cell = 0; cell < 256; cell++) counts[256 * r + cell] = hist[base + cell] + hist[base + 256 + cell];
    }
  }
}

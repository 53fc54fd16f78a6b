// The channel capacity's WebAssembly kernel (capacityWasm.ts, assembled by wasmAssembler.ts)
// against the JavaScript kernels: the same counts, hence the same matrix bit for bit.
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { assembleModule } from '../../src/engine/estimators/wasmAssembler';
import { channelCapacityParallel } from '../../src/engine/compute/capacityParallel';
import { allocateInArena, createCapacityArena, WasmCounter } from '../../src/engine/estimators/capacityWasm';
import { channelCapacity, codeDistances, type PairDistances } from '../../src/engine/estimators/channelCapacity';
import type { CapacityRange } from '../../src/engine/estimators/params';
import { seededRandom as random } from '../support/seededRandom';

/** Channels that are noisy powers of a few shared signals, some nearly constant: cells hit the same counter often. */
function layer(rnd: () => number, channels: number, pairs: number, hidden: Float32Array[]): PairDistances {
  const data = new Float32Array(channels * pairs);
  for (let c = 0; c < channels; c++) {
    const source = hidden[Math.floor(rnd() * hidden.length)];
    const noise = rnd() < 0.3 ? 0.01 : rnd() * 2;
    const power = 0.5 + rnd() * 2;
    for (let p = 0; p < pairs; p++) data[c * pairs + p] = Math.max(0, 5 + source[p] ** power + noise * (rnd() - 0.3));
  }
  return { channels, pairs, data };
}

describe('channel capacity: WebAssembly kernel', () => {
  it('assembles and validates its text, and refuses what it does not know', () => {
    // A fresh ArrayBuffer copy: the DOM library's BufferSource does not take a Uint8Array of ArrayBufferLike.
    const bytes = new Uint8Array(
      assembleModule({
        memory: { initial: 1, maximum: 1, shared: true },
        functions: [
          { name: 'f', params: [['x', 'i64']], results: ['i32'], body: 'local.get $x\ni64.const 0xffffffffffffffff\ni64.and\ni32.wrap_i64 ;; low word' },
        ],
      }),
    );
    assert.ok(WebAssembly.validate(bytes));
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    const f = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports.f as (x: bigint) => number;
    assert.equal(f(0x1234_5678_9abc_def0n), 0x9abcdef0 | 0);
    assert.throws(
      () => assembleModule({ memory: { initial: 1, maximum: 1, shared: false }, functions: [{ name: 'g', params: [], body: 'i32.frobnicate' }] }),
      /unknown instruction/,
    );
    assert.throws(
      () => assembleModule({ memory: { initial: 1, maximum: 1, shared: false }, functions: [{ name: 'g', params: [], body: 'local.get $nope' }] }),
      /unknown local/,
    );
  });

  it('counts exactly the joint codes of two columns against four rows', () => {
    const arena = createCapacityArena([64 * 6]);
    assert.ok(arena, 'this Node has WebAssembly with shared memory');
    const codes = allocateInArena(arena, 64 * 6);
    const rnd = random(3);
    for (let i = 0; i < codes.length; i++) codes[i] = Math.floor(rnd() * 16);
    const counter = new WasmCounter(arena, 5);
    const rows = [2, 3, 4, 5].map((r) => codes.byteOffset + 64 * r);
    // Twice: the second count must not see the first's counts.
    counter.countBlocks(codes.byteOffset + 16, codes.byteOffset + 80, rows, 2);
    counter.countBlocks(codes.byteOffset, codes.byteOffset + 64, rows, 3);
    const { first, second } = counter;
    for (let r = 0; r < 4; r++) {
      const want = [new Int32Array(256), new Int32Array(256)];
      for (let p = 0; p < 48; p++) {
        want[0][(codes[p] << 4) | codes[64 * (r + 2) + p]]++;
        want[1][(codes[64 + p] << 4) | codes[64 * (r + 2) + p]]++;
      }
      assert.deepEqual(first.subarray(256 * r, 256 * r + 256), want[0], `row ${r}, first column`);
      assert.deepEqual(second.subarray(256 * r, 256 * r + 256), want[1], `row ${r}, second column`);
    }
  });

  it('gives the JavaScript kernel’s matrix bit for bit, any pair count, rows, bins ≤ 16 and threads (property)', async function () {
    this.timeout(240000);
    await fc.assert(
      fc.asyncProperty(
        fc.integer(),
        fc.integer({ min: 1, max: 2100 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 16 }),
        fc.constantFrom<CapacityRange>('channel', 'layer'),
        fc.constantFrom(1, 2),
        async (seed, pairs, cols, rows, capacityBins, capacityRange, threads) => {
          const rnd = random(seed);
          const hidden = Array.from({ length: 3 }, () => Float32Array.from({ length: pairs }, () => rnd()));
          const [layerI, layerJ] = [layer(rnd, cols, pairs, hidden), layer(rnd, rows, pairs, hidden)];
          const params = { capacityBins, capacityRange };
          const js = channelCapacity(layerI, layerJ, params);
          const wasm = await channelCapacityParallel(layerI, layerJ, params, { threads, taskIncrements: 4 * pairs });
          assert.deepEqual(wasm.capacity, js.capacity);
          assert.deepEqual(wasm.hA, js.hA);
          assert.deepEqual(wasm.hB, js.hB);
          const jsParallel = await channelCapacityParallel(layerI, layerJ, params, { threads, kernel: 'js' });
          assert.deepEqual(jsParallel.capacity, js.capacity);
        },
      ),
      { numRuns: 80 },
    );
  });

  it('puts the codes in the arena when WebAssembly is there, and not with CNNSLICER_CAPACITY_KERNEL=js', () => {
    const data = { channels: 2, pairs: 9, data: Float32Array.from({ length: 18 }, (_, i) => i % 7) };
    const arena = createCapacityArena([64]);
    assert.ok(arena);
    const coded = codeDistances(data, undefined, { arena });
    assert.equal(coded.arena, arena);
    assert.equal(coded.codes.buffer, arena.memory.buffer);
    assert.deepEqual([...coded.codes], [...codeDistances(data).codes]);
    const saved = process.env.CNNSLICER_CAPACITY_KERNEL;
    process.env.CNNSLICER_CAPACITY_KERNEL = 'js';
    try {
      assert.equal(createCapacityArena([64]), undefined);
    } finally {
      if (saved === undefined) delete process.env.CNNSLICER_CAPACITY_KERNEL;
      else process.env.CNNSLICER_CAPACITY_KERNEL = saved;
    }
  });

  it('counts on worker threads from the arena, with the workers doing the work', async function () {
    this.timeout(60000);
    const rnd = random(8);
    const pairs = 4003;
    const hidden = Array.from({ length: 3 }, () => Float32Array.from({ length: pairs }, () => rnd()));
    const [layerI, layerJ] = [layer(rnd, 7, pairs, hidden), layer(rnd, 10, pairs, hidden)];
    const js = channelCapacity(layerI, layerJ);
    const wasm = await channelCapacityParallel(layerI, layerJ, undefined, { threads: 3, callerComputes: false, taskIncrements: 4 * pairs });
    assert.ok(wasm.workerThreads >= 1);
    assert.deepEqual(wasm.capacity, js.capacity);
  });
});

// Feature maps straight to capacity codes (compute/capacityCodes.ts), a chunk of channels at a
// time, against binning the whole layer's distances: the same bytes, never C × pairs floats.
import * as assert from 'node:assert/strict';
import { codeChannelMaps } from '../../src/engine/compute/capacityCodes';
import { pairwiseChannelDistances } from '../../src/engine/compute/pairwiseDistances';
import { createCapacityArena } from '../../src/engine/estimators/capacityWasm';
import { codeBytes, codeDistances, samplePairs } from '../../src/engine/estimators/channelCapacity';
import { CnnSlicerError } from '../../src/shared/errors';
import { seededRandom } from '../support/tinyCnn';

describe('codeChannelMaps', () => {
  const n = 60;
  const C = 7;
  const S = 12;
  const pairs = (n * (n - 1)) / 2;
  const rand = seededRandom(31);
  // Post-ReLU-like maps with a channel of zeros (dead) and one of a larger scale.
  const maps = Float32Array.from({ length: n * C * S }, (_, i) => {
    const c = Math.floor(i / S) % C;
    return c === 2 ? 0 : (c === 5 ? 10 : 1) * Math.max(0, rand() * 2 - 1);
  });

  for (const capacityRange of ['channel', 'layer'] as const) {
    it(`gives codeDistances' codes, uppers and entropies (range ${capacityRange}), whatever the chunking and storage`, async () => {
      const params = { capacityBins: 16, capacityRange };
      const want = codeDistances(await pairwiseChannelDistances(maps, n, C, S), params);
      const sample = samplePairs(pairs, 500);
      const wantSampled = codeDistances(await pairwiseChannelDistances(maps, n, C, S), params, {}, sample);
      for (const chunkChannels of [undefined, 2, 3]) {
        const arena = createCapacityArena([codeBytes(C, pairs)]);
        const progress: number[] = [];
        const got = await codeChannelMaps(maps, n, C, S, params, { arena }, { chunkChannels, onProgress: (done, total) => progress.push(done / total) });
        assert.deepEqual(got.codes, want.codes, `chunks of ${chunkChannels}`);
        assert.deepEqual(got.upper, want.upper);
        assert.deepEqual(got.entropy, want.entropy);
        assert.equal(got.arena, arena);
        assert.equal(progress[progress.length - 1], 1);
        for (let i = 1; i < progress.length; i++) assert.ok(progress[i] > progress[i - 1]);
        const sampled = await codeChannelMaps(maps, n, C, S, params, { shared: true }, { chunkChannels, sample });
        assert.deepEqual(sampled.codes, wantSampled.codes);
        assert.deepEqual(sampled.entropy, wantSampled.entropy);
        assert.equal(sampled.pairs, 500);
        assert.ok(sampled.codes.buffer instanceof SharedArrayBuffer);
      }
    });
  }

  for (const capacityRange of ['channel', 'layer'] as const) {
    it(`gives the same codes on worker threads, each with its own onnxruntime session (range ${capacityRange})`, async function () {
      this.timeout(60000);
      const params = { capacityBins: 16, capacityRange };
      const want = codeDistances(await pairwiseChannelDistances(maps, n, C, S), params);
      for (const [threads, chunkChannels] of [
        [2, 2],
        [3, 3],
        [2, undefined],
      ] as const) {
        const progress: number[] = [];
        const got = await codeChannelMaps(
          maps,
          n,
          C,
          S,
          params,
          { arena: createCapacityArena([codeBytes(C, pairs)]) },
          { threads, chunkChannels, onProgress: (d, t) => progress.push(d / t) },
        );
        assert.deepEqual(got.codes, want.codes, `${threads} threads, chunks of ${chunkChannels}`);
        assert.deepEqual(got.upper, want.upper);
        assert.deepEqual(got.entropy, want.entropy);
        assert.equal(progress[progress.length - 1], 1);
        const sample = samplePairs(pairs, 700);
        const sampled = await codeChannelMaps(maps, n, C, S, params, { shared: true }, { threads, chunkChannels, sample });
        assert.deepEqual(sampled.codes, codeDistances(await pairwiseChannelDistances(maps, n, C, S), params, {}, sample).codes);
      }
    });
  }

  it('is cancellable and refuses non-finite maps', async () => {
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(
      codeChannelMaps(maps, n, C, S, { capacityBins: 16, capacityRange: 'channel' }, {}, { signal: controller.signal }),
      (e: unknown) => e instanceof CnnSlicerError && e.code === 'cancelled',
    );
    const bad = maps.slice();
    bad[5] = NaN;
    await assert.rejects(codeChannelMaps(bad, n, C, S, { capacityBins: 16, capacityRange: 'layer' }), /non-finite/);
    await assert.rejects(codeChannelMaps(bad, n, C, S, { capacityBins: 16, capacityRange: 'layer' }, { shared: true }, { threads: 2 }), /non-finite/);
    await assert.rejects(
      codeChannelMaps(
        maps,
        n,
        C,
        S,
        { capacityBins: 16, capacityRange: 'layer' },
        { shared: true },
        { threads: 2, chunkChannels: 2, signal: controller.signal },
      ),
      (e: unknown) => e instanceof CnnSlicerError && e.code === 'cancelled',
    );
    const during = new AbortController();
    await assert.rejects(
      codeChannelMaps(
        maps,
        n,
        C,
        S,
        { capacityBins: 16, capacityRange: 'channel' },
        { shared: true },
        { threads: 2, chunkChannels: 2, signal: during.signal, onProgress: () => during.abort() },
      ),
      (e: unknown) => e instanceof CnnSlicerError && e.code === 'cancelled',
    );
  });
});

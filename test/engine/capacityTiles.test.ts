// The capacity matrix with the bin codes held a tile at a time (analysis/capacityTiles.ts) is the
// untiled matrix, bit for bit: every cell depends only on its two channels' codes, and 'layer'
// ranges take the layer's largest distance over every channel before the first tile.
import * as assert from 'node:assert/strict';
import { capacityMatrixTiled, tilePlan } from '../../src/engine/analysis/capacityTiles';
import { codeBytes, samplePairs } from '../../src/engine/estimators/channelCapacity';
import { seededRandom } from '../support/tinyCnn';

describe('capacityMatrixTiled', () => {
  const n = 40;
  const pairs = (n * (n - 1)) / 2;
  const rand = seededRandom(7);
  // Post-ReLU-like maps whose channels differ in scale, so a 'layer' range differs from 'channel'.
  const layer = (C: number, S: number) => ({
    channels: C,
    mapSize: S,
    data: Float32Array.from({ length: n * C * S }, (_, i) => (1 + (Math.floor(i / S) % C)) * Math.max(0, rand() * 2 - 1)),
  });
  const li = layer(9, 6);
  const lj = layer(7, 4);

  it('plans tiles within the budget, whole layers when they fit', () => {
    const per = codeBytes(1, pairs);
    assert.deepEqual(tilePlan(9, 7, pairs, 16 * per), { colChunk: 9, rowChunk: 7 });
    const plan = tilePlan(9, 7, pairs, 5 * per);
    assert.ok((plan.colChunk + plan.rowChunk) * per <= 5 * per);
    assert.ok(plan.colChunk >= 1 && plan.rowChunk >= 1);
    assert.deepEqual(tilePlan(9, 7, pairs, 1), { colChunk: 1, rowChunk: 1 });
  });

  for (const capacityRange of ['channel', 'layer'] as const) {
    for (const sampled of [false, true]) {
      it(`gives the untiled matrix bit for bit (range ${capacityRange}${sampled ? ', sampled pairs' : ''})`, async function () {
        this.timeout(60000);
        const params = { capacityBins: 8, capacityRange };
        const sample = sampled ? samplePairs(pairs, 300) : undefined;
        const opts = sample ? { sample } : {};
        const whole = await capacityMatrixTiled(li, lj, n, params, opts);
        const per = codeBytes(1, sample?.length ?? pairs);
        for (const budget of [5 * per, 3 * per, 1]) {
          const progress: number[] = [];
          const tiled = await capacityMatrixTiled(li, lj, n, params, { ...opts, budget, onProgress: (d, t) => progress.push(d / t) });
          assert.equal(tiled.rowsChannels, 7);
          assert.equal(tiled.colsChannels, 9);
          assert.deepEqual(tiled.capacity, whole.capacity, `budget ${budget}`);
          assert.deepEqual(tiled.hA, whole.hA);
          assert.deepEqual(tiled.hB, whole.hB);
          assert.equal(progress[progress.length - 1], 1);
          for (let i = 1; i < progress.length; i++) assert.ok(progress[i] >= progress[i - 1], 'progress never goes back');
        }
      });
    }
  }
});

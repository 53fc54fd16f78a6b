// The query view's L axis numbers (webview/query/cube.ts, pure): never two closer than their text
// needs, always the first and the last layer, and every layer for a small model.
import * as assert from 'node:assert/strict';
import { CUBE, layerLabelIndices } from '../../webview/query/cube';

describe('query view L axis labels', () => {
  it('numbers every layer of a small model', () => {
    assert.deepEqual(layerLabelIndices(7, CUBE.lAxis.w), [0, 1, 2, 3, 4, 5, 6]);
    assert.deepEqual(layerLabelIndices(0, CUBE.lAxis.w), []);
    assert.deepEqual(layerLabelIndices(1, CUBE.lAxis.w), [0]);
  });

  for (const count of [21, 51, 59, 99, 100, 140, 141, 300, 1000]) {
    it(`writes 1 and ${count} and round numbers between, none overlapping, for ${count} layers`, () => {
      const width = CUBE.lAxis.w;
      const labels = layerLabelIndices(count, width);
      assert.equal(labels[0], 0);
      assert.equal(labels[labels.length - 1], count - 1);
      const need = String(count).length * 7 + 6;
      for (let k = 1; k < labels.length; k++) {
        assert.ok(labels[k] > labels[k - 1]);
        assert.ok((labels[k] - labels[k - 1]) * (width / count) >= need, `labels ${labels[k - 1] + 1} and ${labels[k] + 1} overlap`);
      }
      for (const i of labels.slice(1, -1)) assert.ok([1, 2, 5].some((d) => (i + 1) % d === 0));
      assert.ok(labels.length >= 3 || count < 3);
    });
  }
});

// The items of "CNNSlicer: Go to Layer…" (src/extension/runs/layerPick.ts).
import * as assert from 'node:assert/strict';
import { layerPickItems } from '../../src/extension/runs/layerPick';
import { makeRun } from './extensionFixtures';

describe('Go to Layer items', () => {
  it('lists every layer in the model order by full name, with kind and shape to match on and its source line', () => {
    const info = makeRun({
      manifest: {
        layers: [
          { name: 'layer1.0.conv1', kind: 'conv', shape: [64, 8, 8], source: { file: 'model.py', line: 12 } },
          { name: 'layer1.0.relu#1', kind: 'activation', shape: [64, 8, 8] },
          { name: 'fc', kind: 'linear', shape: [10] },
        ],
      },
    });
    const items = layerPickItems(info);
    assert.deepEqual(
      items.map((i) => i.layer),
      ['layer1.0.conv1', 'layer1.0.relu#1', 'fc'],
    );
    assert.equal(items[0].label, 'layer1.0.conv1');
    assert.equal(items[0].description, 'conv 64×8×8');
    assert.equal(items[0].detail, 'model.py:12');
    assert.equal(items[1].detail, undefined);
  });

  it('keeps a name with codicon syntax literal in the label, and the layer name as it is', () => {
    const info = makeRun({ manifest: { layers: [{ name: 'x$(alert)', kind: 'other', shape: [3] }] } });
    const [item] = layerPickItems(info);
    assert.notEqual(item.label, 'x$(alert)');
    assert.equal(item.layer, 'x$(alert)');
  });
});

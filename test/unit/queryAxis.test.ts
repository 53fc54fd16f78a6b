// The query view's L axis and blocks (webview/query/cube.ts and hierarchy.ts, pure): layer numbers
// never two closer than their text needs, always the first and the last layer of the range shown;
// a deep model's layers as the module blocks the architecture row lists and the axis bands, with
// names that fit their band.
import * as assert from 'node:assert/strict';
import type { LayerInfo } from '../../src/shared/runFormat';
import { CUBE, fittingLabel, layerLabelIndices } from '../../webview/query/cube';
import { archTree, axisRange, findGroup, groupsHolding, holds, isGroup, partition, shortLabels, type ArchNode } from '../../webview/query/hierarchy';
import { mobileNetV2Layers, resNet18Layers } from '../support/deepModels';

const all = (count: number) => ({ from: 0, to: count - 1 });

describe('query view L axis labels', () => {
  it('numbers every layer of a small model', () => {
    assert.deepEqual(layerLabelIndices(all(7), CUBE.lAxis.w), [0, 1, 2, 3, 4, 5, 6]);
    assert.deepEqual(layerLabelIndices(all(0), CUBE.lAxis.w), []);
    assert.deepEqual(layerLabelIndices(all(1), CUBE.lAxis.w), [0]);
  });

  for (const count of [21, 51, 59, 99, 100, 140, 141, 300, 1000]) {
    it(`writes 1 and ${count} and round numbers between, none overlapping, for ${count} layers`, () => {
      const width = CUBE.lAxis.w;
      const labels = layerLabelIndices(all(count), width);
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

  for (const [from, to] of [
    [23, 60],
    [8, 15],
    [130, 138],
    [0, 0],
    [99, 299],
  ]) {
    it(`numbers a zoomed range, layers ${from + 1}–${to + 1}: its ends and round numbers between, none overlapping`, () => {
      const width = CUBE.lAxis.w;
      const labels = layerLabelIndices({ from, to }, width);
      assert.equal(labels[0], from);
      assert.equal(labels[labels.length - 1], to);
      const need = String(to + 1).length * 7 + 6;
      for (let k = 1; k < labels.length; k++) assert.ok((labels[k] - labels[k - 1]) * (width / (to - from + 1)) >= need);
      for (const i of labels.slice(1, -1)) assert.ok(i > from && i < to && [1, 2, 5].some((d) => (i + 1) % d === 0), `label ${i + 1} is not round`);
    });
  }
});

describe('query view blocks of a deep model', () => {
  const paths = (nodes: readonly ArchNode[]) => nodes.map((n) => n.path);

  it('keeps a run of at most 16 layers flat: no module, no band', () => {
    const layers: LayerInfo[] = ['conv1', 'relu1', 'pool1', 'conv2', 'relu2', 'pool2', 'fc'].map((name) => ({ name, kind: 'other', shape: [4] }));
    const tree = archTree(layers);
    assert.deepEqual(paths(tree), ['conv1', 'relu1', 'pool1', 'conv2', 'relu2', 'pool2', 'fc']);
    assert.ok(tree.every((n, i) => !isGroup(n) && n.layer === i));
    assert.deepEqual(axisRange(layers, 'conv'), { from: 0, to: 6 }, 'a zoom into a module the run does not have shows all layers');
  });

  it('lists a ResNet-18 as its stem, its four stages and its head, each block output inside its block', () => {
    const layers = resNet18Layers();
    assert.equal(layers.length, 68);
    const tree = archTree(layers);
    assert.deepEqual(paths(partition(tree, all(layers.length))), ['conv1', 'bn1', 'relu', 'maxpool', 'layer1', 'layer2', 'layer3', 'layer4', 'avgpool', 'fc']);
    const layer2 = findGroup(tree, 'layer2');
    assert.ok(layer2);
    assert.deepEqual([layer2.from, layer2.to, layer2.count], [18, 33, 16]);
    // The block output `layer2.0` is the last entry of its block, where the run recorded it.
    const block = findGroup(tree, 'layer2.0');
    assert.ok(block);
    assert.deepEqual(paths(block.children), [
      'layer2.0.conv1',
      'layer2.0.bn1',
      'layer2.0.relu',
      'layer2.0.conv2',
      'layer2.0.bn2',
      'layer2.0.downsample',
      'layer2.0.relu#1',
      'layer2.0',
    ]);
    assert.equal(layers[block.children[7].layer ?? -1].name, 'layer2.0');
    assert.deepEqual(
      paths(
        groupsHolding(
          tree,
          layers.findIndex((l) => l.name === 'layer2.0.downsample.1'),
        ),
      ),
      ['layer2', 'layer2.0', 'layer2.0.downsample'],
    );
    assert.deepEqual(paths(groupsHolding(tree, 0)), []);
    // Zoomed into layer2, the axis spans its layers and its bands are its blocks.
    const range = axisRange(layers, 'layer2');
    assert.deepEqual(range, { from: 18, to: 33 });
    assert.deepEqual(paths(partition(tree, range)), ['layer2.0', 'layer2.1']);
    assert.ok(holds(layer2, 20) && !holds(layer2, 17));
  });

  it('keeps a VGG’s `features`, plain layers without modules, one block even at 31 layers of 39', () => {
    const names = [...Array.from({ length: 31 }, (_, i) => `features.${i}`), 'avgpool', ...Array.from({ length: 7 }, (_, i) => `classifier.${i}`)];
    const layers: LayerInfo[] = names.map((name) => ({ name, kind: 'other', shape: [4] }));
    const tree = archTree(layers);
    assert.deepEqual(paths(partition(tree, all(layers.length))), ['features', 'avgpool', 'classifier']);
    // Zoomed into it, its layers are the axis and no band divides them.
    assert.deepEqual(axisRange(layers, 'features'), { from: 0, to: 30 });
    assert.ok(partition(tree, { from: 0, to: 30 }).every((n) => !isGroup(n)));
  });

  it('opens a MobileNetV2’s all-but-one-layer `features` into its blocks, and names each band with what fits inside it', () => {
    const layers = mobileNetV2Layers();
    assert.equal(layers.length, 140);
    const tree = archTree(layers);
    assert.deepEqual(paths(tree), ['features', 'classifier.1']);
    const top = partition(tree, all(layers.length));
    assert.deepEqual(paths(top), [
      'features.0',
      'features.1.conv',
      ...Array.from({ length: 16 }, (_, k) => `features.${k + 2}.conv`),
      'features.18',
      'classifier.1',
    ]);
    // The blocks tile the layers in order.
    let next = 0;
    for (const node of top) {
      assert.equal(node.from, next);
      next = node.to + 1;
    }
    assert.equal(next, layers.length);
    // Every band's name fits inside its band: at 140 layers, the short form ("7" of features.7.conv),
    // and none for features.0, three layers narrow.
    const unit = CUBE.lBlocks.w / layers.length;
    const names = top.filter(isGroup).map((n) => fittingLabel([n.path, ...shortLabels(n, tree)], (n.to - n.from + 1) * unit));
    assert.deepEqual(names.slice(0, 4), [undefined, '1', '2', '3']);
    for (const [k, n] of top.filter(isGroup).entries()) {
      const name = names[k];
      if (name !== undefined) assert.ok(name.length * 7 + 6 <= (n.to - n.from + 1) * unit, `${name} overflows its band`);
    }
    // Zoomed into one block, its sub-blocks are named in full.
    const range = axisRange(layers, 'features.7.conv');
    assert.deepEqual(range, { from: 48, to: 55 });
    const inner = partition(tree, range).filter(isGroup);
    assert.deepEqual(paths(inner), ['features.7.conv.0', 'features.7.conv.1']);
    assert.deepEqual(
      inner.map((n) => fittingLabel([n.path, ...shortLabels(n, tree)], (CUBE.lBlocks.w * n.count) / (range.to - range.from + 1))),
      ['features.7.conv.0', 'features.7.conv.1'],
    );
  });
});

import * as assert from 'node:assert/strict';
import type { RunEntry } from '../../src/extension/runs/runCatalog';
import { FLAT_MAX_LAYERS } from '../../src/extension/runs/layerGroups';
import { childrenOf, layerNodeOf, parentOf, presentNode, TREE_CONTEXT, type RunsTreeNode } from '../../src/extension/runs/runsTreeModel';
import type { LayerInfo } from '../../src/shared/runFormat';
import { makeRun } from './extensionFixtures';

function runNode(entry: RunEntry): RunsTreeNode {
  return { kind: 'run', entry };
}

function loadedRun(dir = '/work/runs/mnist', name = 'mnist', incompleteEpochs: number[] = []): RunsTreeNode {
  return runNode({ dir, state: { kind: 'loaded', info: makeRun({ dir, name, incompleteEpochs }) } });
}

function labels(nodes: readonly RunsTreeNode[]): string[] {
  return nodes.map((n) => presentNode(n).label);
}

function group(run: RunsTreeNode, label: string): RunsTreeNode {
  const found = childrenOf(run).find((n) => presentNode(n).label === label);
  assert.ok(found, `no ${label} group`);
  return found;
}

/** Every node of the tree, expanding everything (what a user expanding all would make VS Code ask for). */
function walk(nodes: readonly RunsTreeNode[]): RunsTreeNode[] {
  return nodes.flatMap((n) => [n, ...walk(childrenOf(n))]);
}

describe('extension runs tree model', () => {
  it('shows a loaded run by name with its epoch and layer counts', () => {
    const p = presentNode(loadedRun());
    assert.equal(p.label, 'mnist');
    assert.equal(p.description, '3 epochs · 3 layers');
    assert.equal(p.contextValue, TREE_CONTEXT.run);
    assert.equal(p.expandable, true);
    assert.match(p.tooltip ?? '', /\/work\/runs\/mnist/);
    assert.match(p.tooltip ?? '', /LeNet \(pytorch\)/);
  });

  it('groups a run into Layers, Epochs and Classes', () => {
    assert.deepEqual(labels(childrenOf(loadedRun())), ['Layers', 'Epochs', 'Classes']);
  });

  it('shows each layer by name with kind and shape, and its channels only when expanded', () => {
    const layers = childrenOf(group(loadedRun(), 'Layers'));
    assert.deepEqual(labels(layers), ['features.0', 'features.2', 'classifier.1']);
    const conv = presentNode(layers[0]);
    assert.equal(conv.description, 'conv 16×28×28');
    assert.equal(conv.contextValue, TREE_CONTEXT.layer);
    assert.equal(conv.expandable, true);
    assert.match(conv.tooltip ?? '', /model\.py:12/);

    const channels = childrenOf(layers[0]);
    assert.equal(channels.length, 16);
    assert.equal(presentNode(channels[0]).label, 'channel 0');
    assert.equal(presentNode(channels[15]).label, 'channel 15');
    assert.equal(presentNode(channels[3]).description, '28×28');
    assert.equal(presentNode(channels[3]).contextValue, TREE_CONTEXT.channel);
    assert.equal(presentNode(channels[3]).expandable, false);

    const dense = childrenOf(layers[2]);
    assert.equal(dense.length, 512);
    assert.equal(presentNode(dense[511]).label, 'channel 511');
    assert.equal(presentNode(dense[511]).description, undefined);
  });

  it('lists finished epochs with their metrics, then the epochs being written', () => {
    const epochs = childrenOf(group(loadedRun('/r', 'r', [4, 3]), 'Epochs'));
    assert.deepEqual(labels(epochs), ['epoch 0', 'epoch 1', 'epoch 2', 'epoch 3 (being written)', 'epoch 4 (being written)']);
    assert.equal(presentNode(epochs[1]).description, 'loss 0.123 · acc 97.1%');
    assert.equal(presentNode(epochs[1]).contextValue, TREE_CONTEXT.epoch);
    assert.match(presentNode(epochs[1]).tooltip ?? '', /activations \+ checkpoint/);
    assert.equal(presentNode(epochs[2]).description, 'loss non-finite · acc 10.0%');
    assert.equal(presentNode(epochs[3]).contextValue, TREE_CONTEXT.incompleteEpoch);
    assert.equal(presentNode(group(loadedRun('/r', 'r', [4, 3]), 'Epochs')).description, '3 (+2 being written)');
  });

  it('lists the classes with their label numbers', () => {
    const classes = childrenOf(group(loadedRun(), 'Classes'));
    assert.deepEqual(labels(classes), ['zero', 'one', 'two']);
    assert.equal(presentNode(classes[2]).description, 'label 2');
  });

  it('shows a run whose manifest is invalid with an error icon and the error as tooltip, and no children', () => {
    const failed = runNode({
      dir: '/work/runs/broken',
      state: {
        kind: 'failed',
        error: { code: 'invalid-manifest', message: 'layers[0].kind: "conv3d" is not one of conv, pool', file: '/work/runs/broken/cnnslicer.json' },
      },
    });
    const p = presentNode(failed);
    assert.equal(p.label, 'broken');
    assert.deepEqual(p.icon, { id: 'error', color: 'errorForeground' });
    assert.equal(p.tooltip, '/work/runs/broken/cnnslicer.json: layers[0].kind: "conv3d" is not one of conv, pool');
    assert.equal(p.description, 'invalid manifest');
    assert.equal(p.contextValue, TREE_CONTEXT.runFailed);
    assert.equal(p.expandable, false);
    assert.deepEqual(childrenOf(failed), []);
  });

  it('shows a run still loading under its folder name, with no children', () => {
    const loading = runNode({ dir: '/work/runs/new-run', state: { kind: 'loading' } });
    assert.equal(presentNode(loading).label, 'new-run');
    assert.equal(presentNode(loading).contextValue, TREE_CONTEXT.runLoading);
    assert.deepEqual(childrenOf(loading), []);
  });

  it('keeps names from a run verbatim, markup included, since tree labels are plain text', () => {
    const hostile = '<img src=x onerror=alert(1)> **bold** [x](command:evil)';
    const info = makeRun({ name: hostile, manifest: { layers: [{ name: hostile, kind: 'conv', shape: [2, 3, 3] }], classes: [hostile] } });
    const run = runNode({ dir: '/r', state: { kind: 'loaded', info } });
    assert.equal(presentNode(run).label, hostile);
    assert.equal(presentNode(childrenOf(group(run, 'Layers'))[0]).label, hostile);
    assert.equal(presentNode(childrenOf(group(run, 'Classes'))[0]).label, hostile);
  });

  it('gives every node of a fully expanded tree a unique id, even across runs that share names', () => {
    const withDuplicateClasses = makeRun({ dir: '/b', name: 'mnist', incompleteEpochs: [3], manifest: { classes: ['cat', 'cat'] } });
    const roots = [
      loadedRun('/a', 'mnist', [3]),
      runNode({ dir: '/b', state: { kind: 'loaded', info: withDuplicateClasses } }),
      runNode({ dir: '/c', state: { kind: 'loading' } }),
    ];
    const ids = walk(roots).map((n) => presentNode(n).id);
    assert.equal(new Set(ids).size, ids.length);
    assert.ok(ids.length > 1000, `expected the channels of both runs, got ${ids.length} nodes`);
  });

  it('gives a node the same id when the run is reloaded, so expansion survives a refresh', () => {
    const before = walk([loadedRun('/a', 'mnist')]).map((n) => presentNode(n).id);
    const after = walk([loadedRun('/a', 'mnist')]).map((n) => presentNode(n).id);
    assert.deepEqual(after, before);
  });

  describe('layers of a torchvision-sized run, grouped by module path', () => {
    // A ResNet-18 as the probe records it with layers="blocks": stem, two blocks of layer1 with
    // their outputs (kind "block"), the reused relu's second call, then the head.
    const names = [
      'conv1',
      'bn1',
      'relu',
      'layer1.0.conv1',
      'layer1.0.bn1',
      'layer1.0.relu',
      'layer1.0.conv2',
      'layer1.0.bn2',
      'layer1.0.relu#1',
      'layer1.0',
      'layer1.1.conv1',
      'layer1.1.bn1',
      'layer1.1.relu',
      'layer1.1.conv2',
      'layer1.1.bn2',
      'layer1.1.relu#1',
      'layer1.1',
      'layer2.0.downsample.0',
      'layer2.0.downsample.1',
      'avgpool',
      'fc',
    ];
    const layers: LayerInfo[] = names.map((name) => ({
      name,
      kind: name === 'fc' ? 'linear' : /^layer\d\.\d$/.test(name) ? 'block' : name.includes('conv') || name.includes('downsample.0') ? 'conv' : 'other',
      shape: name === 'fc' ? [10] : [64, 8, 8],
    }));
    const info = makeRun({ dir: '/r', name: 'resnet', manifest: { layers } });
    const entry: RunEntry = { dir: '/r', state: { kind: 'loaded', info } };
    const entryOf = (dir: string): RunEntry | undefined => (dir === '/r' ? entry : undefined);
    const layersGroup = group(runNode(entry), 'Layers');

    it('shows modules as collapsible rows in the model order, and merges a chain of one child', () => {
      assert.ok(layers.length > FLAT_MAX_LAYERS);
      const top = childrenOf(layersGroup);
      assert.deepEqual(labels(top), ['conv1', 'bn1', 'relu', 'layer1', 'layer2.0.downsample', 'avgpool', 'fc']);
      const layer1 = presentNode(top[3]);
      assert.equal(layer1.contextValue, TREE_CONTEXT.module);
      assert.equal(layer1.expandable, true);
      assert.equal(layer1.description, '14 layers');
      assert.deepEqual(labels(childrenOf(top[4])), ['0', '1']);
    });

    it("makes a block output its group's own row, with its channels and its sub-layers under it, full names in tooltips", () => {
      const block = childrenOf(childrenOf(layersGroup)[3])[0];
      const p = presentNode(block);
      assert.equal(p.label, '0');
      assert.equal(p.contextValue, TREE_CONTEXT.layer);
      assert.match(p.tooltip ?? '', /^layer1\.0\n/);
      const under = childrenOf(block);
      assert.deepEqual(labels(under), ['Channels', 'conv1', 'bn1', 'relu', 'conv2', 'bn2', 'relu#1']);
      assert.equal(childrenOf(under[0]).length, 64);
      assert.match(presentNode(under[6]).tooltip ?? '', /^layer1\.0\.relu#1\n/);
    });

    it('walks back up from every node to the node that lists it, with the same row, for reveal', () => {
      const nodes = walk([runNode(entry)]);
      const listedBy = new Map<string, string>();
      const labelOf = new Map<string, string>();
      for (const n of nodes) {
        labelOf.set(presentNode(n).id, presentNode(n).label);
        for (const c of childrenOf(n)) listedBy.set(presentNode(c).id, presentNode(n).id);
      }
      for (const n of nodes.filter((m) => m.kind !== 'run')) {
        const parent = parentOf(n, entryOf);
        assert.ok(parent, `${presentNode(n).id} has a parent`);
        const p = presentNode(parent);
        assert.equal(p.id, listedBy.get(presentNode(n).id), `parent of ${presentNode(n).id}`);
        assert.equal(p.label, labelOf.get(p.id));
      }
      const revealed = layerNodeOf(entry, 'layer1.1.relu#1');
      assert.ok(revealed);
      assert.equal(presentNode(revealed).label, 'relu#1');
    });
  });
});

// The TF.js networks in-process on the cpu backend: the forward-convolution gradients the pure-JS
// backends train with equal TF.js's own, the architectures record the PyTorch probe's layers, and
// the options parse as the Python trainer's do.
import * as assert from 'node:assert/strict';
import type * as tfNamespace from '@tensorflow/tfjs';
import { ARCHS, forwardGradConv, recordedLayers, type TF } from '../../src/trainer/tfjs/model';
import { OptionError, parseOptions } from '../../src/trainer/tfjs/options';
import { splitEvenly, stratifiedCounts } from '../../src/trainer/tfjs/data';

describe('the TF.js trainer’s networks and options', function () {
  this.timeout(30_000);
  let tf: TF;
  before(async function () {
    // Loaded as the trainer loads it (backends.ts), after its settings.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    tf = require('@tensorflow/tfjs') as TF;
    tf.env().set('PROD', true);
    await tf.setBackend('cpu');
  });

  for (const pad of [0, 1]) {
    it(`computes a convolution's input and filter gradients as forward convolutions, equal to TF.js's own (pad ${pad})`, function () {
      const x = tf.randomNormal([3, 7, 6, 4], 0, 1, 'float32', 1) as tfNamespace.Tensor4D;
      const w = tf.randomNormal([3, 3, 4, 5], 0, 1, 'float32', 2) as tfNamespace.Tensor4D;
      const outShape = [3, 7 + 2 * pad - 2, 6 + 2 * pad - 2, 5];
      const r = tf.randomNormal(outShape, 0, 1, 'float32', 3);
      const custom = forwardGradConv(tf, 3, pad, true);
      const mine = tf.grads((a: tfNamespace.Tensor, b: tfNamespace.Tensor) => tf.sum(tf.mul(custom(a as tfNamespace.Tensor4D, b as tfNamespace.Tensor4D), r)))([
        x,
        w,
      ]);
      const theirs = tf.grads((a: tfNamespace.Tensor, b: tfNamespace.Tensor) =>
        tf.sum(tf.mul(tf.conv2d(a as tfNamespace.Tensor4D, b as tfNamespace.Tensor4D, 1, pad === 0 ? 'valid' : pad), r)),
      )([x, w]);
      for (let i = 0; i < 2; i++) {
        assert.deepEqual(mine[i].shape, theirs[i].shape);
        const d = tf.max(tf.abs(tf.sub(mine[i], theirs[i]))).dataSync()[0];
        assert.ok(d < 1e-4, `${i === 0 ? 'input' : 'filter'} gradient differs by ${d}`);
      }
      tf.dispose([x, w, r, ...mine, ...theirs]);
    });
  }

  it('records the PyTorch probe’s layers for the paper MNIST CNN (dropout and flatten left out)', function () {
    assert.deepEqual(
      recordedLayers(ARCHS.paper).map((l) => [l.name, l.kind, l.op, l.shape.join('x')]),
      [
        ['conv1', 'conv', 'Conv2d', '32x26x26'],
        ['relu1', 'activation', 'ReLU', '32x26x26'],
        ['conv2', 'conv', 'Conv2d', '64x24x24'],
        ['relu2', 'activation', 'ReLU', '64x24x24'],
        ['pool', 'pool', 'MaxPool2d', '64x12x12'],
        ['fc1', 'linear', 'Linear', '128'],
        ['relu3', 'activation', 'ReLU', '128'],
        ['fc2', 'linear', 'Linear', '10'],
      ],
    );
  });

  it('parses the Python trainer’s options with its defaults and messages', function () {
    const o = parseOptions(['--out', 'r']);
    assert.equal(o.dataset, 'mnist');
    assert.equal(o.arch, 'paper');
    assert.equal(o.perClass, 500);
    assert.equal(o.epochs, 20);
    assert.equal(o.batchSize, 64);
    assert.equal(o.lr, 0.001);
    assert.equal(o.probe, 1000);
    assert.equal(o.store, 'checkpoint');
    assert.equal(o.backend, 'auto');
    assert.equal(o.maxMinutes, 10);
    assert.equal(parseOptions(['--dataset', 'cifar10', '--data', 'd', '--out', 'r']).arch, 'cifar');
    assert.deepEqual(parseOptions(['--out', 'r', '--module-path', 'a', '--module-path', 'b']).modulePaths, ['a', 'b']);
    assert.equal(parseOptions(['--out', 'r', '--per-class', 'all']).perClass, 'all');
    assert.throws(() => parseOptions(['--out', 'r', '--per-class', '0']), /--per-class: '0' is neither a positive number nor all/);
    assert.throws(() => parseOptions(['--out', 'r', '--probe', '20000']), /--probe is at most 10000/);
    assert.throws(() => parseOptions(['--out', 'r', '--dataset', 'cifar10', '--per-class', '6000']), /at most 5000 for CIFAR-10/);
    assert.throws(
      () => parseOptions(['--out', 'r', '--backend', 'tpu']),
      (e: unknown) => e instanceof OptionError && /invalid choice: 'tpu'/.test(e.message),
    );
    assert.throws(() => parseOptions(['--arch', 'small']), /required: --out/);
    assert.throws(() => parseOptions(['--out', 'r', '--frobnicate']), /unrecognized arguments: --frobnicate/);
  });

  it('draws the probe set evenly over the classes, grouped by class, the same for the same seed', function () {
    const labels = Array.from({ length: 200 }, (_, i) => (i * 7) % 10);
    assert.deepEqual(splitEvenly(25, 10), [3, 3, 3, 3, 3, 2, 2, 2, 2, 2]);
    const a = stratifiedCounts(labels, splitEvenly(25, 10), 5, 'test');
    assert.deepEqual(
      Array.from(a, (i) => labels[i]),
      [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9],
    );
    assert.deepEqual(a, stratifiedCounts(labels, splitEvenly(25, 10), 5, 'test'));
    assert.notDeepEqual(a, stratifiedCounts(labels, splitEvenly(25, 10), 6, 'test'));
    assert.throws(() => stratifiedCounts(labels, [21], 0, 'test set'), /class 0 of the test set has 20 images, 21 were asked for/);
  });
});

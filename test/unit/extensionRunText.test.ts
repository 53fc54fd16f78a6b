import * as assert from 'node:assert/strict';
import {
  channelCount,
  describeEpochMetrics,
  describeLayer,
  describeRunContents,
  epochStorage,
  formatAccuracy,
  formatNumber,
  metricEntries,
  NON_FINITE_TEXT,
} from '../../src/extension/runs/runText';
import { makeRun, MNIST_EPOCHS, MNIST_LAYERS } from './extensionFixtures';

describe('extension run text', () => {
  it('describes a run as "N epochs · K layers", with singulars', () => {
    assert.equal(describeRunContents(makeRun()), '3 epochs · 3 layers');
    const one = makeRun({ manifest: { epochs: [MNIST_EPOCHS[0]], layers: [MNIST_LAYERS[0]] } });
    assert.equal(describeRunContents(one), '1 epoch · 1 layer');
    assert.equal(describeRunContents(makeRun({ manifest: { epochs: [] } })), '0 epochs · 3 layers');
  });

  it('describes a layer by kind and shape', () => {
    assert.equal(describeLayer(MNIST_LAYERS[0]), 'conv 16×28×28');
    assert.equal(describeLayer(MNIST_LAYERS[2]), 'linear 512');
  });

  it('counts channels as the first per-sample dimension, for maps and dense layers alike', () => {
    assert.equal(channelCount(MNIST_LAYERS[0]), 16);
    assert.equal(channelCount(MNIST_LAYERS[2]), 512);
    assert.equal(channelCount({ name: 'x', kind: 'other', shape: [] }), 0);
  });

  it('formats numbers with three significant digits and no padding', () => {
    assert.equal(formatNumber(0.123456), '0.123');
    assert.equal(formatNumber(2.302585), '2.3');
    assert.equal(formatNumber(1234.5), '1230');
    assert.equal(formatNumber(0.000123456), '0.000123');
    assert.equal(formatNumber(1.23456e-7), '1.23e-7');
    assert.equal(formatNumber(0), '0');
  });

  it('shows fractional accuracy as a percentage and anything else as a bare number', () => {
    assert.equal(formatAccuracy(0.971), '97.1%');
    assert.equal(formatAccuracy(1), '100.0%');
    assert.equal(formatAccuracy(0), '0.0%');
    assert.equal(formatAccuracy(97.1), '97.1');
  });

  it('lists loss and accuracy first, the other metrics by name, and shows non-finite values', () => {
    const entries = metricEntries({ zeta: 1, accuracy: 0.5, alpha: 2, loss: undefined });
    assert.deepEqual(entries, [
      { name: 'loss', text: NON_FINITE_TEXT },
      { name: 'accuracy', text: '50.0%' },
      { name: 'alpha', text: '2' },
      { name: 'zeta', text: '1' },
    ]);
  });

  it('describes an epoch by loss and accuracy only', () => {
    assert.equal(describeEpochMetrics({ loss: 0.123, accuracy: 0.971, lr: 0.01 }), 'loss 0.123 · acc 97.1%');
    assert.equal(describeEpochMetrics({ loss: 0.5 }), 'loss 0.5');
    assert.equal(describeEpochMetrics({ accuracy: undefined }), `acc ${NON_FINITE_TEXT}`);
    assert.equal(describeEpochMetrics({ lr: 0.01 }), '');
  });

  it('names where an epoch is stored', () => {
    assert.equal(epochStorage(MNIST_EPOCHS[0]), 'activations (float16)');
    assert.equal(epochStorage(MNIST_EPOCHS[1]), 'activations + checkpoint');
    assert.equal(epochStorage(MNIST_EPOCHS[2]), 'checkpoint');
  });
});

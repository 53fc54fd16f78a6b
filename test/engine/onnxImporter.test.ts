import assert from 'node:assert/strict';
import { promises as fs, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { deflateSync } from 'node:zlib';
import { onnx } from 'onnx-proto';
import { analyzeRun } from '../../src/engine/analysis/analyzeRun';
import { main } from '../../src/engine/cli';
import { decodeImage, decodePng, loadImageFolder } from '../../src/core/data/imageFolder';
import { discoverLayers } from '../../src/engine/importer/layerDiscovery';
import { epochFromName, importOnnx, resolveModels } from '../../src/engine/importer/onnxImporter';
import { GraphBuilder, floatAttr } from '../../src/core/onnx/graphBuilder';
import { createSession, makeTensor } from '../../src/engine/onnx/ortRuntime';
import { disposeSessions } from '../../src/engine/run/checkpoint';
import { RunReader } from '../../src/engine/run/runReader';
import { describePythonSearch, findPython, runPython } from '../support/python';
import { tempDir } from '../support/runFixtures';
import { assertClose, buildTinyCnn, rejectsWith, seededRandom, tinyCnnReference, tinyCnnWeights, type TinyCnnWeights } from '../support/tinyCnn';

// --- A minimal PNG encoder, independent of the decoder under test ---------------------------

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/**
 * An 8-bit PNG of interleaved `pixels` (`spp` samples per pixel: 1 grey, 2 grey+alpha, 3 RGB,
 * 4 RGBA). Row y uses filter y mod 5, so every filter type of the decoder is exercised.
 */
function encodePng(
  width: number,
  height: number,
  spp: 1 | 2 | 3 | 4,
  pixels: Uint8Array,
  header: { depth?: number; colorType?: number; interlace?: number } = {},
): Buffer {
  const stride = width * spp;
  const raw = new Uint8Array(height * (stride + 1));
  const at = (y: number, x: number): number => (y < 0 || x < 0 ? 0 : pixels[y * stride + x]);
  const paeth = (a: number, b: number, c: number): number => {
    const p = a + b - c;
    const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
  };
  for (let y = 0; y < height; y++) {
    const f = y % 5;
    raw[y * (stride + 1)] = f;
    for (let x = 0; x < stride; x++) {
      const [v, a, b, c] = [at(y, x), at(y, x - spp), at(y - 1, x), at(y - 1, x - spp)];
      const pred = [0, a, b, (a + b) >> 1, paeth(a, b, c)][f];
      raw[y * (stride + 1) + 1 + x] = (v - pred) & 0xff;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = header.depth ?? 8;
  ihdr[9] = header.colorType ?? { 1: 0, 2: 4, 3: 2, 4: 6 }[spp];
  ihdr[12] = header.interlace ?? 0;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

function randomBytes(rand: () => number, n: number): Uint8Array {
  return Uint8Array.from({ length: n }, () => Math.floor(rand() * 256));
}

/** A class-per-folder dataset of 8×8 grey PNGs: `perClass` images for each of 3 classes. */
function writeImageFolder(dir: string, perClass: number, seed = 5): void {
  const rand = seededRandom(seed);
  for (const cls of ['cat', 'dog', 'eel']) {
    mkdirSync(path.join(dir, cls), { recursive: true });
    for (let i = 0; i < perClass; i++) writeFileSync(path.join(dir, cls, `img${i}.png`), encodePng(8, 8, 1, randomBytes(rand, 64)));
  }
}

/** The tiny CNN as an outside exporter would write it: odd tensor names, only a Softmax output. */
function buildExportedTinyCnn(w: TinyCnnWeights, opts: { customOp?: boolean; batch?: number | string } = {}): Uint8Array {
  const g = new GraphBuilder('exported')
    .input('x.1', 'float32', [opts.batch ?? 1, 1, 8, 8])
    .initializer('conv1.weight', w.convW, [4, 1, 3, 3])
    .initializer('conv1.bias', w.convB, [4])
    .initializer('fc.weight', w.fcW, [3, 64])
    .initializer('fc.bias', w.fcB, [3])
    .node('Conv', ['x.1', 'conv1.weight', 'conv1.bias'], ['/conv1/Conv_output_0'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] })
    .node('Relu', ['/conv1/Conv_output_0'], ['/relu/Relu_output_0'])
    .node('MaxPool', ['/relu/Relu_output_0'], ['/pool/MaxPool_output_0'], { kernel_shape: [2, 2], strides: [2, 2] });
  if (opts.customOp) g.node('FancyNorm', ['/pool/MaxPool_output_0'], ['fancy'], {}, { domain: 'com.example' });
  return g
    .node('Flatten', [opts.customOp ? 'fancy' : '/pool/MaxPool_output_0'], ['flat'], { axis: 1 })
    .node('Gemm', ['flat', 'fc.weight', 'fc.bias'], ['scores'], { transB: 1, alpha: floatAttr(1), beta: floatAttr(1) })
    .node('Softmax', ['scores'], ['probs'], { axis: 1 })
    .output('probs', [opts.batch ?? 1, 3])
    .toModelBytes();
}

describe('image folder datasets', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  it('decodes grey, grey+alpha, RGB and RGBA PNGs with every row filter, to channel-major planes', () => {
    const rand = seededRandom(2);
    for (const spp of [1, 2, 3, 4] as const) {
      const [w, h] = [7, 11];
      const px = randomBytes(rand, w * h * spp);
      const img = decodePng(encodePng(w, h, spp, px), 'x.png');
      const channels = spp <= 2 ? 1 : 3;
      assert.deepEqual([img.width, img.height, img.channels], [w, h, channels]);
      for (let c = 0; c < channels; c++)
        for (let p = 0; p < w * h; p++) assert.equal(img.planes[c * w * h + p], px[p * spp + c], `spp ${spp} channel ${c} pixel ${p}`);
    }
  });

  it('refuses PNG variants it does not decode, and damaged files, by name', () => {
    const px = new Uint8Array(16);
    assert.throws(() => decodePng(encodePng(4, 4, 1, px, { colorType: 3 }), 'p.png'), /palette.*not supported/);
    assert.throws(() => decodePng(encodePng(4, 4, 1, px, { depth: 16 }), 'p.png'), /16-bit PNGs are not supported/);
    assert.throws(() => decodePng(encodePng(4, 4, 1, px, { interlace: 1 }), 'p.png'), /interlaced/);
    const good = encodePng(4, 4, 1, px);
    assert.throws(() => decodePng(good.subarray(0, good.length - 20), 'p.png'), /truncated PNG/);
    assert.throws(() => decodePng(new Uint8Array([1, 2, 3]), 'p.png'), /not a PNG/);
    assert.throws(() => decodeImage(good, 'p.jpg'), /unsupported image type ".jpg"/);
  });

  it('decodes binary PGM and PPM, and refuses plain-text Netpbm', () => {
    const pgm = Buffer.concat([Buffer.from('P5\n# a comment\n3 2\n255\n'), Buffer.from([0, 1, 2, 3, 4, 5])]);
    assert.deepEqual(Array.from(decodeImage(pgm, 'a.pgm').planes), [0, 1, 2, 3, 4, 5]);
    const ppm = Buffer.concat([Buffer.from('P6 2 1 255\n'), Buffer.from([10, 20, 30, 40, 50, 60])]);
    const img = decodeImage(ppm, 'a.ppm');
    assert.equal(img.channels, 3);
    assert.deepEqual(Array.from(img.planes), [10, 40, 20, 50, 30, 60]);
    assert.throws(() => decodeImage(Buffer.from('P2 1 1 255\n7\n'), 'a.pgm'), /P2.*not supported/);
    assert.throws(() => decodeImage(pgm.subarray(0, pgm.length - 1), 'a.pgm'), /needs 6 pixel bytes/);
  });

  it('reads classes from sorted sub-folder names and refuses images of different sizes', async () => {
    writeImageFolder(dir, 2);
    const ds = await loadImageFolder(dir);
    assert.deepEqual(ds.classNames, ['cat', 'dog', 'eel']);
    assert.deepEqual(Array.from(ds.labels), [0, 0, 1, 1, 2, 2]);
    assert.deepEqual([ds.channels, ds.height, ds.width, ds.count], [1, 8, 8, 6]);
    writeFileSync(path.join(dir, 'dog', 'big.png'), encodePng(9, 8, 1, new Uint8Array(72)));
    await rejectsWith(loadImageFolder(dir), 'bad-request', 'big.png', '9 × 8', 'one size');
  });
});

describe('importing outside ONNX models', function () {
  this.timeout(120_000);
  let root: string;
  let images: string;
  before(() => {
    root = tempDir();
    images = path.join(root, 'images');
    writeImageFolder(images, 5);
  });
  after(async () => {
    await disposeSessions();
    await fs.rm(root, { recursive: true, force: true });
  });

  it('discovers conv, activation and pool layers and takes the Softmax input as the logits', async () => {
    const rand = seededRandom(1);
    const samples = Float32Array.from({ length: 2 * 64 }, () => rand());
    const found = await discoverLayers(buildExportedTinyCnn(tinyCnnWeights()), 'm.onnx', { inputShape: [1, 8, 8], samples, classes: 3, datasetName: 'test' });
    assert.deepEqual(
      found.layers.map((l) => [l.name, l.kind, l.shape, l.op]),
      [
        ['conv1.Conv', 'conv', [4, 8, 8], 'Conv'],
        ['relu.Relu', 'activation', [4, 8, 8], 'Relu'],
        ['pool.MaxPool', 'pool', [4, 4, 4], 'MaxPool'],
      ],
    );
    const model = onnx.ModelProto.decode(found.checkpoint);
    assert.deepEqual(
      model.graph!.output!.map((o) => o.name),
      [...found.layers.map((l) => l.name), 'logits'],
    );
    // The exported batch size of 1 is made dynamic, as a checkpoint requires.
    assert.equal(model.graph!.input![0].type!.tensorType!.shape!.dim![0].dimParam, 'batch');
  });

  it('writes a run whose every layer slices equal to running the model directly', async () => {
    const w = tinyCnnWeights(7);
    const modelFile = path.join(root, 'tiny.onnx');
    writeFileSync(modelFile, buildExportedTinyCnn(w));
    const out = path.join(root, 'run-images');
    const result = await importOnnx({ models: [modelFile], dataset: { kind: 'imageFolder', dir: images }, probeCount: 12, seed: 3, out });
    assert.deepEqual(result.epochs, [0]);
    const reader = await RunReader.open(out);
    try {
      const m = reader.manifest;
      assert.equal(m.complete, true);
      assert.deepEqual(m.classes, ['cat', 'dog', 'eel']);
      assert.deepEqual(m.probe.inputShape, [1, 8, 8]);
      assert.equal(m.probe.count, 12);
      assert.deepEqual(Array.from(await reader.labels()), [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
      const n = m.probe.count;
      const inputs = await reader.probeInputs(Array.from({ length: n }, (_, i) => i));
      // The probe inputs are the PNG pixels / 255.
      const ds = await loadImageFolder(images);
      const probeLabels = await reader.labels();
      for (let r = 0; r < n; r++) {
        const row = inputs.subarray(r * 64, (r + 1) * 64);
        const match = Array.from({ length: ds.count }, (_, i) => i).find((i) => row.every((v, p) => v === Math.fround(ds.pixels[i * 64 + p] / 255)));
        assert.ok(match !== undefined, `probe sample ${r} is no dataset image / 255`);
        assert.equal(probeLabels[r], ds.labels[match]);
      }

      const direct = await createSession(buildTinyCnn(w), 'direct');
      const expected = await direct.run({ input: makeTensor(inputs, [n, 1, 8, 8]) });
      const ref = tinyCnnReference(w, inputs, n);
      const names = m.layers.map((l) => l.name);
      for (const [layer, tiny] of [
        [names[0], 'conv1'],
        [names[1], 'relu1'],
        [names[2], 'pool1'],
        ['logits', 'logits'],
      ] as const) {
        const s = await reader.slice({ samples: { kind: 'all' }, layer, channel: 'all', epoch: 0 });
        assert.equal(s.source, 'checkpoint');
        assertClose(s.data, expected[tiny].data as Float32Array, 1e-6, `${layer} vs onnxruntime`);
        assertClose(s.data, ref[tiny], 1e-4, `${layer} vs reference`);
      }
      await direct.release();

      // Probe-set metrics from the logits.
      let correct = 0;
      let loss = 0;
      const labels = await reader.labels();
      for (let i = 0; i < n; i++) {
        const z = Array.from(ref.logits.subarray(i * 3, i * 3 + 3));
        const max = Math.max(...z);
        if (z.indexOf(max) === labels[i]) correct++;
        loss += max + Math.log(z.reduce((a, v) => a + Math.exp(v - max), 0)) - z[labels[i]];
      }
      const metrics = m.epochs[0].metrics!;
      assert.equal(metrics.accuracy, correct / n);
      assert.ok(Math.abs((metrics.loss as number) - loss / n) < 1e-5, `loss ${metrics.loss} vs ${loss / n}`);
    } finally {
      await reader.close();
    }
  });

  it('imports a folder of per-epoch models in the order of the epoch numbers in their names', async () => {
    const folder = path.join(root, 'epochs');
    mkdirSync(folder);
    const weights = new Map([
      [10, tinyCnnWeights(21)],
      [2, tinyCnnWeights(22)],
      [1, tinyCnnWeights(23)],
    ]);
    for (const [epoch, w] of weights) writeFileSync(path.join(folder, `epoch_${epoch}.onnx`), buildExportedTinyCnn(w, { batch: 'N' }));
    writeFileSync(path.join(folder, 'notes.txt'), 'not a model');
    const out = path.join(root, 'run-epochs');
    const result = await importOnnx({ models: [folder], dataset: { kind: 'imageFolder', dir: images }, probeCount: 6, out });
    assert.deepEqual(result.epochs, [1, 2, 10]);
    const reader = await RunReader.open(out);
    try {
      assert.deepEqual(
        reader.manifest.epochs.map((e) => e.epoch),
        [1, 2, 10],
      );
      const inputs = await reader.probeInputs([0, 1, 2, 3, 4, 5]);
      for (const [epoch, w] of weights) {
        const s = await reader.slice({ samples: { kind: 'all' }, layer: 'logits', channel: 'all', epoch });
        assertClose(s.data, tinyCnnReference(w, inputs, 6).logits, 1e-4, `logits at epoch ${epoch}`);
      }
    } finally {
      await reader.close();
    }
  });

  it('reads epoch numbers from names and refuses ambiguous or repeated ones', async () => {
    assert.equal(epochFromName('/a/epoch_3.onnx'), 3);
    assert.equal(epochFromName('model-0007.onnx'), 7);
    assert.equal(epochFromName('resnet18_ep12.onnx'), 12);
    assert.equal(epochFromName('resnet18_v2.onnx'), undefined);
    const folder = path.join(root, 'ambiguous');
    mkdirSync(folder);
    writeFileSync(path.join(folder, 'net5_v2.onnx'), '');
    writeFileSync(path.join(folder, 'net_1.onnx'), '');
    await rejectsWith(resolveModels([folder]), 'bad-request', 'net5_v2.onnx', 'cannot tell the epoch');
    await fs.rm(path.join(folder, 'net5_v2.onnx'));
    writeFileSync(path.join(folder, 'net-01.onnx'), '');
    await rejectsWith(resolveModels([folder]), 'bad-request', 'both name epoch 1');
    await rejectsWith(resolveModels([path.join(root, 'missing.onnx')]), 'not-found', 'missing.onnx');
  });

  it('refuses a model with an operator onnxruntime cannot run, naming it', async () => {
    const file = path.join(root, 'custom.onnx');
    writeFileSync(file, buildExportedTinyCnn(tinyCnnWeights(), { customOp: true }));
    await rejectsWith(
      importOnnx({ models: [file], dataset: { kind: 'imageFolder', dir: images }, probeCount: 3, out: path.join(root, 'run-custom') }),
      'model-error',
      'FancyNorm',
      'com.example',
      'custom.onnx',
    );
    await fs.access(path.join(root, 'run-custom')).then(
      () => assert.fail('no run should be written for a model that cannot run'),
      () => undefined,
    );
  });

  it('passes on the onnxruntime error for an operator it does not know, which names it', async () => {
    const bytes = new GraphBuilder()
      .input('x', 'float32', ['b', 1, 8, 8])
      .node('Relu', ['x'], ['r'])
      .node('NotAnOp', ['r'], ['y'])
      .node('Flatten', ['y'], ['f'])
      .output('f', ['b', 64])
      .toModelBytes();
    await rejectsWith(
      discoverLayers(bytes, 'unknown.onnx', { inputShape: [1, 8, 8], samples: new Float32Array(64), classes: 64, datasetName: 'test' }),
      'model-error',
      'NotAnOp',
      'onnxruntime cannot load',
    );
  });

  it('names layers uniquely, without reserved names, and exposes an inner tensor called "logits" under another name', async () => {
    const w = tinyCnnWeights();
    const bytes = new GraphBuilder()
      .input('input', 'float32', ['b', 1, 8, 8])
      .initializer('cw', w.convW, [4, 1, 3, 3])
      .initializer('fw', w.fcW, [3, 64])
      .node('Conv', ['input', 'cw'], ['logits'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] })
      .node('Relu', ['logits'], ['a b'])
      .node('Relu', ['a b'], ['a_b'])
      .node('Flatten', ['a_b'], ['flat'], { axis: 1 })
      .node('MaxPool', ['a_b'], ['p'], { kernel_shape: [2, 2], strides: [2, 2] })
      .node('Flatten', ['p'], ['pf'], { axis: 1 })
      .node('Gemm', ['pf', 'fw'], ['out'], { transB: 1 })
      .output('out', ['b', 3])
      .toModelBytes();
    const rand = seededRandom(4);
    const samples = Float32Array.from({ length: 64 }, () => rand());
    const found = await discoverLayers(bytes, 'names.onnx', { inputShape: [1, 8, 8], samples, classes: 3, datasetName: 'test' });
    const names = found.layers.map((l) => l.name);
    assert.deepEqual(names, ['layer_logits', 'a_b_2', 'a_b', 'p']);
    const session = await createSession(found.checkpoint, 'names');
    const out = await session.run({ input: makeTensor(samples, [1, 1, 8, 8]) });
    assert.deepEqual(session.outputNames, [...names, 'logits']);
    assert.deepEqual(out.logits.dims, [1, 3]);
    // The renamed "logits" tensor is the convolution: relu of it equals the next layer.
    const conv = out.layer_logits.data as Float32Array;
    assertClose(
      Float32Array.from(conv, (v) => Math.max(0, v)),
      out.a_b_2.data as Float32Array,
      0,
      'relu(conv)',
    );
    await session.release();
  });

  it('refuses a model whose input does not fit the dataset, naming both shapes', async () => {
    const file = path.join(root, 'tiny8.onnx');
    writeFileSync(file, buildExportedTinyCnn(tinyCnnWeights()));
    await rejectsWith(
      importOnnx({ models: [file], dataset: { kind: 'mnist' }, probeCount: 10, out: path.join(root, 'run-mnist-bad') }),
      'model-error',
      '[1, 1, 8, 8]',
      '[batch, 1, 28, 28]',
      'MNIST',
    );
  });

  it('refuses a model with more than one input, and bytes that are not ONNX', async () => {
    const two = new GraphBuilder()
      .input('a', 'float32', ['b', 1, 8, 8])
      .input('c', 'float32', ['b', 1, 8, 8])
      .node('Add', ['a', 'c'], ['s'])
      .node('Relu', ['s'], ['r'])
      .output('r', ['b', 1, 8, 8])
      .toModelBytes();
    const probe = { inputShape: [1, 8, 8], samples: new Float32Array(64), classes: 3, datasetName: 'test' };
    await rejectsWith(discoverLayers(two, 'two.onnx', probe), 'model-error', '2 inputs', 'a, c');
    await rejectsWith(discoverLayers(new Uint8Array([0xff, 0xff, 0xff]), 'junk.onnx', probe), 'model-error', 'not an ONNX model');
  });

  it('imports through the CLI and prints the run summary; bad input exits non-zero', async () => {
    const file = path.join(root, 'cli.onnx');
    writeFileSync(file, buildExportedTinyCnn(tinyCnnWeights(4)));
    const out = path.join(root, 'run-cli');
    const written: string[] = [];
    const orig = process.stdout.write.bind(process.stdout);
    const origErr = process.stderr.write.bind(process.stderr);
    const errs: string[] = [];
    process.stdout.write = ((chunk: string) => (written.push(String(chunk)), true)) as typeof process.stdout.write;
    process.stderr.write = ((chunk: string) => (errs.push(String(chunk)), true)) as typeof process.stderr.write;
    let codes: number[];
    try {
      codes = [
        await main(['import', file, '--dataset', 'images', '--data', images, '--probe', '9', '--out', out]),
        await main(['import', file, '--dataset', 'images']),
        await main(['import', path.join(root, 'nope.onnx'), '--dataset', 'images', '--data', images, '--out', path.join(root, 'run-nope')]),
        await main(['import', file, '--dataset', 'images', '--data', images, '--out', out]),
      ];
    } finally {
      process.stdout.write = orig;
      process.stderr.write = origErr;
    }
    assert.deepEqual(codes, [0, 2, 1, 1], errs.join(''));
    const text = written.join('');
    assert.ok(text.includes(`Wrote ${out}`), text);
    for (const s of ['conv1.Conv', 'pool.MaxPool', 'cat', 'eel']) assert.ok(text.includes(s), `summary should mention ${s}:\n${text}`);
    assert.ok(errs.join('').includes('--dataset images needs --data DIR'), errs.join(''));
    assert.ok(errs.join('').includes('error (not-found)'), errs.join(''));
    assert.ok(errs.join('').includes('already holds a run'), errs.join(''));
  });

  it('imports a PyTorch-exported MNIST CNN into a run that the analysis accepts', async function () {
    const python = findPython({ require: ['torch'] });
    if (python === undefined) {
      if (process.env.CI) assert.fail(describePythonSearch({ require: ['torch'] }));
      this.skip();
    }
    const file = path.join(root, 'torch_mnist.onnx');
    const script = `
import sys, torch, torch.nn as nn
torch.manual_seed(0)
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(4)
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(4, 8, 3, padding=1)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Linear(8, 16)
        self.fc2 = nn.Linear(16, 10)
    def forward(self, x):
        x = self.pool(torch.relu(self.bn1(self.conv1(x))))
        x = torch.relu(self.conv2(x))
        x = torch.flatten(self.gap(x), 1)
        return self.fc2(torch.tanh(self.fc1(x)))
m = Net().eval()
torch.onnx.export(m, torch.zeros(1, 1, 28, 28), sys.argv[1], input_names=['image'], output_names=['out'], opset_version=13)
`;
    await runPython(python, ['-c', script, file], { check: true });
    const out = path.join(root, 'run-torch');
    const result = await importOnnx({
      models: [file],
      dataset: { kind: 'mnist' },
      probeCount: 30,
      seed: 1,
      out,
      normalization: { mean: [0.1307], std: [0.3081] },
    });
    const kinds = result.layers.map((l) => l.kind);
    assert.ok(kinds.includes('conv') && kinds.includes('pool') && kinds.includes('activation') && kinds.includes('linear'), kinds.join(', '));
    const reader = await RunReader.open(out);
    try {
      assert.deepEqual(reader.manifest.probe.inputShape, [1, 28, 28]);
      assert.equal(reader.manifest.classes.length, 10);
      const analysis = await analyzeRun(reader, { capacity: true });
      assert.deepEqual(analysis.epochs, [0]);
      assert.deepEqual(
        analysis.layers,
        result.layers.map((l) => l.name),
      );
      assert.equal(analysis.channelEntropies.length, result.layers.length);
      assert.equal(analysis.labelEntropies.length, 1);
      assert.ok(analysis.capacityEpoch === 0);
    } finally {
      await reader.close();
    }
  });
});

import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { onnx } from 'onnx-proto';
import { DECONVNET_MAX_SAMPLES } from '../../src/shared/deconvnet';
import type { LayerInfo } from '../../src/shared/runFormat';
import { planDeconvnet } from '../../src/engine/deconvnet/analyzeGraph';
import { deconvnet, disposeDeconvnetSessions } from '../../src/engine/deconvnet/deconvnet';
import { createHandlers, type RequestContext } from '../../src/engine/handlers';
import { orThrow } from '../../src/shared/parse';
import { parseDeconvnetParams } from '../../src/shared/requestParams';
import { GraphBuilder, floatAttr } from '../../src/core/onnx/graphBuilder';
import { RunReader } from '../../src/engine/run/runReader';
import { RunWriter } from '../../src/core/run/runWriter';
import { requirePython } from '../python/pyhelpers';
import { runPython } from '../support/python';
import { tempDir } from '../support/runFixtures';
import {
  assertClose,
  buildTinyCnn,
  randomFloats,
  rejectsWith,
  seededRandom,
  tinyCnnReference,
  tinyCnnWeights,
  TINY_INPUT_SHAPE,
  TINY_OUTPUT_SHAPES,
} from '../support/tinyCnn';

// --- Plain-loop references (float64 accumulation), independent of onnxruntime ------------------

interface Window2d {
  readonly kernel: readonly [number, number];
  readonly strides: readonly [number, number];
  /** [top, left, bottom, right], the ONNX order. */
  readonly pads: readonly [number, number, number, number];
  readonly dilations: readonly [number, number];
}

function outSize(size: number, axis: 0 | 1, a: Window2d): number {
  return Math.floor((size + a.pads[axis] + a.pads[axis + 2] - (a.kernel[axis] - 1) * a.dilations[axis] - 1) / a.strides[axis]) + 1;
}

/** A map of n samples × channels × h × w, row-major. */
interface Maps {
  readonly data: Float32Array;
  readonly n: number;
  readonly c: number;
  readonly h: number;
  readonly w: number;
}

/** y[m, oh, ow] = b[m] + Σ W[m, c, kh, kw] · x[c, oh·s − pad + kh·d, ow·s − pad + kw·d]. */
function conv2d(x: Maps, weight: Float32Array, outChannels: number, bias: Float32Array | undefined, a: Window2d): Maps {
  const [kh, kw] = a.kernel;
  const ho = outSize(x.h, 0, a);
  const wo = outSize(x.w, 1, a);
  const out = new Float32Array(x.n * outChannels * ho * wo);
  for (let s = 0; s < x.n; s++) {
    for (let m = 0; m < outChannels; m++) {
      for (let oy = 0; oy < ho; oy++) {
        for (let ox = 0; ox < wo; ox++) {
          let acc = bias ? bias[m] : 0;
          for (let c = 0; c < x.c; c++) {
            for (let i = 0; i < kh; i++) {
              const y = oy * a.strides[0] - a.pads[0] + i * a.dilations[0];
              if (y < 0 || y >= x.h) continue;
              for (let j = 0; j < kw; j++) {
                const xx = ox * a.strides[1] - a.pads[1] + j * a.dilations[1];
                if (xx < 0 || xx >= x.w) continue;
                acc += weight[((m * x.c + c) * kh + i) * kw + j] * x.data[((s * x.c + c) * x.h + y) * x.w + xx];
              }
            }
          }
          out[((s * outChannels + m) * ho + oy) * wo + ox] = acc;
        }
      }
    }
  }
  return { data: out, n: x.n, c: outChannels, h: ho, w: wo };
}

/**
 * The transpose of conv2d (without bias) as a linear map: every g[m, oh, ow] is spread back over
 * the input positions its window read, weighted by W[m, c, kh, kw]; positions outside the input
 * (the padding) are dropped.
 */
function convTranspose2d(g: Maps, weight: Float32Array, inChannels: number, h: number, w: number, a: Window2d): Maps {
  const [kh, kw] = a.kernel;
  const acc = new Float64Array(g.n * inChannels * h * w);
  for (let s = 0; s < g.n; s++) {
    for (let m = 0; m < g.c; m++) {
      for (let oy = 0; oy < g.h; oy++) {
        for (let ox = 0; ox < g.w; ox++) {
          const v = g.data[((s * g.c + m) * g.h + oy) * g.w + ox];
          if (v === 0) continue;
          for (let c = 0; c < inChannels; c++) {
            for (let i = 0; i < kh; i++) {
              const y = oy * a.strides[0] - a.pads[0] + i * a.dilations[0];
              if (y < 0 || y >= h) continue;
              for (let j = 0; j < kw; j++) {
                const xx = ox * a.strides[1] - a.pads[1] + j * a.dilations[1];
                if (xx < 0 || xx >= w) continue;
                acc[((s * inChannels + c) * h + y) * w + xx] += v * weight[((m * inChannels + c) * kh + i) * kw + j];
              }
            }
          }
        }
      }
    }
  }
  return { data: Float32Array.from(acc), n: g.n, c: inChannels, h, w };
}

/** Max pooling with its switches: the flat position (within the plane) of each window's first maximum. */
function maxPool2d(x: Maps, a: Window2d): { y: Maps; switches: Int32Array } {
  const ho = outSize(x.h, 0, a);
  const wo = outSize(x.w, 1, a);
  const y = new Float32Array(x.n * x.c * ho * wo);
  const switches = new Int32Array(y.length);
  for (let p = 0; p < x.n * x.c; p++) {
    for (let oy = 0; oy < ho; oy++) {
      for (let ox = 0; ox < wo; ox++) {
        let best = -Infinity;
        let at = -1;
        for (let i = 0; i < a.kernel[0]; i++) {
          const r = oy * a.strides[0] - a.pads[0] + i * a.dilations[0];
          if (r < 0 || r >= x.h) continue;
          for (let j = 0; j < a.kernel[1]; j++) {
            const c = ox * a.strides[1] - a.pads[1] + j * a.dilations[1];
            if (c < 0 || c >= x.w) continue;
            const v = x.data[p * x.h * x.w + r * x.w + c];
            if (v > best) {
              best = v;
              at = r * x.w + c;
            }
          }
        }
        y[(p * ho + oy) * wo + ox] = best;
        switches[(p * ho + oy) * wo + ox] = at;
      }
    }
  }
  return { y: { data: y, n: x.n, c: x.c, h: ho, w: wo }, switches };
}

/** Every pooled value added back at its switch; positions that were no window's maximum stay 0. */
function unpool2d(g: Maps, switches: Int32Array, h: number, w: number): Maps {
  const out = new Float32Array(g.n * g.c * h * w);
  for (let p = 0; p < g.n * g.c; p++) {
    for (let q = 0; q < g.h * g.w; q++) out[p * h * w + switches[p * g.h * g.w + q]] += g.data[p * g.h * g.w + q];
  }
  return { data: out, n: g.n, c: g.c, h, w };
}

function relu(x: Maps): Maps {
  return { ...x, data: x.data.map((v) => Math.max(0, v)) };
}

/** Only channel `keep` left, every other set to zero. */
function keepChannel(x: Maps, keep: number): Maps {
  const out = new Float32Array(x.data.length);
  const plane = x.h * x.w;
  for (let s = 0; s < x.n; s++) out.set(x.data.subarray((s * x.c + keep) * plane, (s * x.c + keep + 1) * plane), (s * x.c + keep) * plane);
  return { ...x, data: out };
}

function channelMax(x: Maps, channel: number): Float32Array {
  const plane = x.h * x.w;
  return Float32Array.from({ length: x.n }, (_, s) => Math.max(...x.data.subarray((s * x.c + channel) * plane, (s * x.c + channel + 1) * plane)));
}

/** Rows `rows` of an n × rowSize array. */
function pickRows(data: Float32Array, rowSize: number, rows: ArrayLike<number>): Float32Array {
  const out = new Float32Array(rows.length * rowSize);
  for (let i = 0; i < rows.length; i++) out.set(data.subarray(rows[i] * rowSize, (rows[i] + 1) * rowSize), i * rowSize);
  return out;
}

// --- Runs and models ---------------------------------------------------------------------------

interface TestRun {
  readonly dir: string;
  readonly inputs: Float32Array;
}

let root: string;
let runCounter = 0;

/** A run whose epochs are the given checkpoints (epoch numbers 0, 1, …), with seeded inputs. */
async function writeRun(opts: {
  inputShape: number[];
  layers: LayerInfo[];
  checkpoints: (Uint8Array | string)[];
  n?: number;
  seed?: number;
}): Promise<TestRun> {
  const n = opts.n ?? 5;
  const dir = path.join(root, `run${runCounter++}`);
  const inputs = randomFloats(seededRandom(opts.seed ?? 7), n * opts.inputShape.reduce((a, b) => a * b, 1));
  const w = await RunWriter.create(dir, {
    model: { name: 'deconvnet test', framework: 'onnx' },
    layers: opts.layers,
    classes: ['a', 'b'],
    probe: { inputs, inputShape: opts.inputShape, labels: Int32Array.from({ length: n }, (_, i) => i % 2) },
  });
  for (let e = 0; e < opts.checkpoints.length; e++) await w.writeEpoch(e, { metrics: {}, checkpoint: opts.checkpoints[e] });
  await w.finish();
  return { dir, inputs };
}

/** Flatten → Gemm to two classes: the `logits` a checkpoint has, off every deconvnet path. */
function addLogits(b: GraphBuilder, from: string, features: number, rand: () => number): GraphBuilder {
  return b
    .initializer('fc.weight', randomFloats(rand, 2 * features, -0.2, 0.2), [2, features])
    .initializer('fc.bias', new Float32Array(2), [2])
    .node('Flatten', [from], ['flat'], { axis: 1 })
    .node('Gemm', ['flat', 'fc.weight', 'fc.bias'], ['logits'], { transB: 1, alpha: floatAttr(1), beta: floatAttr(1) })
    .output('logits', ['batch', 2]);
}

interface OneConv {
  readonly inC: number;
  readonly outC: number;
  readonly h: number;
  readonly w: number;
  readonly weight: Float32Array;
  readonly bias: Float32Array;
  /** The explicit window the reference uses. */
  readonly window: Window2d;
  /** ONNX attributes as the model states them (explicit pads, or auto_pad). */
  readonly attrs: Record<string, number | number[] | string>;
}

function oneConv(window: Window2d, h: number, w: number, attrs?: Record<string, number | number[] | string>, seed = 11): OneConv {
  const rand = seededRandom(seed);
  const inC = 2;
  const outC = 3;
  return {
    inC,
    outC,
    h,
    w,
    weight: randomFloats(rand, outC * inC * window.kernel[0] * window.kernel[1], -0.5, 0.5),
    bias: randomFloats(rand, outC, -0.2, 0.2),
    window,
    attrs: attrs ?? { kernel_shape: [...window.kernel], strides: [...window.strides], pads: [...window.pads], dilations: [...window.dilations] },
  };
}

function oneConvShape(m: OneConv): number[] {
  return [m.outC, outSize(m.h, 0, m.window), outSize(m.w, 1, m.window)];
}

/** input → Conv → 'conv1', with the weight as a raw_data initializer. */
function buildOneConv(m: OneConv): Uint8Array {
  const shape = oneConvShape(m);
  const b = new GraphBuilder('one_conv')
    .input('input', 'float32', ['batch', m.inC, m.h, m.w])
    .initializer('conv1.weight', m.weight, [m.outC, m.inC, ...m.window.kernel])
    .initializer('conv1.bias', m.bias, [m.outC])
    .node('Conv', ['input', 'conv1.weight', 'conv1.bias'], ['conv1'], m.attrs, { name: '/conv1/Conv' })
    .output('conv1', ['batch', ...shape]);
  return addLogits(
    b,
    'conv1',
    shape.reduce((a, c) => a * c, 1),
    seededRandom(5),
  ).toModelBytes();
}

/**
 * The same model as an exporter that uses Constant nodes writes it: the weight comes from a
 * Constant node holding float_data, through an Identity, and the bias is a float_data initializer.
 */
function buildOneConvWithConstants(m: OneConv): Uint8Array {
  const model = onnx.ModelProto.decode(buildOneConv(m));
  const graph = model.graph as onnx.GraphProto;
  graph.initializer = graph.initializer.filter((t) => t.name !== 'conv1.weight' && t.name !== 'conv1.bias');
  graph.initializer.push(
    onnx.TensorProto.create({ name: 'conv1.bias', dims: [m.outC], dataType: onnx.TensorProto.DataType.FLOAT, floatData: Array.from(m.bias) }),
  );
  const weight = onnx.TensorProto.create({
    dims: [m.outC, m.inC, ...m.window.kernel],
    dataType: onnx.TensorProto.DataType.FLOAT,
    floatData: Array.from(m.weight),
  });
  graph.node.unshift(
    onnx.NodeProto.create({
      name: 'weight_const',
      opType: 'Constant',
      output: ['w_const'],
      attribute: [onnx.AttributeProto.create({ name: 'value', type: onnx.AttributeProto.AttributeType.TENSOR, t: weight })],
    }),
    onnx.NodeProto.create({ name: 'weight_identity', opType: 'Identity', input: ['w_const'], output: ['conv1.weight'] }),
  );
  return onnx.ModelProto.encode(model).finish();
}

function oneConvReference(m: OneConv, inputs: Float32Array, n: number, channel: number): { images: Float32Array; activation: Float32Array } {
  const x: Maps = { data: inputs, n, c: m.inC, h: m.h, w: m.w };
  const y = conv2d(x, m.weight, m.outC, m.bias, m.window);
  return { images: convTranspose2d(keepChannel(y, channel), m.weight, m.inC, m.h, m.w, m.window).data, activation: channelMax(y, channel) };
}

async function withReader<T>(dir: string, fn: (r: RunReader) => Promise<T>): Promise<T> {
  const reader = await RunReader.open(dir);
  try {
    return await fn(reader);
  } finally {
    await reader.close();
  }
}

const ALL = { kind: 'all' } as const;

describe('deconvnet', () => {
  before(() => {
    root = tempDir('cnnslicer-deconvnet-');
  });
  after(async () => {
    await disposeDeconvnetSessions();
    await fs.rm(root, { recursive: true, force: true });
  });

  describe('one convolution, against the closed form', () => {
    // The projection of a single convolution's map with only channel c kept is the transposed
    // convolution (no bias) of that masked map.
    const settings: { name: string; window: Window2d; h: number; w: number; attrs?: Record<string, number | number[] | string> }[] = [
      { name: 'stride 1, pad 1', window: { kernel: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1] }, h: 8, w: 8 },
      // 8 = 2·(3 − 1) + 3 + 1: the last row and column are read by no window, so ConvTranspose needs output_padding.
      { name: 'stride 2, pad 0', window: { kernel: [3, 3], strides: [2, 2], pads: [0, 0, 0, 0], dilations: [1, 1] }, h: 8, w: 8 },
      {
        name: 'stride 2, asymmetric pads, dilation 2, non-square',
        window: { kernel: [3, 2], strides: [2, 1], pads: [0, 1, 1, 0], dilations: [2, 2] },
        h: 9,
        w: 7,
      },
      // SAME_UPPER on 8 with stride 2 and kernel 3: output 4, one row of padding, at the end.
      {
        name: 'auto_pad SAME_UPPER, stride 2',
        window: { kernel: [3, 3], strides: [2, 2], pads: [0, 0, 1, 1], dilations: [1, 1] },
        h: 8,
        w: 8,
        attrs: { kernel_shape: [3, 3], strides: [2, 2], auto_pad: 'SAME_UPPER' },
      },
    ];
    for (const s of settings) {
      it(`equals the transposed convolution of the masked map (${s.name})`, async () => {
        const m = oneConv(s.window, s.h, s.w, s.attrs);
        const n = 4;
        const run = await writeRun({
          inputShape: [m.inC, m.h, m.w],
          layers: [{ name: 'conv1', kind: 'conv', shape: oneConvShape(m) }],
          checkpoints: [buildOneConv(m)],
          n,
        });
        await withReader(run.dir, async (reader) => {
          for (let channel = 0; channel < m.outC; channel++) {
            const r = await deconvnet(reader, { layer: 'conv1', channel, epoch: 0, samples: ALL });
            const ref = oneConvReference(m, run.inputs, n, channel);
            assert.deepEqual(r.shape, [n, m.inC, m.h, m.w]);
            assert.deepEqual(Array.from(r.sampleIndices), [0, 1, 2, 3]);
            assert.equal(r.selectedCount, n);
            assert.equal(r.layer, 'conv1');
            assert.equal(r.channel, channel);
            assert.equal(r.epoch, 0);
            assertClose(r.images, ref.images, 1e-5, `projection of channel ${channel}`);
            assertClose(r.activation, ref.activation, 1e-5, `max activation of channel ${channel}`);
            assert.ok(
              r.images.some((v) => v !== 0),
              'the projection is not all zero',
            );
          }
        });
      });
    }

    it('reads weights from a Constant node (float_data, through an Identity) and a float_data bias', async () => {
      const m = oneConv({ kernel: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1] }, 6, 6, undefined, 23);
      const n = 3;
      const run = await writeRun({
        inputShape: [m.inC, m.h, m.w],
        layers: [{ name: 'conv1', kind: 'conv', shape: oneConvShape(m) }],
        checkpoints: [buildOneConvWithConstants(m)],
        n,
      });
      await withReader(run.dir, async (reader) => {
        const r = await deconvnet(reader, { layer: 'conv1', channel: 1, epoch: 0, samples: ALL });
        const ref = oneConvReference(m, run.inputs, n, 1);
        assertClose(r.images, ref.images, 1e-5, 'projection');
        assertClose(r.activation, ref.activation, 1e-5, 'max activation');
      });
    });

    it(`projects the first ${DECONVNET_MAX_SAMPLES} samples of a larger selection, in its order`, async () => {
      const m = oneConv({ kernel: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1] }, 5, 5);
      const n = DECONVNET_MAX_SAMPLES + 6;
      const run = await writeRun({
        inputShape: [m.inC, m.h, m.w],
        layers: [{ name: 'conv1', kind: 'conv', shape: oneConvShape(m) }],
        checkpoints: [buildOneConv(m)],
        n,
      });
      await withReader(run.dir, async (reader) => {
        const all = await deconvnet(reader, { layer: 'conv1', channel: 2, epoch: 0, samples: ALL });
        assert.equal(all.selectedCount, n);
        assert.deepEqual(
          Array.from(all.sampleIndices),
          Array.from({ length: DECONVNET_MAX_SAMPLES }, (_, i) => i),
        );
        assert.deepEqual(all.shape, [DECONVNET_MAX_SAMPLES, m.inC, m.h, m.w]);
        const ref = oneConvReference(m, run.inputs, n, 2);
        const size = m.inC * m.h * m.w;
        assertClose(all.images, ref.images.subarray(0, DECONVNET_MAX_SAMPLES * size), 1e-5, 'projection of the first samples');

        const rows = [69, 3, 3, 40];
        const some = await deconvnet(reader, { layer: 'conv1', channel: 2, epoch: 0, samples: { kind: 'indices', indices: rows } });
        assert.deepEqual(Array.from(some.sampleIndices), rows);
        assertClose(some.images, pickRows(ref.images, size, rows), 1e-5, 'projection of chosen samples');
        assertClose(some.activation, pickRows(ref.activation, 1, rows), 1e-5, 'activation of chosen samples');

        const none = await deconvnet(reader, { layer: 'conv1', channel: 2, epoch: 0, samples: { kind: 'indices', indices: [] } });
        assert.deepEqual(none.shape, [0, m.inC, m.h, m.w]);
        assert.equal(none.images.length, 0);
        assert.equal(none.activation.length, 0);
      });
    });

    it('reads a checkpoint that was replaced again instead of projecting with the old weights', async () => {
      const window: Window2d = { kernel: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1] };
      const before = oneConv(window, 6, 6, undefined, 31);
      const afterModel = oneConv(window, 6, 6, undefined, 32);
      const n = 2;
      const run = await writeRun({
        inputShape: [2, 6, 6],
        layers: [{ name: 'conv1', kind: 'conv', shape: oneConvShape(before) }],
        checkpoints: [buildOneConv(before)],
        n,
      });
      await withReader(run.dir, async (reader) => {
        const first = await deconvnet(reader, { layer: 'conv1', channel: 0, epoch: 0, samples: ALL });
        assertClose(first.images, oneConvReference(before, run.inputs, n, 0).images, 1e-5, 'before');
        const file = path.join(run.dir, 'epochs', 'epoch-0000', 'model.onnx');
        await fs.writeFile(file, buildOneConv(afterModel));
        // Same size (same structure): only the mtime tells the two files apart, so make sure it moves.
        const later = new Date(Date.now() + 5000);
        await fs.utimes(file, later, later);
        const second = await deconvnet(reader, { layer: 'conv1', channel: 0, epoch: 0, samples: ALL });
        assertClose(second.images, oneConvReference(afterModel, run.inputs, n, 0).images, 1e-5, 'after');
      });
    });
  });

  describe('conv → relu → max pool', () => {
    const n = 6;
    const weights = tinyCnnWeights(21);
    let run: TestRun;
    const layers: LayerInfo[] = [
      { name: 'conv1', kind: 'conv', shape: TINY_OUTPUT_SHAPES.conv1 },
      { name: 'relu1', kind: 'activation', shape: TINY_OUTPUT_SHAPES.relu1 },
      { name: 'pool1', kind: 'pool', shape: TINY_OUTPUT_SHAPES.pool1 },
    ];
    const tinyWindow: Window2d = { kernel: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1] };
    const poolWindow: Window2d = { kernel: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0], dilations: [1, 1] };

    before(async () => {
      run = await writeRun({ inputShape: [...TINY_INPUT_SHAPE], layers, checkpoints: [buildTinyCnn(weights)], n, seed: 3 });
    });

    it('for pool1 equals unpool with the switches → rectify → transposed filter', async () => {
      const fwd = tinyCnnReference(weights, run.inputs, n);
      const relu1: Maps = { data: fwd.relu1, n, c: 4, h: 8, w: 8 };
      const { y: pool1, switches } = maxPool2d(relu1, poolWindow);
      assertClose(pool1.data, fwd.pool1, 1e-6, 'reference pooling');
      await withReader(run.dir, async (reader) => {
        for (let channel = 0; channel < 4; channel++) {
          const r = await deconvnet(reader, { layer: 'pool1', channel, epoch: 0, samples: ALL });
          const unpooled = unpool2d(keepChannel(pool1, channel), switches, 8, 8);
          const want = convTranspose2d(relu(unpooled), weights.convW, 1, 8, 8, tinyWindow);
          assert.deepEqual(r.shape, [n, 1, 8, 8]);
          assertClose(r.images, want.data, 1e-5, `projection of pool1 channel ${channel}`);
          assertClose(r.activation, channelMax(pool1, channel), 1e-5, `max of pool1 channel ${channel}`);
        }
      });
    });

    it('for relu1 rectifies the masked map before the transposed filter', async () => {
      const fwd = tinyCnnReference(weights, run.inputs, n);
      const relu1: Maps = { data: fwd.relu1, n, c: 4, h: 8, w: 8 };
      await withReader(run.dir, async (reader) => {
        const r = await deconvnet(reader, { layer: 'relu1', channel: 3, epoch: 0, samples: ALL });
        const want = convTranspose2d(relu(keepChannel(relu1, 3)), weights.convW, 1, 8, 8, tinyWindow);
        assertClose(r.images, want.data, 1e-5, 'projection of relu1 channel 3');
      });
    });
  });

  describe('two convolutions', () => {
    // Deeper than one block, the signal coming back through a transposed filter has negative
    // values, and the rectification of the deconvnet (not the forward pass's ReLU mask) decides
    // what reaches the layer below.
    it('conv → relu → pool → dropout → conv: rectifies the signal between the transposed filters', async () => {
      const rand = seededRandom(51);
      const n = 4;
      const w1: Window2d = { kernel: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1] };
      const w2: Window2d = { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], dilations: [1, 1] };
      const pool: Window2d = { kernel: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0], dilations: [1, 1] };
      const conv1W = randomFloats(rand, 3 * 1 * 9, -0.5, 0.5);
      const conv1B = randomFloats(rand, 3, -0.1, 0.1);
      const conv2W = randomFloats(rand, 4 * 3 * 9, -0.5, 0.5);
      const conv2B = randomFloats(rand, 4, -0.1, 0.1);
      const attrs = (a: Window2d) => ({ kernel_shape: [...a.kernel], strides: [...a.strides], pads: [...a.pads] });
      const b = new GraphBuilder('two_convs')
        .input('input', 'float32', ['batch', 1, 8, 8])
        .initializer('conv1.weight', conv1W, [3, 1, 3, 3])
        .initializer('conv1.bias', conv1B, [3])
        .initializer('conv2.weight', conv2W, [4, 3, 3, 3])
        .initializer('conv2.bias', conv2B, [4])
        .initializer('ratio', new Float32Array([0.5]), [])
        .node('Conv', ['input', 'conv1.weight', 'conv1.bias'], ['conv1'], attrs(w1))
        .node('Relu', ['conv1'], ['relu1'])
        .node('MaxPool', ['relu1'], ['pool1'], attrs(pool))
        .node('Dropout', ['pool1', 'ratio'], ['drop1'])
        .node('Identity', ['drop1'], ['same1'])
        .node('Conv', ['same1', 'conv2.weight', 'conv2.bias'], ['conv2'], attrs(w2))
        .output('conv2', ['batch', 4, 2, 2]);
      const run = await writeRun({
        inputShape: [1, 8, 8],
        layers: [
          { name: 'pool1', kind: 'pool', shape: [3, 4, 4] },
          { name: 'conv2', kind: 'conv', shape: [4, 2, 2] },
        ],
        checkpoints: [addLogits(b, 'conv2', 16, rand).toModelBytes()],
        n,
        seed: 52,
      });
      const x: Maps = { data: run.inputs, n, c: 1, h: 8, w: 8 };
      const relu1 = relu(conv2d(x, conv1W, 3, conv1B, w1));
      const { y: pool1, switches } = maxPool2d(relu1, pool);
      const conv2 = conv2d(pool1, conv2W, 4, conv2B, w2);
      let rectified = 0;
      await withReader(run.dir, async (reader) => {
        for (let channel = 0; channel < 4; channel++) {
          const back2 = convTranspose2d(keepChannel(conv2, channel), conv2W, 3, 4, 4, w2);
          const unpooled = unpool2d(back2, switches, 8, 8);
          if (unpooled.data.some((v) => v < 0)) rectified++;
          const want = convTranspose2d(relu(unpooled), conv1W, 1, 8, 8, w1);
          const r = await deconvnet(reader, { layer: 'conv2', channel, epoch: 0, samples: ALL });
          assertClose(r.images, want.data, 1e-5, `projection of conv2 channel ${channel}`);
          assertClose(r.activation, channelMax(conv2, channel), 1e-5, `max of conv2 channel ${channel}`);
        }
      });
      assert.ok(rectified > 0, 'the rectification removes something in at least one channel');
    });
  });

  describe('max-pool switches', () => {
    /** input → MaxPool → 'pool1': the projection is then the unpooled map itself. */
    function poolModel(c: number, h: number, w: number, a: Window2d): { bytes: Uint8Array; shape: number[] } {
      const shape = [c, outSize(h, 0, a), outSize(w, 1, a)];
      const b = new GraphBuilder('pool_only')
        .input('input', 'float32', ['batch', c, h, w])
        .node('MaxPool', ['input'], ['pool1'], { kernel_shape: [...a.kernel], strides: [...a.strides], pads: [...a.pads] })
        .output('pool1', ['batch', ...shape]);
      return {
        bytes: addLogits(
          b,
          'pool1',
          shape.reduce((x, y) => x * y, 1),
          seededRandom(2),
        ).toModelBytes(),
        shape,
      };
    }

    it('puts each pooled value back at its window maximum, and nothing anywhere else', async () => {
      const a: Window2d = { kernel: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0], dilations: [1, 1] };
      const n = 3;
      const { bytes, shape } = poolModel(2, 6, 6, a);
      const run = await writeRun({ inputShape: [2, 6, 6], layers: [{ name: 'pool1', kind: 'pool', shape }], checkpoints: [bytes], n, seed: 41 });
      const x: Maps = { data: run.inputs, n, c: 2, h: 6, w: 6 };
      await withReader(run.dir, async (reader) => {
        const r = await deconvnet(reader, { layer: 'pool1', channel: 1, epoch: 0, samples: ALL });
        for (let s = 0; s < n; s++) {
          for (let c = 0; c < 2; c++) {
            for (let wy = 0; wy < 3; wy++) {
              for (let wx = 0; wx < 3; wx++) {
                const at = (yy: number, xx: number) => ((s * 2 + c) * 6 + 2 * wy + yy) * 6 + 2 * wx + xx;
                const cells = [at(0, 0), at(0, 1), at(1, 0), at(1, 1)];
                const best = cells.reduce((p, q) => (x.data[q] > x.data[p] ? q : p));
                for (const q of cells) {
                  // The kept channel's maximum comes back with its own value; every other cell, and the other channel, stays 0.
                  const want = c === 1 && q === best ? x.data[q] : 0;
                  assert.equal(r.images[q], want, `sample ${s} channel ${c} window (${wy}, ${wx}) cell ${q}`);
                }
              }
            }
          }
        }
      });
    });

    it('adds up a position that is the maximum of two overlapping windows', async () => {
      const a: Window2d = { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], dilations: [1, 1] };
      const n = 4;
      const { bytes, shape } = poolModel(2, 7, 7, a);
      const run = await writeRun({ inputShape: [2, 7, 7], layers: [{ name: 'pool1', kind: 'pool', shape }], checkpoints: [bytes], n, seed: 43 });
      const x: Maps = { data: run.inputs, n, c: 2, h: 7, w: 7 };
      const { y, switches } = maxPool2d(x, a);
      const want = unpool2d(keepChannel(y, 0), switches, 7, 7);
      // The case the sum exists for must occur, or this test would not test it.
      assert.ok(
        want.data.some((v, i) => v !== 0 && Math.abs(v - x.data[i]) > 1e-6),
        'some input position is the maximum of more than one window',
      );
      await withReader(run.dir, async (reader) => {
        const r = await deconvnet(reader, { layer: 'pool1', channel: 0, epoch: 0, samples: ALL });
        assertClose(r.images, want.data, 1e-6, 'unpooled map');
      });
    });
  });

  describe('networks it cannot invert', () => {
    const conv = (b: GraphBuilder, name: string, from: string, to: string, inC: number, outC: number, seed: number): GraphBuilder =>
      b
        .initializer(`${name}.weight`, randomFloats(seededRandom(seed), outC * inC * 9, -0.5, 0.5), [outC, inC, 3, 3])
        .node('Conv', [from, `${name}.weight`], [to], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, { name });

    it('refuses the Add of two branches, naming it', async () => {
      let b = new GraphBuilder('branches').input('input', 'float32', ['batch', 1, 6, 6]);
      b = conv(b, 'left', 'input', 'a', 1, 2, 1);
      b = conv(b, 'right', 'input', 'b', 1, 2, 2);
      b.node('Add', ['a', 'b'], ['sum'], undefined, { name: 'merge' })
        .node('Relu', ['sum'], ['relu1'], undefined, { name: 'act' })
        .output('relu1', ['batch', 2, 6, 6]);
      const run = await writeRun({
        inputShape: [1, 6, 6],
        layers: [{ name: 'relu1', kind: 'activation', shape: [2, 6, 6] }],
        checkpoints: [addLogits(b, 'relu1', 72, seededRandom(3)).toModelBytes()],
      });
      await withReader(run.dir, (reader) =>
        rejectsWith(
          deconvnet(reader, { layer: 'relu1', channel: 0, epoch: 0, samples: ALL }),
          'model-error',
          'deconvnet cannot invert operator "Add" (node "merge") on the path to layer "relu1"',
          'model.onnx',
        ),
      );
    });

    it('refuses a Sigmoid between two convolutions, naming it', async () => {
      let b = new GraphBuilder('sigmoid').input('input', 'float32', ['batch', 1, 6, 6]);
      b = conv(b, 'conv1', 'input', 'c1', 1, 2, 4);
      b.node('Sigmoid', ['c1'], ['s1'], undefined, { name: 'squash' });
      b = conv(b, 'conv2', 's1', 'conv2', 2, 3, 5);
      b.output('conv2', ['batch', 3, 6, 6]);
      const run = await writeRun({
        inputShape: [1, 6, 6],
        layers: [{ name: 'conv2', kind: 'conv', shape: [3, 6, 6] }],
        checkpoints: [addLogits(b, 'conv2', 108, seededRandom(3)).toModelBytes()],
      });
      await withReader(run.dir, (reader) =>
        rejectsWith(
          deconvnet(reader, { layer: 'conv2', channel: 0, epoch: 0, samples: ALL }),
          'model-error',
          'deconvnet cannot invert operator "Sigmoid" (node "squash") on the path to layer "conv2"',
        ),
      );
    });

    it('refuses a Gemm on the path, naming it', async () => {
      const run = await writeRun({
        inputShape: [...TINY_INPUT_SHAPE],
        layers: [
          { name: 'pool1', kind: 'pool', shape: TINY_OUTPUT_SHAPES.pool1 },
          { name: 'fc', kind: 'linear', shape: [5] },
        ],
        checkpoints: [
          new GraphBuilder('gemm')
            .input('input', 'float32', ['batch', 1, 8, 8])
            .initializer('w', randomFloats(seededRandom(8), 5 * 64, -0.1, 0.1), [5, 64])
            .node('Flatten', ['input'], ['flat'], { axis: 1 }, { name: 'flatten' })
            .node('Gemm', ['flat', 'w'], ['fc'], { transB: 1 }, { name: 'dense' })
            .output('fc', ['batch', 5])
            .toModelBytes(),
        ],
      });
      await withReader(run.dir, (reader) =>
        rejectsWith(
          deconvnet(reader, { layer: 'fc', channel: 0, epoch: 0, samples: ALL }),
          'model-error',
          'deconvnet cannot invert operator "Gemm" (node "dense") on the path to layer "fc"',
        ),
      );
    });

    /** conv1 → op → 'out', analysed directly. */
    function planOf(b: GraphBuilder, layer: string): () => void {
      const model = onnx.ModelProto.decode(b.toModelBytes());
      return () => planDeconvnet(model, layer, [2, 6, 6], 'model.onnx');
    }
    function throwsModelError(fn: () => void, ...mentions: string[]): void {
      assert.throws(fn, (err: unknown) => {
        assert.ok(err instanceof Error && 'code' in err, String(err));
        assert.equal((err as { code: string }).code, 'model-error');
        for (const m of mentions) assert.ok(err.message.includes(m), `"${err.message}" should mention ${m}`);
        return true;
      });
    }

    it('refuses ceil_mode, custom domains, clips that are not rectifiers, averages over channels, flattening the samples and shapes computed from the input, each with its reason', () => {
      const ceil = new GraphBuilder()
        .input('input', 'float32', ['batch', 2, 6, 6])
        .node('MaxPool', ['input'], ['out'], { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 }, { name: 'pool' })
        .output('out', ['batch', 2, 3, 3]);
      throwsModelError(planOf(ceil, 'out'), 'operator "MaxPool" (node "pool")', 'ceil_mode', 'Choose a layer before this node');

      const custom = new GraphBuilder()
        .input('input', 'float32', ['batch', 2, 6, 6])
        .node('Relu', ['input'], ['out'], undefined, { name: 'r', domain: 'com.example' })
        .output('out', ['batch', 2, 6, 6]);
      throwsModelError(planOf(custom, 'out'), 'operator "Relu" (node "r")', 'com.example');

      // Hardtanh: a clip to [−1, 1] passes negative values, so it is no rectifier.
      const hardtanh = new GraphBuilder()
        .input('input', 'float32', ['batch', 2, 6, 6])
        .initializer('lo', new Float32Array([-1]), [])
        .initializer('hi', new Float32Array([1]), [])
        .node('Clip', ['input', 'lo', 'hi'], ['out'], undefined, { name: 'tanhish' })
        .output('out', ['batch', 2, 6, 6]);
      throwsModelError(planOf(hardtanh, 'out'), 'operator "Clip" (node "tanhish")', 'clips to [-1, 1]', 'lower bound is 0');

      const channelMean = new GraphBuilder()
        .input('input', 'float32', ['batch', 2, 6, 6])
        .node('ReduceMean', ['input'], ['out'], { axes: [1], keepdims: 1 }, { name: 'mix' })
        .output('out', ['batch', 1, 6, 6]);
      throwsModelError(planOf(channelMean, 'out'), 'operator "ReduceMean" (node "mix")', 'batch or channel axis');

      const flattenAll = new GraphBuilder()
        .input('input', 'float32', ['batch', 2, 6, 6])
        .node('Flatten', ['input'], ['out'], { axis: 0 }, { name: 'flat' })
        .output('out', [1, 'all']);
      throwsModelError(planOf(flattenAll, 'out'), 'operator "Flatten" (node "flat")', 'merges the samples');

      // x.view(x.size(0), -1) under dynamic axes: the target shape is computed from Shape(x).
      const viewed = new GraphBuilder()
        .input('input', 'float32', ['batch', 2, 6, 6])
        .initializer('minus_one', BigInt64Array.from([-1n]), [1])
        .initializer('zero', BigInt64Array.from([0n]), [1])
        .initializer('one', BigInt64Array.from([1n]), [1])
        .node('Shape', ['input'], ['shape'])
        .node('Slice', ['shape', 'zero', 'one'], ['batch_size'])
        .node('Concat', ['batch_size', 'minus_one'], ['target'], { axis: 0 })
        .node('Reshape', ['input', 'target'], ['out'], undefined, { name: 'view' })
        .output('out', ['batch', 72]);
      throwsModelError(
        () => planDeconvnet(onnx.ModelProto.decode(viewed.toModelBytes()), 'out', [2, 6, 6], 'model.onnx'),
        'operator "Reshape" (node "view")',
        'torch.flatten(x, 1)',
      );
    });

    it('names an operator it cannot invert, its node, and the last recorded layer before it that can be projected instead', async () => {
      let b = new GraphBuilder('lrn').input('input', 'float32', ['batch', 1, 6, 6]);
      b = conv(b, 'conv1', 'input', 'conv1', 1, 2, 4);
      b.node('Relu', ['conv1'], ['relu1'], undefined, { name: 'act' }).node('LRN', ['relu1'], ['lrn1'], { size: 3 }, { name: 'norm1' });
      b = conv(b, 'conv2', 'lrn1', 'conv2', 2, 3, 5);
      b.output('conv1', ['batch', 2, 6, 6]).output('relu1', ['batch', 2, 6, 6]).output('conv2', ['batch', 3, 6, 6]);
      const run = await writeRun({
        inputShape: [1, 6, 6],
        layers: [
          { name: 'conv1', kind: 'conv', shape: [2, 6, 6] },
          { name: 'relu1', kind: 'activation', shape: [2, 6, 6] },
          { name: 'conv2', kind: 'conv', shape: [3, 6, 6] },
        ],
        checkpoints: [addLogits(b, 'conv2', 108, seededRandom(3)).toModelBytes()],
      });
      await withReader(run.dir, async (reader) => {
        const err = await rejectsWith(deconvnet(reader, { layer: 'conv2', channel: 0, epoch: 0, samples: ALL }), 'model-error');
        assert.equal(
          err.detail,
          'deconvnet cannot invert operator "LRN" (node "norm1") on the path to layer "conv2": local response normalisation divides each value by its neighbours, a step with no linear inverse. ' +
            'Choose a layer before this node: "relu1" is the last recorded layer before it that the deconvnet can project.',
        );
        // And that layer can be projected.
        const r = await deconvnet(reader, { layer: 'relu1', channel: 1, epoch: 0, samples: ALL });
        assert.ok(r.images.some((v) => v !== 0));
      });
    });

    it('refuses a layer that is not a value of the checkpoint', () => {
      const b = new GraphBuilder().input('input', 'float32', ['batch', 2, 6, 6]).node('Relu', ['input'], ['out']).output('out', ['batch', 2, 6, 6]);
      throwsModelError(planOf(b, 'conv9'), 'no value named "conv9"');
    });
  });

  describe('requests it refuses', () => {
    let run: TestRun;
    before(async () => {
      const dir = path.join(root, 'mixed');
      const inputs = randomFloats(seededRandom(1), 4 * 64);
      const w = await RunWriter.create(dir, {
        model: { name: 'tiny' },
        layers: [
          { name: 'conv1', kind: 'conv', shape: TINY_OUTPUT_SHAPES.conv1 },
          { name: 'relu1', kind: 'activation', shape: TINY_OUTPUT_SHAPES.relu1 },
          { name: 'pool1', kind: 'pool', shape: TINY_OUTPUT_SHAPES.pool1 },
        ],
        classes: ['a', 'b', 'c'],
        probe: { inputs, inputShape: [...TINY_INPUT_SHAPE], labels: [0, 1, 2, 0] },
      });
      const ref = tinyCnnReference(tinyCnnWeights(), inputs, 4);
      await w.writeEpoch(0, {
        metrics: {},
        activations: new Map([
          ['conv1', ref.conv1],
          ['relu1', ref.relu1],
          ['pool1', ref.pool1],
        ]),
        logits: ref.logits,
      });
      await w.writeEpoch(1, { metrics: {}, checkpoint: buildTinyCnn() });
      await w.finish();
      run = { dir, inputs };
    });

    it('an epoch without a checkpoint', async () => {
      await withReader(run.dir, (reader) =>
        rejectsWith(
          deconvnet(reader, { layer: 'pool1', channel: 0, epoch: 0, samples: ALL }),
          'bad-request',
          'epoch 0 has no checkpoint; deconvnet needs the model\'s weights (store="checkpoint" or "both")',
        ),
      );
    });

    it('input, logits, unknown layers, channels and epochs', async () => {
      await withReader(run.dir, async (reader) => {
        await rejectsWith(deconvnet(reader, { layer: 'input', channel: 0, epoch: 1, samples: ALL }), 'bad-request', '"input" is not a recorded layer');
        await rejectsWith(deconvnet(reader, { layer: 'logits', channel: 0, epoch: 1, samples: ALL }), 'bad-request', '"logits" is not a recorded layer');
        await rejectsWith(deconvnet(reader, { layer: 'conv9', channel: 0, epoch: 1, samples: ALL }), 'bad-request', 'layer "conv9" is not in the run');
        await rejectsWith(
          deconvnet(reader, { layer: 'pool1', channel: 4, epoch: 1, samples: ALL }),
          'bad-request',
          'channel 4 does not exist in "pool1" (it has 4)',
        );
        await rejectsWith(deconvnet(reader, { layer: 'pool1', channel: 0, epoch: 7, samples: ALL }), 'bad-request', 'epoch 7 is not in the run');
        await rejectsWith(
          deconvnet(reader, { layer: 'pool1', channel: 0, epoch: 1, samples: { kind: 'indices', indices: [4] } }),
          'bad-request',
          'probe sample 4 does not exist',
        );
      });
    });

    const ctx: RequestContext = { signal: new AbortController().signal, progress: () => undefined };

    it('the engine method validates its parameters before touching a run', async () => {
      const handlers = createHandlers({
        runs: {
          get: () => Promise.reject(new Error('a request with bad parameters must not open a run')),
        },
      });
      const good = { run: '/somewhere', layer: 'pool1', channel: 0, epoch: 1, samples: ALL };
      const bad: [unknown, string][] = [
        [undefined, '"deconvnet" expects an object of parameters'],
        [[good], '"deconvnet" expects an object of parameters'],
        [{ ...good, run: '' }, '"run" must be the path of a run directory'],
        [{ ...good, layer: 3 }, '"layer" must be the name of a recorded layer'],
        [{ ...good, layer: '' }, '"layer" must be the name of a recorded layer'],
        [{ ...good, channel: 'all' }, '"channel" must be an integer ≥ 0, got "all"'],
        [{ ...good, channel: -1 }, '"channel" must be an integer ≥ 0, got -1'],
        [{ ...good, channel: 1.5 }, '"channel" must be an integer ≥ 0, got 1.5'],
        [{ ...good, epoch: 'all' }, '"epoch" must be an integer ≥ 0, got "all"'],
        [{ ...good, epoch: undefined }, '"epoch" must be an integer ≥ 0, got nothing'],
        [{ ...good, samples: undefined }, '"samples" must be an object'],
        [{ ...good, samples: { kind: 'some' } }, '"samples.kind" must be "all", "class" or "indices"'],
        [{ ...good, samples: { kind: 'indices', indices: [0, -2] } }, '"samples.indices[1]" must be an integer ≥ 0'],
      ];
      for (const [params, message] of bad) {
        await rejectsWith(handlers.deconvnet(params as never, ctx), 'bad-request', message);
      }
      assert.deepEqual(orThrow(parseDeconvnetParams({ ...good, extra: 1 })), good);
    });

    it('the engine method answers as the query does', async () => {
      const viaHandler = await withReader(run.dir, (reader) => {
        const handlers = createHandlers({ runs: { get: () => Promise.resolve(reader) } });
        return handlers.deconvnet({ run: run.dir, layer: 'pool1', channel: 2, epoch: 1, samples: { kind: 'class', classIndex: 0 } }, ctx);
      });
      assert.deepEqual(Array.from(viaHandler.sampleIndices), [0, 3]);
      const direct = await withReader(run.dir, (reader) =>
        deconvnet(reader, { layer: 'pool1', channel: 2, epoch: 1, samples: { kind: 'indices', indices: [0, 3] } }),
      );
      assert.deepEqual(viaHandler.shape, direct.shape);
      assert.deepEqual(viaHandler.images, direct.images);
      assert.deepEqual(viaHandler.activation, direct.activation);
    });
  });

  describe('a PyTorch export', function () {
    this.timeout(120_000);
    // The model, its export and an independent deconvnet in torch (max_unpool2d, conv_transpose2d)
    // of every channel of relu2, printed as JSON.
    const SCRIPT = String.raw`
import json, struct, sys
import torch
import torch.nn.functional as F
out_path, inputs_path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
torch.manual_seed(0)
class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(4, 6, 3, stride=2, padding=1), torch.nn.ReLU())
        self.fc = torch.nn.Linear(6 * 2 * 2, 3)
    def forward(self, x):
        outs = []
        for m in self.features:
            x = m(x)
            outs.append(x)
        return (*outs, self.fc(torch.flatten(x, 1)))
net = Net().eval()
names = ['conv1', 'relu1', 'pool1', 'conv2', 'relu2', 'logits']
torch.onnx.export(net, torch.zeros(2, 1, 8, 8), out_path, opset_version=13, input_names=['input'], output_names=names,
                  dynamic_axes={k: {0: 'batch'} for k in ['input'] + names})
raw = open(inputs_path, 'rb').read()
x = torch.tensor(struct.unpack('<%df' % (len(raw) // 4), raw), dtype=torch.float32).reshape(n, 1, 8, 8)
conv1, _, pool, conv2, _ = net.features
projections = []
with torch.no_grad():
    r1 = F.relu(conv1(x))
    p1, switches = F.max_pool2d(r1, 2, return_indices=True)
    r2 = F.relu(conv2(p1))
    for channel in range(r2.shape[1]):
        g = torch.zeros_like(r2)
        g[:, channel] = r2[:, channel]
        g = F.relu(g)
        g = F.conv_transpose2d(g, conv2.weight, stride=2, padding=1, output_padding=1)
        g = F.max_unpool2d(g, switches, 2, output_size=r1.shape[-2:])
        g = F.relu(g)
        g = F.conv_transpose2d(g, conv1.weight, padding=1)
        projections.append(g.flatten().tolist())
print(json.dumps({'projections': projections, 'activations': r2.amax(dim=(2, 3)).t().tolist()}))
`;

    it('projects a channel of the second ReLU of an exported nn.Sequential as torch computes it', async function () {
      const python = requirePython(this, ['torch']);
      const n = 5;
      const dir = path.join(root, 'torch');
      await fs.mkdir(dir);
      const inputs = randomFloats(seededRandom(17), n * 64);
      const modelPath = path.join(dir, 'model.onnx');
      const inputsPath = path.join(dir, 'inputs.f32');
      await fs.writeFile(inputsPath, new Uint8Array(inputs.buffer));
      const res = await runPython(python, ['-c', SCRIPT, modelPath, inputsPath, String(n)], { check: true });
      const want = JSON.parse(res.stdout) as { projections: number[][]; activations: number[][] };

      const run = await writeRun({
        inputShape: [1, 8, 8],
        layers: [
          { name: 'conv1', kind: 'conv', shape: [4, 8, 8] },
          { name: 'relu1', kind: 'activation', shape: [4, 8, 8] },
          { name: 'pool1', kind: 'pool', shape: [4, 4, 4] },
          { name: 'conv2', kind: 'conv', shape: [6, 2, 2] },
          { name: 'relu2', kind: 'activation', shape: [6, 2, 2] },
        ],
        checkpoints: [modelPath],
        n,
        seed: 17,
      });
      assert.deepEqual(run.inputs, inputs);
      await withReader(run.dir, async (reader) => {
        let live = 0;
        for (let channel = 0; channel < 6; channel++) {
          const r = await deconvnet(reader, { layer: 'relu2', channel, epoch: 0, samples: ALL });
          assert.deepEqual(r.shape, [n, 1, 8, 8]);
          assert.ok(r.images.every(Number.isFinite));
          assertClose(r.images, Float32Array.from(want.projections[channel]), 1e-5, `projection of channel ${channel} vs torch`);
          assertClose(r.activation, Float32Array.from(want.activations[channel]), 1e-5, `activation of channel ${channel} vs torch`);
          if (r.images.some((v) => Math.abs(v) > 1e-4)) live++;
        }
        // A channel that no sample activates projects to zero, rightly; the comparison above only
        // means something if most channels do not.
        assert.ok(live >= 3, `only ${live} of 6 channels project to a non-zero image`);
      });
    });
  });
});

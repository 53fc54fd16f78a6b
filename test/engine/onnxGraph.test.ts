import assert from 'node:assert/strict';
import { onnx } from 'onnx-proto';
import { GraphBuilder, IR_VERSION, OPSET_VERSION, floatAttr } from '../../src/core/onnx/graphBuilder';
import { createSession, executionProviderInUse, makeTensor } from '../../src/engine/onnx/ortRuntime';
import {
  TINY_OUTPUTS,
  TINY_OUTPUT_SHAPES,
  TINY_SAMPLE_SIZE,
  assertClose,
  buildTinyCnn,
  randomFloats,
  rejectsWith,
  seededRandom,
  tinyCnnReference,
  tinyCnnWeights,
} from '../support/tinyCnn';

const T = onnx.AttributeProto.AttributeType;

/** int64 fields decode as Long objects or numbers depending on protobufjs' setup. */
function num(v: unknown): number {
  return Number(v);
}

/** Decoded sub-messages are typed optional; a missing one fails the test with what was missing. */
function req<V>(v: V | null | undefined, what: string): V {
  assert.ok(v !== null && v !== undefined, `${what} is missing from the decoded model`);
  return v;
}

/** raw_data as an ArrayBuffer of its own (the decoded bytes may sit at any offset of a shared buffer). */
function rawBuffer(t: onnx.ITensorProto): ArrayBuffer {
  const raw = req(t.rawData, `raw_data of ${t.name}`);
  return new Uint8Array(raw).buffer;
}

describe('GraphBuilder', () => {
  it('encodes every attribute kind with its AttributeProto type', () => {
    const bytes = new GraphBuilder('g')
      .input('x', 'float32', ['n', 3])
      .node(
        'Custom',
        ['x'],
        ['y'],
        { i: 3, neg: -1, f: 0.25, forced: floatAttr(2), ints: [1, -2, 3], floats: new Float32Array([0.5, -1.5]), s: 'mode-é' },
        { name: 'custom', domain: 'test.domain' },
      )
      .output('y', ['n', 3])
      .toModelBytes();
    const model = onnx.ModelProto.decode(bytes);
    assert.equal(num(model.irVersion), IR_VERSION);
    assert.equal(model.opsetImport.length, 1);
    assert.equal(model.opsetImport[0].domain, '');
    assert.equal(num(model.opsetImport[0].version), OPSET_VERSION);
    const node = req(req(model.graph, 'graph').node, 'nodes')[0];
    assert.equal(node.opType, 'Custom');
    assert.equal(node.name, 'custom');
    assert.equal(node.domain, 'test.domain');
    assert.deepEqual(node.input, ['x']);
    assert.deepEqual(node.output, ['y']);
    const attrs = new Map(req(node.attribute, 'attributes').map((a) => [a.name, a]));
    assert.equal(attrs.get('i')!.type, T.INT);
    assert.equal(num(attrs.get('i')!.i), 3);
    assert.equal(attrs.get('neg')!.type, T.INT);
    assert.equal(num(attrs.get('neg')!.i), -1);
    assert.equal(attrs.get('f')!.type, T.FLOAT);
    assert.equal(attrs.get('f')!.f, 0.25);
    assert.equal(attrs.get('forced')!.type, T.FLOAT);
    assert.equal(attrs.get('forced')!.f, 2);
    assert.equal(attrs.get('ints')!.type, T.INTS);
    assert.deepEqual(req(attrs.get('ints')!.ints, 'ints').map(num), [1, -2, 3]);
    assert.equal(attrs.get('floats')!.type, T.FLOATS);
    assert.deepEqual(attrs.get('floats')!.floats, [0.5, -1.5]);
    assert.equal(attrs.get('s')!.type, T.STRING);
    assert.equal(new TextDecoder().decode(req(attrs.get('s')!.s, 's')), 'mode-é');
  });

  it('encodes inputs, outputs and initializers with their shapes and bytes', () => {
    const w = new Float32Array([1.5, -2, 3.25, 0, 1e-7, -1e7]);
    const k = new BigInt64Array([2n, -1n, 9007199254740993n]);
    const model = onnx.ModelProto.decode(
      new GraphBuilder()
        .input('x', 'float32', ['batch', 2, 3])
        .initializer('w', w, [2, 3])
        .initializer('k', k, [3])
        .node('Add', ['x', 'w'], ['y'])
        .output('y', ['batch', 2, 3])
        .output('k', [3], 'int64')
        .toModelBytes(),
    );
    const g = req(model.graph, 'graph');
    const [input] = req(g.input, 'inputs');
    const inputType = req(req(input.type, 'input type').tensorType, 'input tensor type');
    const dims = req(req(inputType.shape, 'input shape').dim, 'input dims');
    assert.equal(inputType.elemType, onnx.TensorProto.DataType.FLOAT);
    assert.equal(dims[0].dimParam, 'batch');
    assert.deepEqual(
      dims.slice(1).map((d) => num(d.dimValue)),
      [2, 3],
    );
    const outputs = req(g.output, 'outputs');
    assert.deepEqual(
      outputs.map((o) => o.name),
      ['y', 'k'],
    );
    assert.equal(outputs[1].type?.tensorType?.elemType, onnx.TensorProto.DataType.INT64);

    const [tw, tk] = req(g.initializer, 'initializers');
    assert.equal(tw.dataType, onnx.TensorProto.DataType.FLOAT);
    assert.deepEqual(req(tw.dims, 'dims').map(num), [2, 3]);
    assert.deepEqual(new Float32Array(rawBuffer(tw)), w);
    assert.equal(tk.dataType, onnx.TensorProto.DataType.INT64);
    assert.deepEqual(new BigInt64Array(rawBuffer(tk)), k);
  });

  it('does not let later changes to an initializer array alter the model', () => {
    const w = new Float32Array([1, 2]);
    const b = new GraphBuilder().input('x', 'float32', [2]).initializer('w', w, [2]).node('Add', ['x', 'w'], ['y']).output('y', [2]);
    w[0] = 99;
    const [init] = req(req(onnx.ModelProto.decode(b.toModelBytes()).graph, 'graph').initializer, 'initializers');
    assert.deepEqual(new Float32Array(rawBuffer(init)), new Float32Array([1, 2]));
  });

  it('rejects graphs that are wrong before they reach onnxruntime', () => {
    const b = () => new GraphBuilder().input('x', 'float32', ['n', 2]);
    assert.throws(() => b().node('Relu', ['nope'], ['y']), /input nope is not defined/);
    assert.throws(() => b().node('Relu', ['x'], ['x']), /x is defined twice/);
    assert.throws(() => b().output('y', [2]), /output y is not produced/);
    assert.throws(() => b().initializer('w', new Float32Array(3), [2, 2]), /hold 4 values, data has 3/);
    assert.throws(() => b().node('Custom', ['x'], ['y'], { bad: [1, 2.5] }), /INTS/);
    assert.throws(() => b().node('Custom', ['x'], ['y'], { bad: Number.NaN }), /bad is NaN/);
    assert.throws(() => new GraphBuilder().input('x', 'float32', [1.5]), /dimension 1.5/);
    assert.throws(() => b().toModelBytes(), /no output/);
  });

  it('builds a general graph (int64 initializers, TopK with an int64 output) that onnxruntime runs', async () => {
    // Nearest neighbours of each row of x among the rows of itself: the shape of the engine's k-NN graphs.
    // dist[i,j] = |x_i|² + |x_j|² - 2 x_i·x_j, then the 2 smallest per row.
    const g = new GraphBuilder('knn')
      .input('x', 'float32', ['n', 'd'])
      .initializer('k', new BigInt64Array([2n]), [1])
      .initializer('axes1', new BigInt64Array([1n]), [1])
      .initializer('minus2', new Float32Array([-2]), [])
      .node('Mul', ['x', 'x'], ['sq'])
      .node('ReduceSum', ['sq', 'axes1'], ['norms'], { keepdims: 1 })
      .node('Transpose', ['norms'], ['normsT'], { perm: [1, 0] })
      .node('Transpose', ['x'], ['xT'], { perm: [1, 0] })
      .node('MatMul', ['x', 'xT'], ['dot'])
      .node('Mul', ['dot', 'minus2'], ['dot2'])
      .node('Add', ['norms', 'normsT'], ['nn'])
      .node('Add', ['nn', 'dot2'], ['dist'])
      .node('TopK', ['dist', 'k'], ['vals', 'idx'], { axis: -1, largest: 0, sorted: 1 })
      .output('vals', ['n', 2])
      .output('idx', ['n', 2], 'int64');
    const session = await createSession(g.toModelBytes(), 'knn graph');
    assert.ok(['cpu', 'cuda'].includes(executionProviderInUse()));
    const x = new Float32Array([0, 0, 1, 0, 0, 3, 1, 1]); // 4 points in 2-D
    const out = await session.run({ x: makeTensor(x, [4, 2]) });
    assert.deepEqual(out.idx.dims, [4, 2]);
    const idx = Array.from(out.idx.data as BigInt64Array, Number);
    // Each point is nearest to itself, then: (0,0)→(1,0), (1,0)→(0,0)|(1,1) tie broken by index, (0,3)→(1,1), (1,1)→(1,0).
    assert.deepEqual(idx, [0, 1, 1, 0, 2, 3, 3, 1]);
    assertClose(out.vals.data as Float32Array, new Float32Array([0, 1, 0, 1, 0, 5, 0, 1]), 1e-6, 'vals');
    await session.release();
  });
});

describe('ortRuntime', () => {
  it('runs the tiny CNN with results matching the plain-loop reference', async () => {
    const w = tinyCnnWeights(7);
    const session = await createSession(buildTinyCnn(w), 'tiny cnn');
    assert.deepEqual([...session.inputNames], ['input']);
    assert.deepEqual([...session.outputNames].sort(), [...TINY_OUTPUTS].sort());
    const rand = seededRandom(42);
    for (const n of [1, 5, 17]) {
      const x = randomFloats(rand, n * TINY_SAMPLE_SIZE);
      const out = await session.run({ input: makeTensor(x, [n, 1, 8, 8]) });
      const ref = tinyCnnReference(w, x, n);
      for (const name of TINY_OUTPUTS) {
        assert.deepEqual(out[name].dims, [n, ...TINY_OUTPUT_SHAPES[name]]);
        assertClose(out[name].data as Float32Array, ref[name], 1e-5, `${name} (n=${n})`);
      }
    }
    await session.release();
  });

  it('reports bytes that are not a model as model-error naming the given file', async () => {
    const rand = seededRandom(3);
    const garbage = Uint8Array.from({ length: 300 }, () => Math.floor(rand() * 256));
    const err = await rejectsWith(createSession(garbage, '/runs/r/epoch-3/model.onnx'), 'model-error', 'cannot load model');
    assert.equal(err.file, '/runs/r/epoch-3/model.onnx');
  });

  it('names the operator in the error when the graph uses one onnxruntime does not know', async () => {
    const bytes = new GraphBuilder().input('x', 'float32', [2]).node('NoSuchOp', ['x'], ['y']).output('y', [2]).toModelBytes();
    await rejectsWith(createSession(bytes, 'bad.onnx'), 'model-error', 'NoSuchOp');
  });

  it('refuses a tensor whose dims do not match its data', () => {
    assert.throws(() => makeTensor(new Float32Array(5), [2, 3]), /hold 6 values, data has 5/);
  });
});

// The onnxruntime graphs behind the distance computations. They are built here, apart from the
// code that chunks data through them, so each can be unit-tested on its own and reused (the
// deconvnet and any later estimator need the same Gram/TopK blocks).
//
// Every dimension is symbolic and k is a runtime input, so one session per graph serves every
// data size: building and loading a session costs milliseconds that would otherwise be paid per
// layer, per epoch and per k.
import { availableParallelism } from 'node:os';
import type { InferenceSession } from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { GraphBuilder, floatAttr } from '../../core/onnx/graphBuilder';
import { createSession, loadOrt, trackSession } from '../onnx/ortRuntime';

/**
 * k-NN block: for query rows Q [m, d] against all points X [n, d] with their squared norms
 * XX [1, n], outputs the K smallest values of  |x|² − 2 q·x  per row (ascending, ties to the lower
 * index, as onnxruntime's TopK orders them) and their column indices.
 *
 * |q|² is left out on purpose: it is the same along a row, so it cannot change the order, and the
 * caller adds it in float64 afterwards, which saves a pass over the [m, n] block and one float32
 * rounding. The Gemm fuses the scaling by −2 and the broadcast add of XX into the product.
 *
 * X is an input rather than an initializer: the session then serves every data set. The cost, MLAS
 * packing X again for each chunk of queries (an O(n·d) copy against the chunk's O(m·n·d)
 * product), did not show: at N = 20,000, d = 784, a 1,677-row chunk took 682 ms with X as an
 * input and 678 ms with X as an initializer, and embedding X cost ~300 ms per data set to
 * serialise and load a session.
 *
 * Inputs: Q float32 [m, d], X float32 [n, d], XX float32 [1, n], K int64 [1] (K ≤ n).
 * Outputs: V float32 [m, K], I int64 [m, K].
 */
export function buildKnnBlockGraph(): Uint8Array {
  return new GraphBuilder('cnnslicer_knn_block')
    .input('Q', 'float32', ['m', 'd'])
    .input('X', 'float32', ['n', 'd'])
    .input('XX', 'float32', [1, 'n'])
    .input('K', 'int64', [1])
    .node('Gemm', ['Q', 'X', 'XX'], ['partial'], { transB: 1, alpha: floatAttr(-2), beta: floatAttr(1) })
    .node('TopK', ['partial', 'K'], ['V', 'I'], { axis: 1, largest: 0, sorted: 1 })
    .output('V', ['m', 'K'])
    .output('I', ['m', 'K'], 'int64')
    .toModelBytes();
}

/**
 * Gram block of the blocked float k-NN (knnGram.ts): Y [m, n] = A [m, w] · B [n, w]ᵀ, one float32
 * product over a slice of w ≤ blockDims dimensions of the points. The caller sums the blocks of
 * all slices in float64, which is what bounds the error by w rather than by d (see knnGram.ts);
 * doing that sum inside the graph (Cast, Add) would cost a float64 copy of every block instead of
 * one pass that stays in cache. transB lets MLAS take B's rows as they are. The caller puts the
 * many columns in A, which MLAS reads in place, and a few rows in B, which it packs per call.
 * Its session is gramBlockSession (knnGramThread.ts), which loads these bytes on every thread.
 *
 * Inputs: A float32 [m, w], B float32 [n, w]. Output: Y float32 [m, n].
 */
export function buildGramBlockGraph(): Uint8Array {
  return new GraphBuilder('cnnslicer_gram_block')
    .input('A', 'float32', ['m', 'w'])
    .input('B', 'float32', ['n', 'w'])
    .node('Gemm', ['A', 'B'], ['Y'], { transB: 1 })
    .output('Y', ['m', 'n'])
    .toModelBytes();
}

/**
 * Column statistics of points P [n, d], for the blocked Gram k-NN's first look at them
 * (knnGramLayout.ts, scanPoints): per dimension the minimum, maximum and sum over the n points.
 * Three reductions over the first axis, in C++ on every core: ~40 ms for 1,000 × 32,768 here,
 * against ~130 ms for the same in one JavaScript pass.
 *
 * Input: P float32 [n, d]. Outputs: MIN, MAX, SUM float32 [d].
 */
export function buildColumnStatsGraph(): Uint8Array {
  return new GraphBuilder('cnnslicer_column_stats')
    .input('P', 'float32', ['n', 'd'])
    .node('Constant', [], ['axis'], { value_ints: [0] })
    .node('ReduceMin', ['P'], ['MIN'], { axes: [0], keepdims: 0 })
    .node('ReduceMax', ['P'], ['MAX'], { axes: [0], keepdims: 0 })
    .node('ReduceSum', ['P', 'axis'], ['SUM'], { keepdims: 0 })
    .output('MIN', ['d'])
    .output('MAX', ['d'])
    .output('SUM', ['d'])
    .toModelBytes();
}

/** The right-hand operand type of the integer k-NN product: see buildKnnIntegerBlockGraph. */
export type IntegerGemmVariant = 'u8s8' | 'u8u8';

/**
 * Integer k-NN block: the exact dot products Y [m, n] = Q [m, d] · XT [d, n] of quantised points,
 * accumulated in int32 by onnxruntime's MatMulInteger (MLAS), for the exact-grid k-NN path.
 *
 * 'u8s8' (Q uint8, XT int8) is the variant x86 CPUs with VNNI run fastest (vpdpbusd): one thread
 * did 320–380 G operations/s on a 1,024 × 784 × 1,024 product on the development machine, against
 * ~145 for 'u8u8' and ~97 GFLOP/s for a float32 MatMul. The caller stores
 * levels 0…255 as int8 (level − 128), so Y holds q·x − 128·Σq, whose row-constant term does not
 * change a row's order. Without VNNI, MLAS computes u8×s8 with vpmaddubsw, whose int16 pair sums
 * saturate (255·127·2 > 2¹⁵): the caller checks the kernel in use with integerGemmIsExact and
 * falls back to 'u8u8', which widens to int16 before multiplying and cannot saturate.
 *
 * GraphBuilder knows float32 and int64 only; the integer types are patched into its model.
 *
 * Inputs: Q uint8 [m, d], XT int8 or uint8 [d, n]. Output: Y int32 [m, n].
 */
export function buildKnnIntegerBlockGraph(variant: IntegerGemmVariant): Uint8Array {
  const model = new GraphBuilder(`cnnslicer_knn_integer_${variant}`)
    .input('Q', 'float32', ['m', 'd'])
    .input('XT', 'float32', ['d', 'n'])
    .node('MatMulInteger', ['Q', 'XT'], ['Y'])
    .output('Y', ['m', 'n'])
    .toModel();
  const T = onnx.TensorProto.DataType;
  const types: Record<string, onnx.TensorProto.DataType> = { Q: T.UINT8, XT: variant === 'u8s8' ? T.INT8 : T.UINT8, Y: T.INT32 };
  const graph = model.graph as onnx.GraphProto;
  for (const v of [...graph.input, ...graph.output]) (v.type as onnx.TypeProto).tensorType!.elemType = types[v.name as string];
  return onnx.ModelProto.encode(model).finish();
}

/**
 * Per-channel pairwise distances: M [c, n, s] holds c channels, each with the s-value feature
 * maps of n samples; PAIRS [p] holds the flat positions i·n + j (i < j) of the pairs wanted.
 * Outputs D [c, p]: the Euclidean distance between the maps of samples i and j in each channel.
 *
 * Each channel is centred (its mean map over the samples subtracted) before the product:
 * distances do not change, but the norms in |a|² + |b|² − 2a·b shrink, and with them the float32
 * cancellation error, which is proportional to |a|² + |b|². Post-ReLU maps share a large positive
 * mean, so this is often a factor of several in accuracy, at the cost of one pass over the input.
 *
 * The whole of |a|² + |b|² − 2a·b comes out of one batched MatMul of augmented rows,
 * [a, |a|², 1] · [−2b, 1, |b|²]ᵀ: the [c, n, n] block is written once, instead of once per
 * elementwise step (a Gram product then two broadcast adds and a scale). The Gather then picks
 * the upper triangle straight into the caller's [C × pairs] layout, so the clamp and square root
 * touch only half the block and no per-element loop in JS is needed.
 */
export function buildChannelDistancesGraph(): Uint8Array {
  return (
    new GraphBuilder('cnnslicer_channel_distances')
      .input('M', 'float32', ['c', 'n', 's'])
      .input('PAIRS', 'int64', ['p'])
      .node('ReduceMean', ['M'], ['mean'], { axes: [1], keepdims: 1 })
      .node('Sub', ['M', 'mean'], ['centred'])
      .node('ReduceSumSquare', ['centred'], ['sq'], { axes: [2], keepdims: 1 })
      .node('Constant', [], ['one'], { value_float: floatAttr(1) })
      // A [c, n, 1] tensor of ones, shaped like sq.
      .node('Shape', ['sq'], ['sqShape'])
      .node('Expand', ['one', 'sqShape'], ['ones'])
      .node('Constant', [], ['minusTwo'], { value_float: floatAttr(-2) })
      .node('Mul', ['centred', 'minusTwo'], ['scaled'])
      .node('Concat', ['centred', 'sq', 'ones'], ['left'], { axis: 2 })
      .node('Concat', ['scaled', 'ones', 'sq'], ['right'], { axis: 2 })
      .node('Transpose', ['right'], ['rightT'], { perm: [0, 2, 1] })
      .node('MatMul', ['left', 'rightT'], ['d2'])
      .node('Shape', ['M'], ['shapeM'])
      .node('Constant', [], ['zeroIdx'], { value_ints: [0] })
      .node('Gather', ['shapeM', 'zeroIdx'], ['cDim'], { axis: 0 })
      .node('Constant', [], ['minusOne'], { value_ints: [-1] })
      .node('Concat', ['cDim', 'minusOne'], ['flatShape'], { axis: 0 })
      .node('Reshape', ['d2', 'flatShape'], ['flat'])
      .node('Gather', ['flat', 'PAIRS'], ['d2Pairs'], { axis: 1 })
      .node('Constant', [], ['zero'], { value_float: floatAttr(0) })
      // Rounding can leave a small negative where the true value is 0 (identical maps).
      .node('Max', ['d2Pairs', 'zero'], ['d2Pos'])
      .node('Sqrt', ['d2Pos'], ['D'])
      .output('D', ['c', 'p'])
      .toModelBytes()
  );
}

// One session per graph for the life of the process. The promise is cached, not the session, so
// concurrent first calls share one load; a failed load is forgotten so that a later call retries.
const sessions = new Map<string, Promise<InferenceSession>>();

function cachedSession(name: string, build: () => Uint8Array): Promise<InferenceSession> {
  let s = sessions.get(name);
  if (s === undefined) {
    s = createSession(build(), `<built-in ${name} graph>`);
    sessions.set(name, s);
    s.catch(() => sessions.delete(name));
  }
  return s;
}

export function knnBlockSession(): Promise<InferenceSession> {
  return cachedSession('knn-block', buildKnnBlockGraph);
}

export function channelDistancesSession(): Promise<InferenceSession> {
  return cachedSession('channel-distances', buildChannelDistancesGraph);
}

let columnStats: Promise<InferenceSession> | undefined;

/**
 * The column statistics graph, on the CPU and every core whatever the execution provider: its
 * input is the whole set of points, which a GPU would first have to receive.
 */
export function columnStatsSession(): Promise<InferenceSession> {
  if (columnStats === undefined) {
    const s = trackSession(
      loadOrt().InferenceSession.create(buildColumnStatsGraph(), {
        executionProviders: ['cpu'],
        intraOpNumThreads: availableParallelism(),
        graphOptimizationLevel: 'all',
        // Its pool's threads would otherwise spin after the run, taking a core from the layout and
        // the k-NN's worker thread that follow (the layout took twice as long).
        extra: { session: { intra_op: { allow_spinning: '0' } } },
      }),
    );
    columnStats = s;
    s.catch(() => {
      if (columnStats === s) columnStats = undefined;
    });
  }
  return columnStats;
}

const integerSessions = new Map<IntegerGemmVariant, Promise<InferenceSession>>();

/**
 * The integer k-NN block graph on the CPU with one intra-op thread. One thread, because the exact
 * k-NN runs one such session on each of several threads (the main one and worker_threads), each
 * interleaving a product with the JavaScript selection over its output: onnxruntime's own pool
 * would leave every core but one idle during the selection. The CPU, because MatMulInteger's
 * CUDA kernel takes int8 × int8 only; when CUDA is present the float path is used instead.
 * Cached per thread (module state is per isolate).
 */
export function knnIntegerBlockSession(variant: IntegerGemmVariant): Promise<InferenceSession> {
  let s = integerSessions.get(variant);
  if (s === undefined) {
    const bytes = buildKnnIntegerBlockGraph(variant);
    s = trackSession(
      loadOrt().InferenceSession.create(bytes, {
        executionProviders: ['cpu'],
        intraOpNumThreads: 1,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
      }),
    );
    integerSessions.set(variant, s);
    s.catch(() => integerSessions.delete(variant));
  }
  return s;
}

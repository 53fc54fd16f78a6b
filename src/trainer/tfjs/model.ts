// The trainer's CNNs in TensorFlow.js, layer for layer the PyTorch ones (examples/mnist_pytorch.py
// `ARCHS`, examples/cifar10_pytorch.py `CifarCNN`): same layer names, order, kinds, shapes and
// initialisation, so a TF.js run and a PyTorch run of one architecture read alike in every view.
//
// Written on the low-level ops API rather than tf.layers for three reasons: the parameters are plain
// variables in PyTorch's order, which makes the ONNX export a transposition; the flatten can follow
// PyTorch's C·H·W order; and the convolution's gradients can be replaced (see `conv`).
import type * as tfNamespace from '@tensorflow/tfjs';
import type { LayerInfo, LayerKind } from '../../shared/runFormat';
import { GraphBuilder } from '../../core/onnx/graphBuilder';

/** The TF.js namespace in use: the bundled @tensorflow/tfjs, or the one a native backend brought. */
export type TF = typeof tfNamespace;
type Tensor = tfNamespace.Tensor;
type Tensor4D = tfNamespace.Tensor4D;
type Variable = tfNamespace.Variable;

export type ArchName = 'paper' | 'small' | 'cifar';

export type LayerSpec =
  | { readonly name: string; readonly type: 'conv'; readonly inChannels: number; readonly outChannels: number; readonly kernel: number; readonly pad: number }
  | { readonly name: string; readonly type: 'relu' }
  | { readonly name: string; readonly type: 'maxpool'; readonly size: number }
  | { readonly name: string; readonly type: 'dropout'; readonly rate: number }
  | { readonly name: string; readonly type: 'flatten' }
  | { readonly name: string; readonly type: 'linear'; readonly inFeatures: number; readonly outFeatures: number };

export interface ArchSpec {
  readonly name: ArchName;
  /** The PyTorch class name, recorded as the run's model name. */
  readonly className: string;
  /** [C, H, W] of one input. */
  readonly inputShape: readonly [number, number, number];
  readonly classes: number;
  readonly layers: readonly LayerSpec[];
}

const conv = (name: string, inChannels: number, outChannels: number, pad = 0): LayerSpec => ({ name, type: 'conv', inChannels, outChannels, kernel: 3, pad });
const relu = (name: string): LayerSpec => ({ name, type: 'relu' });
const pool = (name: string): LayerSpec => ({ name, type: 'maxpool', size: 2 });
const linear = (name: string, inFeatures: number, outFeatures: number): LayerSpec => ({ name, type: 'linear', inFeatures, outFeatures });

export const ARCHS: Readonly<Record<ArchName, ArchSpec>> = {
  // PaperCNN: the classic PyTorch MNIST example (the paper does not give its own).
  paper: {
    name: 'paper',
    className: 'PaperCNN',
    inputShape: [1, 28, 28],
    classes: 10,
    layers: [
      conv('conv1', 1, 32),
      relu('relu1'),
      conv('conv2', 32, 64),
      relu('relu2'),
      pool('pool'),
      { name: 'dropout1', type: 'dropout', rate: 0.25 },
      { name: 'flatten', type: 'flatten' },
      linear('fc1', 64 * 12 * 12, 128),
      relu('relu3'),
      { name: 'dropout2', type: 'dropout', rate: 0.5 },
      linear('fc2', 128, 10),
    ],
  },
  // SmallCNN: the committed sample run's network.
  small: {
    name: 'small',
    className: 'SmallCNN',
    inputShape: [1, 28, 28],
    classes: 10,
    layers: [
      conv('conv1', 1, 8),
      relu('relu1'),
      pool('pool1'),
      conv('conv2', 8, 16),
      relu('relu2'),
      pool('pool2'),
      { name: 'flatten', type: 'flatten' },
      linear('fc', 16 * 5 * 5, 10),
    ],
  },
  // CifarCNN: three VGG-like blocks, 16 recorded layers.
  cifar: {
    name: 'cifar',
    className: 'CifarCNN',
    inputShape: [3, 32, 32],
    classes: 10,
    layers: [
      conv('conv1', 3, 32, 1),
      relu('relu1'),
      conv('conv2', 32, 32, 1),
      relu('relu2'),
      pool('pool1'),
      conv('conv3', 32, 64, 1),
      relu('relu3'),
      conv('conv4', 64, 64, 1),
      relu('relu4'),
      pool('pool2'),
      conv('conv5', 64, 128, 1),
      relu('relu5'),
      pool('pool3'),
      { name: 'flatten', type: 'flatten' },
      linear('fc1', 128 * 4 * 4, 256),
      relu('relu6'),
      linear('fc2', 256, 10),
    ],
  },
};

/** The PyTorch module type each layer stands for, as the Python probe records it in `op`. */
const TORCH_OP: Record<LayerSpec['type'], string> = {
  conv: 'Conv2d',
  relu: 'ReLU',
  maxpool: 'MaxPool2d',
  dropout: 'Dropout',
  flatten: 'Flatten',
  linear: 'Linear',
};
const KIND: Record<LayerSpec['type'], LayerKind> = {
  conv: 'conv',
  relu: 'activation',
  maxpool: 'pool',
  dropout: 'dropout',
  flatten: 'flatten',
  linear: 'linear',
};
/** The probe's default: flatten and dropout (identity at evaluation) only repeat their input. */
const RECORDED: ReadonlySet<LayerKind> = new Set<LayerKind>(['conv', 'pool', 'norm', 'activation', 'linear']);

/** Each layer's output shape for one sample ([C, H, W] or [F]), checking that the spec is consistent. */
export function layerShapes(arch: ArchSpec): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  let shape: number[] = [...arch.inputShape];
  for (const l of arch.layers) {
    switch (l.type) {
      case 'conv': {
        if (shape.length !== 3 || shape[0] !== l.inChannels)
          throw new Error(`${arch.name}.${l.name}: expects ${l.inChannels} channels, gets [${shape.join(', ')}]`);
        const out = (d: number): number => d + 2 * l.pad - l.kernel + 1;
        shape = [l.outChannels, out(shape[1]), out(shape[2])];
        break;
      }
      case 'maxpool':
        shape = [shape[0], Math.floor(shape[1] / l.size), Math.floor(shape[2] / l.size)];
        break;
      case 'flatten':
        shape = [shape.reduce((a, b) => a * b, 1)];
        break;
      case 'linear':
        if (shape.length !== 1 || shape[0] !== l.inFeatures)
          throw new Error(`${arch.name}.${l.name}: expects ${l.inFeatures} features, gets [${shape.join(', ')}]`);
        shape = [l.outFeatures];
        break;
      default:
        break;
    }
    shapes.set(l.name, shape);
  }
  const last = shape;
  if (last.length !== 1 || last[0] !== arch.classes) throw new Error(`${arch.name}: the output is [${last.join(', ')}], not ${arch.classes} logits`);
  return shapes;
}

/** The layers a run records, as the Python probe records them (no source lines: the network is built here, not in user code). */
export function recordedLayers(arch: ArchSpec): LayerInfo[] {
  const shapes = layerShapes(arch);
  return arch.layers
    .filter((l) => RECORDED.has(KIND[l.type]))
    .map((l) => ({ name: l.name, kind: KIND[l.type], shape: shapes.get(l.name)!, op: TORCH_OP[l.type] }));
}

/** splitmix32: the same weights and batches for the same seed, on every backend. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    return ((z ^ (z >>> 15)) >>> 0) / 4294967296;
  };
}

interface Params {
  /** conv: [k, k, in, out] (TF's layout); linear: [in, out]. */
  readonly weight: Variable;
  readonly bias: Variable;
}

export interface ForwardResult {
  readonly logits: Tensor;
  /** The recorded layers' outputs asked for, in TF layout ([N, H, W, C] or [N, F]). */
  readonly outputs: Map<string, Tensor>;
}

/**
 * A network of one architecture with its parameters as variables.
 *
 * `forwardConvGrads`: TF.js's own convolution gradients are far too slow on the pure-JS backends
 * (the wasm backend has no Conv2DBackpropFilter kernel at all; on the cpu backend one filter
 * gradient of the paper CNN's conv2 for a batch of 64 took 135 s, its input gradient ~0.6 s on
 * wasm), so there both gradients are computed as forward convolutions, which XNNPACK runs fast:
 * the filter gradient in 0.16 s, the input gradient as fast as the forward pass.
 */
export class Network {
  readonly params = new Map<string, Params>();
  private readonly convs = new Map<string, (x: Tensor4D, w: Tensor4D) => Tensor4D>();
  private readonly random: () => number;

  constructor(
    private readonly tf: TF,
    readonly arch: ArchSpec,
    seed: number,
    forwardConvGrads: boolean,
  ) {
    layerShapes(arch);
    this.random = seededRandom(seed);
    let first = true;
    for (const l of arch.layers) {
      if (l.type === 'conv') {
        const fanIn = l.inChannels * l.kernel * l.kernel;
        this.params.set(l.name, {
          weight: this.uniformVariable([l.kernel, l.kernel, l.inChannels, l.outChannels], fanIn),
          bias: this.uniformVariable([l.outChannels], fanIn),
        });
        // The first convolution's input is the data: no gradient is needed for it.
        this.convs.set(l.name, forwardConvGrads ? forwardGradConv(tf, l.kernel, l.pad, !first) : (x, w) => tf.conv2d(x, w, 1, l.pad === 0 ? 'valid' : l.pad));
        first = false;
      } else if (l.type === 'linear') {
        this.params.set(l.name, {
          weight: this.uniformVariable([l.inFeatures, l.outFeatures], l.inFeatures),
          bias: this.uniformVariable([l.outFeatures], l.inFeatures),
        });
      }
    }
  }

  /**
   * PyTorch's default initialisation of Conv2d and Linear: kaiming_uniform(a=√5) for weights and
   * the bias alike come to U(−1/√fan_in, 1/√fan_in).
   */
  private uniformVariable(shape: number[], fanIn: number): Variable {
    const bound = 1 / Math.sqrt(fanIn);
    const size = shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(size);
    for (let i = 0; i < size; i++) values[i] = (2 * this.random() - 1) * bound;
    const initial = this.tf.tensor(values, shape);
    // TF.js names variables itself: names must be unique in the process, and two networks live at once (see train.ts).
    const v = this.tf.variable(initial, true);
    initial.dispose();
    return v;
  }

  get variables(): Variable[] {
    return [...this.params.values()].flatMap((p) => [p.weight, p.bias]);
  }

  /** A seed for one dropout call, from the network's own generator, so runs repeat. */
  private dropoutSeed(): number {
    return Math.floor(this.random() * 2 ** 31);
  }

  /** `x`: [N, H, W, C]. `record`: the layers whose outputs to return (kept alive: the caller disposes them). */
  forward(x: Tensor4D, training: boolean, record?: ReadonlySet<string>): ForwardResult {
    const tf = this.tf;
    const outputs = new Map<string, Tensor>();
    let cur: Tensor = x;
    for (const l of this.arch.layers) {
      switch (l.type) {
        case 'conv': {
          const p = this.params.get(l.name)!;
          cur = tf.add(this.convs.get(l.name)!(cur as Tensor4D, p.weight as Tensor4D), p.bias);
          break;
        }
        case 'relu':
          cur = tf.relu(cur);
          break;
        case 'maxpool':
          cur = tf.maxPool(cur as Tensor4D, l.size, l.size, 'valid');
          break;
        case 'dropout':
          if (training) cur = tf.dropout(cur, l.rate, undefined, this.dropoutSeed());
          break;
        case 'flatten':
          // PyTorch flattens [N, C, H, W] in C·H·W order; the dense weights are kept in that order.
          cur = tf.reshape(tf.transpose(cur, [0, 3, 1, 2]), [cur.shape[0], -1]);
          break;
        case 'linear': {
          const p = this.params.get(l.name)!;
          cur = tf.add(tf.matMul(cur as tfNamespace.Tensor2D, p.weight as tfNamespace.Tensor2D), p.bias);
          break;
        }
      }
      if (record?.has(l.name)) outputs.set(l.name, cur);
    }
    return { logits: cur, outputs };
  }

  dispose(): void {
    for (const p of this.params.values()) {
      p.weight.dispose();
      p.bias.dispose();
    }
  }

  /**
   * The network as an ONNX checkpoint (docs/run-format.md "Checkpoints"): input `input`
   * [batch, C, H, W] as the PyTorch export takes it, every recorded layer a graph output named as
   * the layer, then `logits`. TF's [k, k, in, out] kernels become ONNX's [out, in, k, k]; the dense
   * weights are already in PyTorch's flatten order (see `forward`).
   */
  toOnnx(): Uint8Array {
    const g = new GraphBuilder(`${this.arch.className}`);
    g.input('input', 'float32', ['batch', ...this.arch.inputShape]);
    let cur = 'input';
    for (const l of this.arch.layers) {
      switch (l.type) {
        case 'conv': {
          const p = this.params.get(l.name)!;
          const w = p.weight.dataSync() as Float32Array;
          const { kernel: k, inChannels: ci, outChannels: co } = l;
          const onnxW = new Float32Array(w.length);
          for (let a = 0; a < k; a++)
            for (let b = 0; b < k; b++)
              for (let i = 0; i < ci; i++) for (let o = 0; o < co; o++) onnxW[((o * ci + i) * k + a) * k + b] = w[((a * k + b) * ci + i) * co + o];
          g.initializer(`${l.name}.weight`, onnxW, [co, ci, k, k]);
          g.initializer(`${l.name}.bias`, Float32Array.from(p.bias.dataSync()), [co]);
          g.node(
            'Conv',
            [cur, `${l.name}.weight`, `${l.name}.bias`],
            [l.name],
            { kernel_shape: [k, k], pads: [l.pad, l.pad, l.pad, l.pad], strides: [1, 1] },
            { name: l.name },
          );
          cur = l.name;
          break;
        }
        case 'relu':
          g.node('Relu', [cur], [l.name], undefined, { name: l.name });
          cur = l.name;
          break;
        case 'maxpool':
          g.node('MaxPool', [cur], [l.name], { kernel_shape: [l.size, l.size], strides: [l.size, l.size] }, { name: l.name });
          cur = l.name;
          break;
        case 'dropout':
          // The identity at evaluation, as the PyTorch export in eval mode leaves it out.
          break;
        case 'flatten':
          g.node('Flatten', [cur], [l.name], { axis: 1 }, { name: l.name });
          cur = l.name;
          break;
        case 'linear': {
          const p = this.params.get(l.name)!;
          g.initializer(`${l.name}.weight`, Float32Array.from(p.weight.dataSync()), [l.inFeatures, l.outFeatures]);
          g.initializer(`${l.name}.bias`, Float32Array.from(p.bias.dataSync()), [l.outFeatures]);
          g.node('Gemm', [cur, `${l.name}.weight`, `${l.name}.bias`], [l.name], { transB: 0 }, { name: l.name });
          cur = l.name;
          break;
        }
      }
    }
    for (const layer of recordedLayers(this.arch)) g.output(layer.name, ['batch', ...layer.shape]);
    g.node('Identity', [cur], ['logits'], undefined, { name: 'logits' });
    g.output('logits', ['batch', this.arch.classes]);
    return g.toModelBytes();
  }
}

/**
 * A stride-1 convolution whose gradients are forward convolutions (see `Network`):
 * - filter: dW[a,b,i,o] = Σ_{n,h,w} xpad[n,h+a,w+b,i]·dy[n,h,w,o], which is a convolution of x with
 *   batch and channel axes swapped ([i, H, W, n]) by dy as the filter ([h, w, n, o]);
 * - input: dx = the full correlation of dy with the kernel rotated by 180° and in/out swapped.
 */
export function forwardGradConv(tf: TF, kernel: number, pad: number, inputGrad: boolean): (x: Tensor4D, w: Tensor4D) => Tensor4D {
  const padArg = (p: number): 'valid' | number => (p === 0 ? 'valid' : p);
  const op = tf.customGrad((...args: (Tensor | tfNamespace.GradSaveFunc)[]) => {
    const x = args[0] as Tensor4D;
    const w = args[1] as Tensor4D;
    const save = args[2] as tfNamespace.GradSaveFunc;
    save([x, w]);
    return {
      value: tf.conv2d(x, w, 1, padArg(pad)),
      gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]): Tensor[] => {
        const d = dy as Tensor4D;
        const [sx, sw] = saved as [Tensor4D, Tensor4D];
        const xp =
          pad === 0
            ? sx
            : tf.pad(sx, [
                [0, 0],
                [pad, pad],
                [pad, pad],
                [0, 0],
              ]);
        const dw = tf.transpose(tf.conv2d(tf.transpose(xp, [3, 1, 2, 0]), tf.transpose(d, [1, 2, 0, 3]), 1, 'valid'), [1, 2, 0, 3]);
        const dx = inputGrad ? tf.conv2d(d, tf.transpose(tf.reverse(sw, [0, 1]), [0, 1, 3, 2]), 1, padArg(kernel - 1 - pad)) : tf.zerosLike(sx);
        return [dx, dw];
      },
    };
  });
  return (x, w) => op(x, w) as Tensor4D;
}

// The training itself, run in the trainer's worker thread: load the backend and the data, refuse a
// run the pure-JS backends would take too long for, then epoch 0 (the untrained model) and one
// record per epoch, as the Python trainer does (python/cnnslicer/train.py).
import type * as tfNamespace from '@tensorflow/tfjs';
import type { EpochData, RunWriterOptions } from '../../core/run/runWriter';
import { isPureJs, loadBackend } from './backends';
import { loadTrainingData, type Samples, type TrainingData } from './data';
import type { EpochReport } from './messages';
import { ARCHS, Network, recordedLayers, seededRandom, type ArchSpec, type TF } from './model';
import type { BackendName, TrainOptions } from './options';

type Tensor = tfNamespace.Tensor;
type Tensor4D = tfNamespace.Tensor4D;

/** What the worker asks of the main thread; each resolves once the files are written. */
export interface TrainerHost {
  create(options: RunWriterOptions, backend: BackendName): Promise<void>;
  epoch(data: EpochData, report: EpochReport): Promise<void>;
  log(text: string): void;
}

/** A failure whose message is for the user as it stands (no stack trace in the log). */
export class TrainError extends Error {}

const EVAL_BATCH = 256;

/** "40 s", "12 min", "2 h 5 min". */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m === 0 ? `${h} h` : `${h} h ${m} min`;
}

/** Samples `idx` of a set as a [n, H, W, C] tensor (TF's layout; the set is stored NCHW). */
function batchInputs(tf: TF, s: Samples, shape: readonly [number, number, number], idx: ArrayLike<number>): Tensor4D {
  const [c, h, w] = shape;
  const size = c * h * w;
  const buf = new Float32Array(idx.length * size);
  for (let r = 0; r < idx.length; r++) buf.set(s.x.subarray(idx[r] * size, (idx[r] + 1) * size), r * size);
  return tf.tidy(() => {
    const t = tf.tensor4d(buf, [idx.length, c, h, w]);
    return c === 1 ? tf.reshape(t, [idx.length, h, w, 1]) : tf.transpose(t, [0, 2, 3, 1]);
  });
}

function range(from: number, to: number): Int32Array {
  return Int32Array.from({ length: to - from }, (_, i) => from + i);
}

function labels(s: Samples, idx: ArrayLike<number>): Int32Array {
  return Int32Array.from(idx, (i) => s.y[i]);
}

class Trainer {
  readonly net: Network;
  private readonly optimizer: tfNamespace.AdamOptimizer;

  constructor(
    private readonly tf: TF,
    readonly arch: ArchSpec,
    seed: number,
    lr: number,
    pureJs: boolean,
  ) {
    this.net = new Network(tf, arch, seed, pureJs);
    // PyTorch's Adam: betas (0.9, 0.999), eps 1e-8 (TF.js would default to its backend's epsilon).
    this.optimizer = tf.train.adam(lr, 0.9, 0.999, 1e-8);
  }

  /** One optimiser step on samples `idx` of `s`; returns the batch's summed loss and correct count. */
  step(s: Samples, idx: ArrayLike<number>): { loss: number; correct: number } {
    const tf = this.tf;
    const x = batchInputs(tf, s, this.arch.inputShape, idx);
    const y = tf.tensor1d(labels(s, idx), 'int32');
    const oneHot = tf.oneHot(y, this.arch.classes);
    let correct: Tensor | undefined;
    const cost = this.optimizer.minimize(
      () => {
        const logits = this.net.forward(x, true).logits;
        correct = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), y), 'int32')));
        return tf.losses.softmaxCrossEntropy(oneHot, logits) as tfNamespace.Scalar;
      },
      true,
      this.net.variables,
    );
    const loss = cost!.dataSync()[0];
    const right = correct!.dataSync()[0];
    tf.dispose([x, y, oneHot, cost!, correct!]);
    return { loss: loss * idx.length, correct: right };
  }

  /** Mean cross-entropy and accuracy over a whole set, in evaluation mode (no dropout). */
  evaluate(s: Samples): { loss: number; accuracy: number } {
    const tf = this.tf;
    let loss = 0;
    let correct = 0;
    for (let i = 0; i < s.count; i += EVAL_BATCH) {
      const idx = range(i, Math.min(s.count, i + EVAL_BATCH));
      const [l, c] = tf.tidy(() => {
        const x = batchInputs(tf, s, this.arch.inputShape, idx);
        const y = tf.tensor1d(labels(s, idx), 'int32');
        const logits = this.net.forward(x, false).logits;
        const sum = tf.losses.softmaxCrossEntropy(tf.oneHot(y, this.arch.classes), logits, undefined, undefined, tf.Reduction.SUM);
        return [sum.dataSync()[0], tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), y), 'int32')).dataSync()[0]];
      });
      loss += l;
      correct += c;
    }
    return { loss: loss / s.count, accuracy: correct / s.count };
  }

  /** Every recorded layer's outputs and the logits on the probe set, in the run format's [N, C, H, W] layout. */
  probeActivations(probe: Samples): { activations: Map<string, Float32Array>; logits: Float32Array } {
    const tf = this.tf;
    const layers = recordedLayers(this.arch);
    const names = new Set(layers.map((l) => l.name));
    const activations = new Map(layers.map((l) => [l.name, new Float32Array(probe.count * l.shape.reduce((a, b) => a * b, 1))]));
    const logits = new Float32Array(probe.count * this.arch.classes);
    for (let i = 0; i < probe.count; i += EVAL_BATCH) {
      const idx = range(i, Math.min(probe.count, i + EVAL_BATCH));
      tf.tidy(() => {
        const x = batchInputs(tf, probe, this.arch.inputShape, idx);
        const out = this.net.forward(x, false, names);
        for (const l of layers) {
          const t = out.outputs.get(l.name)!;
          const nchw = t.rank === 4 ? tf.transpose(t, [0, 3, 1, 2]) : t;
          const per = l.shape.reduce((a, b) => a * b, 1);
          activations.get(l.name)!.set(nchw.dataSync() as Float32Array, i * per);
        }
        logits.set(out.logits.dataSync() as Float32Array, i * this.arch.classes);
      });
    }
    return { activations, logits };
  }

  dispose(): void {
    this.net.dispose();
    this.optimizer.dispose();
  }
}

export interface Estimate {
  /** The whole run: epoch 0's evaluation, every epoch, and the probe's activations when stored. */
  readonly seconds: number;
  /** One epoch: its training steps and the test-set evaluation. */
  readonly epochSeconds: number;
  readonly stepSeconds: number;
  /** How many timed steps `stepSeconds` is the mean of. */
  readonly steps: number;
  readonly batch: number;
  readonly evalSecondsPerSample: number;
}

/**
 * How long the run would take, from real steps of the chosen configuration on a throwaway copy of
 * the network (so the run itself starts from the seed's weights): one warm-up step, then up to
 * `maxSteps` timed ones (fewer once they have taken `maxSeconds`), and one evaluation batch after a
 * warm-up one. Used for the refusal, and by bench/trainEpoch.ts to extrapolate the cpu backend.
 */
export function estimateRun(
  tf: TF,
  o: TrainOptions,
  data: TrainingData,
  limits: { maxSteps: number; maxSeconds: number } = { maxSteps: 3, maxSeconds: 2 },
): Estimate {
  const trainer = new Trainer(tf, ARCHS[o.arch], o.seed + 1, o.lr, true);
  try {
    const batch = Math.min(o.batchSize, data.train.count);
    const idx = range(0, batch);
    trainer.step(data.train, idx);
    let steps = 0;
    const started = performance.now();
    while (steps < limits.maxSteps && (steps === 0 || performance.now() - started < limits.maxSeconds * 1000)) {
      trainer.step(data.train, idx);
      steps++;
    }
    const stepSeconds = (performance.now() - started) / 1000 / steps;
    // Evaluation in its own (smaller) batches: once to warm up, once timed.
    const evalCount = Math.min(64, data.test.count);
    const evalSet: Samples = {
      x: data.test.x.subarray(0, evalCount * data.inputShape.reduce((a, b) => a * b, 1)),
      y: data.test.y.subarray(0, evalCount),
      count: evalCount,
    };
    trainer.evaluate(evalSet);
    const evalStarted = performance.now();
    trainer.evaluate(evalSet);
    const perSample = (performance.now() - evalStarted) / 1000 / evalCount;
    const epochSeconds = Math.ceil(data.train.count / batch) * stepSeconds + data.test.count * perSample;
    const probeSeconds = o.store === 'checkpoint' ? 0 : data.probe.count * perSample;
    const seconds = (data.train.count + data.test.count) * perSample + o.epochs * epochSeconds + (o.epochs + 1) * probeSeconds;
    return { seconds, epochSeconds, stepSeconds, steps, batch, evalSecondsPerSample: perSample };
  } finally {
    trainer.dispose();
  }
}

function epochData(trainer: Trainer, o: TrainOptions, data: TrainingData, metrics: Record<string, number>): EpochData {
  let out: EpochData = { metrics };
  if (o.store !== 'activations') out = { ...out, checkpoint: trainer.net.toOnnx() };
  if (o.store !== 'checkpoint') {
    const { activations, logits } = trainer.probeActivations(data.probe);
    out = { ...out, activations, logits, dtype: o.dtype };
  }
  return out;
}

export async function train(o: TrainOptions, host: TrainerHost): Promise<void> {
  const { tf, backend, notes } = await loadBackend(o.backend, o.modulePaths);
  for (const note of notes) host.log(`not using ${note}`);
  host.log(`TF.js ${tf.version_core}, backend ${backend}`);
  const data = await loadTrainingData(o);
  const arch = ARCHS[o.arch];
  const pureJs = isPureJs(backend);

  if (pureJs && o.maxMinutes > 0) {
    const e = estimateRun(tf, o, data);
    const summary = `about ${formatDuration(e.seconds)} on the TF.js ${backend} backend (${o.epochs} epochs of ${data.train.count} images at ${e.stepSeconds.toFixed(2)} s per batch of ${e.batch}, timed over ${e.steps} batches, plus the test-set evaluation)`;
    if (e.seconds > o.maxMinutes * 60) {
      throw new TrainError(
        `this run would take ${summary}, over the ${o.maxMinutes}-minute limit for the pure-JavaScript backends. ` +
          'Train it with the PyTorch engine, or install the native TF.js backend (@tensorflow/tfjs-node) into the extension’s global storage when Train Model offers it, ' +
          'or train fewer images or epochs (--max-minutes 0 lifts the limit).',
      );
    }
    host.log(`estimated: ${summary}`);
  }

  const trainer = new Trainer(tf, arch, o.seed, o.lr, pureJs);
  const e0 = trainer.evaluate(data.train);
  const t0 = trainer.evaluate(data.test);
  const perClassText = o.perClass === 'all' ? 'all' : String(o.perClass);
  await host.create(
    {
      // "MNIST small CNN (100 per digit)", "CIFAR-10 CNN (500 per class)", as the Python trainer names them.
      name: `${data.title}${o.dataset === 'cifar10' ? '' : ` ${o.arch}`} CNN (${perClassText} per ${data.unit})`,
      model: { name: arch.className, framework: 'tfjs' },
      layers: recordedLayers(arch),
      classes: data.classes,
      probe: { inputs: data.probe.x, inputShape: data.inputShape, labels: data.probe.y, description: data.probeDescription },
      overwrite: o.overwrite,
    },
    backend,
  );
  const started0 = Date.now();
  const first = epochData(trainer, o, data, { loss: e0.loss, accuracy: e0.accuracy, test_loss: t0.loss, test_accuracy: t0.accuracy });
  await host.epoch(first, { epoch: 0, loss: e0.loss, accuracy: e0.accuracy, testLoss: t0.loss, testAccuracy: t0.accuracy, startedAt: started0 });

  const random = seededRandom((o.seed ^ 0x2545f491) >>> 0);
  const order = range(0, data.train.count);
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    const startedAt = Date.now();
    // Fisher–Yates with the seed's generator: the same batches for the same seed.
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      const t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    let lossSum = 0;
    let correct = 0;
    for (let i = 0; i < order.length; i += o.batchSize) {
      const r = trainer.step(data.train, order.subarray(i, Math.min(order.length, i + o.batchSize)));
      lossSum += r.loss;
      correct += r.correct;
    }
    const loss = lossSum / order.length;
    const accuracy = correct / order.length;
    const test = trainer.evaluate(data.test);
    const payload = epochData(trainer, o, data, { loss, accuracy, test_loss: test.loss, test_accuracy: test.accuracy });
    await host.epoch(payload, { epoch, loss, accuracy, testLoss: test.loss, testAccuracy: test.accuracy, startedAt });
  }
  trainer.dispose();
}

/** The buffers to transfer rather than copy when posting an epoch's data to the main thread. */
export function transferables(data: EpochData): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  if (data.checkpoint instanceof Uint8Array) out.push(data.checkpoint.buffer as ArrayBuffer);
  for (const a of data.activations?.values() ?? []) out.push(a.buffer as ArrayBuffer);
  if (data.logits) out.push(data.logits.buffer as ArrayBuffer);
  return out;
}

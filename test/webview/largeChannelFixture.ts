// A synthetic run the size of MobileNetV2's (issue 15): 140 recorded layers, one of 1,280 channels
// and one of 512, ten classes, ten epochs, and the engine's channelEntropies answer for any of its
// layers, synthesised from a seed. No run is written: the channel view asks only for the
// entropies, and their shape is the engine's (ChannelEntropiesResult), so the view is fed what it
// would be fed, at a size no fixture run could be computed at in a test. Some channels are dead
// (0 bits for every sample at every epoch), so the dead-channel sort and filters have something
// to find.
import { ESTIMATOR_DEFAULTS, type ChannelEntropiesResult, type MeasureSeries } from '../../src/shared/measures';
import type { LayerInfo, RunInfo } from '../../src/shared/runFormat';
import { seededRandom } from '../../src/shared/seededRandom';
import { HostError, type RequestHandler } from './harness';

export const LARGE_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
export const LARGE_EPOCHS = 10;
export const SAMPLES_PER_CLASS = 10;
/** The layer of 1,280 channels (MobileNetV2's last conv), of 512, and one like the sample run's conv2 (16 channels). */
export const WIDEST = 'features.18.0';
export const WIDE512 = 'features.17.conv.2';
export const CONV16 = 'features.1.conv.0';

/** 140 layers: conv, norm and activation triples of MobileNetV2's widths, the three above among them. */
function layers(): LayerInfo[] {
  const widths = [32, 16, 24, 24, 32, 32, 32, 64, 64, 64, 64, 96, 96, 96, 160, 160, 160, 320];
  const out: LayerInfo[] = [];
  for (let i = 0; out.length < 137; i++) {
    const c = widths[i % widths.length];
    const side = Math.max(7, 112 >> Math.floor(i / 4));
    out.push({ name: `features.${i}.conv.0`, kind: 'conv', shape: [c, side, side], op: 'Conv2d' });
    out.push({ name: `features.${i}.conv.1`, kind: 'norm', shape: [c, side, side], op: 'BatchNorm2d' });
    out.push({ name: `features.${i}.conv.2`, kind: 'activation', shape: [c, side, side], op: 'ReLU6' });
  }
  out[3] = { name: CONV16, kind: 'conv', shape: [16, 56, 56], op: 'Conv2d' };
  out[4] = { name: WIDE512, kind: 'activation', shape: [512, 7, 7], op: 'ReLU6' };
  out.push({ name: WIDEST, kind: 'conv', shape: [1280, 7, 7], op: 'Conv2d' });
  out.push({ name: 'pool', kind: 'pool', shape: [1280, 1, 1], op: 'AdaptiveAvgPool2d' });
  out.push({ name: 'classifier', kind: 'linear', shape: [10], op: 'Linear' });
  return out.slice(0, 140);
}

export function largeRun(dir: string): RunInfo {
  const ls = layers();
  return {
    dir,
    name: 'MobileNetV2 (synthetic)',
    incompleteEpochs: [],
    manifest: {
      format: 'cnnslicer-run',
      version: 1,
      name: 'MobileNetV2 (synthetic)',
      model: { name: 'MobileNetV2', framework: 'pytorch' },
      layers: ls,
      classes: LARGE_CLASSES,
      probe: { file: 'probe.safetensors', count: LARGE_CLASSES.length * SAMPLES_PER_CLASS, inputShape: [3, 224, 224] },
      epochs: Array.from({ length: LARGE_EPOCHS }, (_, t) => ({
        epoch: t,
        metrics: { loss: 2 / (t + 1) },
        activations: `epochs/${t}/activations.safetensors`,
      })),
      complete: true,
    },
  };
}

/** Whether channel c is dead in the synthetic entropies: every 97th from channel 5. */
export function isSyntheticDead(channel: number): boolean {
  return channel % 97 === 5;
}

/**
 * Every epoch's entropies of a layer of `channels`: a channel's level, a trend over the epochs of
 * its own, and an offset per class, so the sort keys order channels differently.
 */
export function syntheticEntropies(layer: string, channels: number): MeasureSeries<ChannelEntropiesResult> {
  const classes = LARGE_CLASSES.length;
  const rand = seededRandom(channels * 31 + layer.length);
  const level = Float64Array.from({ length: channels }, () => 0.5 + 3.5 * rand());
  const trend = Float64Array.from({ length: channels }, () => (rand() - 0.5) * 2);
  const offset = Float64Array.from({ length: classes * channels }, () => (rand() - 0.5) * rand() * 1.5);
  const items: ChannelEntropiesResult[] = [];
  for (let t = 0; t < LARGE_EPOCHS; t++) {
    const perClass = new Float32Array(classes * channels);
    const all = new Float32Array(channels);
    for (let c = 0; c < channels; c++) {
      let sum = 0;
      for (let k = 0; k < classes; k++) {
        const v = isSyntheticDead(c) ? 0 : Math.max(0.01, level[c] + (trend[c] * t) / (LARGE_EPOCHS - 1) + offset[k * channels + c]);
        perClass[k * channels + c] = v;
        sum += v;
      }
      all[c] = sum / classes;
    }
    items.push({
      layer,
      epoch: t,
      classes,
      channels,
      perClass,
      perClassCount: new Int32Array(classes * channels).fill(SAMPLES_PER_CLASS),
      all,
      allCount: new Int32Array(channels).fill(classes * SAMPLES_PER_CLASS),
      nonFiniteValues: 0,
    });
  }
  return { items, params: ESTIMATOR_DEFAULTS, cached: 0 };
}

/**
 * The host for the synthetic run: channelEntropies answered with the synthetic entropies (each
 * answer kept, so tests compare with exactly what the view got), every other engine method with
 * the error the engine gives a run that has no checkpoints.
 */
export class LargeRunHost {
  readonly answers = new Map<string, MeasureSeries<ChannelEntropiesResult>>();

  constructor(readonly run: RunInfo) {}

  entropiesOf(layer: string): MeasureSeries<ChannelEntropiesResult> {
    const known = this.answers.get(layer);
    if (known !== undefined) return known;
    const info = this.run.manifest.layers.find((l) => l.name === layer);
    if (info === undefined) throw new Error(`no layer ${layer}`);
    const series = syntheticEntropies(layer, info.shape[0]);
    this.answers.set(layer, series);
    return series;
  }

  readonly onRequest: RequestHandler = (method, params) => {
    if (method === 'showRunSummary') return {};
    if (method === 'channelEntropies' && typeof params.layer === 'string') return this.entropiesOf(params.layer);
    throw new HostError({ code: 'not-found', message: `the synthetic run has no data for ${method}` });
  };
}

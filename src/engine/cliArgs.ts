// The CLI's arguments and the set-up every command shares: parsing a command's options,
// the estimator parameters they set, the caches, and opening a run with progress.
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CnnSlicerError } from '../shared/errors';
import type { SampleSelection } from '../shared/engineProtocol';
import type { CapacityRange, EpochSelection, EstimatorParams, IntraNormalization } from '../shared/measures';
import { LOGITS_NAME } from '../shared/runFormat';
import type { MeasureContext } from './analysis/measures';
import { ActivationCache, CAP_ENV, capFromGiB } from './cache/activationCache';
import { ResultCache } from './cache/resultCache';
import { resolveEstimatorParams } from './estimators';
import { CAPACITY_SAMPLED_PAIRS } from './estimators/params';
import { progressReport, type ProgressReport } from './format/progressReport';
import { RunReader } from './run/runReader';

/** A command line that cannot be run: printed with the command's help. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }
}

export type OptionKind = 'flag' | 'value';

export interface Args {
  readonly command: string;
  readonly run: string;
  readonly flags: ReadonlySet<string>;
  readonly values: ReadonlyMap<string, string>;
}

export const CACHE_OPTIONS = { 'no-cache': 'flag', 'cache-dir': 'value', 'activation-cache-max': 'value' } as const;

export const OPTIONS: Record<string, Record<string, OptionKind>> = {
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
  infoplane: { epochs: 'value', class: 'value', alpha: 'value', sigma: 'value', 'exact-max': 'value', json: 'value', ...CACHE_OPTIONS },
  information: {
    from: 'value',
    to: 'value',
    matrix: 'flag',
    epoch: 'value',
    class: 'value',
    alpha: 'value',
    sigma: 'value',
    'exact-max': 'value',
    json: 'flag',
    ...CACHE_OPTIONS,
  },
  import: { dataset: 'value', data: 'value', probe: 'value', seed: 'value', mean: 'value', std: 'value', out: 'value' },
};

/** Parses the arguments after the command name; returns undefined when --help was asked for. */
export function parseCommandArgs(command: string, argv: readonly string[]): Args | undefined {
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

export function nonNegativeInteger(option: string, text: string): number {
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) throw new UsageError(`--${option} must be a non-negative whole number, got "${text}"`);
  return Number(text);
}

export function list(option: string, text: string): string[] {
  const items = text.split(',').map((s) => s.trim());
  if (items.some((s) => s === '')) throw new UsageError(`--${option} has an empty item in "${text}"`);
  return items;
}

export function oneOf<T extends string>(option: string, text: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(text))
    throw new UsageError(`--${option} must be ${allowed.slice(0, -1).join(', ')} or ${allowed[allowed.length - 1]}, got "${text}"`);
  return text as T;
}

export function epochOption(args: Args, option = 'epoch'): EpochSelection | undefined {
  const text = args.values.get(option);
  if (text === undefined) return undefined;
  return text === 'all' ? 'all' : nonNegativeInteger(option, text);
}

export function singleEpochOption(args: Args): number | undefined {
  const e = epochOption(args);
  if (e === 'all') throw new UsageError(`--epoch must be one epoch for "${args.command}", not "all"`);
  return e;
}

/**
 * Estimator overrides from options, each checked by the estimators' own validation so that the
 * CLI can never accept a value the engine refuses; its message is reworded to name the option.
 */
export function estimatorParams(
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
export interface Caches {
  readonly results: ResultCache | undefined;
  readonly activations: ActivationCache;
  readonly dispose: () => Promise<void>;
}

export async function openCaches(args: Args): Promise<Caches> {
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

export function rejectUnless(args: Args, allowed: boolean, options: readonly string[], why: string): void {
  if (allowed) return;
  for (const o of options) if (args.values.has(o) || args.flags.has(o)) throw new UsageError(`--${o} ${why}`);
}

/** Opens the run, runs `body` with a measure context (caches, Ctrl-C, progress) and closes everything. */
export async function withRun<T>(
  args: Args,
  caches: Caches,
  body: (reader: RunReader, ctx: MeasureContext, progress: ProgressReport) => Promise<T>,
): Promise<T> {
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
export async function checkWritableFolder(target: string): Promise<void> {
  const dir = path.dirname(target);
  const st = await fsp.stat(dir).catch(() => undefined);
  if (st === undefined || !st.isDirectory()) throw new CnnSlicerError('not-found', `cannot write: folder ${dir} does not exist`, target);
  const existing = await fsp.stat(target).catch(() => undefined);
  if (existing?.isDirectory()) throw new CnnSlicerError('bad-request', 'cannot write the JSON: this is a folder', target);
}

/** A class given by name or index; names win, so classes named "0".."9" mean what they say. */
export function resolveClass(reader: RunReader, text: string): number {
  const classes = reader.manifest.classes;
  const byName = classes.indexOf(text);
  if (byName >= 0) return byName;
  if (/^\d+$/.test(text) && Number(text) < classes.length) return Number(text);
  throw new CnnSlicerError('bad-request', `class "${text}" is not in the run (classes: ${classes.map((c, i) => `${i} ${c}`).join(', ')})`);
}

export function lastEpoch(reader: RunReader): number {
  const epochs = reader.manifest.epochs;
  if (epochs.length === 0) throw new CnnSlicerError('bad-request', 'the run has no finished epoch yet', reader.info.dir);
  return epochs[epochs.length - 1].epoch;
}

export function checkLayer(reader: RunReader, layer: string, pseudo: boolean): void {
  if (pseudo && (layer === 'input' || layer === LOGITS_NAME)) return;
  if (!reader.manifest.layers.some((l) => l.name === layer)) {
    const names = [...reader.manifest.layers.map((l) => l.name), ...(pseudo ? ['input', LOGITS_NAME] : [])];
    throw new CnnSlicerError('bad-request', `layer "${layer}" is not in the run (layers: ${names.join(', ')})`);
  }
}

export function samplesText(reader: RunReader, samples: SampleSelection): string {
  switch (samples.kind) {
    case 'all':
      return `all ${reader.manifest.probe.count} samples`;
    case 'class':
      return `class ${samples.classIndex} (${reader.manifest.classes[samples.classIndex]})`;
    case 'indices':
      return `samples ${samples.indices.join(', ')}`;
  }
}

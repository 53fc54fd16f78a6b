// The TF.js trainer's command line: the Python trainer's options (python/cnnslicer/train.py), with
// the same names, defaults and checks, so the extension passes one argument list to either, plus
// three of its own (--backend, --module-path, --max-minutes).
import type { ArchName } from './model';

export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
export const BACKENDS: readonly BackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

export type DatasetName = 'mnist' | 'cifar10';
export type StoreMode = 'checkpoint' | 'activations' | 'both';

export interface TrainOptions {
  readonly dataset: DatasetName;
  readonly arch: ArchName;
  readonly data?: string;
  readonly perClass: number | 'all';
  readonly epochs: number;
  readonly batchSize: number;
  readonly lr: number;
  readonly probe: number;
  readonly store: StoreMode;
  readonly dtype: 'float16' | 'float32';
  readonly out: string;
  readonly overwrite: boolean;
  readonly seed: number;
  readonly cifarRecords: number;
  readonly backend: BackendName | 'auto';
  /** Extra node_modules folders to look for the native backends in, first to last. */
  readonly modulePaths: readonly string[];
  /** 0: no limit. */
  readonly maxMinutes: number;
}

/** A bad command line; the message is argparse-like and meant for the user as it stands. */
export class OptionError extends Error {}

const DATASET_ARCHS: Record<DatasetName, readonly ArchName[]> = { mnist: ['paper', 'small'], cifar10: ['cifar'] };

function choice<T extends string>(flag: string, value: string, choices: readonly T[]): T {
  if ((choices as readonly string[]).includes(value)) return value as T;
  throw new OptionError(`argument ${flag}: invalid choice: '${value}' (choose from ${choices.map((c) => `'${c}'`).join(', ')})`);
}

function integer(flag: string, value: string): number {
  if (!/^-?\d+$/.test(value)) throw new OptionError(`argument ${flag}: invalid int value: '${value}'`);
  return Number(value);
}

function float(flag: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new OptionError(`argument ${flag}: invalid float value: '${value}'`);
  return n;
}

/** Parses the trainer's arguments (without the node executable and the script). */
export function parseOptions(argv: readonly string[]): TrainOptions {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  const modulePaths: string[] = [];
  const takesValue = new Set([
    '--dataset',
    '--arch',
    '--data',
    '--per-class',
    '--epochs',
    '--batch-size',
    '--lr',
    '--probe',
    '--store',
    '--dtype',
    '--probe-dtype',
    '--out',
    '--seed',
    '--device',
    '--cifar-records',
    '--backend',
    '--module-path',
    '--max-minutes',
  ]);
  const switches = new Set(['--overwrite']);
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let inline: string | undefined;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      inline = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    if (switches.has(arg)) {
      flags.add(arg);
      continue;
    }
    if (!takesValue.has(arg)) throw new OptionError(`unrecognized arguments: ${argv[i]}`);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new OptionError(`argument ${arg}: expected one argument`);
    if (arg === '--module-path') modulePaths.push(value);
    else values.set(arg, value);
  }
  const get = (flag: string): string | undefined => values.get(flag);

  const dataset = choice('--dataset', get('--dataset') ?? 'mnist', ['mnist', 'cifar10'] as const);
  const archValue = get('--arch');
  const arch = archValue === undefined ? DATASET_ARCHS[dataset][0] : choice('--arch', archValue, ['paper', 'small', 'cifar'] as const);
  if (!DATASET_ARCHS[dataset].includes(arch)) {
    const other: DatasetName = dataset === 'mnist' ? 'cifar10' : 'mnist';
    throw new OptionError(
      `--arch ${arch} is a ${other === 'cifar10' ? 'CIFAR-10' : 'MNIST'} architecture and cannot train on --dataset ${dataset}; ${dataset} takes --arch ${DATASET_ARCHS[dataset].join(' or ')}`,
    );
  }
  const perClassText = get('--per-class') ?? '500';
  if (perClassText !== 'all' && !(/^\d+$/.test(perClassText) && Number(perClassText) >= 1)) {
    throw new OptionError(`argument --per-class: '${perClassText}' is neither a positive number nor all`);
  }
  const perClass = perClassText === 'all' ? 'all' : Number(perClassText);
  const epochs = integer('--epochs', get('--epochs') ?? '20');
  const batchSize = integer('--batch-size', get('--batch-size') ?? '64');
  const lr = float('--lr', get('--lr') ?? '0.001');
  const probe = integer('--probe', get('--probe') ?? '1000');
  const cifarRecords = integer('--cifar-records', get('--cifar-records') ?? '10000');
  const store = choice('--store', get('--store') ?? 'checkpoint', ['activations', 'checkpoint', 'both'] as const);
  const dtype = choice('--dtype', get('--dtype') ?? 'float16', ['float16', 'float32'] as const);
  // The run writer stores float32 probe inputs; float16 would need the model to see rounded inputs.
  const probeDtype = choice('--probe-dtype', get('--probe-dtype') ?? 'float32', ['float16', 'float32'] as const);
  if (probeDtype !== 'float32') throw new OptionError('--probe-dtype float16 is not supported by the TF.js trainer; it stores float32 probe inputs');
  const device = choice('--device', get('--device') ?? 'auto', ['auto', 'cpu', 'cuda'] as const);
  let backend = choice('--backend', get('--backend') ?? 'auto', ['auto', ...BACKENDS] as const);
  // --device is the Python trainer's; here it only narrows `auto`.
  if (device === 'cuda') {
    if (backend === 'auto') backend = 'tensorflow-gpu';
    else if (backend !== 'tensorflow-gpu') throw new OptionError(`--device cuda needs --backend tensorflow-gpu (or auto), not ${backend}`);
  }
  if (device === 'cpu' && backend === 'tensorflow-gpu') throw new OptionError('--device cpu contradicts --backend tensorflow-gpu');
  const maxMinutes = float('--max-minutes', get('--max-minutes') ?? '10');
  const seed = integer('--seed', get('--seed') ?? '0');
  const out = get('--out');
  if (out === undefined || out === '') throw new OptionError('the following arguments are required: --out');
  if (epochs < 0 || batchSize < 1 || probe < 1 || lr <= 0 || cifarRecords < 1) {
    throw new OptionError('--epochs must be >= 0, --batch-size, --probe and --cifar-records >= 1, --lr > 0');
  }
  if (maxMinutes < 0) throw new OptionError('--max-minutes must be >= 0 (0: no limit)');
  if (probe > 10000) throw new OptionError(`--probe is at most 10000, the size of the ${dataset === 'cifar10' ? 'CIFAR-10' : 'MNIST'} test set`);
  if (dataset === 'cifar10' && perClass !== 'all' && perClass > 5000)
    throw new OptionError('--per-class is at most 5000 for CIFAR-10 (5,000 training images per class), or all');
  // The seed also seeds the pseudo-random generator, which takes 32 bits.
  if (!Number.isSafeInteger(seed)) throw new OptionError(`argument --seed: ${seed} is out of range`);
  return {
    dataset,
    arch,
    ...(get('--data') !== undefined ? { data: get('--data') } : {}),
    perClass,
    epochs,
    batchSize,
    lr,
    probe,
    store,
    dtype,
    out,
    overwrite: flags.has('--overwrite'),
    seed,
    cifarRecords,
    backend,
    modulePaths,
    maxMinutes,
  };
}

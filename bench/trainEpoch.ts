// Benchmark `train`: time per epoch of the paper's MNIST CNN (--arch paper) on 2,000 images per
// digit (20,000 images), batch 64, with every training engine available on this machine:
//   PyTorch CPU   python -m cnnslicer.train --device cpu: 2 epochs first and 1 at the end, the fastest
//   TF.js wasm    the TF.js trainer bundle, 1 whole epoch, its `seconds`
//   TF.js cpu     far too slow for a whole epoch: a few real training steps and one evaluation batch
//                 timed in-process with the trainer's own code, extrapolated to the epoch (printed as such)
//   tfjs-node(-gpu)  when @tensorflow/tfjs-node-gpu or -node loads (from the node_modules folder in
//                 CNNSLICER_TFJS_MODULES, or the repository's), 1 epoch each; else why not
// An epoch's `seconds` is what the trainers report: the training steps, the evaluation on the
// 10,000 test images and writing the epoch's ONNX checkpoint. Ratios are against PyTorch CPU
// measured in the same run. The refusal's own estimate for the wasm backend is printed next to the
// measured epoch, to show how far the 10-minute check can be trusted.
//
//   node bench/run-all.mjs train        (or: npx tsx bench/trainEpoch.ts)
//
// Figures only: nothing here asserts a timing. Takes about 6 minutes on 2 cores, most of it the
// wasm epoch. Needs /usr/bin/python3 with torch and numpy for the PyTorch row.
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { build } from 'esbuild';
import { loadBackend } from '../src/trainer/tfjs/backends';
import { loadTrainingData } from '../src/trainer/tfjs/data';
import { parseOptions } from '../src/trainer/tfjs/options';
import { estimateRun } from '../src/trainer/tfjs/train';
import { machine, PYTHON, reportResult, ROOT, table } from './common';

const PER_CLASS = 2000;
const BATCH = 64;
const CPU_STEPS = 3;
const scratch = path.join(ROOT, '.test-tmp', `bench-train-${process.pid}`);
const trainer = path.join(scratch, 'tfjsTrainer.js');
const common = [
  '--arch',
  'paper',
  '--per-class',
  String(PER_CLASS),
  '--batch-size',
  String(BATCH),
  '--probe',
  '100',
  '--store',
  'checkpoint',
  '--seed',
  '0',
  '--overwrite',
];

interface EpochLine {
  readonly event: string;
  readonly seconds?: number;
  readonly message?: string;
}

/** Runs a trainer to the end; returns its epochs' `seconds` (epoch 1 on), or throws with its error. */
function runTrainer(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      for (const line of b.toString().split('\n')) if (line.includes('"epoch"')) process.stdout.write(`  ${line.trim()}\n`);
    });
    child.stderr.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-3000)));
    child.on('error', reject);
    child.on('close', (code) => {
      const events = out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as EpochLine);
      const error = events.find((e) => e.event === 'error');
      if (code !== 0 || error) return reject(new Error(error?.message ?? `exited with ${code}: ${err.slice(-1000)}`));
      resolve(events.filter((e) => e.event === 'epoch').map((e) => e.seconds ?? NaN));
    });
  });
}

async function main(): Promise<void> {
  console.log(`Training: time per epoch, paper MNIST CNN, ${PER_CLASS} images per digit (${PER_CLASS * 10} images), batch ${BATCH}`);
  console.log(`machine: ${JSON.stringify(machine())}`);
  mkdirSync(scratch, { recursive: true });
  await build({
    entryPoints: [path.join(ROOT, 'src/trainer/tfjs/main.ts')],
    outfile: trainer,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['vscode', 'onnxruntime-node'],
    logLevel: 'silent',
  });
  for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm'])
    copyFileSync(path.join(ROOT, 'node_modules/@tensorflow/tfjs-backend-wasm/dist', f), path.join(scratch, f));

  const rows: { engine: string; seconds: number; how: string }[] = [];
  const notes: string[] = [];

  // PyTorch CPU, the reference: 2 epochs now and 1 after the TF.js runs, the fastest epoch taken,
  // since other work on a shared machine only ever adds time.
  const torchEpochs: number[] = [];
  const torch = async (epochs: number): Promise<void> => {
    if (!existsSync(PYTHON)) return;
    console.log(`\nPyTorch CPU (${epochs} epoch${epochs > 1 ? 's' : ''}):`);
    try {
      const env = { ...process.env, PYTHONPATH: path.join(ROOT, 'python') };
      torchEpochs.push(
        ...(await runTrainer(
          PYTHON,
          ['-m', 'cnnslicer.train', ...common, '--epochs', String(epochs), '--device', 'cpu', '--out', path.join(scratch, 'torch')],
          env,
        )),
      );
    } catch (err) {
      notes.push(`PyTorch CPU: ${(err as Error).message}`);
    }
  };
  await torch(2);

  const options = parseOptions([...common, '--epochs', '1', '--out', 'unused']);
  const data = await loadTrainingData(options);

  // TF.js wasm: one real epoch of the trainer, and beforehand what its refusal would estimate.
  {
    const { tf } = await loadBackend('wasm', []);
    const e = estimateRun(tf, options, data);
    console.log(
      `\nTF.js wasm (1 epoch); the refusal's estimate beforehand: ${e.epochSeconds.toFixed(1)} s per epoch (${e.stepSeconds.toFixed(3)} s per batch over ${e.steps} batches)`,
    );
    const secs = await runTrainer(
      process.execPath,
      [trainer, ...common, '--epochs', '1', '--backend', 'wasm', '--max-minutes', '0', '--out', path.join(scratch, 'wasm')],
      process.env,
    );
    rows.push({ engine: 'TF.js wasm (SIMD, 1 thread)', seconds: secs[0], how: `measured: 1 epoch (the refusal estimated ${e.epochSeconds.toFixed(0)} s)` });
  }

  // TF.js cpu: extrapolated from a few steps.
  {
    const { tf } = await loadBackend('cpu', []);
    console.log(`\nTF.js cpu: timing ${CPU_STEPS} training batches after a warm-up one, and one evaluation batch of 64 images`);
    const e = estimateRun(tf, options, data, { maxSteps: CPU_STEPS, maxSeconds: 120 });
    const batches = Math.ceil(data.train.count / BATCH);
    rows.push({
      engine: 'TF.js cpu (pure JS)',
      seconds: e.epochSeconds,
      how: `EXTRAPOLATED from ${e.steps} batches (${e.stepSeconds.toFixed(2)} s each) to ${batches}, plus 10,000 test images at ${(e.evalSecondsPerSample * 1000).toFixed(1)} ms each`,
    });
  }

  // The native backends, when installed somewhere the trainer looks (CNNSLICER_TFJS_MODULES: a node_modules folder).
  const modulePaths = process.env.CNNSLICER_TFJS_MODULES ? [process.env.CNNSLICER_TFJS_MODULES] : [];
  const moduleArgs = modulePaths.flatMap((m) => ['--module-path', m]);
  for (const backend of ['tensorflow-gpu', 'tensorflow'] as const) {
    const pkg = backend === 'tensorflow' ? '@tensorflow/tfjs-node' : '@tensorflow/tfjs-node-gpu';
    // Tried in a child first: a native addon that does not load must not end the benchmark.
    const detected = await new Promise<{ ok?: boolean; message?: string }>((resolve) => {
      const child = spawn(process.execPath, [trainer, '--detect', backend, ...moduleArgs], { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.on('close', (code, signal) => {
        try {
          resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as { ok?: boolean; message?: string });
        } catch {
          resolve({ ok: false, message: `the check exited with ${signal ?? code}` });
        }
      });
    });
    if (!detected.ok) {
      notes.push(`TF.js ${backend} (${pkg}): not measured, ${detected.message ?? 'did not load'}`);
      continue;
    }
    console.log(`\nTF.js ${backend} (${pkg}, 1 epoch):`);
    const secs = await runTrainer(
      process.execPath,
      [trainer, ...common, '--epochs', '1', '--backend', backend, '--max-minutes', '0', '--out', path.join(scratch, backend), ...moduleArgs],
      process.env,
    );
    rows.push({ engine: `TF.js ${backend} (${pkg})`, seconds: secs[0], how: 'measured: 1 epoch' });
  }

  await torch(1);
  const torchSeconds = torchEpochs.length > 0 ? Math.min(...torchEpochs) : undefined;
  if (torchSeconds !== undefined)
    rows.unshift({
      engine: 'PyTorch CPU',
      seconds: torchSeconds,
      how: `measured: fastest of ${torchEpochs.length} epochs (${torchEpochs.map((s) => s.toFixed(1)).join(', ')} s)`,
    });
  else notes.push(`PyTorch CPU: not measured${existsSync(PYTHON) ? '' : ` (${PYTHON} missing)`}`);

  console.log('');
  console.log(
    table(
      ['engine', 's per epoch', '× PyTorch CPU', 'how'],
      rows.map((r) => [r.engine, r.seconds.toFixed(1), torchSeconds !== undefined ? `${(r.seconds / torchSeconds).toFixed(1)}×` : '-', r.how]),
    ),
  );
  for (const n of notes) console.log(n);
  console.log(`load average after: ${JSON.stringify(machine().loadavg)}`);
  if (torchSeconds !== undefined) {
    reportResult({
      name: 'train',
      rows: rows
        .filter((r) => r.engine !== 'PyTorch CPU')
        .map((r) => ({ what: `${r.engine} s/epoch vs PyTorch CPU`, engine: r.seconds, reference: torchSeconds!, unit: 's' })),
      notes,
    });
  }
  rmSync(scratch, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err);
  rmSync(scratch, { recursive: true, force: true });
  process.exit(1);
});

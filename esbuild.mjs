// Builds every bundle the extension ships:
//   dist/extension/extension.js  the VS Code host (CommonJS, `vscode` external)
//   dist/engine/main.js          the engine child process (plain `node dist/engine/main.js`)
//   dist/engine/cli.js           the `cnnslicer` command line
//   dist/engine/knnWorker.js, sigmaWorker.js, capacityWorker.js, capacityCodesWorker.js, renyiWorker.js
//                                worker threads of the engine and the CLI
//   dist/trainer/tfjsTrainer.js  the TF.js trainer (plain `node`, never in the extension host), with
//                                the wasm backend's .wasm files beside it
//   dist/webview/<view>/main.js  one browser bundle per folder of webview/ that has a main.ts
//   dist/python/cnnslicer-<version>-py3-none-any.whl
//                                the Python probe as a wheel, installed by Install Probe (scripts/build-wheel.mjs)
// onnxruntime-node stays external: it loads a native binary shipped beside it in node_modules.
import * as esbuild from 'esbuild';
import { existsSync, readdirSync, copyFileSync, mkdirSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { buildWheel } from './scripts/build-wheel.mjs';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

const common = {
  bundle: true,
  sourcemap: !production,
  minify: production,
  logLevel: 'info',
  target: 'node20',
  platform: 'node',
  format: 'cjs',
};

const nodeExternals = ['vscode', 'onnxruntime-node'];

const builds = [
  { ...common, entryPoints: { extension: 'src/extension/extension.ts' }, outdir: 'dist/extension', external: nodeExternals },
  { ...common, entryPoints: { main: 'src/engine/main.ts' }, outdir: 'dist/engine', external: nodeExternals },
  { ...common, entryPoints: { cli: 'src/engine/cli.ts' }, outdir: 'dist/engine', external: nodeExternals, banner: { js: '#!/usr/bin/env node' } },
  // worker_threads entries, found beside main.js and cli.js at run time (see workerEntry in knn.ts).
  {
    ...common,
    entryPoints: {
      knnWorker: 'src/engine/compute/knnWorker.ts',
      sigmaWorker: 'src/engine/compute/sigmaWorker.ts',
      capacityWorker: 'src/engine/compute/capacityWorker.ts',
      capacityCodesWorker: 'src/engine/compute/capacityCodesWorker.ts',
      renyiWorker: 'src/engine/compute/renyiWorker.ts',
    },
    outdir: 'dist/engine',
    external: nodeExternals,
  },
];

// The TF.js trainer bundles @tensorflow/tfjs and its wasm backend. The native backends
// (@tensorflow/tfjs-node, -gpu) are never imported: the trainer loads them at run time with
// createRequire from wherever the user installed them (src/trainer/tfjs/backends.ts).
builds.push({ ...common, entryPoints: { tfjsTrainer: 'src/trainer/tfjs/main.ts' }, outdir: 'dist/trainer', external: nodeExternals });
/** The wasm binaries the trainer loads from its own folder: plain and SIMD (the threaded build does not run in Node). */
const tfjsWasmFiles = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm'];

const webviewRoot = 'webview';
for (const view of readdirSync(webviewRoot, { withFileTypes: true })) {
  if (!view.isDirectory() || !existsSync(join(webviewRoot, view.name, 'main.ts'))) continue;
  builds.push({
    ...common,
    platform: 'browser',
    target: 'es2022',
    format: 'iife',
    entryPoints: { main: join(webviewRoot, view.name, 'main.ts') },
    outdir: join('dist', 'webview', view.name),
    loader: { '.css': 'css' },
  });
}

// The wheel needs a Python with hatchling; without one the bundles still build and Install Probe says
// the extension was packaged without its wheel (`npm run package` then fails in check-vsix.mjs).
function buildProbeWheel() {
  const result = buildWheel();
  if (result.wheel === undefined) console.warn(`warning: dist/python has no probe wheel: ${result.skipped}`);
}

function copyStatic() {
  mkdirSync(join('dist', 'trainer'), { recursive: true });
  for (const file of tfjsWasmFiles) copyFileSync(join('node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist', file), join('dist', 'trainer', file));
  for (const view of readdirSync(webviewRoot, { withFileTypes: true })) {
    const css = join(webviewRoot, view.name, 'style.css');
    if (view.isDirectory() && existsSync(css)) {
      mkdirSync(join('dist', 'webview', view.name), { recursive: true });
      copyFileSync(css, join('dist', 'webview', view.name, 'style.css'));
    }
  }
}

if (watch) {
  const contexts = await Promise.all(builds.map((b) => esbuild.context(b)));
  copyStatic();
  buildProbeWheel();
  await Promise.all(contexts.map((c) => c.watch()));
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
  copyStatic();
  buildProbeWheel();
  // The CLI is run directly through package.json's `bin`.
  const cli = 'dist/engine/cli.js';
  if (existsSync(cli)) chmodSync(cli, 0o755);
}

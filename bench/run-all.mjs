// `npm run bench`: the engine against the independent NumPy/SciPy reference
// (bench/reference/estimators_ref.py), one benchmark per child process, then a summary table.
//
//   node bench/run-all.mjs          every benchmark (about 3–4 minutes on two cores)
//   node bench/run-all.mjs a c      only (a) and (c)
//   node bench/run-all.mjs live     only when named: new epochs of a live run reaching VS Code's screen
//   node bench/run-all.mjs views    only when named: layer and channel view redraws in Chromium
//   node bench/run-all.mjs views-large  only when named: the layer view's heatmap at 512 × 1,280 channels in Chromium
//   node bench/run-all.mjs views-open  only when named: views' first data once cached, and the host while the engine computes
//   node bench/run-all.mjs train   only when named: time per epoch of the paper MNIST CNN with each training engine here
//
//   a     inter-sample entropy, MNIST 2,000/class (N = 20,000, 784-D), k = 1000
//   a2    inter-sample entropy of a hidden layer: N = 1,000, 32,768-D float16 activations, k = 999
//   b     channel-capacity matrices, N = 1,000: 64 × 64 (16×16 and 8×8 maps), then 512 × 512
//         (ResNet-like 8×8 and 4×4 maps, exact and sampled; BENCH_CAPACITY_LARGE=0 skips it)
//   c     intra-sample entropy throughput
//   e     every eigenvalue of the 1,000 × 1,000 Rényi Gram matrix of MNIST images (the matrix-based
//         Rényi entropy's cost), against NumPy/LAPACK's eigvalsh; BENCH_EIGEN_N sets n
//   live  latency from a manifest's rename to the Runs tree and the training view (code-server and
//         Chromium from scripts/e2e/install.sh, a built dist/; no Python)
//   views  re-sorting and hovering a 64 × 64 heatmap, drawing 64 small multiples and 11 × 64
//         circles, on synthetic results of those sizes (Chromium and a built dist/; no Python)
//   views-large  hovering, re-sorting (incl. the similarity order), zooming and panning a synthetic
//         512 × 1,280 capacity matrix in the layer view (Chromium; no Python)
//   views-open  the training and channel views' first data on the sample run once cached, and
//         how soon a host command takes effect while the engine computes (code-server, a built dist/)
//
// Figures only: nothing here asserts a timing. The machine's load average is printed with each
// benchmark because other work on the machine moves the numbers.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const benchmarks = {
  a: 'interSample.ts',
  a2: 'interSampleHidden.ts',
  b: 'channelCapacity.ts',
  c: 'intraSample.ts',
  e: 'renyiEigen.ts',
  live: 'liveRefresh.ts',
  views: 'views.ts',
  'views-large': 'viewsLarge.ts',
  'views-open': 'viewOpen.ts',
  train: 'trainEpoch.ts',
};
/** Not engine-against-reference figures: they need a browser and a built extension, or take minutes (train), so they run only when named. */
const onlyWhenNamed = new Set(['live', 'views', 'views-large', 'views-open', 'train']);

const asked = process.argv.slice(2);
for (const a of asked) {
  if (!(a in benchmarks)) {
    console.error(`unknown benchmark "${a}"; choose from ${Object.keys(benchmarks).join(', ')}`);
    process.exit(2);
  }
}
const selected = Object.keys(benchmarks).filter((key) => (asked.length > 0 ? asked.includes(key) : !onlyWhenNamed.has(key)));
if (selected.some((key) => !onlyWhenNamed.has(key)) && !existsSync('/usr/bin/python3')) {
  console.error('the reference needs /usr/bin/python3 with numpy and scipy (Debian: apt-get install python3-numpy python3-scipy)');
  process.exit(2);
}

function run(file) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--require', 'tsx/cjs', join(root, 'bench', file)], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    const results = [];
    let pending = '';
    child.stdout.on('data', (chunk) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop();
      for (const line of lines) {
        if (line.startsWith('BENCH_RESULT ')) results.push(JSON.parse(line.slice('BENCH_RESULT '.length)));
        else console.log(line);
      }
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(results) : reject(new Error(`bench/${file} exited with ${code}`))));
  });
}

const start = Date.now();
const summary = [];
let failed = false;
for (const [key, file] of Object.entries(benchmarks)) {
  if (!selected.includes(key)) continue;
  console.log('');
  try {
    summary.push(...(await run(file)));
  } catch (err) {
    console.error(String(err));
    failed = true;
  }
}

const rows = [];
for (const bench of summary) {
  for (const r of bench.rows) {
    // A speed-up: how many times better the engine is, whichever direction "better" is.
    const ratio = r.higherIsBetter ? r.engine / r.reference : r.reference / r.engine;
    rows.push([`${bench.name}: ${r.what}`, `${r.engine.toFixed(2)} ${r.unit}`, `${r.reference.toFixed(2)} ${r.unit}`, `${ratio.toFixed(2)}×`]);
  }
}
if (rows.length > 0) {
  const header = ['', 'engine', 'reference', 'engine advantage'];
  const widths = header.map((_, c) => Math.max(header[c].length, ...rows.map((r) => r[c].length)));
  const line = (r) => r.map((v, c) => (c === 0 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join('  ');
  console.log(`\nSummary (${((Date.now() - start) / 1000).toFixed(0)} s)`);
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}
process.exit(failed ? 1 : 0);

// Benchmark (a2): inter-sample entropy of a hidden layer, as the layer view computes it for a real
// CNN: 1,000 probe samples (100 MNIST test images per class) of a 128-channel 16×16 post-ReLU
// layer (d = 32,768), float16 values as a ResNet's activations are stored, k = 999 (the default
// k of 1,000 capped at N − 1: every other sample is a neighbour).
// The layer is synthetic but has a real one's structure: bench/syntheticMaps.ts's 64-channel
// 3×3 convolution + ReLU of the digits, then a random 1×1 convolution to 128 channels + ReLU
// (about 60% zeros, channels correlated), scaled to activations of a few units and rounded to
// float16, so the values are on no 8-bit grid and the engine takes a float path: the blocked
// Gram path of src/engine/compute/knnGram.ts. As in a real network's layer on MNIST, many
// dimensions are constant over the samples (the digits never reach the map's border): the
// engine leaves them out of its products, the reference multiplies them all; both are printed.
// Engine (k-NN + interSampleEntropy) against the NumPy/SciPy reference with a float32 and with a
// float64 GEMM, interleaved, all reading the same float32 .npy file. The engine's figure is the
// first call of a fresh process (cold: loading onnxruntime and starting worker threads count);
// a second call in the same process, as a long-lived engine makes it, is printed apart (warm).
//
//   npx tsx bench/interSampleHidden.ts            (or: node bench/run-all.mjs a2)
//   BENCH_HIDDEN_PER_CLASS=50 npx tsx bench/interSampleHidden.ts   (N = 500)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { knn } from '../src/engine/compute/knn';
import { exactGrid } from '../src/engine/compute/knnIntegerGrid';
import { interSampleEntropyThreaded } from '../src/engine/compute/interSampleThreads';
import { MiB, REPEATS, blasSummary, fastest, fmtSeconds, machine, peakRssBytes, reportResult, runEngineChild, runReference, since, table } from './common';
import { readNpy, writeNpy } from './npy';
import { syntheticLayers } from './syntheticMaps';

const PER_CLASS = Number(process.env.BENCH_HIDDEN_PER_CLASS ?? 100);
const K = Number(process.env.BENCH_HIDDEN_K ?? 1000);
const CHANNELS = 128;
const SEED = 7;

/** x rounded to the nearest float16 (ties to even), as a float16 tensor would store it; |x| < 65,520. */
function float16(x: number): number {
  const a = Math.abs(x);
  if (a === 0) return 0;
  let e = Math.max(-14, Math.floor(Math.log2(a)));
  if (e > -14 && 2 ** e > a) e--;
  const ulp = 2 ** (e - 10);
  const q = a / ulp;
  let r = Math.round(q);
  if (r - q === 0.5 && r % 2 === 1) r--;
  return Math.sign(x) * r * ulp;
}

/** N × 128·16·16 activations: a 1×1 convolution of bench/syntheticMaps.ts's first layer, ReLU, float16. */
async function hiddenLayer(): Promise<{ n: number; d: number; points: Float32Array }> {
  const { n, li } = await syntheticLayers(PER_CLASS, SEED);
  const cin = 64;
  const size = 256;
  let state = SEED;
  const rand = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 4294967296;
  const w = Float64Array.from({ length: CHANNELS * cin }, () => (rand() * 2 - 1) / 4);
  const bias = Float64Array.from({ length: CHANNELS }, () => (rand() - 0.6) * 0.3);
  const d = CHANNELS * size;
  const points = new Float32Array(n * d);
  const acc = new Float64Array(size);
  for (let s = 0; s < n; s++) {
    for (let c = 0; c < CHANNELS; c++) {
      acc.fill(bias[c]);
      for (let ci = 0; ci < cin; ci++) {
        const wc = w[c * cin + ci];
        const o = (s * cin + ci) * size;
        for (let p = 0; p < size; p++) acc[p] += wc * li[o + p];
      }
      const o = s * d + c * size;
      for (let p = 0; p < size; p++) points[o + p] = acc[p] > 0 ? float16(4 * acc[p]) : 0;
    }
  }
  return { n, d, points };
}

async function engine(pointsFile: string, k: number): Promise<void> {
  const start = performance.now();
  const { data, shape } = readNpy(pointsFile);
  const [n, d] = shape;
  const load = since(start);
  const run = async () => {
    const t0 = performance.now();
    const graph = await knn(data as Float32Array, n, d, k);
    const knnSeconds = since(t0);
    const t1 = performance.now();
    const result = interSampleEntropyThreaded(graph);
    const entropySeconds = since(t1);
    return { graph, result, timings: { knn: knnSeconds, entropy: entropySeconds, compute: knnSeconds + entropySeconds } };
  };
  // Cold: the first call of a fresh process, which loads onnxruntime, builds its sessions and
  // starts the worker threads. This is the figure compared with the reference.
  const cold = await run();
  const peak = peakRssBytes();
  // Warm: the same call again in the same process, as a long-lived engine makes it for the next
  // epoch or layer: onnxruntime loaded, the pool's worker threads started (reported separately).
  const warm = await run();
  process.stdout.write(
    `${JSON.stringify({
      entropy: cold.result.entropy,
      warmEntropy: warm.result.entropy,
      unsolved: cold.result.unsolved,
      refined: cold.graph.refined,
      method: cold.graph.method,
      timings: { load, ...cold.timings },
      warmTimings: warm.timings,
      peakRssBytes: peak,
      loadavg: machine().loadavg,
    })}\n`,
  );
}

async function orchestrate(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cnnslicer-bench-hidden-'));
  try {
    const { n, d, points } = await hiddenLayer();
    const k = Math.min(K, n - 1);
    let zeros = 0;
    for (const v of points) if (v === 0) zeros++;
    let constant = 0;
    for (let t = 0; t < d; t++) {
      let i = 1;
      while (i < n && points[i * d + t] === points[t]) i++;
      if (i === n) constant++;
    }
    const pointsFile = join(dir, 'points.npy');
    writeNpy(pointsFile, points, [n, d]);
    console.log(
      `(a2) inter-sample entropy of a hidden layer: N = ${n} (MNIST test, ${PER_CLASS}/class), d = ${d} (${CHANNELS} × 16 × 16, float16, ${((100 * zeros) / points.length).toFixed(0)}% zeros), k = ${k}`,
    );
    console.log(
      `    dimensions constant over the samples: ${constant}; on an 8-bit grid (integer path): ${exactGrid(points, n, d) !== undefined}; machine: ${JSON.stringify(machine())}`,
    );

    type EngineRun = {
      entropy: number;
      warmEntropy: number;
      refined: number;
      method: string;
      unsolved: number;
      timings: Record<string, number>;
      warmTimings: Record<string, number>;
      peakRssBytes: number;
      loadavg: number[];
    };
    type RefRun = Record<string, unknown> & { timings: Record<string, number>; entropy: number; peak_rss_bytes: number };
    const engineRuns: EngineRun[] = [];
    const ref32Runs: RefRun[] = [];
    const ref64Runs: RefRun[] = [];
    const repeats = Math.max(REPEATS, 3);
    // Interleaved, so a disturbance on the (shared) machine is spread over all sides.
    for (let r = 0; r < repeats; r++) {
      engineRuns.push((await runEngineChild(__filename, [pointsFile, String(k)])).json as EngineRun);
      ref64Runs.push((await runReference(['inter', '--points', pointsFile, '--k', String(k), '--precision', 'float64'])).json as RefRun);
      ref32Runs.push((await runReference(['inter', '--points', pointsFile, '--k', String(k), '--precision', 'float32'])).json as RefRun);
    }
    const refCompute = (t: Record<string, number>) => t.knn + t.sigma + t.entropy;
    const eng = fastest(engineRuns, (e) => e.timings.compute);
    const ref32 = fastest(ref32Runs, (r) => refCompute(r.timings));
    const ref64 = fastest(ref64Runs, (r) => refCompute(r.timings));
    const all = (runs: number[]) => runs.map(fmtSeconds).join(', ');
    console.log(
      `    all runs, compute s: engine ${all(engineRuns.map((e) => e.timings.compute))}; float64 reference ${all(ref64Runs.map((r) => refCompute(r.timings)))}; float32 reference ${all(ref32Runs.map((r) => refCompute(r.timings)))}  (fastest of each below)`,
    );
    // Per-repeat ratios: each engine run against the reference runs next to it.
    const pairRatios = engineRuns.map((e, r) => (refCompute(ref64Runs[r].timings) / e.timings.compute).toFixed(2));
    console.log(
      `    per repeat, float64 reference / engine: ${pairRatios.join(', ')}; load average after each engine run: ${engineRuns.map((e) => e.loadavg[0]).join(', ')}`,
    );
    console.log(
      `    engine: ${eng.method} k-NN, ${eng.refined} distances of the ${n * (n - 1)} (each of ${(n * (n - 1)) / 2} pairs from both ends) recomputed in float64`,
    );
    console.log(
      `    reference: numpy ${String((ref64.versions as Record<string, string>).numpy)}, scipy ${String((ref64.versions as Record<string, string>).scipy)}; BLAS ${blasSummary(ref64)}`,
    );
    const row = (name: string, t: Record<string, number>, r: RefRun) => [
      name,
      fmtSeconds(t.knn),
      fmtSeconds(t.sigma + t.entropy),
      fmtSeconds(refCompute(t)),
      (r.peak_rss_bytes / MiB).toFixed(0),
      r.entropy.toFixed(9),
      `${(refCompute(t) / eng.timings.compute).toFixed(2)}×`,
    ];
    console.log(
      table(
        ['', 'k-NN s', 'σ + H s', 'compute s', 'peak RSS MiB', 'H bits', 'engine speed-up'],
        [
          [
            'engine, cold',
            fmtSeconds(eng.timings.knn),
            fmtSeconds(eng.timings.entropy),
            fmtSeconds(eng.timings.compute),
            (eng.peakRssBytes / MiB).toFixed(0),
            eng.entropy.toFixed(9),
            '',
          ],
          row('reference float64 GEMM', ref64.timings, ref64),
          row('reference float32 GEMM', ref32.timings, ref32),
        ],
      ),
    );
    const warm = fastest(engineRuns, (e) => e.warmTimings.compute);
    console.log(
      `    engine warm (a second call in the same process: onnxruntime loaded, worker threads started; not the figure above): k-NN ${fmtSeconds(warm.warmTimings.knn)} s + σ + H ${fmtSeconds(warm.warmTimings.entropy)} s = ${fmtSeconds(warm.warmTimings.compute)} s (all runs ${all(engineRuns.map((e) => e.warmTimings.compute))}), ${(refCompute(ref64.timings) / warm.warmTimings.compute).toFixed(2)}× the float64 reference, ${(refCompute(ref32.timings) / warm.warmTimings.compute).toFixed(2)}× the float32 one; same entropy: ${engineRuns.every((e) => e.warmEntropy === e.entropy)}`,
    );
    const rel = Math.abs(eng.entropy - ref64.entropy) / ref64.entropy;
    console.log(
      `    |H engine − H reference float64| = ${Math.abs(eng.entropy - ref64.entropy).toExponential(2)} bits, ${rel.toExponential(2)} relative  (timings exclude loading the .npy; load average now ${machine().loadavg})`,
    );
    reportResult({
      name: `(a2) inter-sample entropy, hidden layer N = ${n}, d = ${d}, k = ${k}`,
      rows: [
        { what: 'compute time vs float64 reference', engine: eng.timings.compute, reference: refCompute(ref64.timings), unit: 's' },
        { what: 'compute time vs float32 reference', engine: eng.timings.compute, reference: refCompute(ref32.timings), unit: 's' },
        { what: 'peak RSS vs float64 reference', engine: eng.peakRssBytes / MiB, reference: ref64.peak_rss_bytes / MiB, unit: 'MiB' },
      ],
      notes: [`BLAS: ${blasSummary(ref64)}`, `relative entropy difference ${rel.toExponential(2)}`],
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const main = process.argv[2] === 'engine' ? () => engine(process.argv[3], Number(process.argv[4])) : orchestrate;
main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

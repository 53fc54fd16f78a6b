// Benchmark (a): inter-sample entropy of MNIST training images, the paper's Fig. 5 setting at its
// largest: 2,000 images per class (N = 20,000, 784-D, pixels / 255), k = 1000.
// Engine (k-NN on onnxruntime + interSampleEntropy, both on every core) against the NumPy/SciPy
// reference, which runs twice: with a float32 GEMM (the like-for-like comparison for a float
// engine) and with float64 (its default, the one cross-checks use). Both read the same float32
// .npy file. The pixels / 255 are on an 8-bit grid, so the engine takes its exact integer k-NN
// path (docs/performance.md); the reference is left as it is, a float GEMM through OpenBLAS.
//
//   npx tsx bench/interSample.ts            (or: node bench/run-all.mjs a)
//   BENCH_INTER_PER_CLASS=500 BENCH_INTER_K=200 npx tsx bench/interSample.ts   (a quick run)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { knn } from '../src/engine/compute/knn';
import { imagesAsFloat32, loadMnist, stratifiedSubset } from '../src/core/data/mnist';
import { interSampleEntropyThreaded } from '../src/engine/compute/interSampleThreads';
import { executionProviderInUse } from '../src/engine/onnx/ortRuntime';
import { MiB, REPEATS, blasSummary, fastest, fmtSeconds, machine, peakRssBytes, reportResult, runEngineChild, runReference, since, table } from './common';
import { readNpy, writeNpy } from './npy';

const PER_CLASS = Number(process.env.BENCH_INTER_PER_CLASS ?? 2000);
const K = Number(process.env.BENCH_INTER_K ?? 1000);
const SEED = 1;

async function engine(pointsFile: string, k: number): Promise<void> {
  const start = performance.now();
  const { data, shape } = readNpy(pointsFile);
  const [n, d] = shape;
  const load = since(start);
  const t0 = performance.now();
  const graph = await knn(data as Float32Array, n, d, k);
  const knnSeconds = since(t0);
  const t1 = performance.now();
  const result = interSampleEntropyThreaded(graph);
  const entropySeconds = since(t1);
  process.stdout.write(
    `${JSON.stringify({
      entropy: result.entropy,
      unsolved: result.unsolved,
      unconverged: result.unconverged,
      refined: graph.refined,
      method: graph.method,
      knnWorkerThreads: graph.workerThreads,
      sigmaWorkerThreads: result.workerThreads,
      timings: { load, knn: knnSeconds, entropy: entropySeconds, compute: knnSeconds + entropySeconds },
      peakRssBytes: peakRssBytes(),
      executionProvider: executionProviderInUse(),
    })}\n`,
  );
}

async function orchestrate(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cnnslicer-bench-inter-'));
  try {
    const mnist = await loadMnist('train');
    const subset = stratifiedSubset(mnist.labels, PER_CLASS, SEED);
    const points = imagesAsFloat32(mnist, subset);
    const n = subset.length;
    const pointsFile = join(dir, 'points.npy');
    writeNpy(pointsFile, points, [n, mnist.rows * mnist.cols]);
    console.log(`(a) inter-sample entropy: MNIST train, ${PER_CLASS}/class → N = ${n}, d = ${mnist.rows * mnist.cols}, k = ${K}`);
    console.log(`    machine: ${JSON.stringify(machine())}`);

    type EngineRun = {
      entropy: number;
      refined: number;
      method: string;
      knnWorkerThreads: number;
      sigmaWorkerThreads: number;
      unsolved: number;
      timings: Record<string, number>;
      peakRssBytes: number;
      executionProvider: string;
    };
    const engineRuns: EngineRun[] = [];
    const ref32Runs: Record<string, unknown>[] = [];
    const ref64Runs: Record<string, unknown>[] = [];
    // Interleaved, so a disturbance on the machine is spread over both sides.
    for (let r = 0; r < REPEATS; r++) {
      engineRuns.push((await runEngineChild(__filename, [pointsFile, String(K)])).json as EngineRun);
      ref32Runs.push((await runReference(['inter', '--points', pointsFile, '--k', String(K), '--precision', 'float32'])).json);
      ref64Runs.push((await runReference(['inter', '--points', pointsFile, '--k', String(K), '--precision', 'float64'])).json);
    }
    const refCompute = (t: Record<string, number>) => t.knn + t.sigma + t.entropy;
    const eng = fastest(engineRuns, (e) => e.timings.compute);
    const ref32 = fastest(ref32Runs, (r) => refCompute(r.timings as Record<string, number>));
    const ref64 = fastest(ref64Runs, (r) => refCompute(r.timings as Record<string, number>));
    const t32 = ref32.timings as Record<string, number>;
    const t64 = ref64.timings as Record<string, number>;
    const all = (runs: number[]) => runs.map(fmtSeconds).join(', ');
    console.log(
      `    all runs, compute s: engine ${all(engineRuns.map((e) => e.timings.compute))}; float32 reference ${all(ref32Runs.map((r) => refCompute(r.timings as Record<string, number>)))}; float64 reference ${all(ref64Runs.map((r) => refCompute(r.timings as Record<string, number>)))}  (fastest of each below)`,
    );

    const path =
      eng.method === 'integer'
        ? 'exact integer k-NN (8-bit levels, MatMulInteger), no distance recomputed'
        : `float32 k-NN, ${eng.refined} of ${n * K} returned distances recomputed in float64`;
    console.log(
      `    engine: onnxruntime ${eng.executionProvider} EP; ${path}; worker threads beside the main one: k-NN ${eng.knnWorkerThreads}, σ + H ${eng.sigmaWorkerThreads} (${machine().cores} cores)`,
    );
    console.log(
      `    reference: numpy ${String((ref32.versions as Record<string, string>).numpy)}, scipy ${String((ref32.versions as Record<string, string>).scipy)}; BLAS ${blasSummary(ref32)}`,
    );
    console.log(
      table(
        ['', 'k-NN s', 'σ + H s', 'compute s', 'peak RSS MiB', 'H bits', 'engine speed-up'],
        [
          [
            'engine',
            fmtSeconds(eng.timings.knn),
            fmtSeconds(eng.timings.entropy),
            fmtSeconds(eng.timings.compute),
            (eng.peakRssBytes / MiB).toFixed(0),
            eng.entropy.toFixed(6),
            '',
          ],
          ...[
            ['reference float32 GEMM', t32, ref32],
            ['reference float64 GEMM', t64, ref64],
          ].map(([name, t, r]) => {
            const tt = t as Record<string, number>;
            const rr = r as Record<string, unknown>;
            return [
              name as string,
              fmtSeconds(tt.knn),
              fmtSeconds(tt.sigma + tt.entropy),
              fmtSeconds(refCompute(tt)),
              ((rr.peak_rss_bytes as number) / MiB).toFixed(0),
              (rr.entropy as number).toFixed(6),
              `${(refCompute(tt) / eng.timings.compute).toFixed(2)}×`,
            ];
          }),
        ],
      ),
    );
    const rel = Math.abs(eng.entropy - (ref64.entropy as number)) / (ref64.entropy as number);
    console.log(`    |H engine − H reference float64| / H = ${rel.toExponential(2)}  (timings exclude loading the .npy; load average ${machine().loadavg})`);
    reportResult({
      name: `(a) inter-sample entropy, N = ${n}, k = ${K}`,
      rows: [
        { what: 'compute time vs float32 reference', engine: eng.timings.compute, reference: refCompute(t32), unit: 's' },
        { what: 'compute time vs float64 reference', engine: eng.timings.compute, reference: refCompute(t64), unit: 's' },
        { what: 'k-NN stage vs float32 reference', engine: eng.timings.knn, reference: t32.knn, unit: 's' },
        { what: 'peak RSS vs float32 reference', engine: eng.peakRssBytes / MiB, reference: (ref32.peak_rss_bytes as number) / MiB, unit: 'MiB' },
      ],
      notes: [`BLAS: ${blasSummary(ref32)}`, `relative entropy difference ${rel.toExponential(2)}`],
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

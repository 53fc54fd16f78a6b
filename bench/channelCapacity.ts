// Benchmark (b): the layer view's 64 × 64 channel-capacity matrix (paper §5.3.1, Fig. 8) over
// N = 1,000 probe samples, between a layer of 16×16 maps and one of 8×8 maps (bench/syntheticMaps.ts).
// Engine: per-channel pair distances by an onnxruntime Gram graph + channelCapacity; reference:
// scipy pdist (the brief's method) and a float64 BLAS Gram product (a faster baseline). Then the
// large case, 512 × 512 channels of ResNet-like sizes, exact and sampled (channelCapacityLarge.ts;
// BENCH_CAPACITY_LARGE=0 skips it).
//
//   npx tsx bench/channelCapacity.ts        (or: node bench/run-all.mjs b)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pairwiseChannelDistances } from '../src/engine/compute/pairwiseDistances';
import { ESTIMATOR_DEFAULTS } from '../src/engine/estimators/params';
import { channelCapacityParallel } from '../src/engine/compute/capacityParallel';
import { executionProviderInUse } from '../src/engine/onnx/ortRuntime';
import { MiB, REPEATS, blasSummary, fastest, fmtSeconds, machine, peakRssBytes, reportResult, runEngineChild, runReference, since, table } from './common';
import { engineLarge, largeCase } from './channelCapacityLarge';
import { readNpy, writeNpy } from './npy';
import { syntheticLayers } from './syntheticMaps';

const PER_CLASS = Number(process.env.BENCH_CAPACITY_PER_CLASS ?? 100);
const BINS = ESTIMATOR_DEFAULTS.capacityBins;

async function engine(aFile: string, bFile: string, outFile: string): Promise<void> {
  const start = performance.now();
  const a = readNpy(aFile);
  const b = readNpy(bFile);
  const load = since(start);
  const [n, ca, ha, wa] = a.shape;
  const [, cb, hb, wb] = b.shape;
  const t0 = performance.now();
  const da = await pairwiseChannelDistances(a.data as Float32Array, n, ca, ha * wa);
  const db = await pairwiseChannelDistances(b.data as Float32Array, n, cb, hb * wb);
  const distances = since(t0);
  const t1 = performance.now();
  const matrix = await channelCapacityParallel(da, db, { capacityBins: BINS, capacityRange: 'channel' });
  const capacity = since(t1);
  writeNpy(outFile, matrix.capacity, [matrix.rowsChannels, matrix.colsChannels]);
  process.stdout.write(
    `${JSON.stringify({ timings: { load, distances, capacity, compute: distances + capacity }, peakRssBytes: peakRssBytes(), executionProvider: executionProviderInUse(), workerThreads: matrix.workerThreads })}\n`,
  );
}

async function orchestrate(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cnnslicer-bench-capacity-'));
  try {
    const layers = await syntheticLayers(PER_CLASS);
    const n = layers.n;
    const aFile = join(dir, 'li.npy');
    const bFile = join(dir, 'lj.npy');
    const outFile = join(dir, 'capacity.npy');
    writeNpy(aFile, layers.li, [n, 64, 16, 16]);
    writeNpy(bFile, layers.lj, [n, 64, 8, 8]);
    console.log(`(b) channel capacity: 64 × 64 matrix, N = ${n} samples (${(n * (n - 1)) / 2} pairs), li 64×16×16, lj 64×8×8, ${BINS} bins`);
    console.log(`    machine: ${JSON.stringify(machine())}`);

    type EngineRun = { timings: Record<string, number>; peakRssBytes: number; executionProvider: string; workerThreads: number };
    const compute = (json: Record<string, unknown>) => {
      const t = json.timings as Record<string, number>;
      return t.distances + t.binning + t.mutual_information;
    };
    const engineRuns: EngineRun[] = [];
    const refRuns: Record<string, Record<string, unknown>[]> = { pdist: [], gemm: [] };
    for (let r = 0; r < REPEATS; r++) {
      engineRuns.push((await runEngineChild(__filename, [aFile, bFile, outFile])).json as EngineRun);
      for (const method of ['pdist', 'gemm']) {
        refRuns[method].push((await runReference(['capacity', '--a', aFile, '--b', bFile, '--bins', String(BINS), '--distance-method', method])).json);
      }
    }
    const eng = fastest(engineRuns, (e) => e.timings.compute);
    const engineMatrix = readNpy(outFile).data as Float32Array;
    const refs = ['pdist', 'gemm'].map((method) => ({ method, json: fastest(refRuns[method], compute) }));
    const all = (runs: number[]) => runs.map(fmtSeconds).join(', ');
    console.log(
      `    all runs, compute s: engine ${all(engineRuns.map((e) => e.timings.compute))}; reference pdist ${all(refRuns.pdist.map(compute))}; reference gemm ${all(refRuns.gemm.map(compute))}  (fastest of each below)`,
    );
    const rows = [
      ['engine', fmtSeconds(eng.timings.distances), fmtSeconds(eng.timings.capacity), fmtSeconds(eng.timings.compute), (eng.peakRssBytes / MiB).toFixed(0), ''],
      ...refs.map(({ method, json }) => {
        const t = json.timings as Record<string, number>;
        return [
          `reference (${method})`,
          fmtSeconds(t.distances),
          fmtSeconds(t.binning + t.mutual_information),
          fmtSeconds(compute(json)),
          ((json.peak_rss_bytes as number) / MiB).toFixed(0),
          `${(compute(json) / eng.timings.compute).toFixed(2)}×`,
        ];
      }),
    ];
    console.log(
      `    engine: onnxruntime ${eng.executionProvider} EP; histogram worker threads beside the main one: ${eng.workerThreads} (${machine().cores} cores); reference BLAS ${blasSummary(refs[0].json)}`,
    );
    console.log(table(['', 'distances s', 'histograms s', 'compute s', 'peak RSS MiB', 'engine speed-up'], rows));
    // Agreement, for information: distances differ in float32 rounding, so a pair near a bin edge
    // can land in the neighbouring bin; the effect on a capacity is of order 1/pairs.
    const refMatrix = refs[0].json.capacity as number[][];
    let maxAbs = 0;
    let maxCap = 0;
    for (let r = 0; r < refMatrix.length; r++) {
      for (let c = 0; c < refMatrix[r].length; c++) {
        maxAbs = Math.max(maxAbs, Math.abs(engineMatrix[r * refMatrix[r].length + c] - refMatrix[r][c]));
        maxCap = Math.max(maxCap, refMatrix[r][c]);
      }
    }
    console.log(
      `    max |capacity engine − reference| = ${maxAbs.toExponential(2)} bits (largest capacity ${maxCap.toFixed(3)} bits; load average ${machine().loadavg})`,
    );
    reportResult({
      name: `(b) channel capacity 64×64, N = ${n}`,
      rows: [
        { what: 'compute time vs reference (pdist)', engine: eng.timings.compute, reference: compute(refs[0].json), unit: 's' },
        { what: 'compute time vs reference (float64 GEMM)', engine: eng.timings.compute, reference: compute(refs[1].json), unit: 's' },
        { what: 'peak RSS vs reference (pdist)', engine: eng.peakRssBytes / MiB, reference: (refs[0].json.peak_rss_bytes as number) / MiB, unit: 'MiB' },
      ],
      notes: [`max capacity difference ${maxAbs.toExponential(2)} bits`],
    });
    if (process.env.BENCH_CAPACITY_LARGE !== '0') await largeCase(dir, __filename);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const [mode, ...rest] = process.argv.slice(2);
const main =
  mode !== 'engine' ? orchestrate : rest[0] === 'large' ? () => engineLarge(rest[1], rest[2], rest[3], rest[4]) : () => engine(rest[0], rest[1], rest[2]);
main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

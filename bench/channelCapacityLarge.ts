// Benchmark (b), large case: the 512 × 512 channel-capacity matrix over N = 1,000 probe samples
// (499,500 pairs: 1.3·10¹¹ histogram increments), between ResNet-like layers of 512 8×8 and 512 4×4
// maps (bench/syntheticResnetMaps.ts), exact and with a sample of pairs (capacityPairs), as the
// engine's channelCapacityOf computes it: maps → bin codes chunk by chunk → the matrix on every
// core. The reference would take over half an hour at this size, so it is timed on the first K × K
// channels and scaled (distances and binning by the channel count, histograms by the channel
// pairs), which the printed line says.
import { join } from 'node:path';
import { codeChannelMaps } from '../src/engine/compute/capacityCodes';
import { capacityMatrixOfCodes } from '../src/engine/compute/capacityParallel';
import { createCapacityArena } from '../src/engine/estimators/capacityWasm';
import { codeBytes, samplePairs } from '../src/engine/estimators/channelCapacity';
import { CAPACITY_SAMPLED_PAIRS, resolveEstimatorParams } from '../src/engine/estimators/params';
import { MiB, REPEATS, fastest, fmtSeconds, machine, peakRssBytes, reportResult, runEngineChild, runReference, since, table } from './common';
import { readNpy, writeNpy } from './npy';
import { resnetLikeLayers } from './syntheticResnetMaps';

/** Channels of each layer the reference is timed on. */
const K = Number(process.env.BENCH_CAPACITY_REF_CHANNELS ?? 32);

/** The engine child: one matrix, exact (pairs 0) or sampled, timed by stage. */
export async function engineLarge(aFile: string, bFile: string, outFile: string, pairsArg: string): Promise<void> {
  const start = performance.now();
  const a = readNpy(aFile);
  const b = readNpy(bFile);
  const load = since(start);
  const [n, ca, ha, wa] = a.shape;
  const [, cb, hb, wb] = b.shape;
  const params = resolveEstimatorParams({ capacityPairs: Number(pairsArg) });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const allPairs = (n * (n - 1)) / 2;
  const sample = params.capacityPairs > 0 && params.capacityPairs < allPairs ? samplePairs(allPairs, params.capacityPairs) : undefined;
  const pairs = sample?.length ?? allPairs;
  const arena = createCapacityArena([codeBytes(ca, pairs), codeBytes(cb, pairs)]);
  const storage = { arena, shared: true };
  const columns = await codeChannelMaps(a.data as Float32Array, n, ca, ha * wa, params, storage, { sample });
  const rows = await codeChannelMaps(b.data as Float32Array, n, cb, hb * wb, params, storage, { sample });
  const codes = since(t0);
  const t1 = performance.now();
  const m = await capacityMatrixOfCodes(columns, rows);
  const matrix = since(t1);
  const cpu = process.cpuUsage(cpu0);
  writeNpy(outFile, m.capacity, [m.rowsChannels, m.colsChannels]);
  process.stdout.write(
    `${JSON.stringify({ timings: { load, codes, matrix, compute: codes + matrix }, cpuSeconds: (cpu.user + cpu.system) / 1e6, pairs, peakRssBytes: peakRssBytes(), workerThreads: m.workerThreads, kernel: arena !== undefined ? 'wasm' : 'js' })}\n`,
  );
}

type EngineRun = { timings: Record<string, number>; cpuSeconds: number; pairs: number; peakRssBytes: number; workerThreads: number; kernel: string };

/** Channels [0, k) of an n × C × S array. */
function firstChannels(data: Float32Array, n: number, C: number, S: number, k: number): Float32Array {
  const out = new Float32Array(n * k * S);
  for (let i = 0; i < n; i++) out.set(data.subarray(i * C * S, (i * C + k) * S), i * k * S);
  return out;
}

function errors(approx: Float32Array, exact: Float32Array): { max: number; mean: number } {
  let max = 0;
  let sum = 0;
  for (let i = 0; i < exact.length; i++) {
    const e = Math.abs(approx[i] - exact[i]);
    max = Math.max(max, e);
    sum += e;
  }
  return { max, mean: sum / exact.length };
}

export async function largeCase(dir: string, childFile: string): Promise<void> {
  const layers = await resnetLikeLayers(Number(process.env.BENCH_CAPACITY_PER_CLASS ?? 100));
  const { n, channels: C } = layers;
  const files = { a: join(dir, 'li512.npy'), b: join(dir, 'lj512.npy'), aSub: join(dir, 'li-sub.npy'), bSub: join(dir, 'lj-sub.npy') };
  writeNpy(files.a, layers.li, [n, C, 8, 8]);
  writeNpy(files.b, layers.lj, [n, C, 4, 4]);
  writeNpy(files.aSub, firstChannels(layers.li, n, C, 64, K), [n, K, 8, 8]);
  writeNpy(files.bSub, firstChannels(layers.lj, n, C, 16, K), [n, K, 4, 4]);
  const pairs = (n * (n - 1)) / 2;
  console.log(
    `\n(b) channel capacity, large: ${C} × ${C} matrix, N = ${n} samples (${pairs} pairs: ${((C * C * pairs) / 1e11).toFixed(2)}·10¹¹ increments), li ${C}×8×8, lj ${C}×4×4, 16 bins; sampled: capacityPairs = ${CAPACITY_SAMPLED_PAIRS}`,
  );
  const exactFile = join(dir, 'exact512.npy');
  const sampledFile = join(dir, 'sampled512.npy');
  const exact: EngineRun[] = [];
  const sampled: EngineRun[] = [];
  const refs: Record<string, Record<string, unknown>[]> = { pdist: [], gemm: [] };
  const loads: string[] = [];
  // Interleaved, so that other work on the machine disturbs both sides alike.
  for (let r = 0; r < REPEATS; r++) {
    loads.push(String(machine().loadavg));
    exact.push((await runEngineChild(childFile, ['large', files.a, files.b, exactFile, '0'])).json as EngineRun);
    sampled.push((await runEngineChild(childFile, ['large', files.a, files.b, sampledFile, String(CAPACITY_SAMPLED_PAIRS)])).json as EngineRun);
    for (const method of ['pdist', 'gemm']) {
      refs[method].push((await runReference(['capacity', '--a', files.aSub, '--b', files.bSub, '--bins', '16', '--distance-method', method])).json);
    }
  }
  loads.push(String(machine().loadavg));
  // Scaled to the whole matrix: distances and binning grow with the channels, histograms with the channel pairs.
  const scale = C / K;
  const refSeconds = (json: Record<string, unknown>): number => {
    const t = json.timings as Record<string, number>;
    return (t.distances + t.binning) * scale + t.mutual_information * scale * scale;
  };
  const eng = fastest(exact, (e) => e.timings.compute);
  const smp = fastest(sampled, (e) => e.timings.compute);
  const ref = Object.fromEntries(Object.entries(refs).map(([method, runs]) => [method, fastest(runs, refSeconds)]));
  const all = (runs: number[]) => runs.map(fmtSeconds).join(', ');
  console.log(
    `    all runs, compute s: engine exact ${all(exact.map((e) => e.timings.compute))}; sampled ${all(sampled.map((e) => e.timings.compute))}; reference pdist (scaled) ${all(refs.pdist.map(refSeconds))}; gemm (scaled) ${all(refs.gemm.map(refSeconds))}; load average before each round and after: ${loads.join(' | ')}`,
  );
  const row = (what: string, e: EngineRun) => [
    what,
    fmtSeconds(e.timings.codes),
    fmtSeconds(e.timings.matrix),
    fmtSeconds(e.timings.compute),
    fmtSeconds(e.cpuSeconds),
    (e.peakRssBytes / MiB).toFixed(0),
    `${(refSeconds(ref.pdist) / e.timings.compute).toFixed(1)}×`,
    `${(refSeconds(ref.gemm) / e.timings.compute).toFixed(1)}×`,
  ];
  console.log(
    table(
      ['', 'codes s', 'histograms s', 'compute s', 'CPU s', 'peak RSS MiB', 'vs pdist', 'vs gemm'],
      [
        row(`engine exact (${eng.kernel} kernel, ${eng.workerThreads + 1} threads)`, eng),
        row(`engine sampled, ${smp.pairs} pairs`, smp),
        ...(['pdist', 'gemm'] as const).map((method) => {
          const t = ref[method].timings as Record<string, number>;
          return [
            `reference (${method}), ${K}×${K} scaled`,
            fmtSeconds((t.distances + t.binning) * scale),
            fmtSeconds(t.mutual_information * scale * scale),
            fmtSeconds(refSeconds(ref[method])),
            '',
            `${((ref[method].peak_rss_bytes as number) / MiB).toFixed(0)} (${K}×${K})`,
            '',
            '',
          ];
        }),
      ],
    ),
  );
  console.log(
    `    reference timed on the first ${K} × ${K} of the ${C} × ${C} channels and scaled: distances + binning × ${scale}, histograms × ${scale * scale}; its peak RSS is the subset's`,
  );
  const exactMatrix = readNpy(exactFile).data as Float32Array;
  const sampledMatrix = readNpy(sampledFile).data as Float32Array;
  const sampleError = errors(sampledMatrix, exactMatrix);
  const refMatrix = (ref.pdist.capacity as number[][]).flat();
  const engineSub = Float32Array.from({ length: K * K }, (_, i) => exactMatrix[Math.floor(i / K) * C + (i % K)]);
  const refError = errors(engineSub, Float32Array.from(refMatrix));
  let largest = 0;
  for (const v of exactMatrix) largest = Math.max(largest, v);
  console.log(
    `    sampled vs exact: max |error| ${sampleError.max.toFixed(4)} bits, mean ${sampleError.mean.toExponential(2)} bits (largest capacity ${largest.toFixed(3)} bits); exact vs reference on the ${K}×${K} subset: max ${refError.max.toExponential(2)} bits`,
  );
  reportResult({
    name: `(b) channel capacity ${C}×${C}, N = ${n}`,
    rows: [
      { what: `compute time vs reference (pdist, ${K}×${K} scaled)`, engine: eng.timings.compute, reference: refSeconds(ref.pdist), unit: 's' },
      { what: `compute time vs reference (float64 GEMM, ${K}×${K} scaled)`, engine: eng.timings.compute, reference: refSeconds(ref.gemm), unit: 's' },
      { what: `sampled (${smp.pairs} pairs) vs reference (pdist, scaled)`, engine: smp.timings.compute, reference: refSeconds(ref.pdist), unit: 's' },
    ],
    notes: [
      `peak RSS ${(eng.peakRssBytes / MiB).toFixed(0)} MiB exact, ${(smp.peakRssBytes / MiB).toFixed(0)} MiB sampled`,
      `sampled max error ${sampleError.max.toFixed(4)} bits`,
    ],
  });

  // BENCH_CAPACITY_PAIRS_SWEEP=20000,50000,… : one sampled run per count, its time and error.
  const sweep = (process.env.BENCH_CAPACITY_PAIRS_SWEEP ?? '').split(',').filter((s) => s !== '');
  if (sweep.length > 0) {
    const lines: (string | number)[][] = [];
    for (const m of sweep) {
      const file = join(dir, `sweep-${m}.npy`);
      const run = (await runEngineChild(childFile, ['large', files.a, files.b, file, m])).json as EngineRun;
      const e = errors(readNpy(file).data as Float32Array, exactMatrix);
      lines.push([
        m,
        fmtSeconds(run.timings.codes),
        fmtSeconds(run.timings.matrix),
        fmtSeconds(run.timings.compute),
        e.max.toFixed(4),
        e.mean.toExponential(2),
        String(machine().loadavg),
      ]);
    }
    console.log(table(['capacityPairs', 'codes s', 'histograms s', 'compute s', 'max |error| bits', 'mean |error| bits', 'load average'], lines));
  }
}

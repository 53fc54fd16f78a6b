// Benchmark (c): intra-sample entropy throughput (paper §4.4.2), in feature-map values per second:
// per-map min/max normalisation, 32 equal bins, entropy in bits. Two workloads: the 64 channels of
// 16×16 maps of bench/syntheticMaps.ts for 1,000 samples, and 20,000 MNIST images as 28×28 maps.
// Engine: featureMapEntropies; reference: a vectorised NumPy histogram (one bincount per array).
//
//   npx tsx bench/intraSample.ts            (or: node bench/run-all.mjs c)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { imagesAsFloat32, loadMnist, stratifiedSubset } from '../src/core/data/mnist';
import { featureMapEntropies } from '../src/engine/estimators/intraSampleEntropy';
import { MiB, REPEATS, blasSummary, fastest, fmtSeconds, machine, peakRssBytes, reportResult, runEngineChild, runReference, since, table } from './common';
import { readNpy, writeNpy } from './npy';
import { syntheticLayers } from './syntheticMaps';

const BINS = 32;

/** Each input file is n × C × S (S possibly as H × W); writes the per-map entropies beside it. */
async function engine(files: string[]): Promise<void> {
  const results = [];
  for (const file of files) {
    const { data, shape } = readNpy(file);
    const [n, C] = shape;
    const S = shape.slice(2).reduce((a, b) => a * b, 1);
    const t0 = performance.now();
    const maps = featureMapEntropies(data as Float32Array, n, C, S, { intraBins: BINS, intraNormalization: 'map' });
    const seconds = since(t0);
    writeNpy(`${file}.engine.npy`, maps.entropy, [n, C]);
    results.push({ file, values: data.length, seconds });
  }
  process.stdout.write(`${JSON.stringify({ results, peakRssBytes: peakRssBytes() })}\n`);
}

async function orchestrate(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cnnslicer-bench-intra-'));
  try {
    const layers = await syntheticLayers(100);
    const mnist = await loadMnist('train');
    const subset = stratifiedSubset(mnist.labels, 2000, 1);
    const inputs = [
      { name: `conv maps ${layers.n}×64×16×16`, file: join(dir, 'li.npy'), data: layers.li, shape: [layers.n, 64, 16, 16] },
      { name: `MNIST ${subset.length}×1×28×28`, file: join(dir, 'mnist.npy'), data: imagesAsFloat32(mnist, subset), shape: [subset.length, 1, 28, 28] },
    ];
    for (const input of inputs) writeNpy(input.file, input.data, input.shape);
    console.log(`(c) intra-sample entropy: per-map min/max, ${BINS} bins; fastest of ${REPEATS} runs each`);
    console.log(`    machine: ${JSON.stringify(machine())}`);

    type EngineRun = { results: { values: number; seconds: number }[]; peakRssBytes: number };
    const engineRuns: EngineRun[] = [];
    for (let r = 0; r < REPEATS; r++)
      engineRuns.push(
        (
          await runEngineChild(
            __filename,
            inputs.map((i) => i.file),
          )
        ).json as EngineRun,
      );
    const eng = fastest(engineRuns, (e) => e.results.reduce((sum, x) => sum + x.seconds, 0));
    const rows: (string | number)[][] = [];
    const reportRows = [];
    let blas = '';
    let refPeak = 0;
    for (let t = 0; t < inputs.length; t++) {
      const input = inputs[t];
      const refRuns: Record<string, unknown>[] = [];
      for (let r = 0; r < REPEATS; r++)
        refRuns.push((await runReference(['intra', '--maps', input.file, '--bins', String(BINS), '--summary', '--out', `${input.file}.ref.npy`])).json);
      const ref = fastest(refRuns, (x) => (x.timings as Record<string, number>).entropy);
      blas = blasSummary(ref);
      refPeak = Math.max(refPeak, ref.peak_rss_bytes as number);
      const refSeconds = (ref.timings as Record<string, number>).entropy;
      const e = eng.results[t];
      const engineRate = e.values / e.seconds;
      const refRate = e.values / refSeconds;
      // Agreement, for information: the two bin with different arithmetic (see the reference's
      // docstring), so a value exactly on a bin edge can land in different bins.
      const engineEntropies = readNpy(`${input.file}.engine.npy`).data as Float32Array;
      const refEntropies = readNpy(`${input.file}.ref.npy`).data as Float64Array;
      let maxDiff = 0;
      let differing = 0;
      for (let m = 0; m < refEntropies.length; m++) {
        const diff = Math.abs(engineEntropies[m] - refEntropies[m]);
        if (diff > 1e-6) differing++;
        if (diff > maxDiff) maxDiff = diff;
      }
      rows.push([
        input.name,
        (engineRate / 1e6).toFixed(0),
        (refRate / 1e6).toFixed(0),
        `${(engineRate / refRate).toFixed(2)}×`,
        fmtSeconds(e.seconds),
        fmtSeconds(refSeconds),
        `${differing} / ${refEntropies.length} (max ${maxDiff.toExponential(1)})`,
      ]);
      reportRows.push({ what: `throughput, ${input.name}`, engine: engineRate / 1e6, reference: refRate / 1e6, unit: 'M values/s', higherIsBetter: true });
    }
    reportRows.push({ what: 'peak RSS', engine: eng.peakRssBytes / MiB, reference: refPeak / MiB, unit: 'MiB' });
    console.log(`    reference BLAS ${blas} (not used here: histogramming is not BLAS work)`);
    console.log(table(['', 'engine M values/s', 'reference M values/s', 'engine speed-up', 'engine s', 'reference s', 'maps differing > 1e-6 bits'], rows));
    console.log(`    load average ${machine().loadavg}`);
    reportResult({ name: '(c) intra-sample entropy throughput', rows: reportRows });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const main = process.argv[2] === 'engine' ? () => engine(process.argv.slice(3)) : orchestrate;
main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

// Benchmark (e): every eigenvalue of an n × n symmetric matrix, what the matrix-based Rényi entropy
// spends its time on, against NumPy/LAPACK's eigvalsh (syevd without vectors) measured in the
// same run. The matrix is the one the estimator meets: the normalised Gaussian Gram matrix
// A = K / tr(K) of n MNIST training images (pixels / 255, σ the median pair distance).
//
//   npx tsx bench/renyiEigen.ts            (or: node bench/run-all.mjs e)
//   BENCH_EIGEN_N=2000 npx tsx bench/renyiEigen.ts
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { imagesAsFloat32, loadMnist, stratifiedSubset } from '../src/core/data/mnist';
import { renyiEntropyOfEigenvalues, renyiGram } from '../src/engine/estimators/renyiEntropy';
import { symmetricEigenvalues } from '../src/engine/estimators/symmetricEigen';
import { ESTIMATOR_DEFAULTS } from '../src/engine/estimators/params';
import { REPEATS, ROOT, blasSummary, fmtSeconds, machine, reportResult, runEngineChild, since, table } from './common';
import { readNpy, writeNpy } from './npy';
import { spawn } from 'node:child_process';

const N = Number(process.env.BENCH_EIGEN_N ?? 1000);
/** Calls per child process: the first includes compiling the WebAssembly module and V8's tiering up. */
const CALLS = Math.max(3, 2 * REPEATS + 1);
const REFERENCE = join(ROOT, 'bench', 'reference', 'renyi_ref.py');

interface EngineReply {
  seconds: number[];
  kernel: string;
}

function engine(matrixFile: string, outFile: string): void {
  const { data, shape } = readNpy(matrixFile);
  const n = shape[0];
  const a = data as Float64Array;
  const seconds: number[] = [];
  let lambda: Float64Array = new Float64Array(0);
  for (let c = 0; c < CALLS; c++) {
    const start = performance.now();
    lambda = symmetricEigenvalues(a, n);
    seconds.push(since(start));
  }
  writeNpy(outFile, lambda, [n]);
  process.stdout.write(`${JSON.stringify({ seconds, kernel: process.env.CNNSLICER_EIGEN_KERNEL === 'js' ? 'JavaScript' : 'WebAssembly' })}\n`);
}

/** The reference, with OPENBLAS_* pinning removed as in common.ts's runReference. */
function reference(args: string[]): Promise<Record<string, unknown>> {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/python3', [REFERENCE, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop() ?? '{}') as Record<string, unknown>) : reject(new Error(`renyi_ref.py exited with ${code}`)),
    );
  });
}

async function orchestrate(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cnnslicer-bench-eigen-'));
  try {
    const mnist = await loadMnist('train');
    const indices = stratifiedSubset(mnist.labels, Math.ceil(N / 10), 5).slice(0, N);
    const n = indices.length;
    const { gram, sigma } = renyiGram(imagesAsFloat32(mnist, indices), n, 784, ESTIMATOR_DEFAULTS);
    const matrixFile = join(dir, 'gram.npy');
    writeNpy(matrixFile, gram, [n, n]);
    console.log(`(e) symmetric eigenvalues: the Rényi Gram matrix of ${n} MNIST images (σ = median distance ${sigma.toFixed(3)}), n × n float64`);
    console.log(`    machine: ${JSON.stringify(machine())}`);

    const wasm = (await runEngineChild(__filename, [matrixFile, join(dir, 'wasm.npy')])).json as unknown as EngineReply;
    const js = (await runEngineChildWith({ CNNSLICER_EIGEN_KERNEL: 'js' }, [matrixFile, join(dir, 'js.npy')])) as unknown as EngineReply;
    const ref = await reference(['eigvalsh', '--matrix', matrixFile, '--repeats', String(CALLS), '--out', join(dir, 'ref.npy')]);
    const refSeconds = ref.seconds as number[];
    const best = (s: number[]): number => Math.min(...s);
    const lambdaRef = readNpy(join(dir, 'ref.npy')).data as Float64Array;
    const lambdaWasm = readNpy(join(dir, 'wasm.npy')).data as Float64Array;
    const lambdaJs = readNpy(join(dir, 'js.npy')).data as Float64Array;
    const maxAbs = (x: Float64Array): number => x.reduce((m, v, i) => Math.max(m, Math.abs(v - lambdaRef[i])), 0);
    const alpha = ESTIMATOR_DEFAULTS.renyiAlpha;
    const sRef = renyiEntropyOfEigenvalues(lambdaRef, alpha);
    const sWasm = renyiEntropyOfEigenvalues(lambdaWasm, alpha);
    console.log(`    reference: ${blasSummary(ref)}; numpy ${String((ref.versions as Record<string, string>).numpy)}`);
    const all = (s: number[]): string => s.map((x) => (x * 1000).toFixed(0)).join(', ');
    console.log(
      `    all calls, ms: WebAssembly ${all(wasm.seconds)}; JavaScript ${all(js.seconds)}; LAPACK ${all(refSeconds)}  (fastest of each below; the first engine call compiles)`,
    );
    console.log(
      table(
        ['', 'seconds', 'vs LAPACK', 'max |λ − λ_LAPACK|'],
        [
          [
            'engine, WebAssembly (1 thread)',
            fmtSeconds(best(wasm.seconds)),
            `${(best(wasm.seconds) / best(refSeconds)).toFixed(2)}×`,
            maxAbs(lambdaWasm).toExponential(1),
          ],
          [
            'engine, JavaScript (1 thread)',
            fmtSeconds(best(js.seconds)),
            `${(best(js.seconds) / best(refSeconds)).toFixed(2)}×`,
            maxAbs(lambdaJs).toExponential(1),
          ],
          ['numpy.linalg.eigvalsh (LAPACK)', fmtSeconds(best(refSeconds)), '1.00×', '0'],
        ],
      ),
    );
    console.log(
      `    S_${alpha}: engine ${sWasm.toFixed(12)}, from LAPACK's eigenvalues ${sRef.toFixed(12)} (relative ${(Math.abs(sWasm - sRef) / sRef).toExponential(1)}); load average ${machine().loadavg}`,
    );
    reportResult({
      name: `(e) symmetric eigenvalues, n = ${n}`,
      rows: [
        { what: 'WebAssembly, 1 thread, vs LAPACK eigvalsh', engine: best(wasm.seconds), reference: best(refSeconds), unit: 's' },
        { what: 'JavaScript, 1 thread, vs LAPACK eigvalsh', engine: best(js.seconds), reference: best(refSeconds), unit: 's' },
      ],
      notes: [`BLAS: ${blasSummary(ref)}`],
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** runEngineChild with extra environment variables. */
async function runEngineChildWith(env: Record<string, string>, args: string[]): Promise<Record<string, unknown>> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return (await runEngineChild(__filename, args)).json;
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

if (process.argv[2] === 'engine') engine(process.argv[3], process.argv[4]);
else
  orchestrate().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });

import * as assert from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { MANIFEST_FILE } from '../../src/shared/runFormat';
import { channelCapacityOf, channelEntropiesOf, interSampleEntropyOf, labelEntropiesOf } from '../../src/engine/analysis/measures';
import { needsMallocTuning } from '../../src/engine/cliProcess';
import { RunReader } from '../../src/engine/run/runReader';
import { RunWriter } from '../../src/core/run/runWriter';
import { randomArray, seededRandom, tempDir, writeSmallRun, type SmallRun } from '../support/runFixtures';

const root = path.resolve(__dirname, '../..');
/** Every CLI call gets its own default cache folder: a test must never touch the user's ~/.cache. */
const defaultCache = tempDir('cnnslicer-cli-cache-');

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const res = spawnSync(process.execPath, ['--require', 'tsx/cjs', path.join(root, 'src/engine/cli.ts'), ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, CNNSLICER_CACHE_DIR: defaultCache },
  });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

function ok(...args: string[]): string {
  const r = cli(...args);
  assert.strictEqual(r.status, 0, `cnnslicer ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** The whitespace-separated cells of the first output line matching `start`. */
function row(output: string, start: RegExp): string[] {
  const line = output.split('\n').find((l) => start.test(l));
  assert.ok(line !== undefined, `no line matching ${start} in:\n${output}`);
  return line.trim().split(/\s+/);
}

function mean(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return s / values.length;
}

after(() => fs.rm(defaultCache, { recursive: true, force: true }));

describe('cnnslicer CLI', function () {
  this.timeout(60000);
  let run: SmallRun;
  before(async () => {
    run = await writeSmallRun({ epochs: [0, 1, 2] });
  });
  after(() => run.cleanup());

  it('--help prints usage and exits 0', () => {
    const r = cli('--help');
    assert.strictEqual(r.status, 0);
    assert.match(r.stdout, /cnnslicer info <run>/);
  });

  it('info prints layers, shapes, classes, epochs and metrics', () => {
    const r = cli('info', run.dir);
    assert.strictEqual(r.status, 0, r.stderr);
    assert.match(r.stdout, /Run: small test run/);
    assert.match(r.stdout, /Probe set: 20 samples of \[1, 8, 8\]/);
    assert.match(r.stdout, /Classes \(3\): zero, one, two/);
    assert.match(r.stdout, /1\s+conv1\s+conv\s+4×6×6\s+Conv2d\s+model\.py:12/);
    assert.match(r.stdout, /3\s+fc\s+linear\s+10\s+Linear/);
    // epoch 2: loss 1/3, accuracy 0.5
    assert.match(r.stdout, /2\s+0\.3333\s+50\.00%\s+activations \(float32\)/);
  });

  it('info --json prints the run info as JSON', () => {
    const r = cli('info', run.dir, '--json');
    assert.strictEqual(r.status, 0, r.stderr);
    const info = JSON.parse(r.stdout);
    assert.deepStrictEqual(
      info.manifest.epochs.map((e: { epoch: number }) => e.epoch),
      [0, 1, 2],
    );
  });

  it('a bad run exits 1 with the typed error naming the file', async () => {
    const manifest = path.join(run.dir, MANIFEST_FILE);
    const good = await fs.readFile(manifest, 'utf8');
    try {
      await fs.writeFile(manifest, good.replace('"version": 1', '"version": 9'));
      const r = cli('info', run.dir);
      assert.strictEqual(r.status, 1);
      assert.match(r.stderr, /error \(unsupported-version\)/);
      assert.ok(r.stderr.includes(manifest), r.stderr);
    } finally {
      await fs.writeFile(manifest, good);
    }
  });

  it('a missing run exits 1 and says so', () => {
    const r = cli('info', path.join(run.dir, 'nope'));
    assert.strictEqual(r.status, 1);
    assert.match(r.stderr, /not-found/);
  });

  it('usage errors exit 2', () => {
    assert.strictEqual(cli('info').status, 2);
    assert.strictEqual(cli('frobnicate').status, 2);
    assert.strictEqual(cli('info', run.dir, '--bogus').status, 2);
  });
});

/**
 * A run where class 2 is never predicted (its logit is always far below the others) and whose two
 * map layers have more than 16 channels, so the capacity matrix is shown cut.
 */
async function writeWideRun(dir: string): Promise<string> {
  const rand = seededRandom(7);
  const n = 12;
  const layers = [
    { name: 'wide1', kind: 'conv' as const, shape: [20, 2, 2] },
    { name: 'wide2', kind: 'conv' as const, shape: [18, 2, 2] },
  ];
  const runDir = path.join(dir, 'wide');
  const writer = await RunWriter.create(runDir, {
    name: 'wide run',
    model: { name: 'Wide' },
    layers,
    classes: ['cat', 'dog', 'bird'],
    probe: { inputs: randomArray(n * 16, rand), inputShape: [1, 4, 4], labels: Int32Array.from({ length: n }, (_, i) => i % 3) },
  });
  for (const epoch of [0, 1]) {
    const logits = randomArray(n * 3, rand, 2);
    for (let i = 0; i < n; i++) logits[i * 3 + 2] = -100;
    await writer.writeEpoch(epoch, {
      metrics: { loss: 2 - epoch, accuracy: 0.25 },
      activations: new Map(layers.map((l) => [l.name, randomArray(n * l.shape[0] * 4, rand, 2)])),
      logits,
    });
  }
  await writer.finish();
  return runDir;
}

describe('cnnslicer analyze, entropy, capacity, labels', function () {
  this.timeout(120000);
  let run: SmallRun;
  let wide: string;
  let reader: RunReader;
  let scratch: string;
  before(async () => {
    run = await writeSmallRun({ epochs: [0, 1, 2] });
    scratch = tempDir('cnnslicer-cli-out-');
    wide = await writeWideRun(scratch);
    reader = await RunReader.open(run.dir);
  });
  after(async () => {
    await reader?.close();
    run?.cleanup();
    if (scratch !== undefined) await fs.rm(scratch, { recursive: true, force: true });
  });

  it('analyze prints the per-epoch and per-layer tables with the numbers of the measures, and progress lines on a non-terminal stderr', async () => {
    const r = cli('analyze', run.dir, '--k', '5', '--no-cache');
    assert.strictEqual(r.status, 0, r.stderr);
    // Off a terminal: whole lines (no carriage return), the last one saying it is done.
    assert.doesNotMatch(r.stderr, /\r/);
    const progress = r.stderr.trim().split('\n');
    assert.ok(
      progress.every((l) => /^cnnslicer: \[\d+\/26\] \d+% .+: (\d+\.\d s|from the cache); (about .+ left|done|time left not known yet)$/.test(l)),
      r.stderr,
    );
    assert.match(progress[progress.length - 1], /^cnnslicer: \[26\/26\] 100% .*; done$/);
    const out = r.stdout;
    assert.match(out, /Run: small test run/);
    assert.match(out, /Classes \(3\): zero, one, two/);
    assert.match(out, /inter-sample entropy\s+k = 5, σ tolerance 1e-9/);
    assert.match(out, /intra-sample entropy\s+32 bins, normalisation per map/);
    assert.match(out, /channel capacity\s+16 bins per axis, range per channel/);
    assert.ok(
      out.split('\n').every((l) => l.length <= 160),
      'fits 160 columns',
    );

    const params = { interK: 5 };
    const input = (await interSampleEntropyOf(reader, { samples: { kind: 'all' }, layer: 'input', epoch: 'all', params })).items[0];
    const labels = await labelEntropiesOf(reader, { epoch: 'all' });
    assert.deepStrictEqual(row(out, /^\s+epoch\s+loss\s+accuracy/), ['epoch', 'loss', 'accuracy', 'probe', 'acc.']);
    for (const epoch of [0, 1, 2]) {
      const cells = row(out, new RegExp(`^\\s+${epoch}\\s+\\d\\.\\d{4}\\s+\\d`));
      assert.strictEqual(cells[1], (1 / (epoch + 1)).toFixed(4), 'loss');
      assert.strictEqual(cells[2], `${((0.3 + 0.1 * epoch) * 100).toFixed(2)}%`, 'accuracy');
      assert.strictEqual(cells[3], `${(labels.items[epoch].accuracy * 100).toFixed(2)}%`, 'probe accuracy');
    }
    // Inter-sample entropy: a row per layer, a column per epoch, the ceiling log2 n(n−1) above it.
    assert.match(out, new RegExp(`ceiling log2 n\\(n−1\\) = ${Math.log2(input.n * (input.n - 1)).toFixed(4)} bits for n = ${input.n}`));
    assert.deepStrictEqual(row(out, /^\s+layer\s+epoch 0/), ['layer', 'epoch', '0', 'epoch', '1', 'epoch', '2']);
    const value = (cell: string): string => cell.replace(/\*$/, '');
    assert.deepStrictEqual(
      row(out, /^\s+input\s+\d/)
        .slice(1)
        .map(value),
      [0, 1, 2].map(() => input.entropy.toFixed(4)),
    );
    for (const layer of ['conv1', 'pool1', 'fc', 'logits']) {
      const cells = row(out, new RegExp(`^\\s+${layer}\\s+\\d\\.\\d{4}`));
      for (const epoch of [0, 1, 2]) {
        const h = (await interSampleEntropyOf(reader, { samples: { kind: 'all' }, layer, epoch, params })).items[0];
        assert.strictEqual(cells[1 + epoch], `${h.entropy.toFixed(4)}${h.ceiling - h.entropy < 0.5 ? '*' : ''}`, `${layer} at epoch ${epoch}`);
      }
    }

    assert.match(out, /Channels at epoch 2/);
    for (const layer of ['conv1', 'pool1']) {
      const ce = (await channelEntropiesOf(reader, { layer, epoch: 2 })).items[0];
      const values = Array.from(ce.all);
      const min = Math.min(...values);
      const max = Math.max(...values);
      const cells = row(out, new RegExp(`^\\s+${layer}\\s+4×`));
      assert.deepStrictEqual(cells, [
        layer,
        layer === 'conv1' ? '4×6×6' : '4×3×3',
        '4',
        mean(values).toFixed(4),
        min.toFixed(4),
        `(#${values.indexOf(min)})`,
        max.toFixed(4),
        `(#${values.indexOf(max)})`,
        String(values.filter((v) => v < 0.1).length),
      ]);
    }
    assert.match(out, /Labels at epoch 2/);
    assert.match(out, /conv1 → pool1\s+4×4\s+\d\.\d{4}/);
    assert.match(out, /skipped pool1 → fc: fc is a dense layer/);
    assert.match(out, /Cache: off \(--no-cache\), 26 results computed/);
  });

  it('analyze --layers/--epochs (both option forms) limits the tables; --no-capacity skips the capacity', () => {
    const out = ok('analyze', run.dir, '--layers=pool1,conv1', '--epochs', '0,2', '--k=4', '--no-capacity', '--no-cache');
    const names = out.split('\n').map((l) => l.trim().split(/\s+/)[0]);
    const first = names.indexOf('layer');
    assert.deepStrictEqual(names.slice(first + 1, first + 5), ['input', 'conv1', 'pool1', 'logits']);
    assert.deepStrictEqual(row(out, /^\s+layer\s+epoch 0/), ['layer', 'epoch', '0', 'epoch', '2']);
    assert.match(out, /Epochs analysed \(2\): 0, 2/);
    assert.doesNotMatch(out, /^\s+1\s+0\.5000/m);
    assert.match(out, /Channel capacity: not computed \(--no-capacity\)/);
    assert.match(out, /Cache: off \(--no-cache\), 13 results computed/);
  });

  it('analyze --json writes the full analysis, typed arrays as arrays and undefined label entropies as null', async () => {
    const file = path.join(scratch, 'analysis.json');
    const r = cli('analyze', wide, '--json', file, '--no-cache');
    assert.strictEqual(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`Wrote ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    // The summary shows the never-predicted class as ∞, never as 0.
    assert.match(r.stdout, /2 bird\s+4\s+0\s+0\s+∞ \(never predicted\)\s+\d\.\d{4}/);
    await assert.rejects(fs.stat(`${file}.tmp`), 'the temporary file is renamed away');
    const json = JSON.parse(await fs.readFile(file, 'utf8'));
    assert.strictEqual(json.undefinedMeans, 'no prediction / no samples');
    assert.strictEqual(json.run.name, 'wide run');
    assert.deepStrictEqual(json.layers, ['wide1', 'wide2']);
    assert.deepStrictEqual(json.epochs, [0, 1]);
    assert.strictEqual(json.params.interK, 1000);
    assert.strictEqual(json.interSample.input.n, 12);
    assert.strictEqual(json.interSample.epochs.length, 2);
    assert.deepStrictEqual(
      json.interSample.epochs[1].layers.map((l: { layer: string }) => l.layer),
      ['wide1', 'wide2'],
    );
    assert.strictEqual(json.interSample.epochs[1].logits.layer, 'logits');
    const ce = json.channelEntropies[0].items[1];
    assert.ok(Array.isArray(ce.all) && ce.all.length === 20 && ce.all.every((v: unknown) => typeof v === 'number'));
    assert.ok(Array.isArray(ce.perClass) && ce.perClass.length === 60);
    const le = json.labelEntropies[1];
    assert.ok(Array.isArray(le.confusion) && le.confusion.length === 9);
    assert.strictEqual(le.labelGivenPrediction[2], null, 'class 2 is never predicted');
    assert.strictEqual(typeof le.labelGivenPrediction[0], 'number');
    assert.strictEqual(typeof le.predictionGivenLabel[2], 'number');
    assert.strictEqual(json.capacityEpoch, 1);
    const cap = json.capacity[0];
    assert.deepStrictEqual([cap.layerI, cap.layerJ, cap.rows, cap.cols], ['wide1', 'wide2', 18, 20]);
    assert.ok(Array.isArray(cap.capacity) && cap.capacity.length === 360);
    assert.ok(Array.isArray(cap.order.colsByMax) && cap.order.colsByMax.length === 20);
    assert.deepStrictEqual(json.results, { total: 1 + 2 * 3 + 2 * 2 + 2 + 1, cached: 0 });
  });

  it('analyze --json keeps every finished result in FILE.partial.jsonl when stopped with Ctrl-C, and removes it when done', async () => {
    const longRun = await writeSmallRun({ n: 40, epochs: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] });
    try {
      const file = path.join(scratch, 'stopped.json');
      const child = spawn(
        process.execPath,
        ['--require', 'tsx/cjs', path.join(root, 'src/engine/cli.ts'), 'analyze', longRun.dir, '--json', file, '--no-cache'],
        {
          cwd: root,
          env: { ...process.env, CNNSLICER_CACHE_DIR: defaultCache },
        },
      );
      let stderr = '';
      let interrupted = false;
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        // Once, at the first finished result, as a user pressing Ctrl-C would (a second Ctrl-C kills).
        if (!interrupted && /\[1\/\d+\]/.test(stderr)) {
          interrupted = true;
          child.kill('SIGINT');
        }
      });
      const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
      assert.strictEqual(status, 1, stderr);
      assert.match(stderr, /error \(cancelled\)/);
      const lines = (await fs.readFile(`${file}.partial.jsonl`, 'utf8')).trim().split('\n');
      const kept = Number(/the (\d+) results finished are in/.exec(stderr)?.[1]);
      assert.ok(kept >= 1 && lines.length === kept, `${kept} reported, ${lines.length} lines`);
      const first = JSON.parse(lines[0]);
      assert.strictEqual(first.kind, 'interSample');
      assert.strictEqual(first.result.layer, 'input');
      assert.strictEqual(typeof first.result.entropy, 'number');
      await assert.rejects(fs.stat(file), 'no final JSON for a stopped analysis');

      const done = path.join(scratch, 'done.json');
      ok('analyze', run.dir, '--layers', 'conv1', '--epochs', '1', '--no-capacity', '--json', done, '--no-cache');
      assert.strictEqual(JSON.parse(await fs.readFile(done, 'utf8')).layers[0], 'conv1');
      await assert.rejects(fs.stat(`${done}.partial.jsonl`), 'the partial file goes once the JSON is written');
    } finally {
      longRun.cleanup();
    }
  });

  it('runs in a child with the memory settings, which a SIGTERM to the command reaches: the command dies of it', async () => {
    assert.equal(needsMallocTuning({}, 'linux'), true);
    assert.equal(needsMallocTuning({ MALLOC_MMAP_THRESHOLD_: '65536' }, 'linux'), false, "the user's own setting is kept");
    assert.equal(needsMallocTuning({ CNNSLICER_CLI_TUNED: '1' }, 'linux'), false, 'the child never starts another');
    assert.equal(needsMallocTuning({}, 'darwin'), false);
    const longRun = await writeSmallRun({ n: 40, epochs: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] });
    try {
      const child = spawn(process.execPath, ['--require', 'tsx/cjs', path.join(root, 'src/engine/cli.ts'), 'analyze', longRun.dir, '--no-cache'], {
        cwd: root,
        env: { ...process.env, CNNSLICER_CACHE_DIR: defaultCache },
      });
      let stderr = '';
      let sent = false;
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (!sent && /\[1\/\d+\]/.test(stderr)) {
          sent = true;
          child.kill('SIGTERM');
        }
      });
      const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])));
      assert.deepEqual([code, signal], [null, 'SIGTERM'], stderr);
    } finally {
      longRun.cleanup();
    }
  });

  it('analyze --json - prints the JSON alone on stdout', () => {
    const json = JSON.parse(ok('analyze', run.dir, '--layers', 'conv1', '--epochs', '1', '--no-capacity', '--json', '-', '--no-cache'));
    assert.deepStrictEqual(json.layers, ['conv1']);
    assert.strictEqual(json.capacityRequested, false);
  });

  it('--cache-dir keeps results for the next run; --no-cache neither reads nor writes a cache; the default folder is used otherwise', async () => {
    const dir = path.join(scratch, 'cache');
    const args = ['analyze', run.dir, '--layers', 'conv1,pool1', '--epochs', '2', '--k', '6'];
    const first = ok(...args, '--cache-dir', dir);
    assert.match(first, /Cache: 0 of 8 results from the cache/);
    assert.ok(first.includes(dir));
    const second = ok(...args, `--cache-dir=${dir}`);
    assert.match(second, /Cache: 8 of 8 results from the cache/);
    const numbers = (out: string): string => out.slice(0, out.indexOf('Cache:'));
    assert.strictEqual(numbers(second), numbers(first), 'cached results print the same numbers');

    const off = ok(...args, '--no-cache');
    assert.match(off, /Cache: off/);
    assert.strictEqual(numbers(off), numbers(first));
    assert.deepStrictEqual(await fs.readdir(defaultCache), [], '--cache-dir and --no-cache wrote nothing to the default cache');
    assert.match(ok(...args), /Cache: 0 of 8 results from the cache/);
    assert.ok((await fs.readdir(path.join(defaultCache, 'results'))).length > 0, 'without options the default cache folder is used');
    assert.match(ok(...args), /Cache: 8 of 8 results from the cache/);
  });

  it('entropy --inter prints the entropy per epoch with n, d and k', async () => {
    const out = ok('entropy', run.dir, '--inter', '--layer', 'conv1', '--k', '5', '--no-cache');
    assert.deepStrictEqual(row(out, /^\s+epoch\s+entropy/), ['epoch', 'entropy', 'ceiling', 'n', 'd', 'k', 'unsolved', 'unconverged']);
    const ceiling = Math.log2(20 * 19).toFixed(4);
    const s = await interSampleEntropyOf(reader, { samples: { kind: 'all' }, layer: 'conv1', epoch: 'all', params: { interK: 5 } });
    for (const item of s.items) {
      assert.deepStrictEqual(row(out, new RegExp(`^\\s+${item.epoch}\\s+\\d+\\.\\d{4}`)), [
        String(item.epoch),
        item.entropy.toFixed(4),
        ceiling,
        '20',
        '144',
        '5',
        '0',
        '0',
      ]);
    }
    const logits = ok('entropy', run.dir, '--inter', '--layer', 'logits', '--epoch', '1', '--no-cache');
    const l = (await interSampleEntropyOf(reader, { samples: { kind: 'all' }, layer: 'logits', epoch: 1 })).items[0];
    assert.deepStrictEqual(row(logits, /^\s+1\s+\d/), ['1', l.entropy.toFixed(4), ceiling, '20', '3', '19', '0', '0']);
    assert.doesNotMatch(logits, /^\s+[02]\s+\d/m);
    // The inputs of one class (7 samples), named by the class name; k is capped at n − 1.
    const input = ok('entropy', run.dir, '--inter', '--layer', 'input', '--class', 'one', '--no-cache');
    assert.match(input, /class 1 \(one\)/);
    assert.deepStrictEqual(row(input, /^\s+0\s+\d/).slice(2), [Math.log2(7 * 6).toFixed(4), '7', '64', '6', '0', '0']);
    const some = ok('entropy', run.dir, '--inter', '--layer', 'pool1', '--samples', '0,3,5,8', '--epoch', '2', '--no-cache');
    assert.deepStrictEqual(row(some, /^\s+2\s+\d/).slice(2), [Math.log2(4 * 3).toFixed(4), '4', '36', '3', '0', '0']);
    // Four samples sit right at log2 n(n−1): the saturation is said, not left to be noticed.
    assert.match(some, /1 of 1 within 0\.5 bit of the ceiling log2 n\(n−1\): saturated/);
  });

  it('entropy --intra prints each channel over all samples and per class', async () => {
    const out = ok('entropy', run.dir, '--intra', '--layer', 'pool1', '--epoch', '1', '--bins', '16', '--no-cache');
    assert.deepStrictEqual(row(out, /^\s+channel\s+all/), ['channel', 'all', 'zero', 'one', 'two']);
    assert.match(out, /16 bins, normalisation map/);
    const r = (await channelEntropiesOf(reader, { layer: 'pool1', epoch: 1, params: { intraBins: 16 } })).items[0];
    for (let c = 0; c < 4; c++) {
      assert.deepStrictEqual(row(out, new RegExp(`^\\s+#${c}\\s`)), [`#${c}`, r.all[c].toFixed(4), ...[0, 1, 2].map((k) => r.perClass[k * 4 + c].toFixed(4))]);
    }
    // Without --epoch: the last epoch only; --class keeps one class column.
    const last = ok('entropy', run.dir, '--intra', '--layer', 'conv1', '--class', '2', '--no-cache');
    assert.match(last, /Epoch 2 — conv1, 4 channels/);
    assert.doesNotMatch(last, /Epoch [01] /);
    assert.deepStrictEqual(row(last, /^\s+channel\s+all/), ['channel', 'all', 'two']);
    // The logits have no maps: their values are one channel.
    const logits = ok('entropy', run.dir, '--intra', '--layer', 'logits', '--epoch', '0', '--no-cache');
    const l = (await channelEntropiesOf(reader, { layer: 'logits', epoch: 0 })).items[0];
    assert.deepStrictEqual(row(logits, /^\s+#0\s/).slice(0, 2), ['#0', l.all[0].toFixed(4)]);
    assert.doesNotMatch(logits, /^\s+#1\s/m);
    const json = JSON.parse(ok('entropy', run.dir, '--intra', '--layer', 'conv1', '--epoch', 'all', '--json', '--no-cache'));
    assert.strictEqual(json.undefinedMeans, 'no prediction / no samples');
    assert.deepStrictEqual(
      json.items.map((i: { epoch: number }) => i.epoch),
      [0, 1, 2],
    );
    assert.strictEqual(json.items[0].perClass.length, 12);
  });

  it('capacity prints the dimensions, H(A)/H(B) and the matrix in the chosen order with channel headers', async () => {
    const out = ok('capacity', run.dir, '--from', 'conv1', '--to', 'pool1', '--epoch', '1', '--sort', 'mean', '--no-cache');
    const r = (await channelCapacityOf(reader, { samples: { kind: 'all' }, layerI: 'conv1', layerJ: 'pool1', epoch: 1 })).items[0];
    assert.match(out, /between conv1 \(columns, 4 channels\) and pool1 \(rows, 4 channels\) at epoch 1/);
    assert.match(out, /190 sample pairs; 16 bins per axis/);
    assert.deepStrictEqual(row(out, /^\s+H\(A\), conv1/).slice(2), [mean(r.hA).toFixed(4), Math.min(...r.hA).toFixed(4), Math.max(...r.hA).toFixed(4)]);
    assert.deepStrictEqual(row(out, /^\s+H\(B\), pool1/).slice(2), [mean(r.hB).toFixed(4), Math.min(...r.hB).toFixed(4), Math.max(...r.hB).toFixed(4)]);
    const cols = Array.from(r.order.colsByMean);
    assert.deepStrictEqual(
      row(out, /^\s+pool1 \\ conv1/).slice(3),
      cols.map((a) => `#${a}`),
    );
    for (const b of Array.from(r.order.rowsByMean)) {
      assert.deepStrictEqual(row(out, new RegExp(`^\\s+#${b}\\s+\\d`)), [`#${b}`, ...cols.map((a) => r.capacity[b * 4 + a].toFixed(2))]);
    }
    const json = JSON.parse(ok('capacity', run.dir, '--from', 'conv1', '--to', 'pool1', '--epoch', '1', '--json', '--no-cache'));
    assert.deepStrictEqual([json.rows, json.cols, json.capacity.length, json.pairs], [4, 4, 16, 190]);
    // Written as the shortest decimals that read back as the very same float32 values.
    assert.deepStrictEqual(json.capacity.map(Math.fround), Array.from(r.capacity));
  });

  it('capacity --capacity-pairs counts a fixed sample of pairs: the estimator with capacityPairs, keyed apart from all pairs', async () => {
    const json = JSON.parse(ok('capacity', run.dir, '--from', 'conv1', '--to', 'pool1', '--epoch', '1', '--capacity-pairs', '100', '--json', '--no-cache'));
    assert.deepStrictEqual([json.pairs, json.params.capacityPairs], [100, 100]);
    const rr = await RunReader.open(run.dir);
    try {
      const r = (await channelCapacityOf(rr, { samples: { kind: 'all' }, layerI: 'conv1', layerJ: 'pool1', epoch: 1, params: { capacityPairs: 100 } }))
        .items[0];
      assert.deepStrictEqual(json.capacity.map(Math.fround), Array.from(r.capacity));
    } finally {
      await rr.close();
    }
    // More pairs than there are (190) is every pair.
    const all = JSON.parse(ok('capacity', run.dir, '--from', 'conv1', '--to', 'pool1', '--epoch', '1', '--capacity-pairs', '5000', '--json', '--no-cache'));
    const exact = JSON.parse(ok('capacity', run.dir, '--from', 'conv1', '--to', 'pool1', '--epoch', '1', '--capacity-pairs', 'all', '--json', '--no-cache'));
    assert.deepStrictEqual([all.pairs, exact.pairs, exact.params.capacityPairs], [190, 190, 0]);
    assert.deepStrictEqual(all.capacity, exact.capacity);
  });

  it('capacity of a matrix beyond 16×16 prints the sorted top-left corner and the 10 largest cells', async () => {
    const out = ok('capacity', wide, '--from', 'wide1', '--to', 'wide2', '--no-cache');
    const wr = await RunReader.open(wide);
    try {
      const r = (await channelCapacityOf(wr, { samples: { kind: 'all' }, layerI: 'wide1', layerJ: 'wide2', epoch: 1 })).items[0];
      assert.match(out, /Top-left 16×16 of the 18×20 matrix, rows and columns sorted by their max/);
      assert.deepStrictEqual(
        row(out, /^\s+wide2 \\ wide1/).slice(3),
        Array.from(r.order.colsByMax)
          .slice(0, 16)
          .map((a) => `#${a}`),
      );
      const bodyRows = out.split('\n').filter((l) => /^\s+#\d+\s+\d\.\d\d/.test(l));
      assert.strictEqual(bodyRows.length, 16);
      assert.deepStrictEqual(
        bodyRows.map((l) => l.trim().split(/\s+/)[0]),
        Array.from(r.order.rowsByMax)
          .slice(0, 16)
          .map((b) => `#${b}`),
      );
      assert.match(out, /The 10 largest cells:/);
      const largest = out.split('\n').filter((l) => /^\s+wide2 #\d+\s+wide1 #\d+/.test(l));
      assert.strictEqual(largest.length, 10);
      const values = Array.from(r.capacity).sort((x, y) => y - x);
      const first = largest[0].trim().split(/\s+/);
      assert.strictEqual(first[4], values[0].toFixed(4));
      const [b, a] = [Number(first[1].slice(1)), Number(first[3].slice(1))];
      assert.strictEqual(r.capacity[b * 20 + a], values[0]);
    } finally {
      await wr.close();
    }
  });

  it('labels prints the confusion matrix and both label entropies per class; ∞ for a class never predicted', async () => {
    const out = ok('labels', run.dir, '--no-cache');
    const le = (await labelEntropiesOf(reader, { epoch: 2 })).items[0];
    assert.match(out, new RegExp(`Epoch 2 — probe accuracy ${(le.accuracy * 100).toFixed(2)}%`));
    assert.doesNotMatch(out, /Epoch [01] /);
    ['zero', 'one', 'two'].forEach((name, i) => {
      assert.deepStrictEqual(row(out, new RegExp(`^\\s+${name}\\s+\\d`)), [name, ...[0, 1, 2].map((j) => String(le.confusion[i * 3 + j]))]);
      assert.deepStrictEqual(row(out, new RegExp(`^\\s+${i} ${name}\\s`)).slice(5), [
        le.labelGivenPrediction[i]!.toFixed(4),
        le.predictionGivenLabel[i]!.toFixed(4),
      ]);
    });
    assert.deepStrictEqual(
      [...ok('labels', run.dir, '--epoch', 'all', '--no-cache').matchAll(/^Epoch (\d+) /gm)].map((m) => m[1]),
      ['0', '1', '2'],
    );
    const never = ok('labels', wide, '--epoch', '0', '--no-cache');
    assert.match(never, /2 bird\s+4\s+0\s+0\s+∞ \(never predicted\)/);
    const json = JSON.parse(ok('labels', wide, '--json', '--no-cache'));
    assert.strictEqual(json.undefinedMeans, 'no prediction / no samples');
    assert.strictEqual(json.items[0].epoch, 1);
    assert.strictEqual(json.items[0].labelGivenPrediction[2], null);
  });

  it('every bad input exits non-zero with a clear message', () => {
    const cases: [string[], number, RegExp][] = [
      [['analyze', run.dir, '--layers', 'conv9'], 1, /error \(bad-request\): layer "conv9" is not in the run \(layers: conv1, pool1, fc\)/],
      [['analyze', run.dir, '--epochs', '0,7'], 1, /error \(bad-request\): .*epoch 7 is not in the run \(epochs: 0, 1, 2\)/],
      [['analyze', run.dir, '--epochs', '1.5'], 2, /--epochs must be a non-negative whole number, got "1\.5"/],
      [['analyze', run.dir, '--k', '1'], 2, /--k must be an integer in \[2, /],
      [['analyze', run.dir, '--k', 'many'], 2, /--k must be a non-negative whole number, got "many"/],
      [['analyze', run.dir, '--k'], 2, /--k needs a value/],
      [['analyze', run.dir, '--layers', '--k', '5'], 2, /--layers needs a value/],
      [['analyze', run.dir, '--frobnicate'], 2, /unknown option --frobnicate for "analyze"/],
      [['analyze', run.dir, '--no-cache', '--cache-dir', scratch], 2, /--no-cache and --cache-dir exclude each other/],
      [['analyze', run.dir, '--json', path.join(scratch, 'missing', 'a.json'), '--no-cache'], 1, /error \(not-found\): .*folder .*missing does not exist/],
      [['analyze', run.dir, '--k', '5', '--k', '6'], 2, /--k is given more than once/],
      [['analyze', run.dir, run.dir], 2, /unexpected argument/],
      [['analyze'], 2, /analyze needs a run folder/],
      [['entropy', run.dir, '--inter', '--intra', '--layer', 'conv1'], 2, /--inter and --intra exclude each other/],
      [['entropy', run.dir, '--layer', 'conv1'], 2, /entropy needs --inter .* or --intra/],
      [['entropy', run.dir, '--inter'], 2, /entropy needs --layer/],
      [['entropy', run.dir, '--inter', '--layer', 'conv9'], 1, /layer "conv9" is not in the run \(layers: conv1, pool1, fc, input, logits\)/],
      [['entropy', run.dir, '--inter', '--layer', 'input', '--epoch', '9'], 1, /epoch 9 is not in the run/],
      [['entropy', run.dir, '--inter', '--layer', 'conv1', '--class', 'three'], 1, /class "three" is not in the run \(classes: 0 zero, 1 one, 2 two\)/],
      [['entropy', run.dir, '--inter', '--layer', 'conv1', '--class', '1', '--samples', '1,2,3'], 2, /--class and --samples exclude each other/],
      [['entropy', run.dir, '--intra', '--layer', 'conv1', '--k', '5'], 2, /--k applies to --inter only/],
      [['entropy', run.dir, '--inter', '--layer', 'conv1', '--bins', '8'], 2, /--bins applies to --intra only/],
      [['entropy', run.dir, '--intra', '--layer', 'conv1', '--normalization', 'global'], 2, /--normalization must be map, channel or layer, got "global"/],
      [['entropy', run.dir, '--inter=yes', '--layer', 'conv1'], 2, /--inter takes no value/],
      [['capacity', run.dir, '--to', 'pool1'], 2, /capacity needs --from/],
      [['capacity', run.dir, '--from', 'conv1'], 2, /capacity needs --to/],
      [['capacity', run.dir, '--from', 'conv1', '--to', 'pool9'], 1, /layer "pool9" is not in the run/],
      [['capacity', run.dir, '--from', 'conv1', '--to', 'pool1', '--epoch', 'all'], 2, /--epoch must be one epoch for "capacity"/],
      [['capacity', run.dir, '--from', 'conv1', '--to', 'pool1', '--epoch', '3'], 1, /epoch 3 is not in the run/],
      [['capacity', run.dir, '--from', 'conv1', '--to', 'pool1', '--sort', 'median'], 2, /--sort must be max, mean or none/],
      [['capacity', run.dir, '--from', 'conv1', '--to', 'pool1', '--bins', '0'], 2, /--bins must be an integer in \[1, 256\], got 0/],
      [
        ['capacity', run.dir, '--from', 'conv1', '--to', 'pool1', '--capacity-pairs', 'many'],
        2,
        /--capacity-pairs must be a non-negative whole number, got "many"/,
      ],
      [['analyze', run.dir, '--no-capacity', '--capacity-pairs', '10'], 2, /--capacity-pairs has no effect with --no-capacity/],
      [['labels', run.dir, '--epoch', '-1'], 2, /--epoch must be a non-negative whole number, got "-1"/],
      [['labels', path.join(run.dir, 'nope')], 1, /error \(not-found\)/],
    ];
    for (const [args, status, message] of cases) {
      const r = cli(...args);
      assert.strictEqual(r.status, status, `cnnslicer ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
      assert.match(r.stderr, message, `cnnslicer ${args.join(' ')}`);
      assert.strictEqual(r.stdout, '', `cnnslicer ${args.join(' ')} printed a result`);
      if (status === 2) assert.match(r.stderr, new RegExp(`Run "cnnslicer ${args[0]} --help" for usage`));
    }
  });

  it('--help lists every command; each command has its own help', () => {
    const help = ok('--help');
    for (const c of ['info <run>', 'analyze <run>', 'entropy <run> (--inter | --intra)', 'capacity <run> --from L1 --to L2', 'labels <run>'])
      assert.ok(help.includes(`cnnslicer ${c}`), c);
    assert.match(ok('analyze', '--help'), /--no-capacity[\s\S]*--cache-dir DIR/);
    assert.match(ok('help', 'capacity'), /--sort max\|mean\|none/);
    assert.match(ok('entropy', run.dir, '-h'), /--normalization M/);
  });
});

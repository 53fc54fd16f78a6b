// The engine's `importOnnx` request: in-process through the dispatcher (progress per model, cancel,
// errors that name the model and the problem, no half-written run left behind), then once through a
// real forked engine and EngineClient, as the extension sends it.
import * as assert from 'node:assert/strict';
import { existsSync, mkdirSync, promises as fs, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { build } from 'esbuild';
import type { EngineToHost, ImportOnnxParams, ImportOnnxResult, ProgressInfo } from '../../src/shared/engineProtocol';
import { CnnSlicerError } from '../../src/shared/errors';
import { createHandlers, type RunSource } from '../../src/engine/handlers';
import { parseImportOnnxParams } from '../../src/shared/importParams';
import { orThrow } from '../../src/shared/parse';
import { GraphBuilder, floatAttr } from '../../src/core/onnx/graphBuilder';
import { disposeSessions } from '../../src/engine/run/checkpoint';
import { RunReader } from '../../src/engine/run/runReader';
import { EngineServer } from '../../src/engine/server';
import { EngineClient } from '../../src/extension/engineClient';
import { tempDir } from '../support/runFixtures';
import { seededRandom, tinyCnnWeights, type TinyCnnWeights } from '../support/tinyCnn';

type Response = Extract<EngineToHost, { type: 'response' }>;
type Progress = Extract<EngineToHost, { type: 'progress' }>;

const CLASSES = ['ant', 'bee', 'cow'];

/** The tiny CNN as PyTorch's exporter writes it: a fixed batch of 1, path-like tensor names, a Softmax at the end. */
function exportedTinyCnn(w: TinyCnnWeights, opts: { customOp?: boolean; side?: number; fcOut?: number } = {}): Uint8Array {
  const side = opts.side ?? 8;
  const fcOut = opts.fcOut ?? 3;
  const g = new GraphBuilder('exported')
    .input('input.1', 'float32', [1, 1, side, side])
    .initializer('conv1.weight', w.convW, [4, 1, 3, 3])
    .initializer('conv1.bias', w.convB, [4])
    .initializer('fc.weight', fcOut === 3 ? w.fcW : new Float32Array(fcOut * 64), [fcOut, 64])
    .initializer('fc.bias', fcOut === 3 ? w.fcB : new Float32Array(fcOut), [fcOut])
    .node('Conv', ['input.1', 'conv1.weight', 'conv1.bias'], ['/conv1/Conv_output_0'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] })
    .node('Relu', ['/conv1/Conv_output_0'], ['/relu/Relu_output_0'])
    .node('MaxPool', ['/relu/Relu_output_0'], ['/pool/MaxPool_output_0'], { kernel_shape: [2, 2], strides: [2, 2] });
  if (opts.customOp) g.node('FancyNorm', ['/pool/MaxPool_output_0'], ['fancy'], {}, { domain: 'com.example' });
  return g
    .node('Flatten', [opts.customOp ? 'fancy' : '/pool/MaxPool_output_0'], ['flat'], { axis: 1 })
    .node('Gemm', ['flat', 'fc.weight', 'fc.bias'], ['scores'], { transB: 1, alpha: floatAttr(1), beta: floatAttr(1) })
    .node('Softmax', ['scores'], ['probs'], { axis: 1 })
    .output('probs', [1, fcOut])
    .toModelBytes();
}

/** An image folder of 8×8 binary PGMs, `perClass` per class. */
function writeImages(dir: string, perClass: number): void {
  const rand = seededRandom(9);
  for (const cls of CLASSES) {
    mkdirSync(path.join(dir, cls), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const pixels = Buffer.from(Array.from({ length: 64 }, () => Math.floor(rand() * 256)));
      writeFileSync(path.join(dir, cls, `img${i}.pgm`), Buffer.concat([Buffer.from('P5\n8 8\n255\n'), pixels]));
    }
  }
}

/** The dispatcher with the real handlers; runs are never read by these requests. */
function setup() {
  const sent: EngineToHost[] = [];
  const noRuns: RunSource = {
    get: () => Promise.reject(new CnnSlicerError('internal', 'no run is read by an import')),
  };
  let onSend: ((m: EngineToHost) => void) | undefined;
  const server = new EngineServer({
    send: (m) => {
      const copy = structuredClone(m);
      sent.push(copy);
      onSend?.(copy);
    },
    handlers: createHandlers({ runs: noRuns }),
    // Every report goes out, so a test sees each model's messages.
    progressIntervalMs: 0,
  });
  const responseTo = async (id: number, timeoutMs = 60_000): Promise<Response> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = sent.find((m): m is Response => m.type === 'response' && m.id === id);
      if (r) return r;
      if (Date.now() > deadline) assert.fail(`no response to request ${id} within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  const call = (id: number, params: unknown): Promise<Response> => {
    server.handle({ type: 'request', id, method: 'importOnnx', params });
    return responseTo(id);
  };
  const progressOf = (id: number): ProgressInfo[] => sent.filter((m): m is Progress => m.type === 'progress' && m.id === id).map((m) => m.progress);
  return { sent, server, call, progressOf, setOnSend: (f: (m: EngineToHost) => void) => (onSend = f) };
}

function errorOf(r: Response): { code: string; message: string; file?: string } {
  assert.equal(r.ok, false, `expected an error, got ${JSON.stringify(r)}`);
  return r.ok ? { code: '', message: '' } : r.error;
}

function assertErrorMentions(r: Response, code: string, ...parts: string[]): void {
  const e = errorOf(r);
  assert.equal(e.code, code, e.message);
  const text = `${e.file ?? ''}: ${e.message}`;
  for (const part of parts) assert.ok(text.includes(part), `"${text}" should mention "${part}"`);
}

describe('engine request importOnnx', function () {
  this.timeout(120_000);
  let root: string;
  let images: string;
  let folder: string;

  before(() => {
    root = tempDir('cnnslicer-import-request-');
    images = path.join(root, 'images');
    writeImages(images, 100);
    folder = path.join(root, 'checkpoints');
    mkdirSync(folder);
    for (const epoch of [1, 2, 3]) writeFileSync(path.join(folder, `epoch_${epoch}.onnx`), exportedTinyCnn(tinyCnnWeights(30 + epoch)));
  });
  after(async () => {
    await disposeSessions();
    await fs.rm(root, { recursive: true, force: true });
  });

  it('imports a folder of checkpoints, reporting progress per model, and writes a readable run', async () => {
    const { call, progressOf } = setup();
    const out = path.join(root, 'run-folder');
    const r = await call(1, {
      models: [folder],
      dataset: { kind: 'imageFolder', dir: images },
      out,
      probeCount: 30,
      name: 'three epochs',
    } satisfies ImportOnnxParams);
    assert.equal(r.ok, true, JSON.stringify(r));
    const result = (r as { result: ImportOnnxResult }).result;
    assert.equal(result.dir, out);
    assert.deepEqual(result.epochs, [1, 2, 3]);
    assert.deepEqual(
      result.layers.map((l) => l.name),
      ['conv1.Conv', 'relu.Relu', 'pool.MaxPool'],
    );

    const progress = progressOf(1);
    const messages = progress.map((p) => p.message ?? '');
    assert.ok(
      messages.some((m) => m.includes('loading the image folder dataset')),
      messages.join('\n'),
    );
    for (const k of [1, 2, 3]) {
      assert.ok(
        messages.some((m) => m.includes(`epoch_${k}.onnx (epoch ${k}, model ${k} of 3): finding layers`)),
        messages.join('\n'),
      );
      assert.ok(
        messages.some((m) => m.includes(`epoch_${k}.onnx (epoch ${k}, model ${k} of 3): probe metrics`)),
        messages.join('\n'),
      );
    }
    // One unit per probe sample and model, never moving back, ending at the total.
    const counted = progress.filter((p) => p.total > 0);
    assert.ok(
      counted.every((p) => p.total === 90),
      JSON.stringify(counted),
    );
    for (let i = 1; i < counted.length; i++) assert.ok(counted[i].done >= counted[i - 1].done, 'progress moved back');
    assert.equal(counted[counted.length - 1].done, 90);

    const reader = await RunReader.open(out);
    try {
      assert.equal(reader.manifest.name, 'three epochs');
      assert.equal(reader.manifest.complete, true);
      assert.deepEqual(reader.manifest.classes, CLASSES);
      assert.deepEqual(
        reader.manifest.epochs.map((e) => e.epoch),
        [1, 2, 3],
      );
      assert.equal(reader.manifest.probe.count, 30);
    } finally {
      await reader.close();
    }
  });

  it('stops when cancelled between two models and removes the run folder it had started', async () => {
    const { call, server, setOnSend } = setup();
    const out = path.join(root, 'run-cancelled');
    let cancelledAt: string | undefined;
    setOnSend((m) => {
      // Epoch 1 is on disk once the second model is being read: cancelling now must not leave it.
      if (cancelledAt === undefined && m.type === 'progress' && m.id === 2 && (m.progress.message ?? '').includes('model 2 of 3')) {
        cancelledAt = m.progress.message;
        assert.ok(existsSync(path.join(out, 'cnnslicer.json')), 'the first epoch should be written before the second model is read');
        server.handle({ type: 'cancel', id: 2 });
      }
    });
    const r = await call(2, { models: [folder], dataset: { kind: 'imageFolder', dir: images }, out, probeCount: 300 });
    assert.ok(cancelledAt !== undefined, 'the import never reached the second model');
    assertErrorMentions(r, 'cancelled', 'cancelled');
    assert.equal(existsSync(out), false, 'a cancelled import left its run folder behind');
  });

  it('cancels within a model, between batches of probe samples', async () => {
    const { call, server, setOnSend } = setup();
    const out = path.join(root, 'run-cancelled-batch');
    let seen = 0;
    setOnSend((m) => {
      if (m.type === 'progress' && m.id === 3 && (m.progress.message ?? '').endsWith('probe metrics') && ++seen === 1) server.handle({ type: 'cancel', id: 3 });
    });
    const started = Date.now();
    // 300 samples are two batches of the first model: the cancel lands after the first.
    const r = await call(3, { models: [path.join(folder, 'epoch_1.onnx')], dataset: { kind: 'imageFolder', dir: images }, out, probeCount: 300 });
    assertErrorMentions(r, 'cancelled');
    assert.ok(Date.now() - started < 30_000);
    assert.equal(existsSync(out), false);
  });

  it('refuses a model with an operator onnxruntime cannot run, naming the operator and the file, and writes nothing', async () => {
    const { call } = setup();
    const bad = path.join(root, 'custom-op.onnx');
    writeFileSync(bad, exportedTinyCnn(tinyCnnWeights(), { customOp: true }));
    const out = path.join(root, 'run-custom');
    const r = await call(4, { models: [bad], dataset: { kind: 'imageFolder', dir: images }, out, probeCount: 9 });
    assertErrorMentions(r, 'model-error', 'FancyNorm', 'com.example');
    assert.equal(errorOf(r).file, bad);
    assert.equal(existsSync(out), false);
  });

  it('names the file and the problem for a missing or unreadable model, a misfit input and a wrong class count', async () => {
    const { call } = setup();
    const missing = path.join(root, 'nowhere.onnx');
    assertErrorMentions(
      await call(5, { models: [missing], dataset: { kind: 'imageFolder', dir: images }, out: path.join(root, 'run-missing') }),
      'not-found',
      missing,
      'does not exist',
    );

    const junk = path.join(root, 'junk.onnx');
    writeFileSync(junk, Buffer.from([0xff, 0xff, 0xff, 0x01]));
    assertErrorMentions(
      await call(6, { models: [junk], dataset: { kind: 'imageFolder', dir: images }, out: path.join(root, 'run-junk') }),
      'model-error',
      junk,
      'not an ONNX model',
    );

    const big = path.join(root, 'mnist-sized.onnx');
    writeFileSync(big, exportedTinyCnn(tinyCnnWeights(), { side: 28 }));
    assertErrorMentions(
      await call(7, { models: [big], dataset: { kind: 'imageFolder', dir: images }, out: path.join(root, 'run-big') }),
      'model-error',
      big,
      '28, 28',
      '[batch, 1, 8, 8]',
    );

    const tenClasses = path.join(root, 'ten-classes.onnx');
    writeFileSync(tenClasses, exportedTinyCnn(tinyCnnWeights(), { fcOut: 10 }));
    assertErrorMentions(
      await call(8, { models: [tenClasses], dataset: { kind: 'imageFolder', dir: images }, out: path.join(root, 'run-ten') }),
      'model-error',
      tenClasses,
      '10',
    );
    for (const name of ['run-missing', 'run-junk', 'run-big', 'run-ten']) assert.equal(existsSync(path.join(root, name)), false, name);
  });

  it('removes the run of a folder whose later checkpoint fails, but leaves a folder that existed before', async () => {
    const { call } = setup();
    const mixed = path.join(root, 'mixed');
    mkdirSync(mixed);
    writeFileSync(path.join(mixed, 'epoch_1.onnx'), exportedTinyCnn(tinyCnnWeights(1)));
    writeFileSync(path.join(mixed, 'epoch_2.onnx'), exportedTinyCnn(tinyCnnWeights(2), { customOp: true }));
    const out = path.join(root, 'run-mixed');
    assertErrorMentions(
      await call(9, { models: [mixed], dataset: { kind: 'imageFolder', dir: images }, out, probeCount: 6 }),
      'model-error',
      'epoch_2.onnx',
      'FancyNorm',
    );
    assert.equal(existsSync(out), false);

    const own = path.join(root, 'users-folder');
    mkdirSync(own);
    writeFileSync(path.join(own, 'notes.txt'), 'keep me');
    assertErrorMentions(
      await call(10, { models: [path.join(mixed, 'epoch_2.onnx')], dataset: { kind: 'imageFolder', dir: images }, out: own, probeCount: 6 }),
      'model-error',
    );
    assert.deepEqual(readdirSync(own), ['notes.txt']);
  });

  it('checks its parameters before touching the disk', async () => {
    const { call } = setup();
    const ok = { models: [folder], dataset: { kind: 'imageFolder', dir: images }, out: path.join(root, 'never') };
    const cases: [unknown, string][] = [
      [null, 'expects an object'],
      [{ ...ok, models: [] }, '"models"'],
      [{ ...ok, models: ['relative.onnx'] }, 'absolute path'],
      [{ ...ok, out: 'relative-run' }, '"out" must be an absolute path'],
      [{ ...ok, dataset: { kind: 'svhn' } }, '"dataset.kind"'],
      [{ ...ok, dataset: { kind: 'cifar10' } }, '"dataset.dir"'],
      [{ ...ok, probeCount: 0 }, '"probeCount"'],
      [{ ...ok, seed: -1 }, '"seed"'],
      [{ ...ok, normalization: { mean: [0.5], std: [0] } }, 'must not hold 0'],
      [{ ...ok, normalization: { mean: 'x', std: [1] } }, '"normalization"'],
    ];
    let id = 100;
    for (const [params, expected] of cases) assertErrorMentions(await call(id++, params), 'bad-request', expected);
    assert.equal(existsSync(path.join(root, 'never')), false);
    assert.deepEqual(orThrow(parseImportOnnxParams({ ...ok, dataset: { kind: 'mnist' }, seed: 3 }, path.isAbsolute)), {
      models: [folder],
      dataset: { kind: 'mnist' },
      out: path.join(root, 'never'),
      seed: 3,
    });
  });
});

describe('engine request importOnnx through a forked engine', function () {
  this.timeout(120_000);
  const repo = path.resolve(__dirname, '..', '..');
  // Inside the repository (git-ignored) so the bundle resolves onnxruntime-node from node_modules.
  const scratch = path.join(repo, '.test-tmp', `import-request-${process.pid}`);
  const enginePath = path.join(scratch, 'main.js');
  let root: string;
  let client: EngineClient | undefined;

  before(async () => {
    mkdirSync(scratch, { recursive: true });
    await build({
      entryPoints: [path.join(repo, 'src/engine/main.ts')],
      outfile: enginePath,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      external: ['vscode', 'onnxruntime-node'],
      logLevel: 'silent',
    });
    root = tempDir('cnnslicer-import-client-');
    writeImages(path.join(root, 'images'), 100);
    mkdirSync(path.join(root, 'checkpoints'));
    for (const epoch of [0, 5]) writeFileSync(path.join(root, 'checkpoints', `ep${epoch}.onnx`), exportedTinyCnn(tinyCnnWeights(epoch + 1)));
    // Enough models that the import is still busy when a cancel sent at the second one arrives
    // (one tiny model takes milliseconds, about an IPC round trip).
    mkdirSync(path.join(root, 'many'));
    const bytes = exportedTinyCnn(tinyCnnWeights(3));
    for (let epoch = 0; epoch < 40; epoch++) writeFileSync(path.join(root, 'many', `epoch_${epoch}.onnx`), bytes);
  });
  after(async () => {
    await client?.dispose();
    rmSync(scratch, { recursive: true, force: true });
    await fs.rm(root, { recursive: true, force: true });
  });

  it('imports with progress, cancels through an AbortSignal, and passes model errors on with the file', async () => {
    client = new EngineClient({ enginePath });
    const images = path.join(root, 'images');
    const progress: ProgressInfo[] = [];
    const out = path.join(root, 'run');
    const result = await client.request(
      'importOnnx',
      { models: [path.join(root, 'checkpoints')], dataset: { kind: 'imageFolder', dir: images }, out, probeCount: 12 },
      { onProgress: (p) => progress.push(p), timeoutMs: Infinity },
    );
    assert.deepEqual(result.epochs, [0, 5]);
    assert.ok(
      progress.some((p) => (p.message ?? '').includes('model 2 of 2')),
      JSON.stringify(progress),
    );
    assert.ok(existsSync(path.join(out, 'cnnslicer.json')));

    const abort = new AbortController();
    const cancelledOut = path.join(root, 'run-cancelled');
    const request = client.request(
      'importOnnx',
      { models: [path.join(root, 'many')], dataset: { kind: 'imageFolder', dir: images }, out: cancelledOut, probeCount: 300 },
      // Progress goes out at most every 100 ms, so not every model's message arrives: any work done will do.
      { signal: abort.signal, onProgress: (p) => p.total > 0 && p.done > 0 && abort.abort() },
    );
    await assert.rejects(request, (err: unknown) => err instanceof CnnSlicerError && err.code === 'cancelled');
    assert.ok(abort.signal.aborted, 'no progress arrived before the import ended');
    // The engine finishes the batch it is on, then removes the folder; give it a moment.
    const deadline = Date.now() + 20_000;
    while (existsSync(cancelledOut) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(existsSync(cancelledOut), false, 'the cancelled import left its folder');

    const bad = path.join(root, 'custom.onnx');
    writeFileSync(bad, exportedTinyCnn(tinyCnnWeights(), { customOp: true }));
    await assert.rejects(
      client.request('importOnnx', { models: [bad], dataset: { kind: 'imageFolder', dir: images }, out: path.join(root, 'run-bad') }),
      (err: unknown) => {
        assert.ok(err instanceof CnnSlicerError);
        assert.equal(err.code, 'model-error');
        assert.equal(err.file, bad);
        assert.match(err.message, /FancyNorm/);
        return true;
      },
    );
  });
});

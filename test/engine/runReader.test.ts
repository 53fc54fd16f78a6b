import * as assert from 'node:assert';
import { promises as fs, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { CnnSlicerError } from '../../src/shared/errors';
import { MANIFEST_FILE } from '../../src/shared/runFormat';
import { encodeFloat16, decodeFloat16 } from '../../src/core/run/float16';
import { RunReader } from '../../src/engine/run/runReader';
import { RunRegistry } from '../../src/engine/run/runRegistry';
import { RunWriter } from '../../src/core/run/runWriter';
import { product, SMALL_LAYERS, tempDir, writeSmallRun, type SmallRun } from '../support/runFixtures';

async function rejectsWith(p: Promise<unknown>, code: string, fileIncludes?: string, messageIncludes?: string): Promise<CnnSlicerError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof CnnSlicerError, `expected CnnSlicerError, got ${String(err)}`);
    assert.strictEqual(err.code, code, `code of: ${err.message}`);
    if (fileIncludes !== undefined) assert.ok(err.file?.includes(fileIncludes), `file "${err.file}" should include "${fileIncludes}"`);
    if (messageIncludes !== undefined) assert.ok(err.message.includes(messageIncludes), `message "${err.message}" should include "${messageIncludes}"`);
    return err;
  }
  assert.fail(`expected a ${code} error`);
}

/** Expected slice of one channel (or all) for some rows, computed straight from what was written. */
function expected(values: Float32Array, rows: readonly number[], shape: readonly number[], channel: number | 'all'): Float32Array {
  const rowSize = product(shape);
  const per = channel === 'all' ? rowSize : product(shape.slice(1));
  const start = channel === 'all' ? 0 : channel * per;
  const out = new Float32Array(rows.length * per);
  rows.forEach((r, i) => out.set(values.subarray(r * rowSize + start, r * rowSize + start + per), i * per));
  return out;
}

describe('run reader and writer', () => {
  let run: SmallRun;
  before(async () => {
    run = await writeSmallRun();
  });
  after(() => run.cleanup());

  it('reads back the manifest the writer wrote', async () => {
    const reader = await RunReader.open(run.dir);
    try {
      const m = reader.info.manifest;
      assert.strictEqual(reader.info.name, 'small test run');
      assert.deepStrictEqual(m.layers, SMALL_LAYERS);
      assert.deepStrictEqual(m.classes, ['zero', 'one', 'two']);
      assert.strictEqual(m.probe.count, 20);
      assert.deepStrictEqual(
        m.epochs.map((e) => e.epoch),
        [0, 1, 2],
      );
      assert.strictEqual(m.epochs[1].metrics.loss, 0.5);
      assert.strictEqual(m.complete, true);
      assert.deepStrictEqual(reader.info.incompleteEpochs, []);
    } finally {
      await reader.close();
    }
  });

  it('opens a run from its manifest path as well as its folder', async () => {
    const reader = await RunReader.open(path.join(run.dir, MANIFEST_FILE));
    assert.strictEqual(reader.info.dir, run.dir);
    await reader.close();
  });

  it('slices every layer, one channel or all, for all samples, a class, or explicit indices', async () => {
    const reader = await RunReader.open(run.dir);
    try {
      for (const layer of [...SMALL_LAYERS, { name: 'logits', shape: [3] }]) {
        const values = run.values.get(1)!.get(layer.name)!;
        for (const channel of ['all', 0, layer.shape[0] - 1] as const) {
          const all = await reader.slice({ samples: { kind: 'all' }, layer: layer.name, channel, epoch: 1 });
          const rowsAll = Array.from({ length: 20 }, (_, i) => i);
          assert.deepStrictEqual(all.data, expected(values, rowsAll, layer.shape, channel), `${layer.name} ch ${channel}`);
          assert.strictEqual(all.source, 'activations');
          const perSample = channel === 'all' ? layer.shape : layer.shape.length === 1 ? [1] : [1, ...layer.shape.slice(1)];
          assert.deepStrictEqual(all.shape, [20, ...perSample]);

          const cls = await reader.slice({ samples: { kind: 'class', classIndex: 2 }, layer: layer.name, channel, epoch: 1 });
          const rowsCls = rowsAll.filter((i) => run.labels[i] === 2);
          assert.deepStrictEqual(Array.from(cls.sampleIndices), rowsCls);
          assert.deepStrictEqual(cls.data, expected(values, rowsCls, layer.shape, channel));

          const picked = [7, 3, 3, 19, 0];
          const idx = await reader.slice({ samples: { kind: 'indices', indices: picked }, layer: layer.name, channel, epoch: 1 });
          assert.deepStrictEqual(idx.data, expected(values, picked, layer.shape, channel));
        }
      }
    } finally {
      await reader.close();
    }
  });

  it('slices the probe inputs as layer "input"', async () => {
    const reader = await RunReader.open(run.dir);
    try {
      const s = await reader.slice({ samples: { kind: 'indices', indices: [4, 1] }, layer: 'input', channel: 'all', epoch: 0 });
      assert.deepStrictEqual(s.shape, [2, 1, 8, 8]);
      assert.deepStrictEqual(s.data, expected(run.inputs, [4, 1], [1, 8, 8], 'all'));
      assert.strictEqual(s.source, 'probe');
    } finally {
      await reader.close();
    }
  });

  it('refuses requests for things the run does not have, naming them', async () => {
    const reader = await RunReader.open(run.dir);
    try {
      await rejectsWith(reader.slice({ samples: { kind: 'all' }, layer: 'conv9', channel: 'all', epoch: 0 }), 'bad-request', undefined, 'conv9');
      await rejectsWith(reader.slice({ samples: { kind: 'all' }, layer: 'conv1', channel: 4, epoch: 0 }), 'bad-request', undefined, 'channel 4');
      await rejectsWith(reader.slice({ samples: { kind: 'all' }, layer: 'conv1', channel: 0, epoch: 7 }), 'bad-request', undefined, 'epoch 7');
      await rejectsWith(reader.slice({ samples: { kind: 'class', classIndex: 3 }, layer: 'conv1', channel: 0, epoch: 0 }), 'bad-request', undefined, 'class 3');
      await rejectsWith(
        reader.slice({ samples: { kind: 'indices', indices: [20] }, layer: 'conv1', channel: 0, epoch: 0 }),
        'bad-request',
        undefined,
        'sample 20',
      );
    } finally {
      await reader.close();
    }
  });

  it('widens float16 activations exactly', async () => {
    const r16 = await writeSmallRun({ dtype: 'float16', epochs: [0] });
    const reader = await RunReader.open(r16.dir);
    try {
      const s = await reader.slice({ samples: { kind: 'all' }, layer: 'conv1', channel: 'all', epoch: 0 });
      const want = decodeFloat16(encodeFloat16(r16.values.get(0)!.get('conv1')!));
      assert.deepStrictEqual(s.data, want);
    } finally {
      await reader.close();
      r16.cleanup();
    }
  });

  it('reports an epoch folder the manifest does not name yet as incomplete, not corrupt', async () => {
    const live = await writeSmallRun({ epochs: [0, 1], finish: false });
    try {
      // What a writer looks like while it is writing epoch 2: its folder and a temp file exist.
      mkdirSync(path.join(live.dir, 'epochs', 'epoch-0002'));
      writeFileSync(path.join(live.dir, 'epochs', 'epoch-0002', 'activations.safetensors.tmp'), Buffer.alloc(100));
      const reader = await RunReader.open(live.dir);
      assert.deepStrictEqual(reader.info.incompleteEpochs, [2]);
      assert.deepStrictEqual(
        reader.info.manifest.epochs.map((e) => e.epoch),
        [0, 1],
      );
      await rejectsWith(reader.slice({ samples: { kind: 'all' }, layer: 'fc', channel: 'all', epoch: 2 }), 'incomplete', live.dir, 'still being written');
      // The finished epochs read as usual.
      const s = await reader.slice({ samples: { kind: 'all' }, layer: 'fc', channel: 'all', epoch: 1 });
      assert.deepStrictEqual(s.data, live.values.get(1)!.get('fc'));
      await reader.close();
    } finally {
      live.cleanup();
    }
  });

  it('the registry picks up a new epoch when the manifest changes', async () => {
    const live = await writeSmallRun({ epochs: [0], finish: false });
    const registry = new RunRegistry();
    try {
      const before = await registry.get(live.dir);
      assert.deepStrictEqual(
        before.info.manifest.epochs.map((e) => e.epoch),
        [0],
      );
      assert.strictEqual(await registry.get(live.dir), before, 'unchanged manifest: same reader');
      // Reopen the writer's run by writing one more epoch through a fresh writer on the same folder.
      const manifest = JSON.parse(await fs.readFile(path.join(live.dir, MANIFEST_FILE), 'utf8'));
      manifest.epochs.push({ ...manifest.epochs[0], epoch: 5 });
      await fs.writeFile(path.join(live.dir, MANIFEST_FILE), JSON.stringify(manifest));
      const after = await registry.get(live.dir);
      assert.deepStrictEqual(
        after.info.manifest.epochs.map((e) => e.epoch),
        [0, 5],
      );
    } finally {
      await registry.closeAll();
      live.cleanup();
    }
  });
});

describe('run validation', () => {
  let run: SmallRun;
  let manifestText: string;
  beforeEach(async () => {
    run = await writeSmallRun({ epochs: [0, 1] });
    manifestText = await fs.readFile(path.join(run.dir, MANIFEST_FILE), 'utf8');
  });
  afterEach(() => run.cleanup());

  // A manifest edited by hand to break it: any field, at any depth.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async function withManifest(edit: (m: Record<string, any>) => void): Promise<void> {
    const m = JSON.parse(manifestText);
    edit(m);
    await fs.writeFile(path.join(run.dir, MANIFEST_FILE), JSON.stringify(m));
  }

  const manifestFile = () => path.join(run.dir, MANIFEST_FILE);

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const cases: [string, (m: Record<string, any>) => void, string, string][] = [
    ['wrong format name', (m) => (m.format = 'something-else'), 'invalid-manifest', 'format'],
    ['newer version', (m) => (m.version = 2), 'unsupported-version', 'version 2'],
    ['version as a string', (m) => (m.version = '1'), 'invalid-manifest', 'version'],
    ['no layers', (m) => (m.layers = []), 'invalid-manifest', 'layers'],
    ['layer without name', (m) => delete m.layers[0].name, 'invalid-manifest', 'layers[0].name'],
    ['duplicate layer', (m) => (m.layers[1].name = 'conv1'), 'invalid-manifest', 'appears twice'],
    ['reserved layer name', (m) => (m.layers[0].name = 'logits'), 'invalid-manifest', 'reserved'],
    ['unknown layer kind', (m) => (m.layers[0].kind = 'transformer'), 'invalid-manifest', 'layers[0].kind'],
    ['zero dimension', (m) => (m.layers[0].shape = [4, 0, 6]), 'invalid-manifest', 'shape[1]'],
    ['fractional dimension', (m) => (m.layers[0].shape = [4.5, 6, 6]), 'invalid-manifest', 'shape[0]'],
    ['source line 0', (m) => (m.layers[0].source = { file: 'a.py', line: 0 }), 'invalid-manifest', 'source.line'],
    ['classes not strings', (m) => (m.classes = [1, 2, 3]), 'invalid-manifest', 'classes[0]'],
    ['epochs out of order', (m) => (m.epochs = [m.epochs[1], m.epochs[0]]), 'invalid-manifest', 'strictly increase'],
    ['negative epoch', (m) => (m.epochs[0].epoch = -1), 'invalid-manifest', 'epochs[0].epoch'],
    ['epoch with no data', (m) => delete m.epochs[0].activations, 'invalid-manifest', 'neither'],
    ['metric as a string', (m) => (m.epochs[0].metrics.loss = 'low'), 'invalid-manifest', 'metrics.loss'],
    ['bad dtype', (m) => (m.epochs[0].dtype = 'int8'), 'invalid-manifest', 'dtype'],
    ['path with ..', (m) => (m.epochs[0].activations = '../other/activations.safetensors'), 'path-escape', '".."'],
    ['absolute path', (m) => (m.probe.file = '/etc/passwd'), 'path-escape', 'absolute'],
    ['backslash path', (m) => (m.probe.file = 'epochs\\x'), 'path-escape', 'backslash'],
    ['drive letter', (m) => (m.probe.file = 'C:probe.safetensors'), 'path-escape', 'drive letter'],
    ['empty segment', (m) => (m.probe.file = 'a//b'), 'path-escape', 'empty segment'],
  ];
  for (const [name, edit, code, text] of cases) {
    it(`refuses a manifest with ${name}`, async () => {
      await withManifest(edit);
      await rejectsWith(RunReader.open(run.dir), code, MANIFEST_FILE, text);
    });
  }

  it('refuses a manifest that is a JSON array', async () => {
    await fs.writeFile(manifestFile(), '[]');
    await rejectsWith(RunReader.open(run.dir), 'invalid-manifest', MANIFEST_FILE, 'must be an object');
  });

  it('refuses a manifest that is not JSON, as corrupt', async () => {
    await fs.writeFile(manifestFile(), manifestText.slice(0, 40));
    await rejectsWith(RunReader.open(run.dir), 'corrupt', MANIFEST_FILE, 'JSON');
  });

  it('refuses a symlink that leads out of the run', async () => {
    const outside = path.join(path.dirname(run.dir), 'outside.safetensors');
    await fs.copyFile(path.join(run.dir, 'probe.safetensors'), outside);
    await fs.rm(path.join(run.dir, 'probe.safetensors'));
    symlinkSync(outside, path.join(run.dir, 'probe.safetensors'));
    await rejectsWith(RunReader.open(run.dir), 'path-escape', MANIFEST_FILE, 'outside the run directory');
  });

  it('accepts a symlink that stays inside the run', async () => {
    await fs.rename(path.join(run.dir, 'probe.safetensors'), path.join(run.dir, 'probe-real.safetensors'));
    symlinkSync('probe-real.safetensors', path.join(run.dir, 'probe.safetensors'));
    const reader = await RunReader.open(run.dir);
    assert.strictEqual(reader.info.manifest.probe.count, 20);
    await reader.close();
  });

  it('names a missing file', async () => {
    await fs.rm(path.join(run.dir, 'epochs', 'epoch-0001', 'activations.safetensors'));
    const reader = await RunReader.open(run.dir);
    await rejectsWith(reader.slice({ samples: { kind: 'all' }, layer: 'fc', channel: 0, epoch: 1 }), 'not-found', 'epoch-0001');
    await reader.close();
  });

  it('a truncated activations file is corrupt and named', async () => {
    const file = path.join(run.dir, 'epochs', 'epoch-0001', 'activations.safetensors');
    const bytes = await fs.readFile(file);
    await fs.writeFile(file, bytes.subarray(0, bytes.length - 10));
    const reader = await RunReader.open(run.dir);
    await rejectsWith(reader.slice({ samples: { kind: 'all' }, layer: 'fc', channel: 0, epoch: 1 }), 'corrupt', 'activations.safetensors');
    await reader.close();
  });

  it('a probe whose shape disagrees with the manifest is corrupt', async () => {
    await withManifest((m) => (m.probe.count = 21));
    await rejectsWith(RunReader.open(run.dir), 'corrupt', 'probe.safetensors', 'shape');
  });

  it('an activations tensor whose dtype disagrees with the manifest is corrupt', async () => {
    await withManifest((m) => (m.epochs[1].dtype = 'float16'));
    const reader = await RunReader.open(run.dir);
    await rejectsWith(reader.slice({ samples: { kind: 'all' }, layer: 'fc', channel: 0, epoch: 1 }), 'corrupt', 'activations.safetensors', 'dtype');
    await reader.close();
  });

  it('a folder without a manifest is not a run', async () => {
    const empty = tempDir();
    await rejectsWith(RunReader.open(empty), 'not-found', empty, 'not a CNNSlicer run');
    await fs.rm(empty, { recursive: true });
  });
});

describe('run writer refuses bad input', () => {
  it('checks probe sizes, labels, epochs and layers', async () => {
    const root = tempDir();
    try {
      const base = {
        model: {},
        layers: [{ name: 'fc', kind: 'linear' as const, shape: [2] }],
        classes: ['a', 'b'],
        probe: { inputs: new Float32Array(4), inputShape: [2], labels: [0, 1] },
      };
      await rejectsWith(
        RunWriter.create(path.join(root, 'a'), { ...base, probe: { ...base.probe, inputs: new Float32Array(3) } }),
        'bad-request',
        undefined,
        'need 4',
      );
      await rejectsWith(RunWriter.create(path.join(root, 'b'), { ...base, probe: { ...base.probe, labels: [0, 2] } }), 'bad-request', undefined, 'label 2');
      const w = await RunWriter.create(path.join(root, 'c'), base);
      await rejectsWith(w.writeEpoch(0, { metrics: {}, activations: new Map([['fc', new Float32Array(4)]]) }), 'bad-request', undefined, 'logits');
      await rejectsWith(
        w.writeEpoch(0, { metrics: {}, activations: new Map([['fc', new Float32Array(3)]]), logits: new Float32Array(4) }),
        'bad-request',
        undefined,
        '"fc"',
      );
      await rejectsWith(
        w.writeEpoch(0, {
          metrics: {},
          activations: new Map([
            ['fc', new Float32Array(4)],
            ['extra', new Float32Array(1)],
          ]),
          logits: new Float32Array(4),
        }),
        'bad-request',
        undefined,
        'extra',
      );
      await w.writeEpoch(3, { metrics: { loss: Number.NaN }, activations: new Map([['fc', new Float32Array(4)]]), logits: new Float32Array(4) });
      await rejectsWith(
        w.writeEpoch(3, { metrics: {}, activations: new Map([['fc', new Float32Array(4)]]), logits: new Float32Array(4) }),
        'bad-request',
        undefined,
        'does not follow',
      );
      await rejectsWith(RunWriter.create(path.join(root, 'c'), base), 'bad-request', undefined, 'already holds a run');
      await w.finish();
      await rejectsWith(
        w.writeEpoch(4, { metrics: {}, activations: new Map([['fc', new Float32Array(4)]]), logits: new Float32Array(4) }),
        'bad-request',
        undefined,
        'finished',
      );
      // Refused epochs left nothing on disk that a reader could mistake for an epoch being written.
      assert.deepStrictEqual(await fs.readdir(path.join(root, 'c', 'epochs')), ['epoch-0003']);
      const reader = await RunReader.open(path.join(root, 'c'));
      assert.deepStrictEqual(reader.info.incompleteEpochs, []);
      // A NaN loss is stored as null and read back as absent, never as a number.
      assert.strictEqual(reader.info.manifest.epochs[0].metrics.loss, undefined);
      assert.ok('loss' in reader.info.manifest.epochs[0].metrics);
      await reader.close();
    } finally {
      await fs.rm(root, { recursive: true, force: true });
    }
  });
});

describe('run info refresh', () => {
  it('sees an epoch folder that appeared after the reader was opened', async () => {
    const live = await writeSmallRun({ epochs: [0], finish: false });
    const reader = await RunReader.open(live.dir);
    try {
      assert.deepStrictEqual(reader.info.incompleteEpochs, []);
      mkdirSync(path.join(live.dir, 'epochs', 'epoch-0001'));
      assert.deepStrictEqual((await reader.refreshedInfo()).incompleteEpochs, [1]);
      await rejectsWith(reader.slice({ samples: { kind: 'all' }, layer: 'fc', channel: 0, epoch: 1 }), 'incomplete');
    } finally {
      await reader.close();
      live.cleanup();
    }
  });
});

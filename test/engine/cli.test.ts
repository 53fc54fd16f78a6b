import * as assert from 'node:assert';
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { MANIFEST_FILE } from '../../src/shared/runFormat';
import { writeSmallRun, type SmallRun } from '../support/runFixtures';

const root = path.resolve(__dirname, '../..');

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const res = spawnSync(process.execPath, ['--require', 'tsx/cjs', path.join(root, 'src/engine/cli.ts'), ...args], { cwd: root, encoding: 'utf8' });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

describe('cnnslicer CLI', () => {
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
    assert.deepStrictEqual(info.manifest.epochs.map((e: { epoch: number }) => e.epoch), [0, 1, 2]);
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

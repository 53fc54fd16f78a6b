// tfjsEngine.ts, the host's side of the TF.js engine: backend detection in child processes (with
// native packages that fail to load or crash), the trainer's command line, and the native install
// with a fake npm on PATH (the real one fails here: libtensorflow cannot be downloaded).
import * as assert from 'node:assert/strict';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { build } from 'esbuild';
import {
  detectTfjsBackends,
  installNativeTfjs,
  nativeInstallDir,
  tfjsTrainerCommand,
  tfjsTrainerPath,
  type TfjsLocations,
} from '../../src/extension/training/tfjsEngine';

const root = path.resolve(__dirname, '..', '..');
const scratch = path.join(root, '.test-tmp', `tfjs-engine-${process.pid}`);

function fakePackage(loc: TfjsLocations, name: string, main: string): void {
  const dir = path.join(nativeInstallDir(loc), 'node_modules', ...name.split('/'));
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, version: '4.22.0', main: 'index.js' }));
  writeFileSync(path.join(dir, 'index.js'), main);
}

describe('the TF.js engine in the host (tfjsEngine.ts)', function () {
  this.timeout(60_000);
  const built: TfjsLocations = { extensionPath: path.join(scratch, 'ext'), globalStoragePath: path.join(scratch, 'storage') };

  before(async function () {
    const out = path.dirname(tfjsTrainerPath(built));
    mkdirSync(out, { recursive: true });
    await build({
      entryPoints: [path.join(root, 'src/trainer/tfjs/main.ts')],
      outfile: tfjsTrainerPath(built),
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      external: ['vscode', 'onnxruntime-node'],
      logLevel: 'silent',
    });
    for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm'])
      copyFileSync(path.join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist', f), path.join(out, f));
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('finds wasm and cpu, and says why the native backends are missing', async function () {
    const a = await detectTfjsBackends(built);
    assert.deepEqual(a.backends, ['wasm', 'cpu']);
    assert.equal(a.best, 'wasm');
    assert.equal(a.native, false);
    assert.equal(a.notes.length, 2);
    assert.match(a.notes[0], /^tensorflow-gpu: @tensorflow\/tfjs-node-gpu is not installed/);
    assert.match(a.notes[1], /^tensorflow: @tensorflow\/tfjs-node is not installed \(it can be installed into .*tfjs-native\)/);
  });

  it('survives a native package that throws or crashes its process, reporting each', async function () {
    const loc: TfjsLocations = { ...built, globalStoragePath: path.join(scratch, 'broken-storage') };
    fakePackage(loc, '@tensorflow/tfjs-node', "throw new Error('libtensorflow.so.2: cannot open shared object file: No such file or directory');\n");
    fakePackage(loc, '@tensorflow/tfjs-node-gpu', "process.kill(process.pid, 'SIGSEGV');\n");
    const a = await detectTfjsBackends(loc);
    assert.deepEqual(a.backends, ['wasm', 'cpu']);
    assert.match(a.notes[0], /^tensorflow-gpu: the backend check was killed by SIGSEGV/);
    assert.match(a.notes[1], /^tensorflow: @tensorflow\/tfjs-node \(.*\) is installed but does not load: libtensorflow\.so\.2: cannot open shared object file/);
  });

  it('reports a missing trainer bundle instead of any backend', async function () {
    const a = await detectTfjsBackends({ extensionPath: path.join(scratch, 'nowhere'), globalStoragePath: path.join(scratch, 'nowhere-storage') });
    assert.deepEqual(a.backends, []);
    assert.match(a.notes[0], /tfjsTrainer\.js not found/);
  });

  it('builds the trainer command: Node (Electron as Node), the bundle, the options, backend, limit and module path', function () {
    const cmd = tfjsTrainerCommand(built, ['--arch', 'small', '--out', '/r'], 'wasm', 10);
    assert.equal(cmd.command, process.execPath);
    assert.deepEqual(cmd.args, [
      tfjsTrainerPath(built),
      '--arch',
      'small',
      '--out',
      '/r',
      '--backend',
      'wasm',
      '--max-minutes',
      '10',
      '--module-path',
      path.join(nativeInstallDir(built), 'node_modules'),
    ]);
    assert.equal(cmd.env.ELECTRON_RUN_AS_NODE, '1');
    assert.equal(cmd.env.PATH, process.env.PATH);
  });

  describe('installing a native backend, with a fake npm on PATH', function () {
    const bin = path.join(scratch, 'bin');
    let savedPath: string | undefined;
    beforeEach(() => {
      savedPath = process.env.PATH;
      rmSync(bin, { recursive: true, force: true });
      mkdirSync(bin, { recursive: true });
      process.env.PATH = `${bin}${path.delimiter}${savedPath ?? ''}`;
    });
    afterEach(() => {
      process.env.PATH = savedPath;
    });
    function fakeNpm(script: string): void {
      writeFileSync(path.join(bin, 'npm'), `#!/bin/sh\n${script}\n`);
      chmodSync(path.join(bin, 'npm'), 0o755);
    }

    it('fails with npm’s reason when the libtensorflow download fails, having asked for the right package in its own project', async function () {
      if (process.platform === 'win32') this.skip();
      const loc: TfjsLocations = { ...built, globalStoragePath: path.join(scratch, 'install-fail') };
      fakeNpm(
        [
          'echo "$PWD $*" > args.txt',
          'echo "npm error command sh -c node scripts/install.js" >&2',
          'echo "npm error * Downloading libtensorflow" >&2',
          'echo "npm error Error: getaddrinfo ENOTFOUND storage.googleapis.com" >&2',
          'echo "npm error     at GetAddrInfoReqWrap.onlookupall [as oncomplete] (node:dns:120:26)" >&2',
          'exit 1',
        ].join('\n'),
      );
      const output: string[] = [];
      const r = await installNativeTfjs(loc, false, (l) => output.push(l), new AbortController().signal);
      assert.equal(r.ok, false);
      assert.match(
        r.message,
        /^npm install @tensorflow\/tfjs-node@4\.22\.0 failed with exit status 1 in .*tfjs-native \(its install script downloads libtensorflow, which failed: Error: getaddrinfo ENOTFOUND storage\.googleapis\.com\)/,
      );
      assert.doesNotMatch(r.message, /GetAddrInfoReqWrap/, 'stack frames are left out');
      assert.ok(output.some((l) => l.includes('Downloading libtensorflow')));
      const dir = nativeInstallDir(loc);
      assert.equal(readFileSync(path.join(dir, 'args.txt'), 'utf8').trim(), `${dir} install --save-exact --no-audit --no-fund @tensorflow/tfjs-node@4.22.0`);
      const project = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { allowScripts: Record<string, boolean> };
      assert.equal(project.allowScripts['@tensorflow/tfjs-node'], true);
    });

    it('succeeds when npm installs the package where the trainer looks for it (-gpu asked for)', async function () {
      if (process.platform === 'win32') this.skip();
      const loc: TfjsLocations = { ...built, globalStoragePath: path.join(scratch, 'install-ok') };
      fakeNpm(
        'mkdir -p node_modules/@tensorflow/tfjs-node-gpu && echo \'{"name":"@tensorflow/tfjs-node-gpu","main":"index.js"}\' > node_modules/@tensorflow/tfjs-node-gpu/package.json && touch node_modules/@tensorflow/tfjs-node-gpu/index.js && echo "added 1 package"',
      );
      const r = await installNativeTfjs(loc, true, () => undefined, new AbortController().signal);
      assert.deepEqual(r, { ok: true, message: `installed @tensorflow/tfjs-node-gpu@4.22.0 into ${nativeInstallDir(loc)}` });
    });

    it('stops npm when cancelled', async function () {
      if (process.platform === 'win32') this.skip();
      const loc: TfjsLocations = { ...built, globalStoragePath: path.join(scratch, 'install-cancel') };
      fakeNpm('exec sleep 30');
      const abort = new AbortController();
      const started = Date.now();
      setTimeout(() => abort.abort(), 200);
      const r = await installNativeTfjs(loc, false, () => undefined, abort.signal);
      assert.deepEqual(r, { ok: false, message: 'the installation of @tensorflow/tfjs-node was cancelled' });
      assert.ok(Date.now() - started < 5000);
    });

    it('says so when there is no npm on PATH', async function () {
      const loc: TfjsLocations = { ...built, globalStoragePath: path.join(scratch, 'install-nonpm') };
      process.env.PATH = bin;
      const r = await installNativeTfjs(loc, false, () => undefined, new AbortController().signal);
      assert.equal(r.ok, false);
      assert.match(r.message, /npm was not found on PATH/);
      assert.ok(existsSync(path.join(nativeInstallDir(loc), 'package.json')));
    });
  });
});

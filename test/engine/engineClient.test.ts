// EngineClient against a real engine process: the engine bundle is built the way esbuild.mjs
// builds dist/engine/main.js, into a scratch folder, and forked exactly as the extension forks it.
import * as assert from 'node:assert';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { build } from 'esbuild';
import type { ProgressInfo, SliceResult } from '../../src/shared/engineProtocol';
import { CnnSlicerError } from '../../src/shared/errors';
import { EngineClient, type EngineClientOptions, type EngineState } from '../../src/extension/engineClient';
import { writeSmallRun, type SmallRun } from '../support/runFixtures';

const root = path.resolve(__dirname, '..', '..');
// Inside the repository (and git-ignored) so the bundle resolves its external modules from node_modules.
const scratch = path.join(root, '.test-tmp', `engine-client-${process.pid}`);
const enginePath = path.join(scratch, 'main.js');

async function rejectsWith(p: Promise<unknown>, code: string, messagePattern?: RegExp): Promise<CnnSlicerError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof CnnSlicerError, `expected CnnSlicerError, got ${String(err)}`);
    assert.strictEqual(err.code, code, `code of: ${err.message}`);
    if (messagePattern !== undefined) assert.match(err.message, messagePattern);
    return err;
  }
  assert.fail(`expected a ${code} error`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

/** Waits for something that happens soon but not synchronously (a killed process being reaped). */
async function eventually(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Resolves with the first progress event, so a test knows the engine is working on the request. */
function firstProgress(): { onProgress: (p: ProgressInfo) => void; started: Promise<void> } {
  let started!: () => void;
  const promise = new Promise<void>((resolve) => (started = resolve));
  return { onProgress: () => started(), started: promise };
}

describe('engine client', function () {
  this.timeout(60_000);

  const clients: EngineClient[] = [];
  const logs: string[] = [];

  function makeClient(options: Partial<EngineClientOptions> = {}): EngineClient {
    const client = new EngineClient({ enginePath, log: (level, message) => logs.push(`${level}: ${message}`), ...options });
    clients.push(client);
    return client;
  }

  /** Starts a long sleep, waits until the engine is on it, then kills the engine under it. */
  async function crashDuringSleep(client: EngineClient): Promise<{ pid: number; error: CnnSlicerError }> {
    const { onProgress, started } = firstProgress();
    const request = client.request('sleep', { ms: 60_000 }, { onProgress });
    await started;
    const pid = client.pid!;
    process.kill(pid, 'SIGKILL');
    const error = await rejectsWith(request, 'engine-crashed', /the engine process exited \(signal SIGKILL\) while handling "sleep"/);
    return { pid, error };
  }

  before(async function () {
    this.timeout(120_000);
    mkdirSync(scratch, { recursive: true });
    await build({
      entryPoints: [path.join(root, 'src/engine/main.ts')],
      outfile: enginePath,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      external: ['vscode', 'onnxruntime-node'],
      sourcemap: true,
      logLevel: 'silent',
    });
  });

  afterEach(async function () {
    const pids = clients.map((c) => c.pid).filter((p): p is number => p !== undefined);
    await Promise.all(clients.splice(0).map((c) => c.dispose()));
    for (const pid of pids) assert.ok(!isAlive(pid), `engine ${pid} outlived its client`);
    if (this.currentTest?.state === 'failed') console.log(logs.join('\n'));
    logs.length = 0;
  });

  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('starts the engine lazily, on the first request', async () => {
    const client = makeClient();
    const states: EngineState[] = [];
    client.onDidChangeState((s) => states.push(s));
    assert.strictEqual(client.pid, undefined);
    assert.strictEqual(client.state, 'idle');
    const result = await client.request('ping', {});
    assert.strictEqual(result.pid, client.pid);
    assert.notStrictEqual(result.pid, process.pid);
    assert.strictEqual(result.versions.node, process.versions.node);
    assert.strictEqual(client.state, 'running');
    assert.deepStrictEqual(states, ['starting', 'running']);
  });

  it('gives concurrent requests their own answers', async () => {
    const client = makeClient();
    const [a, p1, b, p2, c] = await Promise.all([
      client.request('sleep', { ms: 150 }),
      client.request('ping', {}),
      client.request('sleep', { ms: 10 }),
      client.request('ping', {}),
      client.request('sleep', { ms: 60 }),
    ]);
    assert.ok(a.slept >= 150, `slept ${a.slept}`);
    assert.ok(b.slept >= 10 && b.slept < a.slept, `slept ${b.slept}`);
    assert.ok(c.slept >= 60, `slept ${c.slept}`);
    assert.strictEqual(p1.pid, p2.pid);
  });

  it('delivers progress events', async () => {
    const client = makeClient();
    const events: ProgressInfo[] = [];
    await client.request('sleep', { ms: 400 }, { onProgress: (p) => events.push(p) });
    assert.ok(events.length >= 2, `got ${events.length} progress events`);
    assert.ok(events.every((e) => e.total === 400));
    assert.strictEqual(events[0].done, 0);
    assert.strictEqual(events[events.length - 1].done, 400);
  });

  it('reads a run through the engine: runInfo and slice, typed arrays intact', async () => {
    let run: SmallRun | undefined;
    try {
      run = await writeSmallRun();
      const client = makeClient();
      const info = await client.request('runInfo', { run: run.dir });
      assert.strictEqual(info.name, 'small test run');
      assert.deepStrictEqual(
        info.manifest.epochs.map((e) => e.epoch),
        [0, 1, 2],
      );
      const slice: SliceResult = await client.request('slice', {
        run: run.dir,
        samples: { kind: 'indices', indices: [3, 0] },
        layer: 'fc',
        channel: 'all',
        epoch: 1,
      });
      assert.ok(slice.data instanceof Float32Array);
      assert.ok(slice.sampleIndices instanceof Int32Array);
      assert.deepStrictEqual(slice.shape, [2, 10]);
      const fc = run.values.get(1)!.get('fc')!;
      assert.deepStrictEqual([...slice.data], [...fc.subarray(30, 40), ...fc.subarray(0, 10)]);
      await rejectsWith(client.request('slice', { run: run.dir, samples: { kind: 'all' }, layer: 'nope', channel: 0, epoch: 1 }), 'bad-request');
      await rejectsWith(client.request('runInfo', { run: path.join(run.dir, 'nowhere') }), 'not-found');
    } finally {
      run?.cleanup();
    }
  });

  it('cancelling one of two concurrent sleeps rejects only that one', async () => {
    const client = makeClient();
    const controller = new AbortController();
    const settled: string[] = [];
    const { onProgress, started } = firstProgress();
    const cancelled = client.request('sleep', { ms: 60_000 }, { signal: controller.signal, onProgress }).finally(() => settled.push('cancelled'));
    const other = client.request('sleep', { ms: 500 }).finally(() => settled.push('other'));
    await started;
    controller.abort();
    await rejectsWith(cancelled, 'cancelled', /"sleep" was cancelled/);
    assert.deepStrictEqual(settled, ['cancelled'], 'the cancelled request rejects at once, before the other finishes');
    assert.ok((await other).slept >= 500);
    // The engine is still the same healthy process.
    assert.strictEqual((await client.request('ping', {})).pid, client.pid);
  });

  it('rejects at once when the signal is already aborted', async () => {
    const client = makeClient();
    await rejectsWith(client.request('ping', {}, { signal: AbortSignal.abort() }), 'cancelled');
    assert.strictEqual(client.pid, undefined, 'nothing was started for it');
  });

  it('times a request out with timeout, leaving the engine running', async () => {
    const client = makeClient({ requestTimeoutMs: 300 });
    await client.request('ping', {}, { timeoutMs: 30_000 });
    const pid = client.pid;
    await rejectsWith(client.request('sleep', { ms: 60_000 }), 'timeout', /"sleep" did not finish within 0\.3 s/);
    await rejectsWith(client.request('sleep', { ms: 60_000 }, { timeoutMs: 200 }), 'timeout', /within 0\.2 s/);
    const again = await client.request('ping', {}, { timeoutMs: 30_000 });
    assert.strictEqual(again.pid, pid);
  });

  it('fails the request in flight when the engine is killed, and restarts it on the next request', async () => {
    const client = makeClient();
    const { pid, error } = await crashDuringSleep(client);
    assert.strictEqual(error.message, 'the engine process exited (signal SIGKILL) while handling "sleep"');
    assert.strictEqual(client.state, 'idle');
    assert.strictEqual(client.pid, undefined);
    const next = await client.request('ping', {});
    assert.notStrictEqual(next.pid, pid);
    assert.strictEqual(client.state, 'running');
  });

  it('kills a hung engine (no heartbeat) and fails its request with engine-crashed', async () => {
    const client = makeClient({ heartbeatTimeoutMs: 2000, env: { CNNSLICER_ENGINE_TEST_HOOKS: '1' } });
    const first = await client.request('ping', {});
    await rejectsWith(client.request('hang', { ms: 120_000 }), 'engine-crashed', /engine stopped answering \(no heartbeat for 2 s\) while handling "hang"/);
    await eventually(() => !isAlive(first.pid), `the hung engine ${first.pid} is gone`);
    const next = await client.request('ping', {});
    assert.notStrictEqual(next.pid, first.pid);
    assert.ok(
      logs.some((l) => l.startsWith('error: engine stopped answering')),
      'the kill is logged',
    );
  });

  it('refuses the hang hook when the engine runs without test hooks', async () => {
    const client = makeClient();
    await rejectsWith(client.request('hang', { ms: 10 }), 'bad-request', /CNNSLICER_ENGINE_TEST_HOOKS/);
  });

  it('gives up after three crashes in the window, until restart()', async () => {
    const client = makeClient({ maxCrashes: 3, crashWindowMs: 60_000 });
    const states: EngineState[] = [];
    client.onDidChangeState((s) => states.push(s));
    for (let i = 0; i < 3; i++) await crashDuringSleep(client);
    assert.strictEqual(client.state, 'failed');
    assert.strictEqual(states[states.length - 1], 'failed');
    const expected =
      "The CNNSlicer engine crashed 3 times in 1 minute; last: the engine process exited (signal SIGKILL). Run 'CNNSlicer: Restart Engine' after fixing the cause; see the CNNSlicer output channel.";
    const err = await rejectsWith(client.request('ping', {}), 'engine-unavailable');
    assert.strictEqual(err.message, expected);
    assert.strictEqual(client.failureMessage, expected);
    assert.strictEqual(client.pid, undefined, 'a failed client starts no engine');

    await client.restart();
    assert.strictEqual(client.state, 'idle');
    assert.strictEqual(client.failureMessage, undefined);
    await client.request('ping', {});
    assert.strictEqual(client.state, 'running');
    // The crash history is gone too: one more crash does not fail the client again.
    await crashDuringSleep(client);
    assert.strictEqual(client.state, 'idle');
  });

  it('forgets crashes older than the window', async () => {
    // Each crash-and-restart cycle takes far longer than 1 ms, so no two crashes share the window.
    const client = makeClient({ maxCrashes: 2, crashWindowMs: 1 });
    await crashDuringSleep(client);
    await crashDuringSleep(client);
    await crashDuringSleep(client);
    assert.strictEqual(client.state, 'idle');
    await client.request('ping', {});
  });

  it('restart() replaces a running engine and cancels what it was doing', async () => {
    const client = makeClient();
    const { onProgress, started } = firstProgress();
    const sleeping = client.request('sleep', { ms: 60_000 }, { onProgress });
    await started;
    const pid = client.pid!;
    const outcome = rejectsWith(sleeping, 'cancelled', /restarted/);
    await client.restart();
    await outcome;
    assert.ok(!isAlive(pid), 'the old engine is gone once restart() resolves');
    assert.strictEqual(client.state, 'idle');
    assert.notStrictEqual((await client.request('ping', {})).pid, pid);
  });

  it('dispose() leaves no engine process behind and cancels pending requests', async () => {
    const client = makeClient();
    const { onProgress, started } = firstProgress();
    const sleeping = client.request('sleep', { ms: 60_000 }, { onProgress });
    await started;
    const pid = client.pid!;
    assert.ok(isAlive(pid));
    const outcome = rejectsWith(sleeping, 'cancelled', /shut down/);
    // A second dispose() (say, from deactivate racing a settings change) waits for the same stop.
    const first = client.dispose();
    await client.dispose();
    assert.ok(!isAlive(pid), `engine ${pid} still exists after dispose()`);
    await Promise.all([outcome, first]);
    assert.strictEqual(client.pid, undefined);
    await rejectsWith(client.request('ping', {}), 'engine-unavailable');
  });

  it('dispose() also removes an engine that does not answer', async () => {
    const client = makeClient({ env: { CNNSLICER_ENGINE_TEST_HOOKS: '1' } });
    await client.request('ping', {});
    const pid = client.pid!;
    const outcome = rejectsWith(client.request('hang', { ms: 120_000 }), 'cancelled');
    await client.dispose();
    assert.ok(!isAlive(pid), `engine ${pid} still exists after dispose()`);
    await outcome;
  });

  it('reports an engine that dies before it is ready', async () => {
    const client = makeClient({ enginePath: path.join(scratch, 'no-such-engine.js') });
    await rejectsWith(client.request('ping', {}), 'engine-crashed', /the engine process exited \(code 1\) before it could handle "ping"/);
    await eventually(() => logs.some((l) => l.includes('Cannot find module')), "the engine's stderr reaches the log");
    assert.strictEqual(client.state, 'idle');
  });

  it('drops malformed engine messages and ignores answers to unknown ids', async () => {
    // A stand-in engine that misbehaves before answering properly.
    const fake = path.join(scratch, 'fake-engine.js');
    writeFileSync(
      fake,
      `process.send({ type: 'ready', pid: process.pid });
       process.on('message', (m) => {
         process.send({ type: 'bogus' });
         process.send({ type: 'response', id: m.id, ok: false, error: 'not an error object' });
         process.send({ type: 'response', id: m.id + 1000, ok: true, result: 'for nobody' });
         process.send({ type: 'progress', id: m.id, progress: { done: 'x' } });
         process.send({ type: 'log', level: 'info', message: 'hello from the fake' });
         process.send({ type: 'response', id: m.id, ok: true, result: { pid: process.pid, versions: {} } });
       });
       process.on('disconnect', () => process.exit(0));`,
    );
    const client = makeClient({ enginePath: fake });
    const progress: ProgressInfo[] = [];
    const result = await client.request('ping', {}, { onProgress: (p) => progress.push(p) });
    assert.strictEqual(result.pid, client.pid);
    assert.deepStrictEqual(progress, []);
    assert.strictEqual(logs.filter((l) => l.startsWith('warn: dropped a malformed message from the engine')).length, 3);
    assert.ok(logs.some((l) => l.startsWith('info: ') && l.endsWith('hello from the fake')));
  });
});

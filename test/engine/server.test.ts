// The engine's dispatcher, in-process: `send` is a fake that structured-clones every message, as
// the IPC channel does, so what the tests see is what a host would receive.
import * as assert from 'node:assert';
import type { EngineToHost, SliceParams, SliceResult } from '../../src/shared/engineProtocol';
import { CnnSlicerError } from '../../src/shared/errors';
import type { RunInfo } from '../../src/shared/runFormat';
import { createHandlers, type RunSource } from '../../src/engine/handlers';
import { EngineServer } from '../../src/engine/server';

type Response = Extract<EngineToHost, { type: 'response' }>;

const FAKE_INFO = { dir: '/runs/a', name: 'a', manifest: {}, incompleteEpochs: [] } as unknown as RunInfo;

interface SliceCall {
  readonly params: SliceParams;
  readonly signal: AbortSignal | undefined;
}

/** A stand-in for RunRegistry whose slice behaviour each test chooses. */
class FakeRuns implements RunSource {
  readonly gets: string[] = [];
  readonly slices: SliceCall[] = [];
  sliceImpl: (params: SliceParams, ctx: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void }) => Promise<SliceResult> = async () => ({
    shape: [1, 2],
    data: Float32Array.of(1.5, -2),
    sampleIndices: Int32Array.of(7),
    source: 'activations',
  });

  async get(run: string) {
    this.gets.push(run);
    if (run === '/missing') throw new CnnSlicerError('not-found', 'no such run', run);
    return {
      refreshedInfo: async () => FAKE_INFO,
      slice: (params: SliceParams, ctx: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {}) => {
        this.slices.push({ params, signal: ctx.signal });
        return this.sliceImpl(params, ctx);
      },
    };
  }
}

function setup(options: { testHooks?: boolean; progressIntervalMs?: number } = {}) {
  const sent: EngineToHost[] = [];
  const runs = new FakeRuns();
  const server = new EngineServer({
    send: (m) => void sent.push(structuredClone(m)),
    handlers: createHandlers({ runs, testHooks: options.testHooks }),
    progressIntervalMs: options.progressIntervalMs,
  });
  const responseTo = async (id: number, timeoutMs = 10_000): Promise<Response> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = sent.find((m): m is Response => m.type === 'response' && m.id === id);
      if (r) return r;
      if (Date.now() > deadline) assert.fail(`no response to request ${id} within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  const call = (id: number, method: string, params: unknown): Promise<Response> => {
    server.handle({ type: 'request', id, method, params });
    return responseTo(id);
  };
  return { sent, runs, server, responseTo, call };
}

function assertError(r: Response, code: string, includes?: string): void {
  assert.strictEqual(r.ok, false, `expected an error, got ${JSON.stringify(r)}`);
  if (r.ok) return;
  assert.strictEqual(r.error.code, code, r.error.message);
  if (includes !== undefined) assert.ok(r.error.message.includes(includes), `"${r.error.message}" should include "${includes}"`);
}

function resultOf(r: Response): unknown {
  assert.strictEqual(r.ok, true, `expected a result, got ${JSON.stringify(r)}`);
  return r.ok ? r.result : undefined;
}

describe('engine server (dispatcher)', () => {
  it('answers ping with its pid and Node versions', async () => {
    const { call } = setup();
    const result = resultOf(await call(1, 'ping', {})) as { pid: number; versions: Record<string, string> };
    assert.strictEqual(result.pid, process.pid);
    assert.strictEqual(result.versions.node, process.versions.node);
  });

  it('drops malformed messages with a log line and keeps serving', async () => {
    const { sent, server, call } = setup();
    const malformed: unknown[] = [
      null,
      undefined,
      'ping',
      42,
      [],
      { type: 'request' },
      { type: 'request', id: 1.5, method: 'ping', params: {} },
      { type: 'request', id: '3', method: 'ping', params: {} },
      { type: 'cancel' },
      { type: 'shutdown', id: 4 },
    ];
    for (const m of malformed) server.handle(m);
    assert.deepStrictEqual(
      sent.filter((m) => m.type !== 'log'),
      [],
      'no malformed message may produce a response',
    );
    const logs = sent.filter((m) => m.type === 'log');
    assert.strictEqual(logs.length, malformed.length);
    for (const l of logs) assert.ok(l.type === 'log' && l.level === 'warn' && l.message.startsWith('dropped a malformed message'), JSON.stringify(l));
    resultOf(await call(5, 'ping', {}));
  });

  it('rejects an unknown method with bad-request instead of leaving the host waiting', async () => {
    const { call } = setup();
    assertError(await call(9, 'deleteEverything', {}), 'bad-request', 'unknown method "deleteEverything"');
  });

  it('gives bad-request for malformed params, without touching the runs', async () => {
    const { call, runs } = setup();
    const good: SliceParams = { run: '/runs/a', samples: { kind: 'all' }, layer: 'conv1', channel: 0, epoch: 1 };
    const cases: Array<[string, unknown, string]> = [
      ['ping', 'hello', 'expects an object'],
      ['sleep', {}, '"ms"'],
      ['sleep', { ms: 'abc' }, '"ms"'],
      ['sleep', { ms: -5 }, '"ms"'],
      ['sleep', { ms: Number.POSITIVE_INFINITY }, '"ms"'],
      ['runInfo', null, 'expects an object'],
      ['runInfo', { run: 42 }, '"run"'],
      ['runInfo', { run: '' }, '"run"'],
      ['slice', { ...good, run: undefined }, '"run"'],
      ['slice', { ...good, samples: 'all' }, '"samples"'],
      ['slice', { ...good, samples: { kind: 'some' } }, '"samples.kind"'],
      ['slice', { ...good, samples: { kind: 'class', classIndex: -1 } }, '"samples.classIndex"'],
      ['slice', { ...good, samples: { kind: 'indices', indices: [0, 1.5] } }, '"samples.indices[1]"'],
      ['slice', { ...good, samples: { kind: 'indices', indices: 3 } }, '"samples.indices"'],
      ['slice', { ...good, layer: 3 }, '"layer"'],
      ['slice', { ...good, channel: 'some' }, '"channel"'],
      ['slice', { ...good, channel: -1 }, '"channel"'],
      ['slice', { ...good, epoch: '1' }, '"epoch"'],
      ['slice', { ...good, epoch: 0.5 }, '"epoch"'],
    ];
    let id = 100;
    for (const [method, params, includes] of cases) {
      const r = await call(++id, method, params);
      assert.strictEqual(r.ok, false, `${method} ${JSON.stringify(params)} should be refused`);
      assertError(r, 'bad-request', includes);
    }
    assert.deepStrictEqual(runs.gets, [], 'invalid requests must not reach the registry');
  });

  it('delegates runInfo and slice to the registry, forwarding progress and the abort signal', async () => {
    const { call, runs, sent } = setup({ progressIntervalMs: 0 });
    assert.deepStrictEqual(resultOf(await call(1, 'runInfo', { run: '/runs/a' })), FAKE_INFO);

    runs.sliceImpl = async (_params, ctx) => {
      ctx.onProgress?.(1, 2);
      ctx.onProgress?.(2, 2);
      return { shape: [1, 2], data: Float32Array.of(1.5, -2), sampleIndices: Int32Array.of(7), source: 'activations' };
    };
    const params: SliceParams = { run: '/runs/a', samples: { kind: 'indices', indices: [7] }, layer: 'fc', channel: 'all', epoch: 2 };
    const result = resultOf(await call(2, 'slice', params)) as SliceResult;
    assert.ok(result.data instanceof Float32Array, 'typed arrays survive the structured clone');
    assert.deepStrictEqual([...result.data], [1.5, -2]);
    assert.deepStrictEqual([...result.sampleIndices], [7]);
    assert.deepStrictEqual(runs.gets, ['/runs/a', '/runs/a']);
    assert.deepStrictEqual(runs.slices[0].params, params);
    assert.ok(runs.slices[0].signal instanceof AbortSignal);
    const progress = sent.filter((m) => m.type === 'progress' && m.id === 2).map((m) => (m.type === 'progress' ? m.progress : undefined));
    assert.deepStrictEqual(progress, [
      { done: 1, total: 2 },
      { done: 2, total: 2 },
    ]);
  });

  it("passes the registry's errors through with their code and file", async () => {
    const { call } = setup();
    const r = await call(1, 'runInfo', { run: '/missing' });
    assertError(r, 'not-found', 'no such run');
    assert.ok(!r.ok && r.error.file === '/missing');
  });

  it('turns an unforeseen exception into internal', async () => {
    const { call, runs } = setup();
    runs.sliceImpl = async () => {
      throw new TypeError('oops');
    };
    assertError(await call(1, 'slice', { run: '/runs/a', samples: { kind: 'all' }, layer: 'fc', channel: 0, epoch: 0 }), 'internal', 'oops');
  });

  it('answers internal when a result cannot be sent, rather than never answering', async () => {
    const { call, runs } = setup();
    runs.sliceImpl = async () =>
      ({ shape: [1], data: new Float32Array(1), sampleIndices: new Int32Array(1), source: 'activations', extra: () => 1 }) as unknown as SliceResult;
    assertError(
      await call(1, 'slice', { run: '/runs/a', samples: { kind: 'all' }, layer: 'fc', channel: 0, epoch: 0 }),
      'internal',
      'could not send the result of "slice"',
    );
  });

  it('cancel aborts only the request it names', async () => {
    const { server, responseTo, runs } = setup();
    let sawAbort = false;
    runs.sliceImpl = (_params, ctx) =>
      new Promise((_resolve, reject) => {
        // Like a Node API given the signal: rejects with its own AbortError, which must become 'cancelled'.
        ctx.signal?.addEventListener('abort', () => {
          sawAbort = true;
          reject(new DOMException('This operation was aborted', 'AbortError'));
        });
      });
    server.handle({ type: 'request', id: 1, method: 'sleep', params: { ms: 60_000 } });
    server.handle({ type: 'request', id: 2, method: 'sleep', params: { ms: 30 } });
    server.handle({ type: 'request', id: 3, method: 'slice', params: { run: '/runs/a', samples: { kind: 'all' }, layer: 'fc', channel: 0, epoch: 0 } });
    assert.deepStrictEqual(server.pending.sort(), [1, 2, 3]);
    server.handle({ type: 'cancel', id: 1 });
    server.handle({ type: 'cancel', id: 12345 });
    assertError(await responseTo(1), 'cancelled');
    const slept = resultOf(await responseTo(2)) as { slept: number };
    assert.ok(slept.slept >= 30);
    assert.deepStrictEqual(server.pending, [3]);
    // Wait until the fake slice has subscribed to the signal (it is reached after an await of the registry).
    while (runs.slices.length === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    server.handle({ type: 'cancel', id: 3 });
    assertError(await responseTo(3), 'cancelled');
    assert.ok(sawAbort);
    assert.deepStrictEqual(server.pending, []);
  });

  it('cancelAll aborts every request in flight', async () => {
    const { server, responseTo } = setup();
    server.handle({ type: 'request', id: 1, method: 'sleep', params: { ms: 60_000 } });
    server.handle({ type: 'request', id: 2, method: 'sleep', params: { ms: 60_000 } });
    server.cancelAll();
    assertError(await responseTo(1), 'cancelled');
    assertError(await responseTo(2), 'cancelled');
  });

  it('drops a request whose id is still in flight', async () => {
    const { server, responseTo, sent } = setup();
    server.handle({ type: 'request', id: 1, method: 'sleep', params: { ms: 40 } });
    server.handle({ type: 'request', id: 1, method: 'ping', params: {} });
    const r = await responseTo(1);
    assert.ok('slept' in (resultOf(r) as object), 'the first request keeps its id');
    assert.strictEqual(sent.filter((m) => m.type === 'response').length, 1);
    assert.ok(sent.some((m) => m.type === 'log' && m.message.includes('reusing id 1')));
  });

  it('sleep reports progress up to its total', async () => {
    const { call, sent } = setup({ progressIntervalMs: 0 });
    resultOf(await call(1, 'sleep', { ms: 120 }));
    const progress = sent.flatMap((m) => (m.type === 'progress' ? [m.progress] : []));
    assert.ok(progress.length >= 2, `got ${progress.length} progress events`);
    assert.deepStrictEqual(progress[0], { done: 0, total: 120 });
    assert.deepStrictEqual(progress[progress.length - 1], { done: 120, total: 120 });
    for (let i = 1; i < progress.length; i++) assert.ok(progress[i].done >= progress[i - 1].done, 'progress never goes back');
  });

  it('throttles progress to the first and the final report within one interval', async () => {
    const { call, runs, sent } = setup({ progressIntervalMs: 3_600_000 });
    runs.sliceImpl = async (_params, ctx) => {
      for (let i = 0; i <= 1000; i++) ctx.onProgress?.(i, 1000);
      return { shape: [1, 1], data: new Float32Array(1), sampleIndices: new Int32Array(1), source: 'activations' };
    };
    resultOf(await call(1, 'slice', { run: '/runs/a', samples: { kind: 'all' }, layer: 'fc', channel: 0, epoch: 0 }));
    const progress = sent.flatMap((m) => (m.type === 'progress' ? [m.progress] : []));
    assert.deepStrictEqual(progress, [
      { done: 0, total: 1000 },
      { done: 1000, total: 1000 },
    ]);
  });

  it('refuses the hang hook unless test hooks are enabled', async () => {
    const off = setup();
    assertError(await off.call(1, 'hang', { ms: 10 }), 'bad-request', 'CNNSLICER_ENGINE_TEST_HOOKS=1');
    const on = setup({ testHooks: true });
    assert.deepStrictEqual(resultOf(await on.call(1, 'hang', { ms: 10 })), { hung: 10 });
    assertError(await on.call(2, 'hang', { ms: 'long' }), 'bad-request', '"ms"');
  });

  it('keeps going when the host has gone and sending throws', async () => {
    let calls = 0;
    const server = new EngineServer({
      send: () => {
        calls++;
        throw new Error('ERR_IPC_CHANNEL_CLOSED');
      },
      handlers: createHandlers({ runs: new FakeRuns() }),
    });
    server.handle('garbage');
    server.handle({ type: 'request', id: 1, method: 'ping', params: {} });
    while (server.pending.length > 0) await new Promise((resolve) => setTimeout(resolve, 1));
    assert.ok(calls >= 2, 'it tried to send both the log line and the answer');
  });
});

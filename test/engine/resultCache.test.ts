import * as assert from 'node:assert';
import { createHash } from 'node:crypto';
import { promises as fs, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import { CnnSlicerError } from '../../src/shared/errors';
import {
  ContentHasher,
  defaultContentHasher,
  fileContentHash,
  runContentKey,
  setDefaultContentHasher,
  type CacheLogLevel,
} from '../../src/engine/cache/contentKey';
import { canonicalJson, ResultCache, type ResultCacheKey } from '../../src/engine/cache/resultCache';
import { tempDir } from '../support/runFixtures';

interface LogLine {
  readonly level: CacheLogLevel;
  readonly message: string;
}

function logger(): { lines: LogLine[]; log: (level: CacheLogLevel, message: string) => void } {
  const lines: LogLine[] = [];
  return { lines, log: (level, message) => lines.push({ level, message }) };
}

function key(overrides: Partial<ResultCacheKey> = {}): ResultCacheKey {
  return { estimator: 'interSampleEntropy', version: 1, params: { interK: 10, sigmaRelativeTolerance: 1e-9 }, content: 'c'.repeat(64), ...overrides };
}

/** A compute that counts its calls and returns `value`. */
function counted<T>(value: T): { calls: number; compute: () => Promise<T> } {
  const c = {
    calls: 0,
    compute: async (): Promise<T> => {
      c.calls++;
      return value;
    },
  };
  return c;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** What a label-entropy style result looks like: typed arrays, a Map, and holes meaning "no prediction". */
function richValue(): unknown {
  const backing = new Float32Array([9, 1.5, -2.25, Number.NaN, 9]);
  return {
    layer: 'conv1',
    interSample: new Float32Array([0.5, 1.25, Number.POSITIVE_INFINITY]),
    view: backing.subarray(1, 4),
    counts: new Int32Array([-3, 0, 2147483647]),
    exact: new Float64Array([Math.PI, -0, Number.MIN_VALUE]),
    big: new BigInt64Array([-(2n ** 63n), 0n, 2n ** 63n - 1n]),
    labelEntropy: [0.1, undefined, 0.3, undefined],
    byClass: new Map<string, unknown>([
      ['cat', { n: 3, h: [undefined, 2] }],
      ['dog', new Float32Array([1])],
    ]),
    nested: { deeper: { list: [[1, 2], [], [null, undefined]] } },
  };
}

describe('result cache', () => {
  let root: string;
  beforeEach(() => {
    root = tempDir('cnnslicer-cache-');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  describe('values', () => {
    it('round-trips typed arrays, Maps, nested objects and undefined inside arrays through the disk', async () => {
      const dir = path.join(root, 'cache');
      const value = richValue();
      await new ResultCache({ dir }).put(key(), value);
      const back = await new ResultCache({ dir }).get<ReturnType<typeof richValue>>(key());
      assert.deepStrictEqual(back, value);
      const b = back as {
        interSample: unknown;
        view: Float32Array;
        counts: unknown;
        exact: Float64Array;
        big: unknown;
        labelEntropy: unknown[];
        byClass: Map<string, unknown>;
      };
      assert.ok(b.interSample instanceof Float32Array);
      assert.ok(b.view instanceof Float32Array);
      assert.deepStrictEqual([...b.view].slice(0, 2), [1.5, -2.25]);
      assert.strictEqual(b.view.length, 3, 'a view serialises as its own elements, not its whole buffer');
      assert.ok(b.counts instanceof Int32Array);
      assert.ok(b.exact instanceof Float64Array);
      assert.ok(Object.is(b.exact[1], -0));
      assert.ok(b.big instanceof BigInt64Array);
      assert.ok(b.byClass instanceof Map);
      assert.strictEqual(b.labelEntropy.length, 4);
      assert.ok(1 in b.labelEntropy, 'undefined must be stored as an element, not become a hole');
      assert.strictEqual(b.labelEntropy[1], undefined);
      assert.notStrictEqual(b.labelEntropy[1], null);
    });

    it('reports cached: false when it computes and cached: true when it reads', async () => {
      const cache = new ResultCache({ dir: path.join(root, 'cache') });
      const c = counted({ h: new Float32Array([1, 2]) });
      const first = await cache.getOrCompute(key(), c.compute);
      const second = await cache.getOrCompute(key(), c.compute);
      assert.strictEqual(first.cached, false);
      assert.strictEqual(second.cached, true);
      assert.strictEqual(c.calls, 1);
      assert.deepStrictEqual(second.value, first.value);
    });

    it('answers from disk in a new instance on the same folder (a reopened run) without computing', async () => {
      const dir = path.join(root, 'cache');
      await new ResultCache({ dir }).getOrCompute(key(), async () => [1, undefined, new Int32Array([7])]);
      const reopened = new ResultCache({ dir });
      const got = await reopened.getOrCompute(key(), async () => assert.fail('compute must not run for a cached result'));
      assert.strictEqual(got.cached, true);
      assert.deepStrictEqual(got.value, [1, undefined, new Int32Array([7])]);
    });

    it('stores an entry as CNNSLCA1, the sha256 of the payload, then the v8 payload', async () => {
      const cache = new ResultCache({ dir: path.join(root, 'cache') });
      await cache.put(key(), { a: 1 });
      const bytes = readFileSync(cache.entryFile(key()));
      assert.strictEqual(bytes.subarray(0, 8).toString('ascii'), 'CNNSLCA1');
      const payload = bytes.subarray(40);
      assert.strictEqual(bytes.subarray(8, 40).toString('hex'), sha256(payload));
      assert.deepStrictEqual(v8.deserialize(payload), { a: 1 });
      const leftovers = readdirSync(path.dirname(cache.entryFile(key()))).filter((n) => !n.endsWith('.cslc'));
      assert.deepStrictEqual(leftovers, [], 'no staging file stays behind');
    });

    it('does not cache a value that cannot be cloned, but still returns it', async () => {
      const { lines, log } = logger();
      const cache = new ResultCache({ dir: path.join(root, 'cache'), log });
      const fn = (): number => 1;
      const got = await cache.getOrCompute(key(), async () => ({ fn }));
      assert.strictEqual(got.value.fn, fn);
      assert.strictEqual(got.cached, false);
      assert.ok(!existsSync(cache.entryFile(key())));
      assert.ok(lines.some((l) => l.level === 'error' && l.message.includes(cache.entryFile(key()))));
    });
  });

  describe('corrupt entries', () => {
    const corruptions: [string, (bytes: Buffer) => Buffer][] = [
      [
        'a flipped payload byte',
        (b) => {
          const c = Buffer.from(b);
          c[c.length - 2] ^= 0x01;
          return c;
        },
      ],
      [
        'a flipped checksum byte',
        (b) => {
          const c = Buffer.from(b);
          c[20] ^= 0x80;
          return c;
        },
      ],
      ['a truncated payload', (b) => b.subarray(0, b.length - 5)],
      ['a file cut inside the header', (b) => b.subarray(0, 30)],
      ['an empty file', () => Buffer.alloc(0)],
      ['a wrong magic', (b) => Buffer.concat([Buffer.from('CNNSLCA2'), b.subarray(8)])],
      ['garbage', (b) => Buffer.from(Array.from({ length: b.length }, (_, i) => (i * 131 + 7) & 0xff))],
      [
        'a payload v8 cannot read, with a matching checksum',
        () => {
          const payload = Buffer.from('not a v8 payload');
          assert.throws(() => v8.deserialize(payload), 'the fixture must really be unreadable');
          return Buffer.concat([Buffer.from('CNNSLCA1'), createHash('sha256').update(payload).digest(), payload]);
        },
      ],
    ];

    for (const [what, corrupt] of corruptions) {
      it(`detects ${what}, recomputes and rewrites the entry`, async () => {
        const dir = path.join(root, 'cache');
        const value = { h: new Float64Array([1, 2, 3]), labels: [undefined, 1] };
        const writer = new ResultCache({ dir });
        await writer.put(key(), value);
        const file = writer.entryFile(key());
        writeFileSync(file, corrupt(readFileSync(file)));

        const { lines, log } = logger();
        const c = counted(value);
        const got = await new ResultCache({ dir, log }).getOrCompute(key(), c.compute);
        assert.strictEqual(c.calls, 1, 'a corrupt entry is never trusted');
        assert.strictEqual(got.cached, false);
        assert.deepStrictEqual(got.value, value);
        assert.ok(
          lines.some((l) => l.level === 'warn' && l.message.includes(file)),
          `a warning names the file; got ${JSON.stringify(lines)}`,
        );
        const again = await new ResultCache({ dir }).getOrCompute(key(), async () => assert.fail('the rewritten entry should be read'));
        assert.strictEqual(again.cached, true);
        assert.deepStrictEqual(again.value, value);
      });
    }

    it('get() deletes a corrupt entry and answers undefined', async () => {
      const { lines, log } = logger();
      const cache = new ResultCache({ dir: path.join(root, 'cache'), log });
      await cache.put(key(), [1, 2, 3]);
      const file = cache.entryFile(key());
      writeFileSync(file, 'CNNSLCA1 but nothing else of use');
      assert.strictEqual(await cache.get(key()), undefined);
      assert.ok(!existsSync(file));
      assert.strictEqual(lines.filter((l) => l.level === 'warn').length, 1);
    });
  });

  describe('keys', () => {
    it('gives every estimator, version, parameter set and content its own entry', async () => {
      const cache = new ResultCache({ dir: path.join(root, 'cache') });
      const variants: ResultCacheKey[] = [
        key(),
        key({ estimator: 'intraSampleEntropy' }),
        key({ version: 2 }),
        key({ params: { interK: 11, sigmaRelativeTolerance: 1e-9 } }),
        key({ params: { interK: 10, sigmaRelativeTolerance: 1e-9, layer: 'conv1' } }),
        key({ params: undefined }),
        key({ params: '10' }),
        key({ params: 10 }),
        key({ content: 'd'.repeat(64) }),
      ];
      const files = new Set(variants.map((k) => cache.entryFile(k)));
      assert.strictEqual(files.size, variants.length);
      for (const [i, k] of variants.entries()) await cache.put(k, i);
      for (const [i, k] of variants.entries()) assert.strictEqual(await cache.get(k), i);
    });

    it('ignores the order of parameter keys and properties that are undefined', () => {
      const a = ResultCache.entryId(key({ params: { a: 1, b: { y: [1, 'x'], x: null } } }));
      const b = ResultCache.entryId(key({ params: { b: { x: null, y: [1, 'x'] }, a: 1, c: undefined } }));
      assert.strictEqual(a, b);
      assert.strictEqual(canonicalJson({ b: 1, a: [true, { d: 'x', c: 2 }] }), '{"a":[true,{"c":2,"d":"x"}],"b":1}');
    });

    it('refuses parameters JSON would change, before computing anything', async () => {
      const cache = new ResultCache({ dir: path.join(root, 'cache') });
      for (const params of [
        { tol: Number.NaN },
        { k: Number.POSITIVE_INFINITY },
        [undefined],
        new Map([[1, 2]]),
        { t: new Float32Array(1) },
        { d: new Date(0) },
        { n: 1n },
      ]) {
        await assert.rejects(
          cache.getOrCompute(key({ params }), async () => assert.fail('compute must not run')),
          TypeError,
        );
      }
      assert.throws(() => ResultCache.entryId(key({ estimator: '' })), TypeError);
    });
  });

  describe('concurrency and failures', () => {
    it('shares one computation between concurrent calls for one key', async () => {
      const cache = new ResultCache({ dir: path.join(root, 'cache') });
      const gate = deferred<Float32Array>();
      let calls = 0;
      const compute = (): Promise<Float32Array> => {
        calls++;
        return gate.promise;
      };
      const pending = [cache.getOrCompute(key(), compute), cache.getOrCompute(key(), compute), cache.getOrCompute(key(), compute)];
      const other = cache.getOrCompute(key({ version: 9 }), async () => new Float32Array([9]));
      gate.resolve(new Float32Array([4, 5]));
      const results = await Promise.all(pending);
      assert.strictEqual(calls, 1);
      for (const r of results) {
        assert.deepStrictEqual(r.value, new Float32Array([4, 5]));
        assert.strictEqual(r.cached, false);
      }
      assert.deepStrictEqual((await other).value, new Float32Array([9]), 'another key is computed on its own');
      assert.strictEqual((await cache.getOrCompute(key(), compute)).cached, true);
      assert.strictEqual(calls, 1);
    });

    it('does not cache a failing computation; every waiter sees the error and the next call recomputes', async () => {
      const cache = new ResultCache({ dir: path.join(root, 'cache') });
      const started = deferred<void>();
      let calls = 0;
      const failing = async (): Promise<number> => {
        calls++;
        started.resolve();
        // Both callers are waiting by the time this fails.
        await new Promise((r) => setImmediate(r));
        throw new Error('estimator exploded');
      };
      const a = cache.getOrCompute(key(), failing);
      const b = cache.getOrCompute(key(), failing);
      await started.promise;
      await Promise.all([assert.rejects(a, /estimator exploded/), assert.rejects(b, /estimator exploded/)]);
      assert.strictEqual(calls, 1);
      assert.ok(!existsSync(cache.entryFile(key())));
      const ok = await cache.getOrCompute(key(), async () => 42);
      assert.deepStrictEqual(ok, { value: 42, cached: false });
      assert.deepStrictEqual(await new ResultCache({ dir: cache.dir }).get(key()), 42);
    });

    it('still returns computed values when the cache folder cannot be created or written', async () => {
      const blocker = path.join(root, 'a-file');
      writeFileSync(blocker, 'not a folder');
      const { lines, log } = logger();
      // A folder under a regular file fails even for root, unlike a chmod-ed folder.
      const cache = new ResultCache({ dir: path.join(blocker, 'cache'), log });
      const c = counted(new Int32Array([1, 2]));
      const first = await cache.getOrCompute(key(), c.compute);
      const second = await cache.getOrCompute(key(), c.compute);
      assert.deepStrictEqual(first, { value: new Int32Array([1, 2]), cached: false });
      assert.deepStrictEqual(second, { value: new Int32Array([1, 2]), cached: false });
      assert.strictEqual(c.calls, 2);
      await cache.put(key({ version: 3 }), 'x');
      assert.strictEqual(await cache.get(key({ version: 3 })), undefined);
      const warnings = lines.filter((l) => l.level === 'warn');
      assert.strictEqual(warnings.length, 1, `one warning for a run of failures, got ${JSON.stringify(warnings)}`);
      assert.ok(warnings[0]!.message.includes(blocker));
    });

    it('returns the value when the entry cannot be replaced because a folder sits at its name', async () => {
      const { lines, log } = logger();
      const cache = new ResultCache({ dir: path.join(root, 'cache'), log });
      await fs.mkdir(cache.entryFile(key()), { recursive: true });
      const got = await cache.getOrCompute(key(), async () => 'fresh');
      assert.deepStrictEqual(got, { value: 'fresh', cached: false });
      assert.ok(lines.some((l) => l.level === 'warn' && l.message.includes(cache.entryFile(key()))));
      assert.deepStrictEqual(
        readdirSync(path.dirname(cache.entryFile(key()))),
        [path.basename(cache.entryFile(key()))],
        'the failed write leaves no staging file',
      );
    });
  });

  describe('eviction', () => {
    it('deletes the least recently used entries once the total exceeds maxBytes', async () => {
      const dir = path.join(root, 'cache');
      const value = (i: number): Float64Array => new Float64Array(100).fill(i);
      const probe = new ResultCache({ dir: path.join(root, 'probe') });
      await probe.put(key({ version: 0 }), value(0));
      const entryBytes = statSync(probe.entryFile(key({ version: 0 }))).size;

      const cache = new ResultCache({ dir, maxBytes: entryBytes * 3 });
      const k = (name: string): ResultCacheKey => key({ params: { name } });
      await cache.put(k('a'), value(1));
      await cache.put(k('b'), value(2));
      await cache.put(k('c'), value(3));
      for (const n of ['a', 'b', 'c']) assert.ok(existsSync(cache.entryFile(k(n))), `${n} fits`);
      // Reading a makes b the least recently used.
      assert.deepStrictEqual(await cache.get(k('a')), value(1));
      await cache.put(k('d'), value(4));
      assert.ok(!existsSync(cache.entryFile(k('b'))), 'b was least recently used');
      for (const n of ['a', 'c', 'd']) assert.ok(existsSync(cache.entryFile(k(n))), `${n} stays`);

      // getOrCompute hits count as uses too, and a reopened cache sees the order on disk.
      assert.strictEqual((await cache.getOrCompute(k('c'), async () => assert.fail('c is cached'))).cached, true);
      const reopened = new ResultCache({ dir, maxBytes: entryBytes * 3 });
      await reopened.put(k('e'), value(5));
      assert.ok(!existsSync(cache.entryFile(k('a'))), 'a was least recently used now');
      for (const n of ['c', 'd', 'e']) assert.ok(existsSync(cache.entryFile(k(n))), `${n} stays`);
    });

    it('does not store a single value larger than maxBytes', async () => {
      const { lines, log } = logger();
      const cache = new ResultCache({ dir: path.join(root, 'cache'), maxBytes: 1000, log });
      await cache.put(key({ version: 1 }), new Float64Array(10));
      const got = await cache.getOrCompute(key({ version: 2 }), async () => new Float64Array(1000));
      assert.strictEqual(got.value.length, 1000);
      assert.ok(!existsSync(cache.entryFile(key({ version: 2 }))));
      assert.ok(existsSync(cache.entryFile(key({ version: 1 }))), 'the too-large value evicted nothing');
      assert.ok(lines.some((l) => l.level === 'info'));
    });
  });

  describe('default folder', () => {
    const saved = { own: process.env.CNNSLICER_CACHE_DIR, xdg: process.env.XDG_CACHE_HOME };
    afterEach(() => {
      for (const [name, value] of [
        ['CNNSLICER_CACHE_DIR', saved.own],
        ['XDG_CACHE_HOME', saved.xdg],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    });

    it('takes CNNSLICER_CACHE_DIR, then XDG_CACHE_HOME, then ~/.cache', () => {
      process.env.CNNSLICER_CACHE_DIR = path.join(root, 'own');
      process.env.XDG_CACHE_HOME = path.join(root, 'xdg');
      assert.strictEqual(ResultCache.defaultDir(), path.join(root, 'own'));
      delete process.env.CNNSLICER_CACHE_DIR;
      assert.strictEqual(ResultCache.defaultDir(), path.join(root, 'xdg', 'cnnslicer'));
      process.env.XDG_CACHE_HOME = 'relative/ignored';
      assert.strictEqual(ResultCache.defaultDir(), path.join(os.homedir(), '.cache', 'cnnslicer'));
      delete process.env.XDG_CACHE_HOME;
      assert.strictEqual(ResultCache.defaultDir(), path.join(os.homedir(), '.cache', 'cnnslicer'));
    });
  });
});

describe('content keys', () => {
  let root: string;
  beforeEach(() => {
    root = tempDir('cnnslicer-content-');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  function write(rel: string, data: string | Uint8Array): string {
    const p = path.join(root, rel);
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, data);
    return p;
  }

  it('hashes a file larger than one read chunk to the sha256 of its bytes', async () => {
    const bytes = Buffer.alloc(9 * 1024 * 1024 + 123);
    for (let i = 0; i < bytes.length; i += 4093) bytes[i] = i & 0xff;
    const file = write('big.bin', bytes);
    const hasher = new ContentHasher({ dir: path.join(root, 'cache') });
    assert.strictEqual(await hasher.hash(file), sha256(bytes));
    assert.strictEqual(hasher.bytesHashed, bytes.length);
    assert.strictEqual(await hasher.hash(write('empty.bin', '')), sha256(Buffer.alloc(0)));
  });

  it('remembers a hash in memory and in the index, and a new instance does not read the file again', async () => {
    const cacheDir = path.join(root, 'cache');
    const file = write('run/probe.safetensors', 'probe bytes');
    const first = new ContentHasher({ dir: cacheDir });
    const h = await first.hash(file);
    assert.strictEqual(await first.hash(file), h);
    assert.strictEqual(first.filesHashed, 1);

    const reopened = new ContentHasher({ dir: cacheDir });
    assert.strictEqual(await reopened.hash(file), h);
    assert.strictEqual(reopened.filesHashed, 0, 'answered from the persistent index');
    const link = path.join(root, 'link.safetensors');
    symlinkSync(file, link);
    assert.strictEqual(await reopened.hash(link), h);
    assert.strictEqual(reopened.filesHashed, 0, 'a link resolves to the same real path');
  });

  it('hashes again when the size or modification time changes', async () => {
    const cacheDir = path.join(root, 'cache');
    const file = write('f.bin', 'aaaa');
    await new ContentHasher({ dir: cacheDir }).hash(file);

    const later = new Date(Date.now() + 60_000);
    await fs.utimes(file, later, later);
    const afterTouch = new ContentHasher({ dir: cacheDir });
    assert.strictEqual(await afterTouch.hash(file), sha256(Buffer.from('aaaa')));
    assert.strictEqual(afterTouch.filesHashed, 1, 'a new mtime is hashed again');

    await fs.appendFile(file, 'b');
    await fs.utimes(file, later, later);
    assert.strictEqual(await afterTouch.hash(file), sha256(Buffer.from('aaaab')), 'a new size is hashed again, even at the same mtime');
    assert.strictEqual(afterTouch.filesHashed, 2);

    const third = new ContentHasher({ dir: cacheDir });
    assert.strictEqual(await third.hash(file), sha256(Buffer.from('aaaab')));
    assert.strictEqual(third.filesHashed, 0, 'the index holds the new stamp');
  });

  it('ignores a damaged index, hashes again and rewrites it', async () => {
    const cacheDir = path.join(root, 'cache');
    const file = write('f.bin', 'xyz');
    await new ContentHasher({ dir: cacheDir }).hash(file);
    const indexFile = new ContentHasher({ dir: cacheDir }).indexFile!;
    writeFileSync(indexFile, '{"format": "cnnslicer-content-index", "version": 1, "entr');
    const { lines, log } = logger();
    const hasher = new ContentHasher({ dir: cacheDir, log });
    assert.strictEqual(await hasher.hash(file), sha256(Buffer.from('xyz')));
    assert.strictEqual(hasher.filesHashed, 1);
    assert.ok(lines.some((l) => l.level === 'warn' && l.message.includes(indexFile)));
    const fresh = new ContentHasher({ dir: cacheDir });
    await fresh.hash(file);
    assert.strictEqual(fresh.filesHashed, 0);
  });

  it('shares one read between concurrent requests for one file', async () => {
    const file = write('f.bin', Buffer.alloc(5 * 1024 * 1024, 7));
    const hasher = new ContentHasher({ dir: path.join(root, 'cache') });
    const hashes = await Promise.all([hasher.hash(file), hasher.hash(file), hasher.hash(file)]);
    assert.strictEqual(new Set(hashes).size, 1);
    assert.strictEqual(hasher.filesHashed, 1);
  });

  it('works without an index folder, and keeps hashing when the index cannot be written', async () => {
    const file = write('f.bin', 'data');
    const memoryOnly = new ContentHasher();
    assert.strictEqual(await memoryOnly.hash(file), sha256(Buffer.from('data')));
    const { lines, log } = logger();
    const blocked = new ContentHasher({ dir: path.join(file, 'cache'), log });
    assert.strictEqual(await blocked.hash(file), sha256(Buffer.from('data')));
    assert.ok(lines.some((l) => l.level === 'warn'));
  });

  it('reports a missing file as not-found', async () => {
    await assert.rejects(new ContentHasher().hash(path.join(root, 'missing.bin')), (err: unknown) => err instanceof CnnSlicerError && err.code === 'not-found');
  });

  describe('runContentKey', () => {
    function writeRun(dir: string, epochs: number): string[] {
      const files = [write(`${dir}/probe.safetensors`, 'probe')];
      for (let e = 0; e < epochs; e++) files.push(write(`${dir}/epochs/epoch-000${e}/activations.safetensors`, `acts ${e}`));
      write(`${dir}/cnnslicer.json`, `{"epochs": ${epochs}}`);
      return files;
    }

    it('depends on the files content and names, not on their order or where the run lies', async () => {
      const hasher = new ContentHasher({ dir: path.join(root, 'cache') });
      const [probe, e0] = writeRun('runA', 2);
      const key = await hasher.runContentKey([probe!, e0!]);
      assert.match(key, /^[0-9a-f]{64}$/);
      assert.strictEqual(await hasher.runContentKey([e0!, probe!, probe!]), key, 'order and duplicates do not matter');

      const [probeB, e0B] = writeRun('elsewhere/runB', 2);
      assert.strictEqual(await hasher.runContentKey([probeB!, e0B!]), key, 'a copied run keys alike');

      const [, , e1] = writeRun('runC', 3);
      assert.notStrictEqual(await hasher.runContentKey([probe!, e1!]), key, 'another epoch is other content');

      // Same bytes under swapped names: content alone would not tell them apart.
      const x = write('swap/a.bin', 'one');
      const y = write('swap/b.bin', 'two');
      const xs = write('swap2/a.bin', 'two');
      const ys = write('swap2/b.bin', 'one');
      assert.notStrictEqual(await hasher.runContentKey([x, y]), await hasher.runContentKey([xs, ys]));
    });

    it('does not change when a live run gains epochs or its manifest is rewritten', async () => {
      const hasher = new ContentHasher({ dir: path.join(root, 'cache') });
      const [probe, e0] = writeRun('live', 1);
      const before = await hasher.runContentKey([probe!, e0!]);
      writeRun('live', 3);
      assert.strictEqual(await hasher.runContentKey([probe!, e0!]), before);
    });

    it('names files relative to an explicit root, and refuses a file outside it', async () => {
      const hasher = new ContentHasher({ dir: path.join(root, 'cache') });
      const [probe, e0] = writeRun('rooted', 1);
      const runDir = path.join(root, 'rooted');
      assert.strictEqual(await hasher.runContentKey([probe!, e0!], { root: runDir }), await hasher.runContentKey([probe!, e0!]));
      assert.notStrictEqual(await hasher.runContentKey([e0!], { root: runDir }), await hasher.runContentKey([e0!]));
      await assert.rejects(hasher.runContentKey([probe!], { root: path.join(root, 'other') }), RangeError);
    });

    it('module-level functions use the default hasher', async () => {
      const mine = new ContentHasher({ dir: path.join(root, 'cache') });
      setDefaultContentHasher(mine);
      try {
        assert.strictEqual(defaultContentHasher(), mine);
        const [probe, e0] = writeRun('mod', 1);
        assert.strictEqual(await fileContentHash(probe!), sha256(Buffer.from('probe')));
        assert.strictEqual(await runContentKey([probe!, e0!]), await new ContentHasher().runContentKey([probe!, e0!]));
        assert.strictEqual(mine.filesHashed, 2);
      } finally {
        setDefaultContentHasher(undefined);
      }
    });
  });
});

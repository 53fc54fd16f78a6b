// Estimator results on disk, so that reopening a run that was analysed before answers at once.
//
// An entry is named by the sha256 of (estimator, version, params, content key), so a result is
// only ever served for the same inputs, the same settings and the same estimator code. The cache
// is a convenience, never a source of truth: a damaged entry is deleted and recomputed, and a
// cache folder that cannot be read or written only costs recomputation, never a failed request.
//
// Entry file: 'CNNSLCA1' | sha256(payload), 32 bytes | payload = v8.serialize(value).
// v8 serialisation because results carry typed arrays, Maps and `undefined` inside arrays
// (a label entropy of "no prediction"), none of which survive JSON.

import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import { ContentHasher, defaultCacheDir, errnoCode, errorText, writeFileAtomicShared, type CacheLog } from './contentKey';

export type { CacheLog, CacheLogLevel } from './contentKey';

export interface ResultCacheKey {
  /** Which estimator produced the value, e.g. 'interSampleEntropy'. */
  readonly estimator: string;
  /** ESTIMATOR_VERSION (or a per-estimator version): a bump retires every older entry. */
  readonly version: number;
  /** Every setting that can change the value; plain JSON data (objects, arrays, strings, finite numbers, booleans, null). */
  readonly params: unknown;
  /** runContentKey of the files the value was computed from. */
  readonly content: string;
}

export interface ResultCacheOptions {
  readonly dir: string;
  /** Total size of the entries beyond which the least recently used are deleted; 2 GiB by default. */
  readonly maxBytes?: number;
  readonly log?: CacheLog;
}

const MAGIC = Buffer.from('CNNSLCA1', 'ascii');
const HEADER_BYTES = MAGIC.length + 32;
const ENTRY_SUFFIX = '.cslc';
const ENTRY_NAME = /^[0-9a-f]{64}\.cslc$/;
const DEFAULT_MAX_BYTES = 2 * 1024 ** 3;
/** Older staging files are left over by an engine that died mid-write; younger ones may be in use. */
const STALE_STAGING_MS = 60 * 60 * 1000;

interface Hit {
  readonly value: unknown;
}

interface Outcome {
  readonly value: unknown;
  readonly cached: boolean;
}

export class ResultCache {
  readonly dir: string;
  readonly maxBytes: number;
  /** Content hashes with their persistent index in the same folder as the results. */
  readonly content: ContentHasher;
  private readonly entriesDir: string;
  private readonly log: CacheLog;
  private readonly inflight = new Map<string, Promise<Outcome>>();
  /** Per entry file, so that two writes of one entry in this process never overlap. */
  private readonly writing = new Map<string, Promise<unknown>>();
  /** Bytes of entries on disk as last counted, plus what this process wrote since; may overestimate. */
  private estimatedBytes: number | undefined;
  private evicting: Promise<void> | undefined;
  private lastStampMs = 0;
  private writeFailed = false;

  constructor(options: ResultCacheOptions) {
    this.dir = path.resolve(options.dir);
    this.entriesDir = path.join(this.dir, 'results');
    const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    if (!(maxBytes >= 0)) throw new RangeError(`ResultCache: maxBytes must be a non-negative number, got ${maxBytes}`);
    this.maxBytes = maxBytes;
    this.log = options.log ?? (() => undefined);
    this.content = new ContentHasher({ dir: this.dir, log: this.log });
  }

  /** CNNSLICER_CACHE_DIR, else $XDG_CACHE_HOME/cnnslicer, else ~/.cache/cnnslicer. */
  static defaultDir(): string {
    return defaultCacheDir();
  }

  /** Hex sha256 naming the entry; throws TypeError when params is not plain JSON data. */
  static entryId(key: ResultCacheKey): string {
    if (typeof key.estimator !== 'string' || key.estimator === '') throw new TypeError('cache key: estimator must be a non-empty string');
    if (typeof key.version !== 'number' || !Number.isFinite(key.version)) throw new TypeError('cache key: version must be a finite number');
    if (typeof key.content !== 'string') throw new TypeError('cache key: content must be a string');
    const canonical = canonicalJson({ estimator: key.estimator, version: key.version, params: key.params, content: key.content }, 'key');
    return createHash('sha256').update(canonical).digest('hex');
  }

  /** Where the entry of `key` lives (whether or not it exists). */
  entryFile(key: ResultCacheKey): string {
    return this.fileOf(ResultCache.entryId(key));
  }

  /**
   * The cached value, or computes, stores and returns it. Concurrent calls for one key in this
   * process share one computation and its outcome. A failing compute is not cached: its error
   * reaches every caller waiting on it, and the next call computes afresh.
   */
  async getOrCompute<T>(key: ResultCacheKey, compute: () => Promise<T>): Promise<{ value: T; cached: boolean }> {
    const id = ResultCache.entryId(key);
    let job = this.inflight.get(id);
    if (job === undefined) {
      job = this.readOrCompute(id, compute);
      const mine = job;
      this.inflight.set(id, mine);
      const forget = (): void => {
        if (this.inflight.get(id) === mine) this.inflight.delete(id);
      };
      mine.then(forget, forget);
    }
    const outcome = await job;
    return { value: outcome.value as T, cached: outcome.cached };
  }

  /** The cached value, or undefined when there is none (a stored `undefined` reads the same). */
  async get<T>(key: ResultCacheKey): Promise<T | undefined> {
    const hit = await this.read(ResultCache.entryId(key));
    return hit?.value as T | undefined;
  }

  /** Stores value under key; failures are logged, never thrown. */
  async put<T>(key: ResultCacheKey, value: T): Promise<void> {
    await this.store(ResultCache.entryId(key), value);
  }

  private async readOrCompute(id: string, compute: () => Promise<unknown>): Promise<Outcome> {
    const hit = await this.read(id);
    if (hit !== undefined) return { value: hit.value, cached: true };
    const value = await compute();
    await this.store(id, value);
    return { value, cached: false };
  }

  private fileOf(id: string): string {
    return path.join(this.entriesDir, id + ENTRY_SUFFIX);
  }

  private async read(id: string): Promise<Hit | undefined> {
    const file = this.fileOf(id);
    let bytes: Buffer;
    try {
      bytes = await fsp.readFile(file);
    } catch (err) {
      const code = errnoCode(err);
      if (code !== 'ENOENT' && code !== 'ENOTDIR') this.log('warn', `cannot read cache entry ${file}: ${errorText(err)}`);
      return undefined;
    }
    const decoded = decodeEntry(bytes);
    if ('problem' in decoded) {
      this.log('warn', `corrupt cache entry ${file} (${decoded.problem}); deleting it, the result will be recomputed`);
      await fsp.unlink(file).catch(() => undefined);
      return undefined;
    }
    await this.touch(file);
    return decoded;
  }

  private async store(id: string, value: unknown): Promise<void> {
    const file = this.fileOf(id);
    let payload: Buffer;
    try {
      payload = v8.serialize(value);
    } catch (err) {
      this.log('error', `cannot cache a result in ${file}, it is not structured-clonable: ${errorText(err)}`);
      return;
    }
    const size = HEADER_BYTES + payload.length;
    if (size > this.maxBytes) {
      this.log('info', `not caching a result of ${size} bytes in ${file}: more than the cache's ${this.maxBytes} bytes`);
      return;
    }
    const bytes = Buffer.concat([MAGIC, createHash('sha256').update(payload).digest(), payload]);
    const previous = this.writing.get(file) ?? Promise.resolve();
    const write = previous.then(() => this.writeEntry(file, bytes));
    this.writing.set(file, write);
    const wrote = await write;
    if (this.writing.get(file) === write) this.writing.delete(file);
    if (wrote) await this.account(size);
  }

  private async writeEntry(file: string, bytes: Buffer): Promise<boolean> {
    try {
      await fsp.mkdir(this.entriesDir, { recursive: true });
      await writeFileAtomicShared(file, bytes);
      this.writeFailed = false;
    } catch (err) {
      // Once per run of failures: a read-only or full disk would otherwise log on every result.
      if (!this.writeFailed) this.log('warn', `cannot write cache entry ${file}: ${errorText(err)}; results are computed but not cached`);
      this.writeFailed = true;
      return false;
    }
    await this.touch(file);
    return true;
  }

  /**
   * Marks an entry as just used. Through the modification time, not the access time, because
   * relatime/noatime mounts do not keep the latter; strictly increasing within this process so that
   * entries written in the same millisecond still have an order.
   */
  private async touch(file: string): Promise<void> {
    this.lastStampMs = Math.max(Date.now(), this.lastStampMs + 1);
    const when = new Date(this.lastStampMs);
    await fsp.utimes(file, when, when).catch(() => undefined);
  }

  private async account(addedBytes: number): Promise<void> {
    if (this.estimatedBytes === undefined) {
      // The first count already includes the entry just written.
      this.estimatedBytes = (await this.scan(true)).reduce((sum, e) => sum + e.size, 0);
    } else {
      this.estimatedBytes += addedBytes;
    }
    if (this.estimatedBytes > this.maxBytes) await this.evict();
  }

  private evict(): Promise<void> {
    // Every write that crosses the limit while an eviction runs is covered by it.
    this.evicting ??= this.evictNow().finally(() => {
      this.evicting = undefined;
    });
    return this.evicting;
  }

  /** Recounts from disk, since other engine processes share the folder, then deletes oldest first. */
  private async evictNow(): Promise<void> {
    const entries = (await this.scan(false)).sort((a, b) => a.usedMs - b.usedMs || a.name.localeCompare(b.name));
    let total = entries.reduce((sum, e) => sum + e.size, 0);
    for (const e of entries) {
      if (total <= this.maxBytes) break;
      try {
        await fsp.unlink(path.join(this.entriesDir, e.name));
        total -= e.size;
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') total -= e.size;
        else this.log('warn', `cannot delete cache entry ${path.join(this.entriesDir, e.name)}: ${errorText(err)}`);
      }
    }
    this.estimatedBytes = total;
  }

  private async scan(sweepStaging: boolean): Promise<{ name: string; size: number; usedMs: number }[]> {
    const names = await fsp.readdir(this.entriesDir).catch(() => [] as string[]);
    const out: { name: string; size: number; usedMs: number }[] = [];
    for (const name of names) {
      const isEntry = ENTRY_NAME.test(name);
      if (!isEntry && !sweepStaging) continue;
      const p = path.join(this.entriesDir, name);
      const st = await fsp.stat(p).catch(() => undefined);
      if (st === undefined || !st.isFile()) continue;
      if (isEntry) out.push({ name, size: st.size, usedMs: st.mtimeMs });
      else if (name.includes(`${ENTRY_SUFFIX}.`) && Date.now() - st.mtimeMs > STALE_STAGING_MS) await fsp.unlink(p).catch(() => undefined);
    }
    return out;
  }
}

function decodeEntry(bytes: Buffer): Hit | { problem: string } {
  if (bytes.length < HEADER_BYTES) return { problem: `${bytes.length} bytes, shorter than the ${HEADER_BYTES}-byte header` };
  if (!bytes.subarray(0, MAGIC.length).equals(MAGIC)) return { problem: 'wrong magic' };
  const payload = bytes.subarray(HEADER_BYTES);
  const digest = createHash('sha256').update(payload).digest();
  if (!digest.equals(bytes.subarray(MAGIC.length, HEADER_BYTES))) return { problem: 'checksum mismatch' };
  try {
    return { value: v8.deserialize(payload) };
  } catch (err) {
    return { problem: `cannot deserialise: ${errorText(err)}` };
  }
}

/**
 * JSON with sorted keys, for hashing. Anything JSON would silently change (NaN → null, a Map → {},
 * undefined in an array → null, a class instance losing its type) is refused instead, since two
 * different settings hashing alike would serve one's result for the other. A property whose value
 * is undefined is left out, as JSON does: an absent optional setting and an undefined one are one.
 */
export function canonicalJson(value: unknown, where = 'value'): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`cache ${where}: ${value} has no JSON form`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    return `[${value.map((v, i) => canonicalJson(v, `${where}[${i}]`)).join(',')}]`;
  }
  if (typeof value === 'object') {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      throw new TypeError(`cache ${where}: only plain objects are allowed, got ${(value as object).constructor?.name ?? 'an exotic object'}`);
    }
    const parts: string[] = [];
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v === undefined) continue;
      parts.push(`${JSON.stringify(k)}:${canonicalJson(v, `${where}.${k}`)}`);
    }
    return `{${parts.join(',')}}`;
  }
  throw new TypeError(`cache ${where}: a ${typeof value} has no JSON form`);
}

// The activations of checkpoint epochs, computed once and kept on disk.
//
// A run stored as checkpoints (an ONNX model per epoch) has no activations on disk; every measure
// of such an epoch needs some layer's outputs on the probe set. Running the model once per slice
// costs a whole forward pass for one layer (8 s and 4 GB for a ResNet-18 layer at 1,000 probe
// images); instead, the first slice of an epoch runs one batched forward pass that yields every
// recorded layer and the logits, streamed to one safetensors file here (epochMaterializer.ts), and
// every later slice of that epoch, in this engine or another, reads its rows from that file.
//
// Entries are float16 (the precision runs store activations in; an output with values beyond
// float16's range is kept as float32), named by the sha256 of what they are computed from: the
// content of the checkpoint and of the probe file, and the list of outputs with their shapes. So a
// moved run still hits, and a rewritten checkpoint misses. Each tensor carries its sha256 in the
// header; a tensor is checked once per process before its first read, and an entry that fails
// (or whose header does not parse) is deleted and computed again, never read. Entries are written
// under a staging name and renamed into place, so another engine sharing the folder sees a whole
// entry or none. The folder is capped in size: least recently used entries go first.
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { CnnSlicerError } from '../../shared/errors';
import { SafetensorsFile } from '../../core/run/safetensors';
import { canonicalJson } from './resultCache';
import { ContentHasher, errnoCode, errorText, type CacheLog } from './contentKey';
import { CHECKSUM_PREFIX, ENTRY_FORMAT, ENTRY_FORMAT_VERSION, writeEpochEntry, type EpochSource, type MaterializeContext } from './epochMaterializer';

export type { EpochSource, MaterializeContext } from './epochMaterializer';

/** Default size cap: a few epochs of a ResNet-18 at 1,000 probe images (3 GB each in float16). */
export const DEFAULT_ACTIVATION_CACHE_BYTES = 16 * 1024 ** 3;
/** The environment variable that sets the cap, in GiB (the extension's setting arrives through it). */
export const CAP_ENV = 'CNNSLICER_ACTIVATION_CACHE_GB';

/**
 * The cap in bytes from a number of GiB given as text (a CLI flag or CAP_ENV); undefined text gives
 * the default. Throws RangeError naming `what` for anything but a non-negative number.
 */
export function capFromGiB(text: string | undefined, what: string): number {
  if (text === undefined || text.trim() === '') return DEFAULT_ACTIVATION_CACHE_BYTES;
  const gib = Number(text);
  if (!Number.isFinite(gib) || gib < 0) throw new RangeError(`${what} must be a number of GiB ≥ 0, got "${text}"`);
  return Math.round(gib * 1024 ** 3);
}

/** Default bound on one forward batch's float32 outputs. */
export const DEFAULT_BATCH_BYTES = 64 * 1024 ** 2;
const ENTRY_NAME = /^[0-9a-f]{64}\.safetensors$/;
const KEY_VERSION = 1;
/** Staging files older than this were left by an engine that died mid-write. */
const STALE_STAGING_MS = 60 * 60 * 1000;
/** Bytes hashed per read when a tensor is checked. */
const VERIFY_CHUNK = 16 * 1024 * 1024;

export interface ActivationCacheOptions {
  /** The cache folder (shared with the result cache); entries live in its `activations/` folder. */
  readonly dir: string;
  /** Total bytes of entries beyond which the least recently used are deleted. */
  readonly maxBytes?: number;
  readonly log?: CacheLog;
  /** Content hashes of the source files; the result cache's, so both share one index. */
  readonly hasher?: ContentHasher;
  /** Bound on one forward batch's float32 outputs. */
  readonly batchBytes?: number;
}

/** Thrown by `verify` for a damaged entry, which has then been deleted: the caller asks for the epoch again. */
export class DamagedEntryError extends Error {}

interface Job {
  readonly promise: Promise<string>;
  readonly controller: AbortController;
  readonly listeners: Set<(done: number, total: number) => void>;
  waiters: number;
}

let stagingCounter = 0;

export class ActivationCache {
  readonly dir: string;
  readonly maxBytes: number;
  private readonly entriesDir: string;
  private readonly log: CacheLog;
  private readonly hasher: ContentHasher;
  private readonly batchBytes: number;
  private readonly jobs = new Map<string, Job>();
  /** `<entry file>\0<tensor>` of tensors whose checksum matched in this process. */
  private readonly verified = new Set<string>();
  private evicting: Promise<void> | undefined;

  constructor(options: ActivationCacheOptions) {
    this.dir = path.resolve(options.dir);
    this.entriesDir = path.join(this.dir, 'activations');
    const maxBytes = options.maxBytes ?? DEFAULT_ACTIVATION_CACHE_BYTES;
    if (!(maxBytes >= 0)) throw new RangeError(`ActivationCache: maxBytes must be a non-negative number, got ${maxBytes}`);
    this.maxBytes = maxBytes;
    this.log = options.log ?? (() => undefined);
    this.hasher = options.hasher ?? new ContentHasher({ dir: this.dir, log: this.log });
    this.batchBytes = options.batchBytes ?? DEFAULT_BATCH_BYTES;
  }

  /** The entry's name: sha256 of the sources' content and the outputs recorded. */
  async entryId(source: EpochSource, probePath: string): Promise<string> {
    const [model, probe] = await Promise.all([this.hasher.hash(source.modelPath), this.hasher.hash(probePath)]);
    const key = canonicalJson({
      kind: 'activations',
      version: KEY_VERSION,
      model,
      probe,
      count: source.count,
      outputs: source.outputs.map((o) => [o.name, [...o.shape]]),
    });
    return createHash('sha256').update(key).digest('hex');
  }

  entryFile(id: string): string {
    return path.join(this.entriesDir, `${id}.safetensors`);
  }

  /** Whether the epoch's entry is in the folder (not checked further: `open` does that). */
  async has(source: EpochSource, probePath: string): Promise<boolean> {
    const st = await fsp.stat(this.entryFile(await this.entryId(source, probePath))).catch(() => undefined);
    return st !== undefined && st.isFile();
  }

  /**
   * The epoch's entry, opened: read from the folder when it is there, else computed (concurrent
   * callers for one entry share one computation; it is abandoned only when all of them cancel).
   * The caller closes the file.
   */
  async open(source: EpochSource, probePath: string, ctx: MaterializeContext = {}): Promise<SafetensorsFile> {
    const id = await this.entryId(source, probePath);
    const file = this.entryFile(id);
    const existing = await this.openEntry(file, source);
    if (existing !== undefined) return existing;
    await this.materialize(id, source, ctx);
    const made = await this.openEntry(file, source);
    if (made === undefined) throw new CnnSlicerError('internal', 'the activation cache entry just written cannot be read back', file);
    return made;
  }

  /**
   * Checks a tensor of an entry against its checksum, once per process. A mismatch deletes the
   * entry and throws DamagedEntryError.
   */
  async verify(file: SafetensorsFile, name: string): Promise<void> {
    const key = `${file.path}\0${name}`;
    if (this.verified.has(key)) return;
    const expected = file.header.metadata.get(CHECKSUM_PREFIX + name);
    const entry = file.entry(name);
    const hash = createHash('sha256');
    const size = entry.end - entry.begin;
    for (let offset = 0; offset < size; offset += VERIFY_CHUNK) hash.update(await file.readBytes(name, offset, Math.min(VERIFY_CHUNK, size - offset)));
    const actual = hash.digest('hex');
    if (actual !== expected) {
      this.log(
        'warn',
        `damaged activation cache entry ${file.path} (tensor "${name}" does not match its checksum); deleting it, the epoch will be computed again`,
      );
      await this.discard(file.path);
      throw new DamagedEntryError(`${file.path}: tensor "${name}" does not match its checksum`);
    }
    this.verified.add(key);
  }

  /** Deletes an entry (damaged, or found not to match its source). */
  async discard(file: string): Promise<void> {
    for (const key of [...this.verified]) if (key.startsWith(`${file}\0`)) this.verified.delete(key);
    await fsp.unlink(file).catch(() => undefined);
  }

  /** The entry if present and well-formed for this source; a malformed one is deleted. */
  private async openEntry(file: string, source: EpochSource): Promise<SafetensorsFile | undefined> {
    let opened: SafetensorsFile;
    try {
      opened = await SafetensorsFile.open(file);
    } catch (err) {
      if (err instanceof CnnSlicerError && err.code === 'not-found') return undefined;
      this.log('warn', `unreadable activation cache entry ${file} (${errorText(err)}); deleting it, the epoch will be computed again`);
      await this.discard(file);
      return undefined;
    }
    const problem = entryProblem(opened, source);
    if (problem !== undefined) {
      await opened.close();
      this.log('warn', `activation cache entry ${file} ${problem}; deleting it, the epoch will be computed again`);
      await this.discard(file);
      return undefined;
    }
    await touch(file);
    return opened;
  }

  private materialize(id: string, source: EpochSource, ctx: MaterializeContext): Promise<string> {
    // A query cancelled before it arrives starts nothing: it would start a job and abandon it at
    // once, and a query arriving just after would join that abandoned job and inherit its cancellation.
    if (ctx.signal?.aborted) return Promise.reject(new CnnSlicerError('cancelled', "computing the epoch's activations was cancelled"));
    let job = this.jobs.get(id);
    // A job every waiter has left is being abandoned (it leaves the map once its write has unwound):
    // a newcomer starts afresh.
    if (job === undefined || job.controller.signal.aborted) {
      const controller = new AbortController();
      const listeners = new Set<(done: number, total: number) => void>();
      const promise = this.write(id, source, { signal: controller.signal, onProgress: (d, t) => listeners.forEach((l) => l(d, t)) });
      const created: Job = { promise, controller, listeners, waiters: 0 };
      job = created;
      this.jobs.set(id, created);
      const forget = (): void => {
        if (this.jobs.get(id) === created) this.jobs.delete(id);
      };
      promise.then(forget, forget);
    }
    return this.wait(job, ctx);
  }

  /** Waits for a shared job on behalf of one caller, whose cancellation only ends its own wait. */
  private wait(job: Job, ctx: MaterializeContext): Promise<string> {
    const progress = ctx.onProgress;
    if (progress) job.listeners.add(progress);
    job.waiters++;
    return new Promise<string>((resolve, reject) => {
      let settled = false;
      const finish = (): void => {
        settled = true;
        if (progress) job.listeners.delete(progress);
        ctx.signal?.removeEventListener('abort', onAbort);
        job.waiters--;
      };
      const onAbort = (): void => {
        if (settled) return;
        finish();
        if (job.waiters === 0) job.controller.abort();
        reject(new CnnSlicerError('cancelled', "computing the epoch's activations was cancelled"));
      };
      if (ctx.signal?.aborted) return onAbort();
      ctx.signal?.addEventListener('abort', onAbort);
      job.promise.then(
        (v) => {
          if (settled) return;
          finish();
          resolve(v);
        },
        (err: unknown) => {
          if (settled) return;
          finish();
          reject(err);
        },
      );
    });
  }

  private async write(id: string, source: EpochSource, ctx: MaterializeContext): Promise<string> {
    const file = this.entryFile(id);
    await fsp.mkdir(this.entriesDir, { recursive: true });
    const staging = `${file}.${process.pid}-${++stagingCounter}.tmp`;
    const wide = new Set<string>();
    try {
      for (;;) {
        const outcome = await writeEpochEntry(staging, source, wide, this.batchBytes, ctx);
        if (outcome.overflowed.length === 0) break;
        // Rare (float16 holds up to 65504): those outputs are written again, exactly, as float32.
        this.log('info', `activations of ${outcome.overflowed.join(', ')} exceed float16's range; caching them as float32`);
        for (const name of outcome.overflowed) wide.add(name);
      }
      await fsp.rename(staging, file);
    } catch (err) {
      await fsp.unlink(staging).catch(() => undefined);
      throw err;
    }
    await touch(file);
    await this.evict(file);
    return file;
  }

  /** Deletes the least recently used entries until the folder is within the cap, never `keep`. */
  private evict(keep: string): Promise<void> {
    this.evicting ??= this.evictNow(keep).finally(() => {
      this.evicting = undefined;
    });
    return this.evicting;
  }

  private async evictNow(keep: string): Promise<void> {
    const names = await fsp.readdir(this.entriesDir).catch(() => [] as string[]);
    const entries: { file: string; size: number; usedMs: number }[] = [];
    for (const name of names) {
      const file = path.join(this.entriesDir, name);
      const st = await fsp.stat(file).catch(() => undefined);
      if (st === undefined || !st.isFile()) continue;
      if (ENTRY_NAME.test(name)) entries.push({ file, size: st.size, usedMs: st.mtimeMs });
      else if (name.endsWith('.tmp') && Date.now() - st.mtimeMs > STALE_STAGING_MS) await fsp.unlink(file).catch(() => undefined);
    }
    let total = entries.reduce((sum, e) => sum + e.size, 0);
    const kept = entries.find((e) => e.file === keep);
    if (kept !== undefined && kept.size > this.maxBytes) {
      this.log(
        'warn',
        `one epoch's activations (${gib(kept.size)}) are more than the activation cache's cap (${gib(this.maxBytes)}); raise the cap to keep more than one epoch`,
      );
    }
    for (const e of entries.sort((a, b) => a.usedMs - b.usedMs)) {
      if (total <= this.maxBytes) break;
      if (e.file === keep) continue;
      try {
        await fsp.unlink(e.file);
        total -= e.size;
        this.log('info', `activation cache: evicted ${e.file} (${gib(e.size)})`);
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') total -= e.size;
        else this.log('warn', `cannot delete activation cache entry ${e.file}: ${errorText(err)}`);
      }
    }
  }
}

function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

/** Why an entry cannot serve this source, or undefined when it can. */
function entryProblem(file: SafetensorsFile, source: EpochSource): string | undefined {
  const meta = file.header.metadata;
  if (meta.get('format') !== ENTRY_FORMAT || meta.get('version') !== ENTRY_FORMAT_VERSION) return 'is not an activation cache entry of this version';
  for (const o of source.outputs) {
    const t = file.header.tensors.get(o.name);
    if (t === undefined) return `has no tensor "${o.name}"`;
    if (t.dtype !== 'F16' && t.dtype !== 'F32') return `stores "${o.name}" as ${t.dtype}`;
    const expected = [source.count, ...o.shape];
    if (t.shape.length !== expected.length || t.shape.some((d, i) => d !== expected[i]))
      return `has "${o.name}" of shape [${t.shape.join(', ')}], expected [${expected.join(', ')}]`;
    if (!meta.has(CHECKSUM_PREFIX + o.name)) return `has no checksum for "${o.name}"`;
  }
  return undefined;
}

/** Marks an entry as just used, through its modification time (atime is unreliable on relatime mounts). */
async function touch(file: string): Promise<void> {
  const now = new Date();
  await fsp.utimes(file, now, now).catch(() => undefined);
}

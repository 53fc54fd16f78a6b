// Content addresses for the files a result depends on. Results are keyed by what the files hold,
// not by where they are, so a copied or moved run still answers from the cache, and a run that
// gains epochs keeps the results of the epochs it already had (each result names only its inputs).
//
// Hashing a multi-gigabyte activations file takes seconds, so a hash is remembered in memory and in
// a small index in the cache folder, keyed by the file's real path and stamped with its size,
// modification time and inode: reopening a run stats its files instead of reading them. The run
// format promises a named file is never rewritten; the stamp is what catches a file that was
// anyway (a run folder replaced by a copy, a hand-edited fixture).

import { createHash } from 'node:crypto';
import { promises as fsp, type BigIntStats } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CnnSlicerError } from '../../shared/errors';
import { writeFileAtomic } from '../../core/run/atomicWrite';
import { isRecord } from '../../shared/parse';

export type CacheLogLevel = 'info' | 'warn' | 'error';
export type CacheLog = (level: CacheLogLevel, message: string) => void;

/** CNNSLICER_CACHE_DIR, else $XDG_CACHE_HOME/cnnslicer, else ~/.cache/cnnslicer. */
export function defaultCacheDir(): string {
  const explicit = process.env.CNNSLICER_CACHE_DIR;
  if (explicit !== undefined && explicit !== '') return path.resolve(explicit);
  const xdg = process.env.XDG_CACHE_HOME;
  // The XDG spec tells programs to ignore a relative XDG_CACHE_HOME: it would depend on the cwd.
  if (xdg !== undefined && xdg !== '' && path.isAbsolute(xdg)) return path.join(xdg, 'cnnslicer');
  return path.join(os.homedir(), '.cache', 'cnnslicer');
}

let stagingCounter = 0;

/**
 * writeFileAtomic through a name no other writer uses, then a rename onto the target.
 * writeFileAtomic always stages in `<target>.tmp`; the cache folder is shared by every engine
 * process of the user (one per VS Code window), and two of them writing the same target through
 * the same temporary file could interleave their bytes before either renames it.
 */
export async function writeFileAtomicShared(target: string, data: Uint8Array | string): Promise<void> {
  const staging = `${target}.${process.pid}-${++stagingCounter}`;
  try {
    await writeFileAtomic(staging, data);
    await fsp.rename(staging, target);
  } catch (err) {
    await fsp.unlink(staging).catch(() => undefined);
    throw err;
  }
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function errnoCode(err: unknown): string | undefined {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** What identifies one version of a file; stat's bigint form because inodes and ns times exceed 2^53. */
interface Stamp {
  readonly size: string;
  readonly mtimeNs: string;
  readonly ino: string;
}

interface Known extends Stamp {
  readonly sha256: string;
  /** Date.now() when hashed; the index keeps the most recent entries when it is pruned. */
  readonly hashedAt: number;
}

function stampOf(st: BigIntStats): Stamp {
  return { size: st.size.toString(), mtimeNs: st.mtimeNs.toString(), ino: st.ino.toString() };
}

function sameStamp(a: Stamp, b: Stamp): boolean {
  return a.size === b.size && a.mtimeNs === b.mtimeNs && a.ino === b.ino;
}

const INDEX_FILE = 'content-index.json';
const INDEX_FORMAT = 'cnnslicer-content-index';
const INDEX_VERSION = 1;
/** Enough for every file of many runs; bounds the index to a few MB. */
const MAX_INDEX_ENTRIES = 20000;
const READ_CHUNK = 4 * 1024 * 1024;
/** A file that keeps changing under the hash is not a run file at rest; give up after this many tries. */
const HASH_ATTEMPTS = 3;
const STALE_STAGING_MS = 60 * 60 * 1000;
const HEX64 = /^[0-9a-f]{64}$/;

export interface ContentHasherOptions {
  /** Folder of the persistent index; without one, hashes are remembered for this process only. */
  readonly dir?: string;
  readonly log?: CacheLog;
}

export class ContentHasher {
  readonly indexFile: string | undefined;
  private readonly log: CacheLog;
  private readonly known = new Map<string, Known>();
  private readonly inflight = new Map<string, Promise<string>>();
  /** Entries hashed here and not yet in the index file. */
  private readonly unsaved = new Map<string, Known>();
  private saving: Promise<void> = Promise.resolve();
  private sweptStaging = false;
  private indexWriteFailed = false;
  private filesHashedCount = 0;
  private bytesHashedCount = 0;

  constructor(options: ContentHasherOptions = {}) {
    this.indexFile = options.dir !== undefined ? path.join(path.resolve(options.dir), INDEX_FILE) : undefined;
    this.log = options.log ?? (() => undefined);
  }

  /** Files this instance actually read to hash them (index and memory hits do not count). */
  get filesHashed(): number {
    return this.filesHashedCount;
  }

  get bytesHashed(): number {
    return this.bytesHashedCount;
  }

  /** Lower-case hex sha256 of the file's bytes. */
  async hash(file: string): Promise<string> {
    const real = await realpathOf(file);
    const current = stampOf(await statOf(real));
    const mem = this.known.get(real);
    if (mem !== undefined && sameStamp(mem, current)) return mem.sha256;
    const running = this.inflight.get(real);
    if (running !== undefined) return running;
    const job = this.lookUpOrHash(real, current);
    this.inflight.set(real, job);
    try {
      return await job;
    } finally {
      this.inflight.delete(real);
    }
  }

  /**
   * sha256 over the sorted (name, content hash) pairs of `files`. A name is the path relative to
   * `root`, or by default to the deepest folder holding all the files, so that the key does not
   * depend on where the run lies but two files swapping roles still change it.
   */
  async runContentKey(files: readonly string[], options: { root?: string } = {}): Promise<string> {
    const absolute = files.map((f) => path.resolve(f));
    const root = options.root !== undefined ? path.resolve(options.root) : commonFolder(absolute);
    const byName = new Map<string, string>();
    for (const abs of absolute) {
      const rel = root !== undefined ? path.relative(root, abs) : abs;
      if (root !== undefined && !isInside(abs, root)) {
        throw new RangeError(`runContentKey: ${abs} is not inside ${root}`);
      }
      byName.set(rel.split(path.sep).join('/'), abs);
    }
    const names = [...byName.keys()].sort();
    const pairs: [string, string][] = [];
    // One file after another: hashing several large files at once only makes the disk seek.
    for (const name of names) pairs.push([name, await this.hash(byName.get(name)!)]);
    return createHash('sha256')
      .update(JSON.stringify(['cnnslicer-content/1', pairs]))
      .digest('hex');
  }

  private async lookUpOrHash(real: string, current: Stamp): Promise<string> {
    // Another engine process may have hashed the file since this one last looked.
    await this.loadIndex();
    const indexed = this.known.get(real);
    if (indexed !== undefined && sameStamp(indexed, current)) return indexed.sha256;
    const known = await this.hashFile(real);
    this.known.set(real, known);
    this.unsaved.set(real, known);
    await this.saveIndex();
    return known.sha256;
  }

  private async hashFile(real: string): Promise<Known> {
    for (let attempt = 1; ; attempt++) {
      const fh = await fsp.open(real, 'r').catch((err: unknown) => {
        throw fsError(err, real);
      });
      try {
        const before = stampOf(await fh.stat({ bigint: true }));
        const hasher = createHash('sha256');
        const buf = Buffer.allocUnsafe(READ_CHUNK);
        let position = 0;
        for (;;) {
          const { bytesRead } = await fh.read(buf, 0, buf.length, position);
          if (bytesRead === 0) break;
          hasher.update(buf.subarray(0, bytesRead));
          position += bytesRead;
        }
        this.filesHashedCount++;
        this.bytesHashedCount += position;
        const after = stampOf(await fh.stat({ bigint: true }));
        if (sameStamp(before, after) && before.size === String(position)) {
          return { ...before, sha256: hasher.digest('hex'), hashedAt: Date.now() };
        }
      } finally {
        await fh.close().catch(() => undefined);
      }
      if (attempt >= HASH_ATTEMPTS) {
        throw new CnnSlicerError('incomplete', 'the file kept changing while it was hashed; is it still being written?', real);
      }
    }
  }

  private async loadIndex(): Promise<void> {
    if (this.indexFile === undefined) return;
    const onDisk = await this.readIndex();
    for (const [real, entry] of onDisk) {
      const mine = this.known.get(real);
      if (mine === undefined || mine.hashedAt < entry.hashedAt) this.known.set(real, entry);
    }
  }

  private async readIndex(): Promise<Map<string, Known>> {
    const out = new Map<string, Known>();
    const file = this.indexFile;
    if (file === undefined) return out;
    let text: string;
    try {
      text = await fsp.readFile(file, 'utf8');
    } catch (err) {
      const code = errnoCode(err);
      if (code !== 'ENOENT' && code !== 'ENOTDIR') this.log('warn', `cannot read the content-hash index ${file}: ${errorText(err)}`);
      return out;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const entries = isRecord(parsed) && parsed.format === INDEX_FORMAT && parsed.version === INDEX_VERSION ? parsed.entries : undefined;
    if (!isRecord(entries)) {
      // Only costs re-hashing; the next save replaces the file.
      this.log('warn', `ignoring the unreadable content-hash index ${file}`);
      return out;
    }
    for (const [real, e] of Object.entries(entries)) {
      if (
        isRecord(e) &&
        typeof e.size === 'string' &&
        typeof e.mtimeNs === 'string' &&
        typeof e.ino === 'string' &&
        typeof e.sha256 === 'string' &&
        HEX64.test(e.sha256) &&
        typeof e.hashedAt === 'number'
      ) {
        out.set(real, { size: e.size, mtimeNs: e.mtimeNs, ino: e.ino, sha256: e.sha256, hashedAt: e.hashedAt });
      }
    }
    return out;
  }

  /** Serialised, so that saves of this process never race each other; merges what others saved. */
  private saveIndex(): Promise<void> {
    const next = this.saving.then(() => this.saveIndexNow());
    this.saving = next.catch(() => undefined);
    return next;
  }

  private async saveIndexNow(): Promise<void> {
    const file = this.indexFile;
    if (file === undefined || this.unsaved.size === 0) return;
    const merged = await this.readIndex();
    const written = new Map(this.unsaved);
    for (const [real, entry] of written) merged.set(real, entry);
    let entries = [...merged];
    if (entries.length > MAX_INDEX_ENTRIES) {
      entries = entries.sort((a, b) => b[1].hashedAt - a[1].hashedAt).slice(0, MAX_INDEX_ENTRIES);
    }
    const body = JSON.stringify({ format: INDEX_FORMAT, version: INDEX_VERSION, entries: Object.fromEntries(entries) });
    try {
      await fsp.mkdir(path.dirname(file), { recursive: true });
      await this.sweepStaging(file);
      await writeFileAtomicShared(file, body);
      this.indexWriteFailed = false;
      for (const [real, entry] of written) if (this.unsaved.get(real) === entry) this.unsaved.delete(real);
    } catch (err) {
      // Hashes stay remembered in memory and are saved with the next index write that succeeds.
      if (!this.indexWriteFailed) this.log('warn', `cannot write the content-hash index ${file}: ${errorText(err)}`);
      this.indexWriteFailed = true;
    }
  }

  /** Staging files of an engine that died between writing and renaming. */
  private async sweepStaging(file: string): Promise<void> {
    if (this.sweptStaging) return;
    this.sweptStaging = true;
    const dir = path.dirname(file);
    const prefix = `${path.basename(file)}.`;
    const names = await fsp.readdir(dir).catch(() => [] as string[]);
    for (const name of names) {
      if (!name.startsWith(prefix)) continue;
      const p = path.join(dir, name);
      const st = await fsp.stat(p).catch(() => undefined);
      if (st !== undefined && Date.now() - st.mtimeMs > STALE_STAGING_MS) await fsp.unlink(p).catch(() => undefined);
    }
  }
}

function fsError(err: unknown, file: string): unknown {
  const code = errnoCode(err);
  if (code === 'ENOENT' || code === 'ENOTDIR') return new CnnSlicerError('not-found', 'file does not exist', file);
  return err;
}

async function realpathOf(file: string): Promise<string> {
  try {
    return await fsp.realpath(file);
  } catch (err) {
    throw fsError(err, file);
  }
}

async function statOf(real: string): Promise<BigIntStats> {
  try {
    return await fsp.stat(real, { bigint: true });
  } catch (err) {
    throw fsError(err, real);
  }
}

/** The deepest folder holding every file, or undefined when there is none (different drives). */
function commonFolder(files: readonly string[]): string | undefined {
  if (files.length === 0) return undefined;
  let common = path.dirname(files[0]!);
  for (const f of files.slice(1)) {
    while (!isInside(f, common)) {
      const up = path.dirname(common);
      if (up === common) return undefined;
      common = up;
    }
  }
  return common;
}

function isInside(file: string, folder: string): boolean {
  const rel = path.relative(folder, file);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}

let defaultHasher: ContentHasher | undefined;

/** The hasher behind fileContentHash/runContentKey: its index lives in defaultCacheDir() unless replaced. */
export function defaultContentHasher(): ContentHasher {
  defaultHasher ??= new ContentHasher({ dir: defaultCacheDir() });
  return defaultHasher;
}

/** Points the module-level functions at another hasher, e.g. one on the cache folder the user configured. */
export function setDefaultContentHasher(hasher: ContentHasher | undefined): void {
  defaultHasher = hasher;
}

export function fileContentHash(file: string): Promise<string> {
  return defaultContentHasher().hash(file);
}

export function runContentKey(files: readonly string[], options: { root?: string } = {}): Promise<string> {
  return defaultContentHasher().runContentKey(files, options);
}

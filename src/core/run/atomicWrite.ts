// Writing a file so that a concurrent reader sees the old file, no file, or the whole new one,
// never a prefix (run-format.md, "Writing atomically"): write `<name>.tmp`, fsync, rename.

import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { CnnSlicerError } from '../../shared/errors';

/** A single fs write is limited to 2^31 - 1 bytes, so larger chunks go down in pieces. */
const MAX_WRITE = 1 << 30;

/** Writes data to `${path}.tmp`, fsyncs, renames onto path, fsyncs the directory (best effort). */
export async function writeFileAtomic(target: string, data: Uint8Array | string): Promise<void> {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  await writeFileAtomicStreamed(target, (write) => write(bytes));
}

/** Streaming variant: the callback writes chunks through `write`; same temp+fsync+rename. */
export async function writeFileAtomicStreamed(target: string, body: (write: (chunk: Uint8Array) => Promise<void>) => Promise<void>): Promise<void> {
  const tmp = `${target}.tmp`;
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(tmp, 'w');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) {
      throw new CnnSlicerError('not-found', `cannot write: folder ${path.dirname(target)} does not exist`, target);
    }
    throw err;
  }
  let renamed = false;
  // Chained so that writes land in call order even if the body does not await each one.
  let tail: Promise<void> = Promise.resolve();
  // The first failed write, so that a write the body forgot to await still fails the file.
  const state: { failure?: { err: unknown } } = {};
  try {
    let position = 0;
    let finished = false;
    const write = (chunk: Uint8Array): Promise<void> => {
      if (finished) return Promise.reject(new Error(`write to ${tmp} after its body finished`));
      const next = tail.then(async () => {
        if (state.failure !== undefined) throw state.failure.err;
        let done = 0;
        while (done < chunk.byteLength) {
          const len = Math.min(chunk.byteLength - done, MAX_WRITE);
          const { bytesWritten } = await fh.write(chunk, done, len, position);
          done += bytesWritten;
          position += bytesWritten;
        }
      });
      tail = next.catch((err: unknown) => {
        state.failure ??= { err };
      });
      return next;
    };
    try {
      await body(write);
    } finally {
      finished = true;
    }
    await tail;
    if (state.failure !== undefined) throw state.failure.err;
    await fh.sync();
    await fh.close();
    await fsp.rename(tmp, target);
    renamed = true;
  } catch (err) {
    // Pending writes must settle before the handle is closed under them.
    await tail;
    await fh.close().catch(() => undefined);
    if (!renamed) await fsp.unlink(tmp).catch(() => undefined);
    throw err;
  }
  await syncDirectory(path.dirname(target));
}

/** Makes the rename itself durable. Not possible everywhere (Windows cannot open a directory), hence best effort. */
async function syncDirectory(dir: string): Promise<void> {
  let dh: fsp.FileHandle | undefined;
  try {
    dh = await fsp.open(dir, 'r');
    await dh.sync();
  } catch {
    // best effort: the data itself is already synced and renamed
  } finally {
    await dh?.close().catch(() => undefined);
  }
}

function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}

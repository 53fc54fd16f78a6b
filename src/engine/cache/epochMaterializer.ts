// Writes every recorded layer of one checkpoint epoch to one safetensors file, from one batched
// forward pass over the probe set: the activation cache's entries (activationCache.ts).
//
// Streaming: each batch's outputs are narrowed to float16 and written straight to their place in
// the file, so memory is one batch of outputs (bounded by `batchBytes`) whatever the model and the
// probe set. The header is written first with placeholder checksums of fixed length and rewritten
// at the end with each tensor's sha256, so a reader can tell a damaged entry from a good one.
import { createHash, type Hash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { CnnSlicerError } from '../../shared/errors';
import { runCheckpointBatches } from '../run/checkpoint';
import { encodeFloat16Checked } from '../../core/run/float16';
import { type SafetensorsDType } from '../../core/run/safetensors';
import { safetensorsLayout, type TensorLayoutEntry } from '../../core/run/safetensorsWrite';

/** Metadata of an entry: what it is, and one checksum per tensor under CHECKSUM_PREFIX + name. */
export const ENTRY_FORMAT = 'cnnslicer-activation-cache';
export const ENTRY_FORMAT_VERSION = '1';
export const CHECKSUM_PREFIX = 'sha256:';
const PLACEHOLDER = '0'.repeat(64);
/** The most probe samples per forward pass, whatever the budget allows. */
const MAX_BATCH = 256;

export interface EpochSource {
  /** The epoch's model.onnx (real path). */
  readonly modelPath: string;
  /** One sample's input shape, e.g. [1, 32, 32]. */
  readonly inputShape: readonly number[];
  /** N, the probe set's size: every entry holds all of it, in probe order. */
  readonly count: number;
  /** What to record, in order: the layers and then `logits`, each with its per-sample shape. */
  readonly outputs: readonly { readonly name: string; readonly shape: readonly number[] }[];
  /** The probe inputs of those rows, concatenated, as float32. */
  readonly inputs: (rows: readonly number[]) => Promise<Float32Array>;
}

export interface MaterializeContext {
  readonly signal?: AbortSignal;
  readonly onProgress?: (done: number, total: number) => void;
}

export interface WriteOutcome {
  /** Outputs with a finite value beyond float16's range: the entry must be written again with these as F32. */
  readonly overflowed: readonly string[];
  readonly bytes: number;
}

function product(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** Samples per forward pass: as many as keep one batch's float32 outputs within `batchBytes`. */
export function batchSizeFor(source: EpochSource, batchBytes: number): number {
  const perSample = source.outputs.reduce((sum, o) => sum + product(o.shape), 0) * 4;
  return Math.max(1, Math.min(MAX_BATCH, source.count, Math.floor(batchBytes / Math.max(perSample, 1))));
}

/** Bytes an entry takes on disk (data only), for the size cap's bookkeeping before it is written. */
export function entryDataBytes(source: EpochSource, wide: ReadonlySet<string>): number {
  return source.outputs.reduce((sum, o) => sum + source.count * product(o.shape) * (wide.has(o.name) ? 4 : 2), 0);
}

/**
 * Writes the entry to `staging` (created or truncated). Outputs in `wide` are stored as F32, all
 * others as F16. When a value overflows float16 the pass still completes (so that every output
 * that overflows is found at once) and the caller writes the entry again with them in `wide`.
 * The file is fsynced; renaming it into place is the caller's.
 */
export async function writeEpochEntry(
  staging: string,
  source: EpochSource,
  wide: ReadonlySet<string>,
  batchBytes: number,
  ctx: MaterializeContext = {},
): Promise<WriteOutcome> {
  const tensors: TensorLayoutEntry[] = source.outputs.map((o) => ({
    name: o.name,
    dtype: (wide.has(o.name) ? 'F32' : 'F16') as SafetensorsDType,
    shape: [source.count, ...o.shape],
  }));
  const metadata = (checksums: ReadonlyMap<string, string>): Record<string, string> => {
    const m: Record<string, string> = { format: ENTRY_FORMAT, version: ENTRY_FORMAT_VERSION };
    for (const t of tensors) m[CHECKSUM_PREFIX + t.name] = checksums.get(t.name) ?? PLACEHOLDER;
    return m;
  };
  const layout = safetensorsLayout(tensors, metadata(new Map()));
  const perSample = new Map(source.outputs.map((o) => [o.name, product(o.shape)]));
  const hashes = new Map<string, Hash>(source.outputs.map((o) => [o.name, createHash('sha256')]));
  const overflowed = new Set<string>();

  const fh = await fsp.open(staging, 'w');
  try {
    await fh.truncate(layout.fileBytes);
    await writeAll(fh, layout.header, 0);
    await runCheckpointBatches(
      {
        modelPath: source.modelPath,
        inputs: source.inputs,
        inputShape: source.inputShape,
        sampleIndices: Array.from({ length: source.count }, (_, i) => i),
        outputs: source.outputs.map((o) => o.name),
        batchSize: batchSizeFor(source, batchBytes),
        ...(ctx.signal ? { signal: ctx.signal } : {}),
        ...(ctx.onProgress ? { onProgress: ctx.onProgress } : {}),
      },
      async (batch) => {
        const writes: Promise<void>[] = [];
        for (const o of source.outputs) {
          const out = batch.outputs.get(o.name);
          const size = perSample.get(o.name) as number;
          if (out === undefined || product(out.dims) !== size) {
            const got = out === undefined ? 'nothing' : `[${out.dims.join(', ')}]`;
            throw new CnnSlicerError('model-error', `output "${o.name}" gave ${got} per sample, the manifest says [${o.shape.join(', ')}]`, source.modelPath);
          }
          let bytes: Uint8Array;
          if (wide.has(o.name)) {
            // A copy: the batch's arrays belong to onnxruntime once the callback returns.
            bytes = new Uint8Array(out.data.buffer.slice(out.data.byteOffset, out.data.byteOffset + out.data.byteLength));
          } else {
            const half = new Uint16Array(out.data.length);
            if (encodeFloat16Checked(out.data, half)) overflowed.add(o.name);
            bytes = new Uint8Array(half.buffer);
          }
          hashes.get(o.name)?.update(bytes);
          const range = layout.ranges.get(o.name) as { begin: number };
          // Issued together and awaited once per batch: the disk works while the next output is encoded.
          writes.push(writeAll(fh, bytes, range.begin + (batch.start * bytes.byteLength) / batch.count));
        }
        // All settled before a failure propagates: the file is closed after, never under, a write.
        const failed = (await Promise.allSettled(writes)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed !== undefined) throw failed.reason;
      },
    );
    if (overflowed.size > 0) return { overflowed: [...overflowed], bytes: layout.fileBytes };
    const checksums = new Map([...hashes].map(([name, h]) => [name, h.digest('hex')]));
    const finalHeader = safetensorsLayout(tensors, metadata(checksums)).header;
    // Same length as the placeholder header (fixed-width checksums), so the data does not move.
    if (finalHeader.byteLength !== layout.header.byteLength) throw new CnnSlicerError('internal', 'the activation cache header changed length', staging);
    await writeAll(fh, finalHeader, 0);
    await fh.sync();
    return { overflowed: [], bytes: layout.fileBytes };
  } finally {
    await fh.close();
  }
}

async function writeAll(fh: fsp.FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.byteLength) {
    const { bytesWritten } = await fh.write(bytes, done, Math.min(bytes.byteLength - done, 1 << 30), position + done);
    done += bytesWritten;
  }
}

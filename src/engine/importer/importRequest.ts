// The engine's `importOnnx` request: checks what the host sent, runs the importer with the
// request's progress and cancellation, and leaves no half-written run behind. The extension host
// only chooses paths; reading the model, loading the dataset and running onnxruntime all happen
// here, in the engine process.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { ImportOnnxResult } from '../../shared/engineProtocol';
import { CnnSlicerError } from '../../shared/errors';
import { importOnnx } from './onnxImporter';
import { orThrow } from '../../shared/parse';
import { parseImportOnnxParams } from '../../shared/importParams';

export interface ImportRequestContext {
  readonly signal: AbortSignal;
  progress(done: number, total: number, message?: string): void;
}

/**
 * Runs the import. When it fails or is cancelled, the run folder is removed if this request
 * created it: a partial import (some epochs of a folder, or only the probe set) would show up in
 * the Runs view as a run of a model that was never fully read. A folder that existed before is
 * left alone, whatever it holds, since it may be the user's.
 */
export async function runImportRequest(params: unknown, ctx: ImportRequestContext): Promise<ImportOnnxResult> {
  const p = orThrow(parseImportOnnxParams(params, path.isAbsolute));
  if (ctx.signal.aborted) throw new CnnSlicerError('cancelled', 'the import was cancelled');
  const existed = await fs.stat(p.out).then(
    () => true,
    () => false,
  );
  try {
    const result = await importOnnx({
      models: p.models,
      dataset: p.dataset,
      out: p.out,
      signal: ctx.signal,
      onProgress: (done, total, message) => ctx.progress(done, total, message),
      ...(p.name !== undefined ? { name: p.name } : {}),
      ...(p.probeCount !== undefined ? { probeCount: p.probeCount } : {}),
      ...(p.seed !== undefined ? { seed: p.seed } : {}),
      ...(p.normalization !== undefined ? { normalization: p.normalization } : {}),
    });
    return { dir: result.dir, layers: result.layers, epochs: result.epochs };
  } catch (err) {
    if (!existed) await fs.rm(p.out, { recursive: true, force: true }).catch(() => undefined);
    throw err;
  }
}

// The engine's `importOnnx` request: checks what the host sent, runs the importer with the
// request's progress and cancellation, and leaves no half-written run behind. The extension host
// only chooses paths; reading the model, loading the dataset and running onnxruntime all happen
// here, in the engine process.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { ImportDataset, ImportOnnxParams, ImportOnnxResult } from '../../shared/engineProtocol';
import { CnnSlicerError } from '../../shared/errors';
import { importOnnx } from './onnxImporter';

export interface ImportRequestContext {
  readonly signal: AbortSignal;
  progress(done: number, total: number, message?: string): void;
}

/** Parameters arrive from another process: every field is checked before the importer sees it. */
export function validateImportParams(params: unknown): ImportOnnxParams {
  if (!isRecord(params)) throw badRequest(`"importOnnx" expects an object of parameters, got ${describe(params)}`);
  const models = params.models;
  if (!Array.isArray(models) || models.length === 0 || !models.every((m) => typeof m === 'string' && m.length > 0)) {
    throw badRequest(`"models" must be a non-empty array of paths (one .onnx file or one folder), got ${describe(models)}`);
  }
  for (const m of models as string[]) expectAbsolute(m, 'models');
  const out = expectAbsolute(params.out, 'out');
  const dataset = validateDataset(params.dataset);
  const result: { -readonly [K in keyof ImportOnnxParams]: ImportOnnxParams[K] } = { models: [...(models as string[])], dataset, out };
  if (params.name !== undefined) {
    if (typeof params.name !== 'string' || params.name.trim() === '') throw badRequest(`"name" must be a non-empty string, got ${describe(params.name)}`);
    result.name = params.name;
  }
  if (params.probeCount !== undefined) {
    if (!isPositiveInteger(params.probeCount)) throw badRequest(`"probeCount" must be an integer ≥ 1, got ${describe(params.probeCount)}`);
    result.probeCount = params.probeCount;
  }
  if (params.seed !== undefined) {
    if (typeof params.seed !== 'number' || !Number.isSafeInteger(params.seed) || params.seed < 0)
      throw badRequest(`"seed" must be an integer ≥ 0, got ${describe(params.seed)}`);
    result.seed = params.seed;
  }
  if (params.normalization !== undefined) result.normalization = validateNormalization(params.normalization);
  return result;
}

function validateDataset(value: unknown): ImportDataset {
  if (!isRecord(value)) throw badRequest(`"dataset" must be an object with a "kind", got ${describe(value)}`);
  const split = value.split;
  if (split !== undefined && split !== 'train' && split !== 'test') throw badRequest(`"dataset.split" must be "train" or "test", got ${describe(split)}`);
  switch (value.kind) {
    case 'mnist':
      return {
        kind: 'mnist',
        ...(value.dir !== undefined ? { dir: expectAbsolute(value.dir, 'dataset.dir') } : {}),
        ...(split !== undefined ? { split } : {}),
      };
    case 'cifar10':
      return { kind: 'cifar10', dir: expectAbsolute(value.dir, 'dataset.dir'), ...(split !== undefined ? { split } : {}) };
    case 'imageFolder':
      return { kind: 'imageFolder', dir: expectAbsolute(value.dir, 'dataset.dir') };
    default:
      throw badRequest(`"dataset.kind" must be "mnist", "cifar10" or "imageFolder", got ${describe(value.kind)}`);
  }
}

function validateNormalization(value: unknown): { mean: number[]; std: number[] } {
  const numbers = (v: unknown): v is number[] => Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number' && Number.isFinite(x));
  if (!isRecord(value) || !numbers(value.mean) || !numbers(value.std)) {
    throw badRequest(`"normalization" must be { mean: number[], std: number[] } with finite numbers, got ${describe(value)}`);
  }
  if (value.std.some((s) => s === 0)) throw badRequest('"normalization.std" must not hold 0: every value would be divided by it');
  return { mean: [...value.mean], std: [...value.std] };
}

/**
 * Runs the import. When it fails or is cancelled, the run folder is removed if this request
 * created it: a partial import (some epochs of a folder, or only the probe set) would show up in
 * the Runs view as a run of a model that was never fully read. A folder that existed before is
 * left alone, whatever it holds, since it may be the user's.
 */
export async function runImportRequest(params: unknown, ctx: ImportRequestContext): Promise<ImportOnnxResult> {
  const p = validateImportParams(params);
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

function expectAbsolute(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0) throw badRequest(`"${field}" must be a path, got ${describe(value)}`);
  // The engine's working directory is not the user's: a relative path would resolve somewhere unexpected.
  if (!path.isAbsolute(value)) throw badRequest(`"${field}" must be an absolute path, got ${describe(value)}`);
  return value;
}

function badRequest(message: string): CnnSlicerError {
  return new CnnSlicerError('bad-request', message);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1;
}

/** A short rendering of a bad value for an error message. */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (typeof value === 'object') return 'an object';
  return String(value);
}

// The parameters of the engine's `importOnnx` request: the host builds them from the user's
// choices, the engine's importer (src/engine/importer/importRequest.ts) parses them with this
// before reading any file. Paths must be absolute (the engine's working directory is not the
// user's); whether a path is absolute is the caller's platform's rule, hence `isAbsolute`.
import type { ImportDataset, ImportOnnxParams } from './engineProtocol';
import { describeValue, isRecord, ok, refuse, type Parsed } from './parse';

type IsAbsolute = (p: string) => boolean;

function parseAbsolute(value: unknown, field: string, isAbsolute: IsAbsolute): Parsed<string> {
  if (typeof value !== 'string' || value.length === 0) return refuse(`"${field}" must be a path, got ${describeValue(value)}`);
  // The engine's working directory is not the user's: a relative path would resolve somewhere unexpected.
  if (!isAbsolute(value)) return refuse(`"${field}" must be an absolute path, got ${describeValue(value)}`);
  return ok(value);
}

function parseDataset(value: unknown, isAbsolute: IsAbsolute): Parsed<ImportDataset> {
  if (!isRecord(value)) return refuse(`"dataset" must be an object with a "kind", got ${describeValue(value)}`);
  const split = value.split;
  if (split !== undefined && split !== 'train' && split !== 'test') return refuse(`"dataset.split" must be "train" or "test", got ${describeValue(split)}`);
  const splitField: { split?: 'train' | 'test' } = split !== undefined ? { split } : {};
  switch (value.kind) {
    case 'mnist': {
      if (value.dir === undefined) return ok({ kind: 'mnist', ...splitField });
      const dir = parseAbsolute(value.dir, 'dataset.dir', isAbsolute);
      return dir.ok ? ok({ kind: 'mnist', dir: dir.value, ...splitField }) : dir;
    }
    case 'cifar10': {
      const dir = parseAbsolute(value.dir, 'dataset.dir', isAbsolute);
      return dir.ok ? ok({ kind: 'cifar10', dir: dir.value, ...splitField }) : dir;
    }
    case 'imageFolder': {
      const dir = parseAbsolute(value.dir, 'dataset.dir', isAbsolute);
      return dir.ok ? ok({ kind: 'imageFolder', dir: dir.value }) : dir;
    }
    default:
      return refuse(`"dataset.kind" must be "mnist", "cifar10" or "imageFolder", got ${describeValue(value.kind)}`);
  }
}

function parseNormalization(value: unknown): Parsed<{ mean: number[]; std: number[] }> {
  const numbers = (v: unknown): v is number[] => Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number' && Number.isFinite(x));
  if (!isRecord(value) || !numbers(value.mean) || !numbers(value.std)) {
    return refuse(`"normalization" must be { mean: number[], std: number[] } with finite numbers, got ${describeValue(value)}`);
  }
  if (value.std.some((s) => s === 0)) return refuse('"normalization.std" must not hold 0: every value would be divided by it');
  return ok({ mean: [...value.mean], std: [...value.std] });
}

/** Every field checked before the importer sees it; unknown fields dropped. */
export function parseImportOnnxParams(params: unknown, isAbsolute: IsAbsolute): Parsed<ImportOnnxParams> {
  if (!isRecord(params)) return refuse(`"importOnnx" expects an object of parameters, got ${describeValue(params)}`);
  const models = params.models;
  if (!Array.isArray(models) || models.length === 0 || !models.every((m) => typeof m === 'string' && m.length > 0)) {
    return refuse(`"models" must be a non-empty array of paths (one .onnx file or one folder), got ${describeValue(models)}`);
  }
  for (const m of models as string[]) {
    const r = parseAbsolute(m, 'models', isAbsolute);
    if (!r.ok) return r;
  }
  const out = parseAbsolute(params.out, 'out', isAbsolute);
  if (!out.ok) return out;
  const dataset = parseDataset(params.dataset, isAbsolute);
  if (!dataset.ok) return dataset;
  const result: { -readonly [K in keyof ImportOnnxParams]: ImportOnnxParams[K] } = {
    models: [...(models as string[])],
    dataset: dataset.value,
    out: out.value,
  };
  if (params.name !== undefined) {
    if (typeof params.name !== 'string' || params.name.trim() === '') return refuse(`"name" must be a non-empty string, got ${describeValue(params.name)}`);
    result.name = params.name;
  }
  if (params.probeCount !== undefined) {
    const n = params.probeCount;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) return refuse(`"probeCount" must be an integer ≥ 1, got ${describeValue(n)}`);
    result.probeCount = n;
  }
  if (params.seed !== undefined) {
    const seed = params.seed;
    if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0) return refuse(`"seed" must be an integer ≥ 0, got ${describeValue(seed)}`);
    result.seed = seed;
  }
  if (params.normalization !== undefined) {
    const normalization = parseNormalization(params.normalization);
    if (!normalization.ok) return normalization;
    result.normalization = normalization.value;
  }
  return ok(result);
}

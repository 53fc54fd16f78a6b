// Validation of cnnslicer.json. The manifest comes from disk, possibly from another tool or an
// older version, so every field is checked before anything else trusts it.
import { CnnSlicerError } from '../../shared/errors';
import {
  LAYER_KINDS,
  LOGITS_NAME,
  RUN_FORMAT_NAME,
  RUN_FORMAT_VERSION,
  type EpochEntry,
  type EpochMetrics,
  type LayerInfo,
  type LayerKind,
  type RunManifest,
  type SourceLocation,
  type TensorDType,
} from '../../shared/runFormat';
import { checkRelativePath } from './runPaths';

/** Layer names that mean something else in a slice request. */
export const RESERVED_LAYER_NAMES: readonly string[] = ['input', LOGITS_NAME];

type Json = unknown;

class ManifestChecker {
  constructor(private readonly file: string) {}

  fail(where: string, problem: string): never {
    throw new CnnSlicerError('invalid-manifest', `${where}: ${problem}`, this.file);
  }

  object(value: Json, where: string): Record<string, Json> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(where, 'must be an object');
    return value as Record<string, Json>;
  }

  array(value: Json, where: string): Json[] {
    if (!Array.isArray(value)) this.fail(where, 'must be an array');
    return value;
  }

  string(value: Json, where: string): string {
    if (typeof value !== 'string') this.fail(where, 'must be a string');
    return value;
  }

  optionalString(value: Json, where: string): string | undefined {
    return value === undefined ? undefined : this.string(value, where);
  }

  integer(value: Json, where: string, min: number): number {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) this.fail(where, `must be an integer ≥ ${min}`);
    return value;
  }

  shape(value: Json, where: string): number[] {
    const dims = this.array(value, where);
    if (dims.length === 0 || dims.length > 4) this.fail(where, 'must have 1 to 4 dimensions');
    return dims.map((d, i) => this.integer(d, `${where}[${i}]`, 1));
  }

  path(value: Json, where: string): string {
    const p = this.string(value, where);
    const problem = checkRelativePath(p);
    if (problem !== undefined) throw new CnnSlicerError('path-escape', `${where}: "${p}" ${problem}`, this.file);
    return p;
  }
}

function layerInfo(c: ManifestChecker, value: Json, where: string): LayerInfo {
  const o = c.object(value, where);
  const name = c.string(o.name, `${where}.name`);
  if (name.length === 0) c.fail(`${where}.name`, 'must not be empty');
  if (RESERVED_LAYER_NAMES.includes(name)) c.fail(`${where}.name`, `"${name}" is reserved`);
  const kind = c.string(o.kind, `${where}.kind`);
  if (!(LAYER_KINDS as readonly string[]).includes(kind)) c.fail(`${where}.kind`, `"${kind}" is not one of ${LAYER_KINDS.join(', ')}`);
  const shape = c.shape(o.shape, `${where}.shape`);
  const op = c.optionalString(o.op, `${where}.op`);
  let source: SourceLocation | undefined;
  if (o.source !== undefined && o.source !== null) {
    const s = c.object(o.source, `${where}.source`);
    source = { file: c.string(s.file, `${where}.source.file`), line: c.integer(s.line, `${where}.source.line`, 1) };
  }
  return { name, kind: kind as LayerKind, shape, ...(op !== undefined ? { op } : {}), ...(source ? { source } : {}) };
}

function metrics(c: ManifestChecker, value: Json, where: string): EpochMetrics {
  const o = c.object(value ?? {}, where);
  const out: Record<string, number | undefined> = {};
  for (const [k, v] of Object.entries(o)) {
    // null stands for a value that was not finite (JSON has no NaN); it is carried as undefined.
    if (v === null) out[k] = undefined;
    else if (typeof v === 'number' && Number.isFinite(v)) out[k] = v;
    else c.fail(`${where}.${k}`, 'must be a finite number or null');
  }
  return out;
}

function epochEntry(c: ManifestChecker, value: Json, where: string): EpochEntry {
  const o = c.object(value, where);
  const epoch = c.integer(o.epoch, `${where}.epoch`, 0);
  const activations = o.activations === undefined ? undefined : c.path(o.activations, `${where}.activations`);
  const checkpoint = o.checkpoint === undefined ? undefined : c.path(o.checkpoint, `${where}.checkpoint`);
  if (activations === undefined && checkpoint === undefined) c.fail(where, 'names neither activations nor a checkpoint');
  let dtype: TensorDType | undefined;
  if (o.dtype !== undefined) {
    if (o.dtype !== 'float16' && o.dtype !== 'float32') c.fail(`${where}.dtype`, 'must be "float16" or "float32"');
    dtype = o.dtype;
  }
  return {
    epoch,
    metrics: metrics(c, o.metrics, `${where}.metrics`),
    ...(activations !== undefined ? { activations } : {}),
    ...(checkpoint !== undefined ? { checkpoint } : {}),
    ...(dtype !== undefined ? { dtype } : {}),
  };
}

/** Parses and validates manifest text; `file` names the manifest in errors. */
export function parseManifest(text: string, file: string): RunManifest {
  let json: Json;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CnnSlicerError('corrupt', `not valid JSON (${(err as Error).message})`, file);
  }
  return validateManifest(json, file);
}

export function validateManifest(json: Json, file: string): RunManifest {
  const c = new ManifestChecker(file);
  const o = c.object(json, 'manifest');
  if (o.format !== RUN_FORMAT_NAME) c.fail('format', `must be "${RUN_FORMAT_NAME}" (found ${JSON.stringify(o.format) ?? 'nothing'})`);
  const version = c.integer(o.version, 'version', 0);
  if (version !== RUN_FORMAT_VERSION) {
    throw new CnnSlicerError(
      'unsupported-version',
      `run format version ${version} is not supported by this CNNSlicer (it reads version ${RUN_FORMAT_VERSION})${version > RUN_FORMAT_VERSION ? '; update the extension' : ''}`,
      file,
    );
  }
  const model = c.object(o.model ?? {}, 'model');
  const layers = c.array(o.layers, 'layers').map((l, i) => layerInfo(c, l, `layers[${i}]`));
  if (layers.length === 0) c.fail('layers', 'must list at least one layer');
  const seen = new Set<string>();
  for (const l of layers) {
    if (seen.has(l.name)) c.fail('layers', `layer name "${l.name}" appears twice`);
    seen.add(l.name);
  }
  const classes = c.array(o.classes, 'classes').map((x, i) => c.string(x, `classes[${i}]`));
  if (classes.length === 0) c.fail('classes', 'must list at least one class');
  const p = c.object(o.probe, 'probe');
  const probe = {
    file: c.path(p.file, 'probe.file'),
    count: c.integer(p.count, 'probe.count', 1),
    inputShape: c.shape(p.inputShape, 'probe.inputShape'),
    ...(p.description !== undefined ? { description: c.string(p.description, 'probe.description') } : {}),
  };
  const epochs = c.array(o.epochs, 'epochs').map((e, i) => epochEntry(c, e, `epochs[${i}]`));
  for (let i = 1; i < epochs.length; i++) {
    if (epochs[i].epoch <= epochs[i - 1].epoch) c.fail(`epochs[${i}].epoch`, `epochs must strictly increase (${epochs[i - 1].epoch} then ${epochs[i].epoch})`);
  }
  if (o.complete !== undefined && typeof o.complete !== 'boolean') c.fail('complete', 'must be true or false');
  const name = c.optionalString(o.name, 'name');
  const createdAt = c.optionalString(o.createdAt, 'createdAt');
  return {
    format: RUN_FORMAT_NAME,
    version,
    ...(name !== undefined ? { name } : {}),
    ...(createdAt !== undefined ? { createdAt } : {}),
    model: {
      ...(model.name !== undefined ? { name: c.string(model.name, 'model.name') } : {}),
      ...(model.framework !== undefined ? { framework: c.string(model.framework, 'model.framework') } : {}),
    },
    layers,
    classes,
    probe,
    epochs,
    ...(o.complete !== undefined ? { complete: o.complete as boolean } : {}),
  };
}

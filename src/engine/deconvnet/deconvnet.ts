// The deconvnet query: one channel of one layer at one checkpoint epoch, projected back to input
// space for a few probe samples (docs/deconvnet.md).
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { DECONVNET_MAX_SAMPLES, type DeconvnetResult } from '../../shared/deconvnet';
import type { SampleSelection } from '../../shared/engineProtocol';
import { CnnSlicerError } from '../../shared/errors';
import { LOGITS_NAME, MANIFEST_FILE } from '../../shared/runFormat';
import { createSession, makeTensor } from '../onnx/ortRuntime';
import type { RunReader } from '../run/runReader';
import { resolveInsideRun } from '../../core/run/runPaths';
import { planDeconvnet, type DeconvnetPlan } from './analyzeGraph';
import { buildDeconvnetModel, channelShape, DECONV_CHANNEL_MAX, DECONV_MASK, DECONV_PROJECTION, DECONV_TARGET, switchesInput } from './buildGraph';
import { buildForwardModel } from './forwardModel';

export interface DeconvnetQuery {
  readonly layer: string;
  readonly channel: number;
  readonly epoch: number;
  readonly samples: SampleSelection;
}

export interface DeconvnetContext {
  readonly signal?: AbortSignal;
  readonly onProgress?: (done: number, total: number) => void;
}

function product(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

function fmt(dims: readonly number[]): string {
  return `[${dims.join(', ')}]`;
}

// --- Sessions ----------------------------------------------------------------------------------
// Two graphs per (checkpoint, layer): the forward pass (the checkpoint's own graph cut down to the
// layer, with the switches as outputs) and the backward pass (buildGraph.ts). They are separate
// because the forward nodes keep the checkpoint's opset while the backward graph needs opset 17's
// operators. The channel is an input of the backward graph, so clicking through the channels of a
// layer runs the same sessions. Entries are validated by the checkpoint's mtime and size, so a
// checkpoint rewritten in place is read again.

interface Built {
  readonly plan: DeconvnetPlan;
  readonly forward: InferenceSession;
  readonly backward: InferenceSession;
}

async function releaseBuilt(b: Built): Promise<void> {
  await Promise.all([b.forward.release(), b.backward.release()]);
}

interface CacheEntry {
  readonly key: string;
  readonly mtimeMs: number;
  readonly size: number;
  readonly built: Promise<Built>;
  /** Requests using the session; an evicted session is released when this drops to 0. */
  users: number;
  evicted: boolean;
}

// A few layers of one epoch, or one layer of two epochs being compared.
const CACHE_SIZE = 4;
// Insertion order is recency order.
const cache = new Map<string, CacheEntry>();

function releaseIfIdle(entry: CacheEntry): Promise<void> {
  if (!entry.evicted || entry.users > 0) return Promise.resolve();
  return entry.built.then(releaseBuilt).catch(() => undefined);
}

function evict(entry: CacheEntry): Promise<void> {
  if (cache.get(entry.key) === entry) cache.delete(entry.key);
  entry.evicted = true;
  return releaseIfIdle(entry);
}

async function build(modelPath: string, layer: string, inputShape: readonly number[], recorded: readonly string[]): Promise<Built> {
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(modelPath);
  } catch (err) {
    throw new CnnSlicerError('model-error', `cannot read the checkpoint model: ${(err as Error).message}`, modelPath);
  }
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new CnnSlicerError('model-error', `the checkpoint is not an ONNX model: ${(err as Error).message}`, modelPath);
  }
  const plan = planDeconvnet(model, layer, inputShape, modelPath, recorded);
  const forward = await createSession(buildForwardModel(model, plan), modelPath);
  try {
    return { plan, forward, backward: await createSession(buildDeconvnetModel(plan), modelPath) };
  } catch (err) {
    await forward.release();
    throw err;
  }
}

async function acquire(modelPath: string, layer: string, inputShape: readonly number[], recorded: readonly string[]): Promise<CacheEntry> {
  let st;
  try {
    st = await fs.stat(modelPath);
  } catch (err) {
    throw new CnnSlicerError('not-found', `the checkpoint model cannot be read: ${(err as Error).message}`, modelPath);
  }
  const key = `${modelPath}\0${layer}\0${inputShape.join(',')}`;
  let entry = cache.get(key);
  if (entry !== undefined && (entry.mtimeMs !== st.mtimeMs || entry.size !== st.size)) {
    void evict(entry);
    entry = undefined;
  }
  if (entry === undefined) {
    const created: CacheEntry = { key, mtimeMs: st.mtimeMs, size: st.size, built: build(modelPath, layer, inputShape, recorded), users: 0, evicted: false };
    entry = created;
    // A graph that cannot be built must not stay cached: the checkpoint may be replaced.
    created.built.catch(() => evict(created));
    while (cache.size >= CACHE_SIZE) void evict(cache.values().next().value as CacheEntry);
  } else {
    cache.delete(key);
  }
  cache.set(key, entry);
  entry.users++;
  return entry;
}

function release(entry: CacheEntry): void {
  entry.users--;
  void releaseIfIdle(entry);
}

/** Releases every cached deconvnet session; one in use is released when its request ends. */
export async function disposeDeconvnetSessions(): Promise<void> {
  await Promise.all([...cache.values()].map(evict));
}

// --- The query -----------------------------------------------------------------------------------

function runFailed(err: unknown, modelPath: string): CnnSlicerError {
  return new CnnSlicerError('model-error', `running the deconvnet failed: ${err instanceof Error ? err.message : String(err)}`, modelPath);
}

/** The forward pass (the layer and the switches), then the backward pass; the forward tensors are disposed before returning. */
async function runPasses(built: Built, input: Tensor, mask: Tensor, modelPath: string): Promise<InferenceSession.ReturnType> {
  const { plan, forward, backward } = built;
  const pools = plan.steps.flatMap((s, k) => (s.kind === 'maxpool' ? [{ k, name: s.switches }] : []));
  let fwd: InferenceSession.ReturnType;
  try {
    fwd = await forward.run({ [plan.input]: input }, [plan.layer, ...pools.map((p) => p.name)]);
  } catch (err) {
    throw runFailed(err, modelPath);
  }
  try {
    const target = fwd[plan.layer] as Tensor;
    const n = input.dims[0];
    // The path's static shapes assumed every Add on it kept its main input's shape; the layer's
    // real shape says whether that held.
    if (target.dims.length !== plan.outShape.length + 1 || target.dims.some((d, i) => d !== (i === 0 ? n : plan.outShape[i - 1]))) {
      throw new CnnSlicerError(
        'model-error',
        `the checkpoint computes layer "${plan.layer}" with shape ${fmt(target.dims.slice(1))}, the deconvnet's path back gives ${fmt(plan.outShape)} (an operator on it broadcasts to a larger shape)`,
        modelPath,
      );
    }
    const feeds: Record<string, Tensor> = { [DECONV_TARGET]: target, [DECONV_MASK]: mask };
    for (const p of pools) feeds[switchesInput(p.k)] = fwd[p.name] as Tensor;
    try {
      return await backward.run(feeds, [DECONV_PROJECTION, DECONV_CHANNEL_MAX]);
    } catch (err) {
      throw runFailed(err, modelPath);
    }
  } finally {
    for (const t of Object.values(fwd)) t.dispose();
  }
}

function cancelled(): CnnSlicerError {
  return new CnnSlicerError('cancelled', 'the deconvnet request was cancelled');
}

/**
 * Projects channel `channel` of `layer` back to input space for the selected probe samples (the
 * first DECONVNET_MAX_SAMPLES of them), with the weights of the epoch's checkpoint.
 */
export async function deconvnet(reader: RunReader, query: DeconvnetQuery, ctx: DeconvnetContext = {}): Promise<DeconvnetResult> {
  const { layer, channel, epoch } = query;
  const manifest = reader.manifest;
  if (layer === 'input' || layer === LOGITS_NAME) {
    throw new CnnSlicerError(
      'bad-request',
      `deconvnet projects a recorded layer's channel onto the input; "${layer}" is not a recorded layer (layers: ${manifest.layers.map((l) => l.name).join(', ')})`,
    );
  }
  const info = manifest.layers.find((l) => l.name === layer);
  if (!info) throw new CnnSlicerError('bad-request', `layer "${layer}" is not in the run (layers: ${manifest.layers.map((l) => l.name).join(', ')})`);
  if (!Number.isInteger(channel) || channel < 0 || channel >= info.shape[0]) {
    throw new CnnSlicerError('bad-request', `channel ${channel} does not exist in "${layer}" (it has ${info.shape[0]})`);
  }
  const entry = reader.epochEntry(epoch);
  if (entry.checkpoint === undefined) {
    throw new CnnSlicerError('bad-request', `epoch ${epoch} has no checkpoint; deconvnet needs the model's weights (store="checkpoint" or "both")`);
  }
  const selected = await reader.resolveSamples(query.samples);
  const rows = selected.slice(0, DECONVNET_MAX_SAMPLES);
  const inputShape = manifest.probe.inputShape;
  const n = rows.length;

  const dir = reader.info.dir;
  const modelPath = await resolveInsideRun(await fs.realpath(dir), entry.checkpoint, path.join(dir, MANIFEST_FILE));
  if (ctx.signal?.aborted) throw cancelled();
  const cached = await acquire(
    modelPath,
    layer,
    inputShape,
    manifest.layers.map((l) => l.name),
  );
  try {
    const { plan } = await cached.built;
    if (plan.outShape.length !== info.shape.length || plan.outShape.some((d, i) => d !== info.shape[i])) {
      throw new CnnSlicerError(
        'model-error',
        `the checkpoint computes layer "${layer}" with shape ${fmt(plan.outShape)}, the manifest says ${fmt(info.shape)}`,
        modelPath,
      );
    }
    const result = (images: Float32Array, activation: Float32Array): DeconvnetResult => ({
      layer,
      channel,
      epoch,
      sampleIndices: rows,
      selectedCount: selected.length,
      shape: [n, ...inputShape],
      images,
      activation,
    });
    if (n === 0) return result(new Float32Array(0), new Float32Array(0));

    const inputs = await reader.probeInputs(Array.from(rows));
    if (ctx.signal?.aborted) throw cancelled();
    const channels = plan.outShape[0];
    const mask = new Float32Array(channels);
    mask[channel] = 1;
    const out = await runPasses(await cached.built, makeTensor(inputs, [n, ...inputShape]), makeTensor(mask, channelShape(plan.outShape)), modelPath);
    const projection = out[DECONV_PROJECTION] as Tensor;
    const channelMax = out[DECONV_CHANNEL_MAX] as Tensor;
    try {
      const images = projection.data as Float32Array;
      const maxes = channelMax.data as Float32Array;
      if (images.length !== n * product(inputShape) || maxes.length !== n * channels) {
        throw new CnnSlicerError(
          'internal',
          `the deconvnet returned shapes ${fmt(projection.dims)} and ${fmt(channelMax.dims)} for ${n} samples of ${fmt(inputShape)}`,
          modelPath,
        );
      }
      const activation = new Float32Array(n);
      for (let s = 0; s < n; s++) activation[s] = maxes[s * channels + channel];
      ctx.onProgress?.(n, n);
      // A copy: the tensor's buffer belongs to onnxruntime once it is disposed.
      return result(new Float32Array(images), activation);
    } finally {
      projection.dispose();
      channelMax.dispose();
    }
  } finally {
    release(cached);
  }
}

// Matrix-based Rényi information over slices of a run (issue 16): between two representations,
// the layer × layer matrix of an epoch, and the information plane I(X; T), I(T; Y) of every
// recorded layer T at every epoch. A representation is a recorded layer, the probe inputs
// (`input`, X) or the probe labels (`labels`, Y); each becomes a normalised Gram matrix
// (estimators/renyiEntropy.ts), and every entropy is computed once per query and reused by the
// joint entropies that need it. Results are cached on disk like the other measures, keyed by the
// estimator's parameters and the content of the files they read.
import { availableParallelism } from 'node:os';
import { CnnSlicerError } from '../../shared/errors';
import {
  INPUT_REPRESENTATION,
  LABELS_REPRESENTATION,
  type InfoPlaneEpoch,
  type InformationMatrixResult,
  type LayerInformationResult,
} from '../../shared/information';
import type { EpochSelection, EstimatorParams, MeasureSeries } from '../../shared/measures';
import type { SampleSelection } from '../../shared/sampleSelection';
import { resolveEstimatorParams } from '../estimators';
import { isApproximate, labelGram, normalizeTrace, renyiEntropy, renyiGram, renyiJoint } from '../estimators/renyiEntropy';
import { renyiThreadCount, representationEntropies, startRenyiPool, type RenyiPool } from '../compute/renyiThreads';
import { threadsFromEnvironment } from '../compute/threads';
import type { RunReader } from '../run/runReader';
import { cachedValue, selectEpochs, series, throwIfCancelled, type MeasureContext } from './measures';

/** A representation of the query's samples: its normalised Gram matrix, σ, and S_α once computed. */
interface Representation {
  readonly name: string;
  readonly gram: Float64Array;
  readonly sigma: number;
  entropy?: number;
}

/** The estimator parameters a Rényi result depends on: its cache key's part. */
function renyiKey(params: EstimatorParams): Record<string, unknown> {
  return {
    alpha: params.renyiAlpha,
    sigma: params.renyiSigma,
    sigmaValue: params.renyiSigmaValue,
    exactMax: params.renyiExactMax,
    version: RENYI_RESULTS_VERSION,
  };
}

/**
 * Bumped when a Rényi result can change for the same input and parameters, without touching
 * ESTIMATOR_VERSION (which would throw away every other measure's cached results). 2: the
 * eigenvalue reduction no longer turns subnormal kernel entries into NaN (Silverman's σ).
 */
const RENYI_RESULTS_VERSION = 2;

/** The names a representation may have: `input`, `labels` or a recorded layer. */
function checkRepresentation(reader: RunReader, name: string): void {
  if (name === INPUT_REPRESENTATION || name === LABELS_REPRESENTATION) return;
  if (!reader.manifest.layers.some((l) => l.name === name))
    throw new CnnSlicerError(
      'bad-request',
      `"${name}" is not a representation of the run: "input", "labels" or a recorded layer (${reader.manifest.layers.map((l) => l.name).join(', ')})`,
    );
}

/** The layers whose files a representation reads (the labels sit with the inputs in the probe file). */
function dependencyLayers(names: readonly string[]): string[] {
  return [...new Set(names.map((n) => (n === LABELS_REPRESENTATION ? INPUT_REPRESENTATION : n)))];
}

/** Builds and keeps the representations of one query's samples at one epoch. */
class Representations {
  private readonly built = new Map<string, Representation>();

  constructor(
    private readonly reader: RunReader,
    private readonly samples: SampleSelection,
    private readonly epoch: number,
    private readonly params: EstimatorParams,
    private readonly signal: AbortSignal | undefined,
    /** The inputs and labels do not change with the epoch: a query over epochs shares them. */
    private readonly shared: Map<string, Representation>,
  ) {}

  /** The number of samples, n. */
  n = 0;

  async get(name: string): Promise<Representation> {
    const constant = name === INPUT_REPRESENTATION || name === LABELS_REPRESENTATION;
    const known = (constant ? this.shared : this.built).get(name);
    if (known !== undefined) {
      this.n = Math.sqrt(known.gram.length);
      return known;
    }
    throwIfCancelled(this.signal);
    let rep: Representation;
    if (name === LABELS_REPRESENTATION) {
      const all = await this.reader.labels();
      // The selection's samples in its order, as every slice of it resolves them.
      const indices = await this.reader.resolveSamples(this.samples);
      rep = { name, gram: normalizeTrace(labelGram(Array.from(indices, (i) => all[i])), indices.length), sigma: NaN };
    } else {
      const slice = await this.reader.slice({ samples: this.samples, layer: name, channel: 'all', epoch: this.epoch }, { signal: this.signal });
      const n = slice.sampleIndices.length;
      if (n < 2) throw new CnnSlicerError('bad-request', `matrix-based Rényi entropy needs at least 2 samples; the slice has ${n}`);
      const d = slice.data.length / n;
      const { gram, sigma } = renyiGram(slice.data, n, d, this.params);
      rep = { name, gram, sigma };
    }
    (constant ? this.shared : this.built).set(name, rep);
    this.n = Math.sqrt(rep.gram.length);
    return rep;
  }

  async entropy(name: string): Promise<number> {
    const rep = await this.get(name);
    const entropy = rep.entropy ?? renyiEntropy(rep.gram, this.n, this.params.renyiAlpha, this.params.renyiExactMax);
    rep.entropy = entropy;
    return entropy;
  }

  /** S_α(A), S_α(B), S_α(A, B), I_α(A; B). */
  async information(a: string, b: string): Promise<{ entropyA: number; entropyB: number; jointEntropy: number; information: number }> {
    const entropyA = await this.entropy(a);
    const entropyB = await this.entropy(b);
    const ra = await this.get(a);
    const rb = await this.get(b);
    throwIfCancelled(this.signal);
    const jointEntropy = renyiJoint(ra.gram, rb.gram, this.n, this.params.renyiAlpha, this.params.renyiExactMax);
    return { entropyA, entropyB, jointEntropy, information: entropyA + entropyB - jointEntropy };
  }

  approximate(): boolean {
    return isApproximate(this.n, this.params.renyiExactMax, this.params.renyiAlpha);
  }
}

/** I_α between two representations of the same samples (§4.3's information between layers, with this estimator), per epoch. */
export async function layerInformationOf(
  reader: RunReader,
  query: { samples: SampleSelection; layerA: string; layerB: string; epoch: EpochSelection; params?: Partial<EstimatorParams> },
  ctx: MeasureContext = {},
): Promise<MeasureSeries<LayerInformationResult>> {
  const params = resolveEstimatorParams(query.params);
  checkRepresentation(reader, query.layerA);
  checkRepresentation(reader, query.layerB);
  const shared = new Map<string, Representation>();
  const key = { layerA: query.layerA, layerB: query.layerB, samples: query.samples, ...renyiKey(params) };
  return series(reader, selectEpochs(reader, query.epoch), ctx, params, (epoch) =>
    cachedValue(ctx, reader, 'renyiInformation', { ...key, epoch }, dependencyLayers([query.layerA, query.layerB]), epoch, async () => {
      const reps = new Representations(reader, query.samples, epoch, params, ctx.signal, shared);
      const info = await reps.information(query.layerA, query.layerB);
      const result: LayerInformationResult = {
        layerA: query.layerA,
        layerB: query.layerB,
        epoch,
        n: reps.n,
        sigmaA: (await reps.get(query.layerA)).sigma,
        sigmaB: (await reps.get(query.layerB)).sigma,
        ...info,
        approximate: reps.approximate(),
      };
      return result;
    }),
  );
}

/** Every representation of the run in the model's order: the inputs, the recorded layers, the labels. */
function allRepresentations(reader: RunReader): string[] {
  return [INPUT_REPRESENTATION, ...reader.manifest.layers.map((l) => l.name), LABELS_REPRESENTATION];
}

/** The k × k matrix of I_α between representations at one epoch; the diagonal holds each one's S_α. */
export async function informationMatrixOf(
  reader: RunReader,
  query: { samples: SampleSelection; epoch: number; layers?: readonly string[]; params?: Partial<EstimatorParams> },
  ctx: MeasureContext = {},
): Promise<InformationMatrixResult> {
  const params = resolveEstimatorParams(query.params);
  const [epoch] = selectEpochs(reader, query.epoch);
  const layers = query.layers !== undefined && query.layers.length > 0 ? [...query.layers] : allRepresentations(reader);
  for (const l of layers) checkRepresentation(reader, l);
  const key = { layers, samples: query.samples, epoch, ...renyiKey(params) };
  const { value } = await cachedValue(ctx, reader, 'renyiInformationMatrix', key, dependencyLayers(layers), epoch, async () => {
    const reps = new Representations(reader, query.samples, epoch, params, ctx.signal, new Map());
    const k = layers.length;
    const information = new Float64Array(k * k);
    const sigmas = new Float64Array(k);
    const pairs = (k * (k + 1)) / 2;
    let done = 0;
    for (let i = 0; i < k; i++) {
      sigmas[i] = (await reps.get(layers[i])).sigma;
      information[i * k + i] = await reps.entropy(layers[i]);
      ctx.onProgress?.(++done, pairs, layers[i]);
    }
    for (let i = 0; i < k; i++)
      for (let j = i + 1; j < k; j++) {
        const v = (await reps.information(layers[i], layers[j])).information;
        information[i * k + j] = v;
        information[j * k + i] = v;
        ctx.onProgress?.(++done, pairs, `${layers[i]} × ${layers[j]}`);
      }
    const result: Omit<InformationMatrixResult, 'params'> = { epoch, n: reps.n, layers, information, sigmas, approximate: reps.approximate() };
    return result;
  });
  return { ...value, params };
}

/** A point's cached value: I(X; T), I(T; Y), the samples and whether the eigenvalue sums were estimated. */
interface PlaneValue {
  readonly IXT: number;
  readonly ITY: number;
  readonly n: number;
  readonly approximate: boolean;
}

/**
 * The points of one information plane query. The inputs' and labels' matrices and entropies, and
 * the inputs' own point, do not change with the epoch: they are computed once, on the calling
 * thread, when the first point needs them. Each layer's point takes its slice and, on a worker
 * thread where there are several (compute/renyiThreads.ts), its Gram matrix, σ, S(T), S(X, T) and
 * S(T, Y); at most one layer per thread is in memory at a time.
 */
class PlanePoints {
  private setup: Promise<{ x: Representation; y: Representation; sx: number; sy: number; slots: number }> | undefined;
  private inputPoint: Promise<PlaneValue> | undefined;
  private pool: RenyiPool | undefined;
  private busy = 0;
  private readonly waiting: (() => void)[] = [];
  private stopped = false;

  constructor(
    private readonly reader: RunReader,
    private readonly samples: SampleSelection,
    private readonly params: EstimatorParams,
    private readonly signal: AbortSignal | undefined,
    private readonly threads: number | undefined,
  ) {}

  private prepare(epoch: number): Promise<{ x: Representation; y: Representation; sx: number; sy: number; slots: number }> {
    this.setup ??= (async () => {
      const reps = new Representations(this.reader, this.samples, epoch, this.params, this.signal, new Map());
      const x = await reps.get(INPUT_REPRESENTATION);
      const y = await reps.get(LABELS_REPRESENTATION);
      const threads = renyiThreadCount(reps.n, this.threads);
      if (threads > 1) this.pool = startRenyiPool(threads, reps.n, this.params, [x.gram, y.gram]);
      // The workers start on the inputs' and labels' matrices while this thread takes their entropies.
      const sx = await reps.entropy(INPUT_REPRESENTATION);
      const sy = await reps.entropy(LABELS_REPRESENTATION);
      return { x, y, sx, sy, slots: this.pool?.threads ?? 1 };
    })();
    return this.setup;
  }

  /** I(X; T) and I(T; Y) of `layer` (`input` or a recorded layer) at `epoch`. */
  async point(layer: string, epoch: number): Promise<PlaneValue> {
    const { x, y, sx, sy, slots } = await this.prepare(epoch);
    const n = Math.sqrt(x.gram.length);
    const approximate = isApproximate(n, this.params.renyiExactMax, this.params.renyiAlpha);
    const { renyiAlpha: alpha, renyiExactMax: exactMax } = this.params;
    if (layer === INPUT_REPRESENTATION) {
      this.inputPoint ??= Promise.resolve().then(() => ({
        IXT: sx + sx - renyiJoint(x.gram, x.gram, n, alpha, exactMax),
        ITY: sx + sy - renyiJoint(x.gram, y.gram, n, alpha, exactMax),
        n,
        approximate,
      }));
      return this.inputPoint;
    }
    // One layer per thread at a time: its slice is read only once a thread is free for it.
    while (this.busy >= slots && !this.stopped) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.busy++;
    try {
      throwIfCancelled(this.signal);
      if (this.stopped) throw new CnnSlicerError('cancelled', 'another point of the information plane failed');
      const slice = await this.reader.slice({ samples: this.samples, layer, channel: 'all', epoch }, { signal: this.signal });
      if (slice.sampleIndices.length !== n)
        throw new CnnSlicerError('internal', `"${layer}" has ${slice.sampleIndices.length} samples at epoch ${epoch}, the inputs ${n}`);
      const d = slice.data.length / n;
      const t = this.pool !== undefined ? await this.pool.run(slice.data, d) : representationEntropies(slice.data, n, d, this.params, [x.gram, y.gram]);
      const [sxt, sty] = t.joints;
      return { IXT: sx + t.entropy - sxt, ITY: t.entropy + sy - sty, n, approximate };
    } finally {
      this.busy--;
      this.waiting.shift()?.();
    }
  }

  /** Lets no waiting point start: another one failed. */
  stop(): void {
    this.stopped = true;
    for (const wake of this.waiting.splice(0)) wake();
  }

  async close(): Promise<void> {
    await this.pool?.close();
  }
}

/**
 * The information plane: for the inputs and every recorded layer T, I(X; T) and I(T; Y) at each
 * epoch asked for. One cached item per (epoch, layer); X and Y are built once for all epochs. The
 * points are computed in the order of the epochs and the layers, several at once on several
 * threads (`threads`: default CNNSLICER_THREADS, else every core for 256 samples or more).
 */
export async function infoPlaneOf(
  reader: RunReader,
  query: { samples: SampleSelection; epoch: EpochSelection; params?: Partial<EstimatorParams>; epochs?: readonly number[]; threads?: number },
  ctx: MeasureContext = {},
): Promise<MeasureSeries<InfoPlaneEpoch>> {
  const params = resolveEstimatorParams(query.params);
  if (query.threads !== undefined && !(Number.isInteger(query.threads) && query.threads >= 1))
    throw new CnnSlicerError('bad-request', `information plane: threads must be a positive integer, not ${query.threads}`);
  // The CLI's --epochs: several epochs, each checked against the run.
  const epochs = query.epochs !== undefined ? query.epochs.flatMap((e) => selectEpochs(reader, e)) : selectEpochs(reader, query.epoch);
  const rows = [INPUT_REPRESENTATION, ...reader.manifest.layers.map((l) => l.name)];
  const key = { samples: query.samples, ...renyiKey(params) };
  const threads = query.threads ?? threadsFromEnvironment();
  const points = new PlanePoints(reader, query.samples, params, ctx.signal, threads);
  const tasks = epochs.flatMap((epoch, e) => rows.map((layer, depth) => ({ e, epoch, layer, depth })));
  const values: { value: PlaneValue; cached: boolean }[] = [];
  const doneRows = epochs.map(() => 0);
  let next = 0;
  let failed = false;
  let failure: unknown;
  const runner = async (): Promise<void> => {
    while (!failed && next < tasks.length) {
      const task = tasks[next++];
      throwIfCancelled(ctx.signal);
      const { epoch, layer } = task;
      const deps = dependencyLayers([layer, INPUT_REPRESENTATION]);
      values[task.e * rows.length + task.depth] = await cachedValue(ctx, reader, 'renyiInfoPlanePoint', { ...key, layer, epoch }, deps, epoch, () =>
        points.point(layer, epoch),
      );
      doneRows[task.e]++;
      const current = doneRows.findIndex((done) => done < rows.length);
      const done = doneRows.reduce((sum, r) => sum + r / rows.length, 0);
      ctx.onProgress?.(done, epochs.length, `epoch ${epochs[current === -1 ? epochs.length - 1 : current]}`);
    }
  };
  if (epochs.length > 0) ctx.onProgress?.(0, epochs.length, `epoch ${epochs[0]}`);
  const runners = Array.from({ length: Math.max(1, Math.min(tasks.length, threads ?? availableParallelism())) }, () =>
    runner().catch((err: unknown) => {
      // The first failure is the one reported; the points it stops fail after it.
      if (!failed) failure = err;
      failed = true;
      points.stop();
    }),
  );
  await Promise.all(runners);
  await points.close();
  if (failed) throw failure;
  ctx.onProgress?.(epochs.length, epochs.length);
  const items = epochs.map((epoch, e): InfoPlaneEpoch => {
    const row = values.slice(e * rows.length, (e + 1) * rows.length);
    const n = row[0]?.value.n ?? 0;
    return {
      epoch,
      n,
      points: row.map(({ value }, depth) => ({ epoch, layer: rows[depth], depth, IXT: value.IXT, ITY: value.ITY })),
      approximate: isApproximate(n, params.renyiExactMax, params.renyiAlpha),
    };
  });
  return { items, params, cached: epochs.filter((_, e) => values.slice(e * rows.length, (e + 1) * rows.length).every((v) => v.cached)).length };
}

// Matrix-based Rényi information over slices of a run (issue 16): between two representations,
// the layer × layer matrix of an epoch, and the information plane I(X; T), I(T; Y) of every
// recorded layer T at every epoch. A representation is a recorded layer, the probe inputs
// (`input`, X) or the probe labels (`labels`, Y); each becomes a normalised Gram matrix
// (estimators/renyiEntropy.ts), and every entropy is computed once per query and reused by the
// joint entropies that need it. Results are cached on disk like the other measures, keyed by the
// estimator's parameters and the content of the files they read.
import { CnnSlicerError } from '../../shared/errors';
import {
  INPUT_REPRESENTATION,
  LABELS_REPRESENTATION,
  type InfoPlaneEpoch,
  type InfoPlanePoint,
  type InformationMatrixResult,
  type LayerInformationResult,
} from '../../shared/information';
import type { EpochSelection, EstimatorParams, MeasureSeries } from '../../shared/measures';
import type { SampleSelection } from '../../shared/sampleSelection';
import { resolveEstimatorParams } from '../estimators';
import { isApproximate, labelGram, normalizeTrace, renyiEntropy, renyiGram, renyiJoint } from '../estimators/renyiEntropy';
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
  return { alpha: params.renyiAlpha, sigma: params.renyiSigma, sigmaValue: params.renyiSigmaValue, exactMax: params.renyiExactMax };
}

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
  private labelsOf: Int32Array | undefined;

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
      // The selection's samples, in its order: read off the input slice, which also fixes n.
      const indices = (
        await this.reader.slice({ samples: this.samples, layer: INPUT_REPRESENTATION, channel: 'all', epoch: this.epoch }, { signal: this.signal })
      ).sampleIndices;
      this.labelsOf = Int32Array.from(indices, (i) => all[i]);
      rep = { name, gram: normalizeTrace(labelGram(this.labelsOf), indices.length), sigma: NaN };
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

  /** Drops a layer's matrices: the information plane walks the layers one at a time (n × n float64 each). */
  forget(name: string): void {
    this.built.delete(name);
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

/**
 * The information plane: for the inputs and every recorded layer T, I(X; T) and I(T; Y) at each
 * epoch asked for. One cached item per (epoch, layer); X and Y are built once for all epochs.
 */
export async function infoPlaneOf(
  reader: RunReader,
  query: { samples: SampleSelection; epoch: EpochSelection; params?: Partial<EstimatorParams>; epochs?: readonly number[] },
  ctx: MeasureContext = {},
): Promise<MeasureSeries<InfoPlaneEpoch>> {
  const params = resolveEstimatorParams(query.params);
  // The CLI's --epochs: several epochs, each checked against the run.
  const epochs = query.epochs !== undefined ? query.epochs.flatMap((e) => selectEpochs(reader, e)) : selectEpochs(reader, query.epoch);
  const rows = [INPUT_REPRESENTATION, ...reader.manifest.layers.map((l) => l.name)];
  const shared = new Map<string, Representation>();
  const key = { samples: query.samples, ...renyiKey(params) };
  return series(reader, epochs, ctx, params, async (epoch, progress) => {
    const reps = new Representations(reader, query.samples, epoch, params, ctx.signal, shared);
    const points: InfoPlanePoint[] = [];
    let cachedAll = true;
    for (let depth = 0; depth < rows.length; depth++) {
      progress(depth, rows.length);
      const layer = rows[depth];
      const { value, cached } = await cachedValue(
        ctx,
        reader,
        'renyiInfoPlanePoint',
        { ...key, layer, epoch },
        dependencyLayers([layer, INPUT_REPRESENTATION]),
        epoch,
        async () => {
          const xt = await reps.information(INPUT_REPRESENTATION, layer);
          const ty = await reps.information(layer, LABELS_REPRESENTATION);
          return { IXT: xt.information, ITY: ty.information, n: reps.n, approximate: reps.approximate() };
        },
      );
      cachedAll &&= cached;
      points.push({ epoch, layer, depth, IXT: value.IXT, ITY: value.ITY });
      if (reps.n === 0) reps.n = value.n;
      // Anything computed for this layer is not needed by the next one.
      if (layer !== INPUT_REPRESENTATION) reps.forget(layer);
    }
    const n = reps.n;
    return { value: { epoch, n, points, approximate: isApproximate(n, params.renyiExactMax, params.renyiAlpha) }, cached: cachedAll };
  });
}

// The CLI's matrix-based Rényi commands (issue 16): `infoplane` (I(X; T) and I(T; Y) of the
// inputs and every recorded layer at every epoch) and `information` (I_α between two
// representations, or the matrix of them all at one epoch). The estimator is in
// src/engine/estimators/renyiEntropy.ts; its parameters and their defaults in docs/estimators.md.
import * as path from 'node:path';
import { CnnSlicerError } from '../shared/errors';
import type { InfoPlaneJson } from '../shared/information';
import type { EstimatorParams } from '../shared/measures';
import type { SampleSelection } from '../shared/sampleSelection';
import { writeFileAtomic } from '../core/run/atomicWrite';
import { infoPlaneOf, informationMatrixOf, layerInformationOf } from './analysis/information';
import { resolveEstimatorParams } from './estimators';
import { checkWritableFolder, epochOption, lastEpoch, list, nonNegativeInteger, openCaches, resolveClass, UsageError, withRun, type Args } from './cliArgs';
import { toJsonText } from './format/analysisSummary';
import type { RunReader } from './run/runReader';

/** --alpha A, --sigma median|silverman|<number>, --exact-max N, as estimator overrides checked by the engine's own validation. */
function renyiOverrides(args: Args): Partial<EstimatorParams> {
  const out: { -readonly [K in keyof EstimatorParams]?: EstimatorParams[K] } = {};
  const alpha = args.values.get('alpha');
  if (alpha !== undefined) {
    const v = Number(alpha);
    if (!(v > 0 && Number.isFinite(v))) throw new UsageError(`--alpha must be a number > 0, got "${alpha}"`);
    out.renyiAlpha = v;
  }
  const sigma = args.values.get('sigma');
  if (sigma !== undefined) {
    if (sigma === 'median' || sigma === 'silverman') out.renyiSigma = sigma;
    else {
      const v = Number(sigma);
      if (!(v > 0 && Number.isFinite(v))) throw new UsageError(`--sigma must be "median", "silverman" or a number > 0, got "${sigma}"`);
      out.renyiSigma = 'fixed';
      out.renyiSigmaValue = v;
    }
  }
  const exactMax = args.values.get('exact-max');
  if (exactMax !== undefined) out.renyiExactMax = nonNegativeInteger('exact-max', exactMax);
  try {
    resolveEstimatorParams(out);
  } catch (err) {
    if (err instanceof CnnSlicerError) throw new UsageError(err.message);
    throw err;
  }
  return out;
}

function samplesOf(args: Args, reader: RunReader): SampleSelection {
  const classText = args.values.get('class');
  return classText !== undefined ? { kind: 'class', classIndex: resolveClass(reader, classText) } : { kind: 'all' };
}

/** What --sigma asked for, as the JSON names it. */
function sigmaText(params: EstimatorParams): string | number {
  return params.renyiSigma === 'fixed' ? params.renyiSigmaValue : params.renyiSigma;
}

function bits(v: number): string {
  return Number.isFinite(v) ? v.toFixed(4) : String(v);
}

export async function infoplane(args: Args): Promise<void> {
  const overrides = renyiOverrides(args);
  const epochsText = args.values.get('epochs');
  const epochs = epochsText === undefined || epochsText === 'all' ? undefined : list('epochs', epochsText).map((e) => nonNegativeInteger('epochs', e));
  const jsonTarget = args.values.get('json');
  if (jsonTarget !== undefined && jsonTarget !== '-') await checkWritableFolder(path.resolve(jsonTarget));
  const caches = await openCaches(args);
  const out = await withRun(args, caches, async (reader, ctx) => {
    const samples = samplesOf(args, reader);
    const s = await infoPlaneOf(reader, { samples, epoch: 'all', params: overrides, ...(epochs !== undefined ? { epochs } : {}) }, ctx);
    const json: InfoPlaneJson = {
      estimator: 'renyi',
      alpha: s.params.renyiAlpha,
      sigma: sigmaText(s.params),
      n: s.items[0]?.n ?? 0,
      points: s.items.flatMap((e) => e.points.map((p) => ({ epoch: p.epoch, layer: p.layer, IXT: p.IXT, ITY: p.ITY }))),
    };
    if (jsonTarget !== undefined) return { json };
    const lines = [
      `Information plane of ${reader.info.name}: matrix-based Rényi entropy, α = ${s.params.renyiAlpha}, σ = ${sigmaText(s.params)}, n = ${json.n} samples${s.items.some((e) => e.approximate) ? ' (eigenvalues estimated: n above --exact-max)' : ''}; bits.`,
      ['epoch', 'layer', 'I(X;T)', 'I(T;Y)'].join('\t'),
      ...json.points.map((p) => [p.epoch, p.layer, bits(p.IXT), bits(p.ITY)].join('\t')),
    ];
    return { text: lines.join('\n') };
  });
  if (out.json !== undefined) {
    const text = toJsonText(out.json);
    if (jsonTarget === '-') process.stdout.write(text + '\n');
    else await writeFileAtomic(path.resolve(jsonTarget!), text + '\n');
    return;
  }
  process.stdout.write(out.text + '\n');
}

export async function information(args: Args): Promise<void> {
  const overrides = renyiOverrides(args);
  const from = args.values.get('from');
  const to = args.values.get('to');
  const matrix = args.flags.has('matrix');
  if (matrix && (from !== undefined || to !== undefined)) throw new UsageError('--matrix and --from/--to exclude each other');
  if (!matrix && (from === undefined || to === undefined)) throw new UsageError('information needs --from A --to B (layers, "input" or "labels"), or --matrix');
  const epochArg = epochOption(args);
  const caches = await openCaches(args);
  const out = await withRun(args, caches, async (reader, ctx) => {
    const samples = samplesOf(args, reader);
    if (matrix) {
      if (epochArg === 'all') throw new UsageError('--matrix needs one --epoch, not "all"');
      const epoch = epochArg ?? lastEpoch(reader);
      const m = await informationMatrixOf(reader, { samples, epoch, params: overrides }, ctx);
      if (args.flags.has('json')) return toJsonText({ estimator: 'renyi', ...m, information: Array.from(m.information), sigmas: Array.from(m.sigmas) });
      const k = m.layers.length;
      return [
        `I_α between representations at epoch ${m.epoch} (α = ${m.params.renyiAlpha}, σ = ${sigmaText(m.params)}, n = ${m.n}); the diagonal is S_α; bits.`,
        ['', ...m.layers].join('\t'),
        ...m.layers.map((l, i) => [l, ...Array.from({ length: k }, (_, j) => bits(m.information[i * k + j]))].join('\t')),
      ].join('\n');
    }
    const s = await layerInformationOf(reader, { samples, layerA: from!, layerB: to!, epoch: epochArg ?? 'all', params: overrides }, ctx);
    if (args.flags.has('json')) return toJsonText({ estimator: 'renyi', params: s.params, items: s.items });
    return [
      `I_α(${from}; ${to}), α = ${s.params.renyiAlpha}, σ = ${sigmaText(s.params)}; bits.`,
      ['epoch', 'n', `S(${from})`, `S(${to})`, 'S(joint)', 'I'].join('\t'),
      ...s.items.map((r) => [r.epoch, r.n, bits(r.entropyA), bits(r.entropyB), bits(r.jointEntropy), bits(r.information)].join('\t')),
    ].join('\n');
  });
  process.stdout.write(out + '\n');
}

// The decisions behind importing an ONNX model from the extension, free of `vscode` so they are
// unit-tested directly: what an Explorer selection stands for, where the run goes, and how the
// user's normalisation is read.
import * as path from 'node:path';
import { MANIFEST_FILE } from '../../shared/runFormat';

/** The folder under the workspace that Analyze Model's imports (and Train Model's runs) go to. */
export const RUNS_FOLDER = 'cnnslicer-runs';

/** What a file or folder handed to Analyze Model (from the Explorer) is. */
export type AnalyzeTarget =
  | { readonly kind: 'run'; readonly run: string }
  | { readonly kind: 'onnxFile'; readonly file: string }
  | { readonly kind: 'onnxFolder'; readonly folder: string }
  | { readonly kind: 'unsupported'; readonly path: string; readonly reason: string };

/** What is known of a path on disk, read by the caller. */
export interface PathFacts {
  readonly isDirectory: boolean;
  /** For a folder: its entries' names. */
  readonly entries?: readonly string[];
}

/**
 * A run folder or its manifest is opened as a run; an .onnx file or a folder holding .onnx files is
 * imported. A folder holding both a manifest and models is a run: that is what the user made of it.
 */
export function classifyTarget(p: string, facts: PathFacts): AnalyzeTarget {
  if (!facts.isDirectory) {
    if (path.basename(p) === MANIFEST_FILE) return { kind: 'run', run: p };
    if (path.extname(p).toLowerCase() === '.onnx') return { kind: 'onnxFile', file: p };
    return { kind: 'unsupported', path: p, reason: `is neither an .onnx model nor a run's ${MANIFEST_FILE}` };
  }
  const entries = facts.entries ?? [];
  if (entries.includes(MANIFEST_FILE)) return { kind: 'run', run: p };
  if (entries.some((e) => e.toLowerCase().endsWith('.onnx'))) return { kind: 'onnxFolder', folder: p };
  return { kind: 'unsupported', path: p, reason: `holds neither a CNNSlicer run (${MANIFEST_FILE}) nor .onnx checkpoints` };
}

/** The model's name as the run folder shows it: the file's name without .onnx, or the folder's name. */
export function modelName(modelPath: string): string {
  return path.basename(modelPath).replace(/\.onnx$/i, '');
}

/**
 * `<model name>-<YYYYMMDD-HHMMSS>` in local time: sorts by date, never collides with an earlier
 * import of the same model, and keeps to characters every file system accepts.
 */
export function importRunFolderName(modelPath: string, when: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  const stamp = `${when.getFullYear()}${two(when.getMonth() + 1)}${two(when.getDate())}-${two(when.getHours())}${two(when.getMinutes())}${two(when.getSeconds())}`;
  const name =
    modelName(modelPath)
      .replace(/[^A-Za-z0-9_.-]+/g, '_')
      .replace(/^[.]+/, '') || 'model';
  return `${name}-${stamp}`;
}

export interface Normalization {
  readonly mean: number[];
  readonly std: number[];
}

/** The normalisations models are commonly trained with, per dataset. */
export const NORMALIZATION_PRESETS = {
  mnist: { label: 'MNIST mean and std', mean: [0.1307], std: [0.3081] },
  cifar10: { label: 'CIFAR-10 mean and std', mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] },
  imagenet: { label: 'ImageNet mean and std', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  half: { label: 'mean 0.5, std 0.5 (pixels in [-1, 1])', mean: [0.5], std: [0.5] },
} as const;

/**
 * Reads "mean / std", each one number or one per channel separated by commas or spaces, e.g.
 * `0.1307 / 0.3081` or `0.4914, 0.4822, 0.4465 / 0.247, 0.2435, 0.2616`. Returns the values, or a
 * sentence saying what is wrong (shown under the input box as the user types).
 */
export function parseNormalization(text: string, channels?: number): Normalization | string {
  const halves = text.split('/');
  if (halves.length !== 2) return 'Write the mean, a slash, then the std, e.g. 0.1307 / 0.3081';
  const numbers = (s: string): number[] | undefined => {
    const parts = s.split(/[\s,]+/).filter((t) => t !== '');
    const values = parts.map(Number);
    return parts.length > 0 && values.every((v) => Number.isFinite(v)) ? values : undefined;
  };
  const mean = numbers(halves[0]);
  const std = numbers(halves[1]);
  if (mean === undefined) return 'The mean must be one number, or one per channel separated by commas';
  if (std === undefined) return 'The std must be one number, or one per channel separated by commas';
  if (std.some((v) => v <= 0)) return 'Every std must be greater than 0';
  for (const [name, values] of [
    ['mean', mean],
    ['std', std],
  ] as const) {
    if (channels !== undefined && values.length !== 1 && values.length !== channels)
      return `Give one ${name} or ${channels}, one per channel, not ${values.length}`;
  }
  return { mean, std };
}

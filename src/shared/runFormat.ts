// The on-disk run format (docs/run-format.md is the normative spec; keep the two in step).
// A run is one instance of the paper's hypercube dCNN(X, L, C, T): X = the probe set,
// L = the recorded layers, C = their channels, T = the finished epochs.

export const RUN_FORMAT_NAME = 'cnnslicer-run';
export const RUN_FORMAT_VERSION = 1;
/** The manifest's file name inside a run directory. Its presence is what makes a folder a run. */
export const MANIFEST_FILE = 'cnnslicer.json';
/** Suffix of files being written; they are renamed into place once complete. */
export const TEMP_SUFFIX = '.tmp';
/** Name of the logits tensor in an activations file and of the logits output of a checkpoint. */
export const LOGITS_NAME = 'logits';
/** Tensor names inside the probe file. */
export const PROBE_INPUTS_NAME = 'inputs';
export const PROBE_LABELS_NAME = 'labels';

/**
 * What a recorded layer does; the views group and colour layers by it. `block` is the output of a
 * composite module (a ResNet BasicBlock), a value added within format version 1.
 */
export type LayerKind = 'conv' | 'pool' | 'norm' | 'activation' | 'linear' | 'flatten' | 'dropout' | 'block' | 'other';
export const LAYER_KINDS: readonly LayerKind[] = ['conv', 'pool', 'norm', 'activation', 'linear', 'flatten', 'dropout', 'block', 'other'];

/** Where the module of a layer was constructed in the user's source, when the probe could tell. */
export interface SourceLocation {
  /** Absolute path, or a path relative to the run directory's parent workspace as the probe saw it. */
  readonly file: string;
  /** 1-based line number. */
  readonly line: number;
}

export interface LayerInfo {
  /** Unique within the run; for PyTorch the `named_modules` name, e.g. `features.0`. */
  readonly name: string;
  readonly kind: LayerKind;
  /** Output shape of one sample, without the batch dimension: [C, H, W] for maps, [F] for dense layers. */
  readonly shape: readonly number[];
  /** The framework's own type name (`Conv2d`, `MaxPool2d`, `Conv`…), shown as a detail. */
  readonly op?: string;
  readonly source?: SourceLocation;
}

export type TensorDType = 'float16' | 'float32';

export interface ProbeSet {
  /** Path of a safetensors file relative to the run directory, holding `inputs` (N×…) and `labels` (int64 N). */
  readonly file: string;
  /** N, the number of probe samples. */
  readonly count: number;
  /** Shape of one input sample, e.g. [1, 28, 28]. */
  readonly inputShape: readonly number[];
  /** Where the samples came from (dataset, split, how they were chosen). Free text. */
  readonly description?: string;
}

export interface EpochMetrics {
  readonly loss?: number;
  readonly accuracy?: number;
  readonly [name: string]: number | undefined;
}

export interface EpochEntry {
  /** 0 is the untrained model, as in the paper's figures; epochs need not be contiguous but are strictly increasing. */
  readonly epoch: number;
  readonly metrics: EpochMetrics;
  /** Safetensors file with one tensor per recorded layer (named as the layer) plus `logits`. */
  readonly activations?: string;
  /** ONNX model whose graph outputs are the recorded layers (named as the layers) and `logits`. */
  readonly checkpoint?: string;
  /** Element type of the activations file; float32 when absent. */
  readonly dtype?: TensorDType;
}

export interface RunManifest {
  readonly format: typeof RUN_FORMAT_NAME;
  readonly version: number;
  /** Human name of the run (defaults to the folder name). */
  readonly name?: string;
  readonly createdAt?: string;
  readonly model: { readonly name?: string; readonly framework?: string };
  readonly layers: readonly LayerInfo[];
  readonly classes: readonly string[];
  readonly probe: ProbeSet;
  readonly epochs: readonly EpochEntry[];
  /** True once the writer has finished the run; absent or false while training may still add epochs. */
  readonly complete?: boolean;
}

/** The engine's view of a run: the validated manifest plus what it saw on disk around it. */
export interface RunInfo {
  /** Absolute path of the run directory. */
  readonly dir: string;
  readonly name: string;
  readonly manifest: RunManifest;
  /** Epochs whose files exist on disk but are not (yet) named by the manifest: being written. */
  readonly incompleteEpochs: readonly number[];
}

// Which training engine Train Model uses: what each engine offers on this machine, described for
// the quick pick, and what `auto` picks. No `vscode` import: unit-tested.
import type { TorchStatus } from './pythonInterpreter';

/** The TF.js backends, as tfjsEngine.ts names them (kept structurally identical to its TfjsBackend). */
export type TfjsBackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';

/** What the TF.js engine offers, or why it cannot be used. */
export type TfjsStatus =
  | {
      readonly ok: true;
      readonly backends: readonly TfjsBackendName[];
      readonly best: TfjsBackendName;
      readonly native: boolean;
      readonly notes: readonly string[];
    }
  | { readonly ok: false; readonly problem: string };

export type EngineSetting = 'auto' | 'pytorch' | 'tfjs';

/** A concrete engine: where the model will train. */
export type EngineChoice = { readonly engine: 'pytorch'; readonly device: 'cuda' | 'cpu' } | { readonly engine: 'tfjs'; readonly backend: TfjsBackendName };

/**
 * `auto`'s order, fastest first: a GPU before any CPU path, PyTorch before TF.js on the same
 * device, the pure-JS backends last (an epoch of the paper's MNIST CNN on 20,000 images took 6× PyTorch's
 * CPU time with wasm and 100× with cpu here; docs/training-engines.md has the measurements).
 */
export const AUTO_ORDER: readonly EngineChoice[] = [
  { engine: 'pytorch', device: 'cuda' },
  { engine: 'tfjs', backend: 'tensorflow-gpu' },
  { engine: 'pytorch', device: 'cpu' },
  { engine: 'tfjs', backend: 'tensorflow' },
  { engine: 'tfjs', backend: 'wasm' },
  { engine: 'tfjs', backend: 'cpu' },
];

export function isAvailable(choice: EngineChoice, torch: TorchStatus, tfjs: TfjsStatus): boolean {
  if (choice.engine === 'pytorch') return torch.ok && (choice.device === 'cpu' || torch.cuda);
  return tfjs.ok && tfjs.backends.includes(choice.backend);
}

/** The fastest available engine, or undefined when neither engine can train here. */
export function autoEngine(torch: TorchStatus, tfjs: TfjsStatus): EngineChoice | undefined {
  return AUTO_ORDER.find((c) => isAvailable(c, torch, tfjs));
}

/** The concrete engine for a setting or a pick, or undefined when that engine is not available. */
export function resolveEngine(setting: EngineSetting, torch: TorchStatus, tfjs: TfjsStatus): EngineChoice | undefined {
  if (setting === 'auto') return autoEngine(torch, tfjs);
  if (setting === 'pytorch') return torch.ok ? { engine: 'pytorch', device: torch.cuda ? 'cuda' : 'cpu' } : undefined;
  return tfjs.ok ? { engine: 'tfjs', backend: tfjs.best } : undefined;
}

/** The pure-JS backends: no libtensorflow, far slower (the TF.js trainer refuses long runs on them). */
export function isPureJs(backend: TfjsBackendName): boolean {
  return backend === 'wasm' || backend === 'cpu';
}

/** "PyTorch 1.13.0, CPU", "PyTorch 2.3.0, CUDA (NVIDIA H100)", or why it is not available. */
export function describeTorch(torch: TorchStatus): string {
  if (!torch.ok) return `not available: ${torch.problem}`;
  return `PyTorch ${torch.version}, ${torch.cuda ? `CUDA${torch.gpu !== undefined ? ` (${torch.gpu})` : ''}` : 'CPU'}`;
}

/** "TF.js: wasm backend (native not installed)", "TF.js: tensorflow-gpu backend (CUDA)", or why it is not available. */
export function describeTfjs(tfjs: TfjsStatus): string {
  if (!tfjs.ok) return `not available: ${tfjs.problem}`;
  const extra = tfjs.best === 'tensorflow-gpu' ? ' (CUDA)' : tfjs.native ? '' : ' (native not installed)';
  return `TF.js: ${tfjs.best} backend${extra}`;
}

/** The engine as the progress notification and the log name it: "PyTorch, CUDA", "TF.js, wasm backend". */
export function describeChoice(choice: EngineChoice): string {
  return choice.engine === 'pytorch' ? `PyTorch, ${choice.device === 'cuda' ? 'CUDA' : 'CPU'}` : `TF.js, ${choice.backend} backend`;
}

/** The `auto` item's description: what it would pick. */
export function describeAuto(torch: TorchStatus, tfjs: TfjsStatus): string {
  const choice = autoEngine(torch, tfjs);
  return choice === undefined ? 'no engine is available (see below)' : `fastest available: ${describeChoice(choice)}`;
}

export function isEngineSetting(value: unknown): value is EngineSetting {
  return value === 'auto' || value === 'pytorch' || value === 'tfjs';
}

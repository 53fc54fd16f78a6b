// Messages between the trainer's main thread, which owns stdout, the signals and the run writer,
// and its worker thread, which trains. The split is what lets a cancel finish within ~1.5 s even
// when one training step of the pure-JS cpu backend takes several seconds: the main thread never
// waits for the worker, only for a write in progress.
import type { EpochData, RunWriterOptions } from '../../core/run/runWriter';
import type { BackendName, TrainOptions } from './options';

export interface WorkerInput {
  readonly options: TrainOptions;
}

export interface EpochReport {
  readonly epoch: number;
  readonly loss: number;
  readonly accuracy: number;
  readonly testLoss: number;
  readonly testAccuracy: number;
  /** Date.now() when the epoch's training began, so the main thread's `seconds` include the write. */
  readonly startedAt: number;
}

/** Worker → main. `id` pairs a request with its reply. */
export type WorkerMessage =
  | { readonly type: 'create'; readonly id: number; readonly options: RunWriterOptions; readonly backend: BackendName }
  | { readonly type: 'epoch'; readonly id: number; readonly data: EpochData; readonly report: EpochReport }
  | { readonly type: 'done' }
  | { readonly type: 'error'; readonly message: string };

/** Main → worker: the reply to a request, once the files are written (or writing failed). */
export type MainMessage = { readonly type: 'reply'; readonly id: number; readonly error?: string };

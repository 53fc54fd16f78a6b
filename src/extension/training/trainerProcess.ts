// Runs a trainer as a child process (the Python trainer python/cnnslicer/train.py, or the TF.js
// trainer, which speaks the same protocol) and turns its JSON lines into events and one final
// result. No `vscode` import: the unit tests drive it with a fake trainer.
import { spawn, type ChildProcess } from 'node:child_process';

export type TrainerEvent =
  | {
      readonly event: 'start';
      readonly run: string;
      readonly epochs: number;
      /** Where the Python trainer runs: "cpu" or "cuda". Absent from older trainers and from TF.js. */
      readonly device?: string;
      /** The TF.js backend the TF.js trainer loaded: "tensorflow-gpu", "tensorflow", "wasm" or "cpu". */
      readonly backend?: string;
    }
  | {
      readonly event: 'epoch';
      readonly epoch: number;
      readonly epochs: number;
      readonly loss: number | null;
      readonly accuracy: number | null;
      readonly seconds: number;
    }
  | { readonly event: 'done'; readonly run: string | null }
  | { readonly event: 'cancelled'; readonly run: string | null; readonly epoch: number | null }
  | { readonly event: 'error'; readonly message: string };

function isNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

function numberOrNull(v: unknown): number | null {
  return isNumber(v) ? v : null;
}

function stringOrNull(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

/**
 * The event one stdout line stands for, or undefined for a line that is not one of the trainer's
 * events (a library that prints to stdout despite the trainer's redirection must not break a run).
 */
export function parseTrainerLine(line: string): TrainerEvent | undefined {
  const text = line.trim();
  if (!text.startsWith('{')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const o = value as Record<string, unknown>;
  switch (o.event) {
    case 'start':
      if (typeof o.run !== 'string' || !isNumber(o.epochs)) return undefined;
      // device and backend are optional, and a malformed one is dropped rather than losing the event.
      return {
        event: 'start',
        run: o.run,
        epochs: o.epochs,
        ...(typeof o.device === 'string' && o.device !== '' ? { device: o.device } : {}),
        ...(typeof o.backend === 'string' && o.backend !== '' ? { backend: o.backend } : {}),
      };
    case 'epoch':
      if (!isNumber(o.epoch) || !isNumber(o.epochs) || !isNumber(o.seconds)) return undefined;
      return { event: 'epoch', epoch: o.epoch, epochs: o.epochs, loss: numberOrNull(o.loss), accuracy: numberOrNull(o.accuracy), seconds: o.seconds };
    case 'done':
      return { event: 'done', run: stringOrNull(o.run) };
    case 'cancelled':
      return { event: 'cancelled', run: stringOrNull(o.run), epoch: numberOrNull(o.epoch) };
    case 'error':
      return { event: 'error', message: typeof o.message === 'string' && o.message !== '' ? o.message : 'the trainer reported an error without a message' };
    default:
      return undefined;
  }
}

/** Splits a byte stream into lines; chunk boundaries fall anywhere, including inside a UTF-8 character. */
export class LineSplitter {
  private rest = '';
  private readonly decoder = new TextDecoder('utf-8');

  push(chunk: Uint8Array): string[] {
    const lines = (this.rest + this.decoder.decode(chunk, { stream: true })).split('\n');
    this.rest = lines.pop() ?? '';
    return lines;
  }

  end(): string[] {
    const last = this.rest + this.decoder.decode();
    this.rest = '';
    return last === '' ? [] : [last];
  }
}

/**
 * Estimated seconds until `total` epochs are done after `done` of them, from the durations of the
 * epochs so far (their mean: the first epoch is no slower than the others here, the data is loaded
 * before it). Undefined before any epoch has finished.
 */
export function secondsLeft(durations: readonly number[], done: number, total: number): number | undefined {
  if (durations.length === 0) return undefined;
  const mean = durations.reduce((a, b) => a + b, 0) / durations.length;
  return Math.max(0, total - done) * mean;
}

/** "~40 s left", "~3 min left", "~1 h 5 min left": rounded, since the estimate is rough anyway. */
export function formatTimeLeft(seconds: number): string {
  if (seconds < 10) return `~${Math.max(1, Math.round(seconds))} s left`;
  if (seconds < 60) return `~${Math.round(seconds / 10) * 10} s left`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `~${minutes} min left`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m === 0 ? `~${h} h left` : `~${h} h ${m} min left`;
}

/** The progress line after an epoch: "epoch 3/20 · loss 0.123 · ~1 min left". */
export function epochMessage(e: Extract<TrainerEvent, { event: 'epoch' }>, left: number | undefined): string {
  const parts = [`epoch ${e.epoch}/${e.epochs}`];
  if (e.loss !== null) parts.push(`loss ${e.loss.toFixed(3)}`);
  if (left !== undefined && e.epoch < e.epochs) parts.push(formatTimeLeft(left));
  return parts.join(' · ');
}

export type Dataset = 'mnist' | 'cifar10';
export type Arch = 'paper' | 'small' | 'cifar';

export interface TrainerOptions {
  readonly arch: Arch;
  /** Absent: the trainers' default, MNIST. */
  readonly dataset?: Dataset;
  /** Images per class, or 'all' for the whole training set. */
  readonly perClass: number | 'all';
  readonly epochs: number;
  readonly batchSize: number;
  readonly lr: number;
  readonly probe: number;
  readonly out: string;
  readonly data?: string;
  readonly seed?: number;
  /** Records per CIFAR-10 batch file: 10,000 (the trainers' default) except in generated test data. */
  readonly cifarRecords?: number;
}

/**
 * The trainer options as command-line arguments, the same for both trainers: the TF.js trainer
 * takes exactly these, the Python one takes them after `-m cnnslicer.train` (trainerArgs).
 */
export function trainerOptionArgs(o: TrainerOptions): string[] {
  const args = [
    ...(o.dataset !== undefined ? ['--dataset', o.dataset] : []),
    '--arch',
    o.arch,
    '--per-class',
    String(o.perClass),
    '--epochs',
    String(o.epochs),
  ];
  args.push('--batch-size', String(o.batchSize), '--lr', String(o.lr), '--probe', String(o.probe), '--out', o.out);
  if (o.data !== undefined) args.push('--data', o.data);
  if (o.seed !== undefined) args.push('--seed', String(o.seed));
  if (o.cifarRecords !== undefined) args.push('--cifar-records', String(o.cifarRecords));
  return args;
}

/** The command line of `python -m cnnslicer.train` for these options. */
export function trainerArgs(o: TrainerOptions): string[] {
  return ['-m', 'cnnslicer.train', ...trainerOptionArgs(o)];
}

export interface TrainerResult {
  readonly outcome: 'done' | 'cancelled' | 'failed';
  /** The run folder, once the trainer has created it. */
  readonly run?: string;
  /** Why it failed: the trainer's own message when it sent one. */
  readonly message?: string;
  /** The last epoch the trainer reported finished (0: only the untrained model). */
  readonly lastEpoch?: number;
}

export interface SpawnTrainerOptions {
  /** The program: a Python interpreter, or Node for the TF.js trainer. */
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly onEvent?: (event: TrainerEvent) => void;
  readonly onStderr?: (text: string) => void;
  /** Between SIGTERM and SIGKILL on cancel; 1500 ms by default, so a cancelled trainer is gone within 2 s. */
  readonly killGraceMs?: number;
}

/** Keeps the end of stderr for the failure message when the trainer dies without an error event. */
const STDERR_TAIL = 2000;

export class TrainerProcess {
  readonly result: Promise<TrainerResult>;
  private readonly child: ChildProcess;
  private cancelRequested = false;
  private exited = false;
  private killTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: SpawnTrainerOptions) {
    let resolve!: (r: TrainerResult) => void;
    this.result = new Promise<TrainerResult>((r) => (resolve = r));
    this.child = spawn(options.command, [...options.args], { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });

    const stdout = new LineSplitter();
    let stderrTail = '';
    let run: string | undefined;
    let lastEpoch: number | undefined;
    let error: string | undefined;
    let finished: 'done' | 'cancelled' | undefined;
    let spawnError: Error | undefined;

    const handleLine = (line: string): void => {
      const event = parseTrainerLine(line);
      if (event === undefined) {
        if (line.trim() !== '') options.onStderr?.(`${line}\n`);
        return;
      }
      if (event.event === 'start') {
        run = event.run;
        lastEpoch = 0;
      } else if (event.event === 'epoch') lastEpoch = event.epoch;
      else if (event.event === 'error') error = event.message;
      else if (event.event === 'done' || event.event === 'cancelled') {
        finished = event.event;
        run = event.run ?? run;
      }
      options.onEvent?.(event);
    };

    this.child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk).forEach(handleLine));
    this.child.stderr?.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      stderrTail = (stderrTail + text).slice(-STDERR_TAIL);
      options.onStderr?.(text);
    });
    this.child.on('error', (err) => {
      spawnError = err;
    });
    // 'close' comes after stdout has ended, so every line has been handled by then.
    this.child.on('close', (code, signal) => {
      this.exited = true;
      if (this.killTimer !== undefined) clearTimeout(this.killTimer);
      stdout.end().forEach(handleLine);
      const common = { ...(run !== undefined ? { run } : {}), ...(lastEpoch !== undefined ? { lastEpoch } : {}) };
      if (spawnError !== undefined) {
        resolve({ outcome: 'failed', message: `could not start ${options.command}: ${spawnError.message}`, ...common });
      } else if (error !== undefined) {
        resolve({ outcome: 'failed', message: error, ...common });
      } else if (this.cancelRequested || finished === 'cancelled') {
        resolve({ outcome: 'cancelled', ...common });
      } else if (finished === 'done' && code === 0) {
        resolve({ outcome: 'done', ...common });
      } else {
        const how = signal !== null ? `was killed by ${signal}` : `exited with status ${code}`;
        const tail = stderrTail.trim();
        resolve({ outcome: 'failed', message: `the trainer ${how}${tail !== '' ? `: ${tail.split('\n').slice(-5).join('\n')}` : ''}`, ...common });
      }
    });
  }

  /** The trainer's process id, undefined when it could not be started. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /**
   * Asks the trainer to stop (SIGTERM: it marks the run complete after its last finished epoch),
   * and kills it if it has not exited after the grace period. Epochs already written stay readable
   * either way, since the probe writes each file under a temporary name and renames it.
   */
  cancel(): void {
    if (this.exited || this.cancelRequested) return;
    this.cancelRequested = true;
    this.child.kill('SIGTERM');
    this.killTimer = setTimeout(() => {
      if (!this.exited) this.child.kill('SIGKILL');
    }, this.options.killGraceMs ?? 1500);
  }
}

/** `<arch>-<perclass>-<YYYYMMDD-HHMMSS>` in local time: sorts by start time and says what was trained. */
export function runFolderName(arch: string, perClass: number | 'all', when: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  const stamp = `${when.getFullYear()}${two(when.getMonth() + 1)}${two(when.getDate())}-${two(when.getHours())}${two(when.getMinutes())}${two(when.getSeconds())}`;
  return `${arch}-${perClass}-${stamp}`;
}

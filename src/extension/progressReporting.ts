// Turns the engine's absolute progress (done of total) into the relative increments that
// vscode.Progress.report expects. No `vscode` import, so it is unit-tested directly.
import type { ProgressInfo } from '../shared/engineProtocol';

export interface ProgressStep {
  /** Percentage points to add to the bar; absent when the total is unknown or nothing advanced. */
  readonly increment?: number;
  readonly message?: string;
}

export class ProgressTracker {
  /** Percentage already reported, 0 … 100. */
  private reported = 0;

  next(progress: ProgressInfo): ProgressStep {
    const message = progress.message ?? (progress.total > 0 ? `${progress.done} of ${progress.total}` : undefined);
    let increment: number | undefined;
    if (progress.total > 0 && Number.isFinite(progress.done)) {
      const percent = Math.min(100, Math.max(0, (progress.done / progress.total) * 100));
      // The bar cannot move back; a smaller value (a new phase restarting its count) adds nothing.
      if (percent > this.reported) {
        increment = percent - this.reported;
        this.reported = percent;
      }
    }
    return { ...(increment !== undefined ? { increment } : {}), ...(message !== undefined ? { message } : {}) };
  }
}

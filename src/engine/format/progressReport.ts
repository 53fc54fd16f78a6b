// Progress of the CLI on stderr. On a terminal: one line rewritten in place. Anywhere else (a log
// file, a job scheduler's output, a pipe): whole lines, never carriage returns, few enough to read
// — for `analyze` a line per finished result at most every few seconds, and for any long step a
// line every STILL_WORKING_MS saying it is still at work.
import type { ItemDone } from '../analysis/analyzeRun';

export interface ProgressReport {
  /** Fine-grained progress of the current step (done/total of the whole command). */
  readonly update: (done: number, total: number, message?: string) => void;
  /** A finished result of `analyze`. */
  readonly itemDone: (d: ItemDone) => void;
  /** Removes an in-place line before the command prints its output. */
  readonly clear: () => void;
}

/** Lines about finished results are at least this far apart off a terminal (the last one always comes). */
const LINE_EVERY_MS = 3000;
/** Off a terminal, a step running this long gets a line that it is still running. */
const STILL_WORKING_MS = 15000;

/** "4 min 10 s", "12 s", "1 h 3 min". */
export function durationText(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** One finished result as a line: "[12/310] 4% inter-sample entropy of conv1, epoch 0: 1.2 s; about 4 min left". */
export function itemLine(d: ItemDone): string {
  const pct = Math.floor((100 * d.done) / Math.max(d.total, 1));
  const took = d.cached ? 'from the cache' : `${d.seconds.toFixed(1)} s`;
  const left = d.done === d.total ? 'done' : d.secondsLeft !== undefined ? `about ${durationText(d.secondsLeft)} left` : 'time left not known yet';
  return `[${d.done}/${d.total}] ${pct}% ${d.label}: ${took}; ${left}`;
}

export function progressReport(stream: NodeJS.WriteStream = process.stderr, now: () => number = Date.now): ProgressReport {
  const prefix = 'cnnslicer: ';
  if (stream.isTTY) {
    let shown = false;
    let last = '';
    let lastWrite = 0;
    let tail = '';
    const draw = (text: string, force: boolean): void => {
      const fitted = text.slice(0, Math.max((stream.columns || 80) - 1, 20));
      const t = now();
      // Redrawing on every inner step would cost more than the step; ten times a second is smooth.
      if (fitted === last || (!force && t - lastWrite < 100)) return;
      stream.write(`\r${fitted}\x1b[K`);
      shown = true;
      last = fitted;
      lastWrite = t;
    };
    return {
      update: (done, total, message) => {
        const pct = total > 0 ? Math.floor((100 * done) / total) : 0;
        draw(`${prefix}${String(pct).padStart(3)}%${message ? ` ${message}` : ''}${tail}`, done >= total);
      },
      itemDone: (d) => {
        tail = d.done < d.total && d.secondsLeft !== undefined ? ` (about ${durationText(d.secondsLeft)} left)` : '';
      },
      clear: () => {
        if (shown) stream.write('\r\x1b[K');
      },
    };
  }
  let lastLine = 0;
  let step = '';
  let stepStarted = now();
  let lastStill = 0;
  return {
    update: (done, total, message) => {
      const t = now();
      if (message !== undefined && message !== step) {
        step = message;
        stepStarted = t;
        lastStill = t;
        return;
      }
      if (step !== '' && t - stepStarted >= STILL_WORKING_MS && t - lastStill >= STILL_WORKING_MS) {
        const pct = total > 0 ? Math.floor((100 * done) / total) : 0;
        stream.write(`${prefix}${pct}% still working on ${step} (${durationText((t - stepStarted) / 1000)} so far)\n`);
        lastStill = t;
        lastLine = t;
      }
    },
    itemDone: (d) => {
      const t = now();
      if (d.done === d.total || t - lastLine >= LINE_EVERY_MS || d.seconds * 1000 >= LINE_EVERY_MS) {
        stream.write(`${prefix}${itemLine(d)}\n`);
        lastLine = t;
      }
    },
    clear: () => undefined,
  };
}

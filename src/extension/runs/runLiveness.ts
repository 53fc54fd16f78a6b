// Which runs are *live*: still being trained, with epochs arriving. Nothing on disk says so (a
// killed trainer leaves `complete` unset forever), so liveness is inferred from what the extension
// sees happen: a run is live while it is not complete and its manifest changed recently, where
// "recently" adapts to the run's own pace. No `vscode` import and an injectable clock, so the rules
// are unit-tested without timers.

export interface LivenessOptions {
  /** The shortest window: a run whose epochs come every few seconds still stays live this long. */
  readonly minWindowMs: number;
  /** The longest window, so a run that stalled stops claiming to be live within a bounded time. */
  readonly maxWindowMs: number;
  /** How many of the latest intervals between epochs the median is taken over. */
  readonly intervalsUsed: number;
}

export const DEFAULT_LIVENESS_OPTIONS: LivenessOptions = {
  minWindowMs: 60_000,
  maxWindowMs: 30 * 60_000,
  intervalsUsed: 5,
};

/** What one read of a run says, as the liveness rules need it. */
export interface RunObservation {
  readonly complete: boolean;
  /** The finished epochs' numbers, in manifest order. */
  readonly epochs: readonly number[];
  /** Epochs whose files are on disk but not in the manifest yet. */
  readonly incompleteEpochs: readonly number[];
  /**
   * The manifest's modification time (ms since 1970) as the file system reported it, when known.
   * Only a run's first observation relies on it: later changes are timed by the extension's clock,
   * which a network drive's clock cannot skew.
   */
  readonly manifestModifiedMs: number | undefined;
}

export interface RunLivenessStatus {
  readonly live: boolean;
  /**
   * When the newest finished epoch arrived: the time the extension saw it, or, for the epochs a run
   * already had when first seen, its manifest's modification time. Undefined without epochs.
   */
  readonly lastEpochAt: number | undefined;
  /** When the run stops being live unless something else happens; undefined when it is not live. */
  readonly liveUntil: number | undefined;
}

interface Track {
  complete: boolean;
  epochs: readonly number[];
  incomplete: ReadonlySet<number>;
  manifestModifiedMs: number | undefined;
  /** The last time the run showed activity (manifest change, new epoch, new epoch folder). */
  lastActivityAt: number | undefined;
  lastEpochAt: number | undefined;
  /** Times new epochs arrived, oldest first, at most intervalsUsed + 1 of them. */
  arrivals: number[];
}

const NOT_LIVE: RunLivenessStatus = { live: false, lastEpochAt: undefined, liveUntil: undefined };

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function sameEpochs(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((e, i) => e === b[i]);
}

export class RunLiveness {
  private readonly tracks = new Map<string, Track>();

  constructor(
    private readonly clock: () => number = Date.now,
    private readonly options: LivenessOptions = DEFAULT_LIVENESS_OPTIONS,
  ) {}

  /**
   * Records a read of the run in `dir`. Reading the same state again (a forced reload) is no
   * activity; a changed manifest, a new finished epoch or a new epoch being written is.
   */
  observe(dir: string, observation: RunObservation): RunLivenessStatus {
    const now = this.clock();
    const previous = this.tracks.get(dir);
    if (previous === undefined) {
      // A file system clock ahead of ours must not make a run look live for longer than its window.
      const modified = observation.manifestModifiedMs !== undefined ? Math.min(observation.manifestModifiedMs, now) : undefined;
      const hasEpochs = observation.epochs.length > 0;
      this.tracks.set(dir, {
        complete: observation.complete,
        epochs: observation.epochs,
        incomplete: new Set(observation.incompleteEpochs),
        manifestModifiedMs: observation.manifestModifiedMs,
        lastActivityAt: modified,
        lastEpochAt: hasEpochs ? modified : undefined,
        // The manifest was last written when its newest epoch arrived: the first point of the pace.
        arrivals: hasEpochs && modified !== undefined ? [modified] : [],
      });
      return this.status(dir);
    }
    const track = previous;
    let active = false;
    if (observation.manifestModifiedMs !== undefined && observation.manifestModifiedMs !== track.manifestModifiedMs) active = true;
    if (!sameEpochs(observation.epochs, track.epochs)) {
      active = true;
      const newest = observation.epochs.at(-1);
      const before = track.epochs.at(-1);
      if (newest !== undefined && (before === undefined || newest > before) && observation.epochs.length >= track.epochs.length) {
        track.lastEpochAt = now;
        track.arrivals.push(now);
        if (track.arrivals.length > this.options.intervalsUsed + 1) track.arrivals.splice(0, track.arrivals.length - this.options.intervalsUsed - 1);
      } else {
        // Fewer or other epochs: the run was rewritten from scratch, and its old pace says nothing.
        track.lastEpochAt = newest !== undefined ? now : undefined;
        track.arrivals = newest !== undefined ? [now] : [];
      }
    }
    if (observation.incompleteEpochs.some((e) => !track.incomplete.has(e))) active = true;
    if (active) track.lastActivityAt = now;
    track.complete = observation.complete;
    track.epochs = observation.epochs;
    track.incomplete = new Set(observation.incompleteEpochs);
    if (observation.manifestModifiedMs !== undefined) track.manifestModifiedMs = observation.manifestModifiedMs;
    return this.status(dir);
  }

  /** How long silence lasts before the run in `dir` stops being live: twice its usual pace, within bounds. */
  windowMs(dir: string): number {
    const arrivals = this.tracks.get(dir)?.arrivals ?? [];
    const intervals = arrivals.slice(1).map((t, i) => t - arrivals[i]);
    const paced = intervals.length > 0 ? 2 * median(intervals) : 0;
    return Math.min(this.options.maxWindowMs, Math.max(this.options.minWindowMs, paced));
  }

  /** The run's liveness now; not live for a run never observed. */
  status(dir: string): RunLivenessStatus {
    const track = this.tracks.get(dir);
    if (track === undefined) return NOT_LIVE;
    const lastEpochAt = track.lastEpochAt;
    if (track.complete || track.lastActivityAt === undefined) return { live: false, lastEpochAt, liveUntil: undefined };
    const liveUntil = track.lastActivityAt + this.windowMs(dir);
    return this.clock() < liveUntil ? { live: true, lastEpochAt, liveUntil } : { live: false, lastEpochAt, liveUntil: undefined };
  }

  isLive(dir: string): boolean {
    return this.status(dir).live;
  }

  /** The runs live now. */
  liveRuns(): string[] {
    return [...this.tracks.keys()].filter((dir) => this.isLive(dir));
  }

  /** The earliest time a live run stops being live without news: when to look again. Undefined when none is live. */
  nextExpiry(): number | undefined {
    let next: number | undefined;
    for (const dir of this.tracks.keys()) {
      const until = this.status(dir).liveUntil;
      if (until !== undefined && (next === undefined || until < next)) next = until;
    }
    return next;
  }

  /** Forgets runs that left the index, so one that comes back is judged afresh. */
  retainOnly(dirs: ReadonlySet<string>): void {
    for (const dir of [...this.tracks.keys()]) if (!dirs.has(dir)) this.tracks.delete(dir);
  }

  forget(dir: string): void {
    this.tracks.delete(dir);
  }
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/**
 * A moment as local wall-clock time, `14:03:07`, with the date in front (`2025-05-01 14:03:07`)
 * when it is not today. Absolute rather than "12 s ago": a tooltip is built once and shown later.
 */
export function formatMoment(ms: number, now: number): string {
  const at = new Date(ms);
  const today = new Date(now);
  const time = `${pad2(at.getHours())}:${pad2(at.getMinutes())}:${pad2(at.getSeconds())}`;
  const sameDay = at.getFullYear() === today.getFullYear() && at.getMonth() === today.getMonth() && at.getDate() === today.getDate();
  return sameDay ? time : `${at.getFullYear()}-${pad2(at.getMonth() + 1)}-${pad2(at.getDate())} ${time}`;
}

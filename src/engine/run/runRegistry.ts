// The engine's open runs, one reader per run directory. A reader is replaced when its manifest
// changes on disk (a live run gained an epoch), so queries always see the latest finished epoch.
import { promises as fs } from 'node:fs';
import { locateRun } from '../../core/run/runPaths';
import { RunReader, type RunReaderOptions } from './runReader';

interface OpenRun {
  readonly reader: Promise<RunReader>;
  /** Manifest mtime and size when the reader was opened: a change means a new manifest. */
  readonly stamp: string;
}

/** Readers that were replaced are closed this long after, so slices in flight can finish. */
const RETIRE_DELAY_MS = 30_000;

export class RunRegistry {
  private readonly runs = new Map<string, OpenRun>();

  /** `options` go to every reader: the activation cache they share, and where they log. */
  constructor(private readonly options: RunReaderOptions = {}) {}

  async get(runPathOrManifest: string): Promise<RunReader> {
    const { dir, manifest } = await locateRun(runPathOrManifest);
    const stat = await fs.stat(manifest);
    const stamp = `${stat.mtimeMs}:${stat.size}:${stat.ino}`;
    const open = this.runs.get(dir);
    if (open && open.stamp === stamp) return open.reader;
    if (open) this.retire(open);
    const reader = RunReader.open(dir, this.options);
    this.runs.set(dir, { reader, stamp });
    // A run that failed to open is not kept: the next query tries again (the writer may have fixed it).
    reader.catch(() => {
      if (this.runs.get(dir)?.reader === reader) this.runs.delete(dir);
    });
    return reader;
  }

  private retire(open: OpenRun): void {
    setTimeout(() => open.reader.then((r) => r.close()).catch(() => undefined), RETIRE_DELAY_MS).unref();
  }

  async closeAll(): Promise<void> {
    const readers = [...this.runs.values()];
    this.runs.clear();
    await Promise.all(readers.map((o) => o.reader.then((r) => r.close()).catch(() => undefined)));
  }
}

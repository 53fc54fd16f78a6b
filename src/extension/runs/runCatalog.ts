// The bookkeeping half of RunIndex, free of `vscode` so it can be unit-tested: which runs a scan
// found, which of them need their info (re)loaded, and which load results are still current.
import * as path from 'node:path';
import type { ErrorInfo } from '../../shared/errors';
import type { RunInfo } from '../../shared/runFormat';
import type { RunLivenessStatus } from './runLiveness';

/** Folders never searched for runs (and whose churn, such as git's lock files, is ignored). */
export const SCAN_EXCLUDED_FOLDERS: readonly string[] = ['node_modules', '.git'];

export type RunState =
  { readonly kind: 'loading' } | { readonly kind: 'loaded'; readonly info: RunInfo } | { readonly kind: 'failed'; readonly error: ErrorInfo };

export interface RunEntry {
  /** Absolute path of the folder holding the manifest: the run's identity in the index. */
  readonly dir: string;
  readonly state: RunState;
  /** Whether epochs keep arriving; RunIndex adds it, the catalog itself does not track time. */
  readonly liveness?: RunLivenessStatus;
}

/** A manifest a scan found. */
export interface FoundManifest {
  readonly dir: string;
  /**
   * What identifies this version of the manifest (modification time and size); undefined when it
   * could not be read, which forces a load so the failure is reported rather than hidden.
   */
  readonly stamp: string | undefined;
}

interface CatalogSlot {
  state: RunState;
  /** The stamp of the manifest the latest load was started for. */
  stamp: string | undefined;
  /** Incremented by each load; only the newest load's result is kept. */
  generation: number;
}

/** The label a run sorts and shows under: its name once known, its folder's name before. */
export function runEntryLabel(entry: RunEntry): string {
  return entry.state.kind === 'loaded' ? entry.state.info.name : path.basename(entry.dir);
}

export class RunCatalog {
  private readonly slots = new Map<string, CatalogSlot>();

  /**
   * Applies what one scan found: runs no longer found are dropped, new ones start as `loading`.
   * Returns the runs whose info must be loaded: new ones, changed ones, failed ones (the writer may
   * have fixed the problem without touching the manifest, e.g. by finishing the probe file), and,
   * with `reloadAll`, every one.
   */
  reconcile(found: readonly FoundManifest[], reloadAll: boolean): { readonly toLoad: string[]; readonly changed: boolean } {
    let changed = false;
    const seen = new Set<string>();
    const toLoad: string[] = [];
    for (const manifest of found) {
      if (seen.has(manifest.dir)) continue;
      seen.add(manifest.dir);
      const slot = this.slots.get(manifest.dir);
      if (slot === undefined) {
        this.slots.set(manifest.dir, { state: { kind: 'loading' }, stamp: manifest.stamp, generation: 0 });
        changed = true;
        toLoad.push(manifest.dir);
      } else if (reloadAll || slot.state.kind === 'failed' || manifest.stamp === undefined || manifest.stamp !== slot.stamp) {
        slot.stamp = manifest.stamp;
        toLoad.push(manifest.dir);
      }
    }
    for (const dir of [...this.slots.keys()]) {
      if (!seen.has(dir)) {
        this.slots.delete(dir);
        changed = true;
      }
    }
    return { toLoad, changed };
  }

  /**
   * Starts a load of `dir`; returns the token its result must be finished with, or undefined when
   * the run is no longer in the catalog. The run keeps showing its previous state meanwhile, so a
   * live run does not flicker to `loading` at every epoch.
   */
  beginLoad(dir: string): number | undefined {
    const slot = this.slots.get(dir);
    if (slot === undefined) return undefined;
    slot.generation += 1;
    return slot.generation;
  }

  /** Records a load's result; false (and nothing recorded) when a newer load started or the run went away. */
  finishLoad(dir: string, token: number, state: Exclude<RunState, { kind: 'loading' }>): boolean {
    const slot = this.slots.get(dir);
    if (slot === undefined || slot.generation !== token) return false;
    slot.state = state;
    return true;
  }

  /**
   * Records the stamp a check of one run's manifest found (a watcher hint or a poll, outside a
   * full scan). True when the run must be reloaded, by the same rule as reconcile; false for a run
   * not in the catalog, which only a full scan may add.
   */
  restamp(dir: string, stamp: string | undefined): boolean {
    const slot = this.slots.get(dir);
    if (slot === undefined) return false;
    if (slot.state.kind !== 'failed' && stamp !== undefined && stamp === slot.stamp) return false;
    slot.stamp = stamp;
    return true;
  }

  /** The run whose folder holds `changedPath` (at any depth), the innermost when runs nest; if any. */
  runContaining(changedPath: string): string | undefined {
    let found: string | undefined;
    for (const dir of this.slots.keys()) {
      if (changedPath.startsWith(dir + path.sep) && (found === undefined || dir.length > found.length)) found = dir;
    }
    return found;
  }

  get(dir: string): RunEntry | undefined {
    const slot = this.slots.get(dir);
    return slot === undefined ? undefined : { dir, state: slot.state };
  }

  /** Every run, by label, then by folder so runs of the same name keep a stable order. */
  entries(): RunEntry[] {
    const entries = [...this.slots].map(([dir, slot]): RunEntry => ({ dir, state: slot.state }));
    return entries.sort((a, b) => runEntryLabel(a).localeCompare(runEntryLabel(b)) || (a.dir < b.dir ? -1 : a.dir > b.dir ? 1 : 0));
  }

  /**
   * Whether a file or folder created or deleted at `changedPath` can have added or removed a run,
   * beyond what a watcher on the manifests reports: moving a folder in or deleting one is reported
   * for the folder alone, not for the manifests inside it. Paths inside known runs (their writer at
   * work) and inside folders the scan excludes are not.
   */
  mayChangeRuns(change: 'created' | 'deleted', changedPath: string): boolean {
    if (changedPath.split(path.sep).some((segment) => SCAN_EXCLUDED_FOLDERS.includes(segment))) return false;
    const prefix = changedPath.endsWith(path.sep) ? changedPath : changedPath + path.sep;
    for (const dir of this.slots.keys()) {
      // A deleted run folder, or a deleted ancestor of one.
      if (change === 'deleted' && (dir === changedPath || dir.startsWith(prefix))) return true;
      if (changedPath.startsWith(dir + path.sep)) return false;
    }
    return change === 'created';
  }

  get size(): number {
    return this.slots.size;
  }
}

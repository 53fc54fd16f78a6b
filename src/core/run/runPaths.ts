// Path rules of the run format: every path a manifest names stays inside the run directory.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { CnnSlicerError } from '../../shared/errors';
import { MANIFEST_FILE } from '../../shared/runFormat';

/** Returns why a manifest path is not acceptable, or undefined when it is. Purely lexical. */
export function checkRelativePath(p: string): string | undefined {
  if (p.length === 0) return 'is empty';
  if (p.includes('\0')) return 'contains a NUL character';
  if (p.includes('\\')) return 'contains a backslash (paths use "/")';
  if (p.startsWith('/')) return 'is absolute';
  if (/^[A-Za-z]:/.test(p)) return 'starts with a drive letter';
  const segments = p.split('/');
  if (segments.some((s) => s === '')) return 'has an empty segment';
  if (segments.some((s) => s === '..')) return 'contains ".."';
  return undefined;
}

/**
 * Resolves a manifest path to an absolute one, following symbolic links, and refuses any that
 * ends up outside the run directory. `runDirReal` is the run directory's own real path.
 */
export async function resolveInsideRun(runDirReal: string, relative: string, manifestFile: string): Promise<string> {
  const problem = checkRelativePath(relative);
  if (problem !== undefined) throw new CnnSlicerError('path-escape', `"${relative}" ${problem}`, manifestFile);
  const joined = path.join(runDirReal, ...relative.split('/'));
  let real: string;
  try {
    real = await fs.realpath(joined);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new CnnSlicerError('not-found', 'file named by the manifest does not exist', joined);
    throw new CnnSlicerError('corrupt', `cannot resolve path (${(err as Error).message})`, joined);
  }
  if (!isInside(runDirReal, real)) {
    throw new CnnSlicerError('path-escape', `"${relative}" resolves to ${real}, outside the run directory`, manifestFile);
  }
  return real;
}

export function isInside(dir: string, candidate: string): boolean {
  const rel = path.relative(dir, candidate);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}

/** Accepts a run directory or its manifest; returns the run directory and manifest paths. */
export async function locateRun(runPathOrManifest: string): Promise<{ dir: string; manifest: string }> {
  const abs = path.resolve(runPathOrManifest);
  let stat;
  try {
    stat = await fs.stat(abs);
  } catch {
    throw new CnnSlicerError('not-found', 'no such file or directory', abs);
  }
  if (stat.isDirectory()) {
    const manifest = path.join(abs, MANIFEST_FILE);
    try {
      await fs.access(manifest);
    } catch {
      throw new CnnSlicerError('not-found', `not a CNNSlicer run: the folder has no ${MANIFEST_FILE}`, abs);
    }
    return { dir: abs, manifest };
  }
  if (path.basename(abs) !== MANIFEST_FILE) {
    throw new CnnSlicerError('bad-request', `expected a run folder or its ${MANIFEST_FILE}`, abs);
  }
  return { dir: path.dirname(abs), manifest: abs };
}

export function epochFolderName(epoch: number): string {
  return `epoch-${String(epoch).padStart(4, '0')}`;
}

export const EPOCHS_FOLDER = 'epochs';

// Where a layer's recorded source line is on this machine. The probe writes `source.file` as an
// absolute path, or relative to the folder it was told is the project root (`source_root`), which
// is usually the workspace folder. A run can be opened from elsewhere than where it was written
// (copied into a subfolder, shipped inside the extension like the sample run), so a relative path
// is tried against each likely root and the first file that exists wins. No `vscode` import: the
// unit tests run it with their own file-existence check.
import * as path from 'node:path';
import type { SourceLocation } from '../shared/runFormat';

export interface SourceRoots {
  /** The run's folder. */
  readonly runDir: string;
  /** The workspace folders' paths, in any order. */
  readonly workspaceFolders: readonly string[];
}

/** Compares paths as the platform's file system does: case-insensitively on Windows and macOS. */
export function samePath(a: string, b: string, platform: NodeJS.Platform = process.platform): boolean {
  const na = path.resolve(a);
  const nb = path.resolve(b);
  return platform === 'win32' || platform === 'darwin' ? na.toLowerCase() === nb.toLowerCase() : na === nb;
}

/** True when `inner` is `outer` or lies below it. */
export function isInside(inner: string, outer: string, platform: NodeJS.Platform = process.platform): boolean {
  const fold = platform === 'win32' || platform === 'darwin';
  const a = path.resolve(inner);
  const b = path.resolve(outer);
  const rel = path.relative(fold ? b.toLowerCase() : b, fold ? a.toLowerCase() : a);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/** The innermost workspace folder holding `dir`, if any (nested folders are allowed in multi-root workspaces). */
export function containingFolder(dir: string, folders: readonly string[]): string | undefined {
  return folders.filter((f) => isInside(dir, f)).sort((a, b) => b.length - a.length)[0];
}

/**
 * The paths `file` may name, most likely first: itself when absolute; otherwise relative to the
 * workspace folder that holds the run, then to the run folder's parent, then to each folder further
 * up (a run moved one level down, as the sample run under examples/ is, still finds its script).
 */
export function sourceCandidates(file: string, roots: SourceRoots): string[] {
  // The probe writes `/` separators; a run recorded on Windows may carry `\`.
  const normalized = file.replace(/\\/g, '/');
  if (path.isAbsolute(file)) return [path.normalize(file)];
  if (/^[A-Za-z]:\//.test(normalized)) return [];
  const out: string[] = [];
  const add = (root: string): void => {
    const candidate = path.resolve(root, normalized);
    if (!out.includes(candidate)) out.push(candidate);
  };
  const folder = containingFolder(roots.runDir, roots.workspaceFolders);
  if (folder !== undefined) add(folder);
  let dir = path.dirname(path.resolve(roots.runDir));
  for (;;) {
    add(dir);
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return out;
}

/** The file a recorded source names, resolved to one that exists; undefined when none does. */
export function resolveSourceFile(source: SourceLocation, roots: SourceRoots, exists: (file: string) => boolean): string | undefined {
  return sourceCandidates(source.file, roots).find((candidate) => exists(candidate));
}

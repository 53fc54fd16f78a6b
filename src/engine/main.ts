// The engine process: forked by the extension host's EngineClient with an IPC channel
// (serialization 'advanced'). It lives exactly as long as that channel, so no engine outlives its host.
import { HEARTBEAT_INTERVAL_MS, type EngineToHost } from '../shared/engineProtocol';
import { ActivationCache, CAP_ENV, capFromGiB } from './cache/activationCache';
import { ResultCache } from './cache/resultCache';
import { createHandlers } from './handlers';
import { disposeDeconvnetSessions } from './deconvnet/deconvnet';
import { setRuntimeLogger } from './onnx/ortRuntime';
import { disposeSessions } from './run/checkpoint';
import { RunRegistry } from './run/runRegistry';
import { EngineServer } from './server';

/** How long shutdown may spend closing runs before the process exits regardless. */
const SHUTDOWN_GRACE_MS = 2000;

function main(): void {
  const toHost = process.send?.bind(process);
  if (toHost === undefined) {
    process.stderr.write(
      'The CNNSlicer engine must be started by the extension (child_process.fork with an IPC channel); for the command line use cnnslicer.\n',
    );
    process.exitCode = 2;
    return;
  }

  const send = (message: EngineToHost): void => {
    if (process.connected) toHost(message);
  };

  const log = (level: 'info' | 'warn' | 'error', message: string): void => send({ type: 'log', level, message });
  setRuntimeLogger(log);
  // One folder for the CLI and the extension (the host passes the user's choice, if any, in
  // CNNSLICER_CACHE_DIR), so that a batch `cnnslicer analyze` warms every view.
  const cache = new ResultCache({ dir: ResultCache.defaultDir(), log });
  let maxBytes: number;
  try {
    maxBytes = capFromGiB(process.env[CAP_ENV], CAP_ENV);
  } catch (err) {
    log('warn', `${err instanceof Error ? err.message : String(err)}; using the default cap`);
    maxBytes = capFromGiB(undefined, CAP_ENV);
  }
  const activationCache = new ActivationCache({ dir: cache.dir, maxBytes, log, hasher: cache.content });
  const registry = new RunRegistry({ activationCache, log });
  const server = new EngineServer({
    send,
    handlers: createHandlers({ runs: registry, cache, testHooks: process.env.CNNSLICER_ENGINE_TEST_HOOKS === '1' }),
  });

  process.on('message', (raw: unknown) => server.handle(raw));

  const heartbeat = setInterval(() => send({ type: 'heartbeat', time: Date.now() }), HEARTBEAT_INTERVAL_MS);

  let stopping = false;
  process.on('disconnect', () => {
    if (stopping) return;
    stopping = true;
    clearInterval(heartbeat);
    server.cancelAll();
    // Exit explicitly: a handler still running, or an open file, would otherwise keep an orphan alive.
    setTimeout(() => process.exit(0), SHUTDOWN_GRACE_MS).unref();
    const exit = (): never => process.exit(0);
    void Promise.all([registry.closeAll(), disposeSessions(), disposeDeconvnetSessions()]).then(exit, exit);
  });

  send({ type: 'ready', pid: process.pid });
}

main();

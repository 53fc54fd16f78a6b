// The engine process: forked by the extension host's EngineClient with an IPC channel
// (serialization 'advanced'). It lives exactly as long as that channel, so no engine outlives its host.
import { HEARTBEAT_INTERVAL_MS, type EngineToHost } from '../shared/engineProtocol';
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
    process.stderr.write('The CNNSlicer engine must be started by the extension (child_process.fork with an IPC channel); for the command line use cnnslicer.\n');
    process.exitCode = 2;
    return;
  }

  const send = (message: EngineToHost): void => {
    if (process.connected) toHost(message);
  };

  const log = (level: 'info' | 'warn' | 'error', message: string): void => send({ type: 'log', level, message });
  setRuntimeLogger(log);
  const registry = new RunRegistry();
  // The host passes its own storage folder; the CLI and tests fall back to the user's cache folder.
  const cache = new ResultCache({ dir: process.env.CNNSLICER_CACHE_DIR ?? ResultCache.defaultDir(), log });
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

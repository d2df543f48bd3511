// The soak's control plane: in this process (so its memory is this process's memory), on the same port and
// store across its restarts (a control-plane outage), so agents keep its URL.
import {
  type ControlPlaneService,
  startControlPlaneService,
} from '../../../harness/lab/control-plane-service.ts';
import { config, inventoryFile, state, suitesDir } from './lab.ts';
import { sleep } from './sleep.ts';

/** Called with each control plane started (the first and every restart). */
export const serverStarted: ((server: ControlPlaneService) => void)[] = [];
let port = 0;

export async function startServer(): Promise<ControlPlaneService> {
  if (state.stopping) throw new Error('the soak is stopping');
  const server = await startControlPlaneService(config, {
    port,
    suites: [suitesDir],
    inventoryFile,
    log: (line) => process.stderr.write(`[server] ${line}\n`),
  });
  // Stopped meanwhile (Ctrl-C during a control-plane outage): the cleanup has not seen this one.
  if (state.stopping) {
    await server.close();
    throw new Error('the soak is stopping');
  }
  port = Number(new URL(server.url).port);
  state.url = server.url;
  state.server = server;
  for (const started of serverStarted) started(server);
  return server;
}

/** Closes the control plane once the soak's calls into it are done; `state.server` is null from now on. */
export async function stopServer(): Promise<void> {
  const server = state.server;
  if (!server) return;
  state.server = null;
  while (state.serverUsers > 0) await sleep(20);
  await server.close();
}

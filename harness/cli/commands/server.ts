import type { Command } from 'commander';
import { loadConfig } from '../../config/config.ts';
import { startControlPlaneService } from '../../lab/control-plane-service.ts';
import { applyHeapPolicy } from '../../lab/heap-policy.ts';
import { createLogger } from '../../log/logger.ts';

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Resolves on SIGINT/SIGTERM so that a service shuts down cleanly (closing the store, the queues). */
export function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve(signal));
  });
}

export function registerServerCommand(program: Command): void {
  program
    .command('server')
    .description('run the control plane: the store, the planner, the result consumer and the HTTP API')
    .option('--port <port>', 'API port (default from config, 7420)', (v) => Number(v))
    .option(
      '--suites <dir>',
      'suite folder (repeatable; default: suites of the config, else suites/)',
      collect,
    )
    .option(
      '--inventory <file>',
      'device inventory (default: inventory of the config, else devices/inventory.yaml)',
    )
    .option(
      '--allow-broken',
      'start without the tests of suite files that do not load (each named on stderr); by default such a file stops the start (exit 2)',
    )
    .option('--agent-token <token>', 'token agents present when uploading artifacts (or DEVLAB_AGENT_TOKEN)')
    .option(
      '--auth',
      'require a partner bearer token on /api (see `devlab tokens create`); or DEVLAB_API_AUTH=true',
    )
    .addHelpText('after', '\nExample:\n  $ devlab server --port 7420 --inventory devices/inventory.yaml')
    .action(
      async (opts: {
        port?: number;
        suites?: string[];
        inventory?: string;
        allowBroken?: boolean;
        agentToken?: string;
        auth?: boolean;
      }) => {
        const config = loadConfig();
        const logger = createLogger('server', config.logLevel);
        const heapGrowthPercent = applyHeapPolicy();
        logger.debug({ heapGrowthPercent }, 'heap policy');
        const agentToken = opts.agentToken ?? process.env['DEVLAB_AGENT_TOKEN'];
        const service = await startControlPlaneService(config, {
          ...(opts.port ? { port: opts.port } : {}),
          ...(opts.suites || config.suites ? { suites: opts.suites ?? config.suites } : {}),
          ...(opts.inventory || config.inventory
            ? { inventoryFile: opts.inventory ?? config.inventory }
            : {}),
          ...(opts.allowBroken ? { allowBroken: true } : {}),
          ...(agentToken ? { agentToken } : {}),
          ...(opts.auth ? { auth: true } : {}),
          log: (line) => logger.info(line),
          logger,
        });
        process.stdout.write(
          `devlab server listening on ${service.url} (${service.catalog.catalog.entries.length} tests, ${service.devices.inventory.length} devices, store ${config.home})\n`,
        );
        await untilSignal();
        await service.close();
        // Closed (API, queues, report stream, store): exit, as the agent does, so that a library handle
        // left open (an ioredis socket after QUIT) cannot keep the server alive until it is killed.
        process.exit(process.exitCode ?? 0);
      },
    );
}

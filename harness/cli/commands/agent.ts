import type { Command } from 'commander';
import { loadConfig } from '../../config/config.ts';
import { startAgentService } from '../../lab/agent-service.ts';
import { serverUrl } from '../api-client.ts';
import { untilSignal } from './server.ts';
import { createLogger } from '../../log/logger.ts';

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerAgentCommand(program: Command): void {
  program
    .command('agent')
    .description('run a lab agent: lease the devices of this host and execute their jobs')
    .requiredOption('--host <id>', 'agent host id: it owns the inventory devices whose host is this id')
    .option(
      '--inventory <file>',
      'device inventory (default: inventory of the config, else devices/inventory.yaml)',
    )
    .option(
      '--server <url>',
      'control plane URL for artifact uploads (default DEVLAB_SERVER_URL or the config API)',
    )
    .option(
      '--app-url <url>',
      'base URL of the app under test (default: serve the reference app on loopback)',
    )
    .option(
      '--suites <dir>',
      'suite folder (repeatable; default: suites of the config, else suites/)',
      collect,
    )
    .addHelpText('after', '\nExample:\n  $ devlab agent --host agent-a --server http://127.0.0.1:7420')
    .action(
      async (opts: {
        host: string;
        inventory?: string;
        server?: string;
        appUrl?: string;
        suites?: string[];
      }) => {
        const config = loadConfig();
        const logger = createLogger(`agent ${opts.host}`, config.logLevel);
        const agentToken = process.env['DEVLAB_AGENT_TOKEN'];
        const service = await startAgentService(config, {
          agentId: opts.host,
          serverUrl: serverUrl(config, opts.server),
          ...(opts.inventory || config.inventory
            ? { inventoryFile: opts.inventory ?? config.inventory }
            : {}),
          ...(opts.appUrl ? { appUrl: opts.appUrl } : {}),
          ...(opts.suites || config.suites ? { suites: opts.suites ?? config.suites } : {}),
          ...(agentToken ? { agentToken } : {}),
          log: (line) => logger.info(line),
          logger,
        });
        process.stdout.write(
          `devlab agent ${opts.host}: ${service.owned.length} device(s) [${service.owned.map((d) => d.id).join(', ')}], app ${service.appUrl}\n`,
        );
        await untilSignal();
        await service.close();
        // All is closed (sessions, leases, queues, Redis): exit, so that a library handle left open
        // (seen under load: an ioredis subscriber socket still open after QUIT) cannot keep the agent
        // alive until it is killed.
        process.exit(process.exitCode ?? 0);
      },
    );
}

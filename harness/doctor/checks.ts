import { freePort } from '../../devices/appium/free-port.ts';
import { execFile } from 'node:child_process';
import { accessSync, constants, mkdirSync, statfsSync } from 'node:fs';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import type { Redis } from 'ioredis';
import { connectProbe } from '../queue/redis-probe.ts';
import { initBackend } from '../../analysis/backend.ts';
import { AppiumServer, appiumMain, appiumStatus } from '../../devices/appium/appium-server.ts';
import type { DevlabConfig } from '../config/config.ts';
import type { Check } from './check.ts';
import { headlessChromiumCheck, jobQueueCheck, storeFileCheck } from './runtime-checks.ts';

const run = promisify(execFile);
const SETUP = 'bash harness/setup/setup.sh';

async function majorVersion(binary: string): Promise<string> {
  const { stdout } = await run(binary, ['--version'], { timeout: 15_000 });
  const match = /(\d+)\.\d+\.\d+/.exec(stdout);
  if (!match) throw new Error(`cannot read a version from "${stdout.trim()}"`);
  return match[0];
}

export function nodeCheck(): Check {
  return {
    name: 'Node.js',
    required: true,
    async run() {
      const major = Number(process.versions.node.split('.')[0]);
      return major >= 20
        ? { ok: true, detail: `v${process.versions.node}` }
        : { ok: false, detail: `v${process.versions.node} is too old`, fix: 'install Node.js 20 or newer' };
    },
  };
}

export function redisCheck(config: DevlabConfig): Check {
  return {
    name: 'Redis',
    required: true,
    async run() {
      let redis: Redis | undefined;
      try {
        redis = await connectProbe(config.redisUrl, 2000);
        const info = await redis.info('server');
        const version = /redis_version:(\S+)/.exec(info)?.[1] ?? '?';
        const aof = (await redis.config('GET', 'appendonly')) as string[];
        return { ok: true, detail: `${config.redisUrl} (redis ${version}, appendonly ${aof[1] ?? '?'})` };
      } catch (err) {
        return {
          ok: false,
          detail: `${config.redisUrl} unreachable: ${(err as Error).message}`,
          fix: `run \`${SETUP}\`, or \`redis-server --bind 127.0.0.1 --appendonly yes --daemonize yes\`, or set DEVLAB_REDIS_URL`,
        };
      } finally {
        redis?.disconnect();
      }
    },
  };
}

export function dockerCheck(config: DevlabConfig): Check {
  return {
    name: 'Docker engine',
    required: true,
    async run() {
      const docker = new Docker({ socketPath: config.dockerSocket, timeout: 5000 });
      try {
        const version = await docker.version();
        return {
          ok: true,
          detail: `${config.dockerSocket} (engine ${version.Version}, API ${version.ApiVersion})`,
        };
      } catch (err) {
        return {
          ok: false,
          detail: `${config.dockerSocket} unreachable: ${(err as Error).message}`,
          fix: `run \`${SETUP}\`, or start the engine with \`dockerd --bridge=none --iptables=false &\`, or set DEVLAB_DOCKER_SOCKET`,
        };
      }
    },
  };
}

export function chromiumCheck(config: DevlabConfig): Check {
  return {
    name: 'Chromium + chromedriver',
    required: true,
    async run() {
      const fix = `run \`${SETUP}\` (apt-get install -y chromium chromium-driver)`;
      let browser: string;
      let driver: string;
      try {
        browser = await majorVersion(config.chromium);
      } catch (err) {
        return { ok: false, detail: `${config.chromium}: ${(err as Error).message}`, fix };
      }
      try {
        driver = await majorVersion(config.chromedriver);
      } catch (err) {
        return { ok: false, detail: `${config.chromedriver}: ${(err as Error).message}`, fix };
      }
      const same = browser.split('.')[0] === driver.split('.')[0];
      return same
        ? { ok: true, detail: `chromium ${browser}, chromedriver ${driver}` }
        : { ok: false, detail: `chromium ${browser} but chromedriver ${driver}: major versions differ`, fix };
    },
  };
}

export function appiumCheck(config: DevlabConfig): Check {
  return {
    name: 'Appium',
    required: true,
    async run() {
      const fix = `run \`${SETUP}\` (npm ci installs appium and appium-chromium-driver; APPIUM_HOME=${config.appium.home})`;
      let drivers: string[];
      try {
        const { stdout } = await run(
          process.execPath,
          [appiumMain(config.appium.home), 'driver', 'list', '--installed', '--json'],
          { env: { ...process.env, APPIUM_HOME: config.appium.home }, timeout: 60_000 },
        );
        drivers = Object.entries(JSON.parse(stdout) as Record<string, { version?: string }>).map(
          ([name, info]) => `${name}@${info.version ?? '?'}`,
        );
      } catch (err) {
        return {
          ok: false,
          detail: `cannot list Appium drivers: ${(err as Error).message.split('\n')[0]}`,
          fix,
        };
      }
      if (!drivers.some((d) => d.startsWith('chromium@'))) {
        return {
          ok: false,
          detail: `drivers installed: ${drivers.join(', ') || 'none'}; chromium missing`,
          fix,
        };
      }
      const url = `http://${config.appium.host}:${config.appium.port}`;
      const running = await appiumStatus(url);
      if (running)
        return {
          ok: true,
          detail: `running on ${url} (${running.build?.version ?? '?'}); ${drivers.join(', ')}`,
        };
      const server = new AppiumServer({
        host: '127.0.0.1',
        port: await freePort(),
        appiumHome: config.appium.home,
      });
      try {
        await server.start();
        const status = await appiumStatus(server.url);
        return {
          ok: true,
          detail: `startable (${status?.build?.version ?? '?'}); drivers ${drivers.join(', ')}`,
        };
      } catch (err) {
        return { ok: false, detail: `does not start: ${(err as Error).message}`, fix };
      } finally {
        await server.stop();
      }
    },
  };
}

export function tfBackendCheck(): Check {
  return {
    name: 'TensorFlow.js backend',
    required: true,
    async run() {
      const info = await initBackend();
      return { ok: true, detail: `${info.name} (${info.note})` };
    },
  };
}

export function dataDirCheck(config: DevlabConfig): Check {
  return {
    name: 'Data dir',
    required: true,
    async run() {
      try {
        mkdirSync(config.home, { recursive: true });
        accessSync(config.home, constants.W_OK);
        return { ok: true, detail: `${config.home} writable` };
      } catch (err) {
        return {
          ok: false,
          detail: `${config.home}: ${(err as Error).message}`,
          fix: 'set DEVLAB_HOME to a writable folder',
        };
      }
    },
  };
}

export function diskCheck(config: DevlabConfig, minFreeGiB = 2): Check {
  return {
    name: 'Free disk',
    required: false,
    async run() {
      mkdirSync(config.home, { recursive: true });
      const stats = statfsSync(config.home);
      const freeGiB = (stats.bavail * stats.bsize) / 2 ** 30;
      return freeGiB >= minFreeGiB
        ? { ok: true, detail: `${freeGiB.toFixed(1)} GiB free under ${config.home}` }
        : {
            ok: false,
            detail: `${freeGiB.toFixed(2)} GiB free under ${config.home}`,
            fix: `free at least ${minFreeGiB} GiB (artifacts, images, models)`,
          };
    },
  };
}

export function allChecks(config: DevlabConfig): Check[] {
  return [
    nodeCheck(),
    redisCheck(config),
    dockerCheck(config),
    appiumCheck(config),
    chromiumCheck(config),
    headlessChromiumCheck(config),
    jobQueueCheck(config),
    tfBackendCheck(),
    dataDirCheck(config),
    storeFileCheck(config),
    diskCheck(config),
  ];
}

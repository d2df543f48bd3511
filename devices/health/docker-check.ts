import type { DeviceRecord } from '../device.ts';
import type { DockerDriver } from '../docker/docker-driver.ts';
import { dockerSettings } from '../docker/docker-driver.ts';
import { hasImage } from '../docker/local-image.ts';
import { type HealthResult, timed } from './health-check.ts';

/** Engine ping, then the image: present, or buildable from a local spec / pullable from a registry. */
export function dockerHealth(device: DeviceRecord, driver: DockerDriver): Promise<HealthResult> {
  return timed(device, async () => {
    const settings = dockerSettings(device);
    const socket = driver.socketOf(settings);
    const { docker } = driver.engine(socket);
    try {
      await docker.ping();
    } catch (err) {
      throw new Error(`Docker engine on ${socket} did not answer: ${(err as Error).message}`);
    }
    if (await hasImage(docker, settings.image)) return `engine up, image ${settings.image} present`;
    if (settings.build) return `engine up, image ${settings.image} will be built from ${settings.build}`;
    if (settings.registry)
      return `engine up, image ${settings.image} will be pulled from ${settings.registry}`;
    throw new Error(`image ${settings.image} is missing and has no build spec or registry`);
  });
}

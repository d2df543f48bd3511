import { AppiumDriver } from './appium/appium-driver.ts';
import { BrowserDriver } from './browser/browser-driver.ts';
import { DockerDriver, type DockerDriverOptions } from './docker/docker-driver.ts';
import { DriverRegistry } from './driver.ts';
import { REFERENCE_IMAGE_SPECS } from './reference-lab/images/stb-reference.ts';

/** All three drivers, the Docker one knowing the reference lab's image specs. */
export function createDriverRegistry(docker: DockerDriverOptions = {}): DriverRegistry {
  return new DriverRegistry()
    .register(new AppiumDriver())
    .register(new DockerDriver({ ...docker, imageSpecs: { ...REFERENCE_IMAGE_SPECS, ...docker.imageSpecs } }))
    .register(new BrowserDriver());
}

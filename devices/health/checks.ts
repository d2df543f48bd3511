import type { DeviceRecord } from '../device.ts';
import { DockerDriver } from '../docker/docker-driver.ts';
import { appiumHealth } from './appium-check.ts';
import { browserHealth } from './browser-check.ts';
import { dockerHealth } from './docker-check.ts';
import type { HealthCheck } from './health-check.ts';

export interface HealthCheckOptions {
  /** Skip the Appium session probe (frequent re-checks). */
  appiumStatusOnly?: boolean;
  docker?: DockerDriver;
}

/** The check for each device's driver kind. */
export function healthCheck(options: HealthCheckOptions = {}): HealthCheck {
  const docker = options.docker ?? new DockerDriver();
  return (device: DeviceRecord) => {
    switch (device.driver) {
      case 'appium':
        return appiumHealth(device, { statusOnly: options.appiumStatusOnly ?? false });
      case 'docker':
        return dockerHealth(device, docker);
      case 'browser':
        return browserHealth(device);
    }
  };
}

import Docker from 'dockerode';
import type { DeviceRecord } from '../device.ts';
import type { DeviceDriver } from '../driver.ts';
import { DeviceError, InfrastructureError } from '../errors.ts';
import { DockerSession, type WarnListener } from './docker-session.ts';
import { type ImageSpecs, ImageProvider } from './images.ts';
import { PROCESS_INSTANCE } from './labels.ts';
import { LeftoverContainers } from './leftover-containers.ts';
import type { LogListener } from './run-command.ts';
import { type DockerSettings, dockerSettingsSchema } from './settings.ts';

export interface DockerDriverOptions {
  /** Local image specs the devices' `build` setting names. */
  imageSpecs?: ImageSpecs;
  /** This agent life's id, stamped on containers so the reaper of the next life can find them. */
  instance?: string;
  onLog?: (deviceId: string, stream: 'stdout' | 'stderr', line: string) => void;
  /** Problems that do not change a verdict (result files not readable, a removal that failed); default: stderr. */
  onWarn?: WarnListener;
}

export function dockerSettings(device: DeviceRecord): DockerSettings {
  const parsed = dockerSettingsSchema.safeParse(device.settings);
  if (!parsed.success) {
    throw new DeviceError('config', `Device ${device.id}: invalid docker settings: ${parsed.error.message}`, {
      deviceId: device.id,
    });
  }
  return parsed.data;
}

/** Container devices on a local Docker engine (one engine client and image provider per socket). */
export class DockerDriver implements DeviceDriver<DockerSettings> {
  readonly kind = 'docker' as const;
  readonly settingsSchema = dockerSettingsSchema;
  private readonly engines = new Map<
    string,
    { docker: Docker; images: ImageProvider; leftovers: LeftoverContainers }
  >();

  constructor(private readonly options: DockerDriverOptions = {}) {}

  engine(socket: string): { docker: Docker; images: ImageProvider; leftovers: LeftoverContainers } {
    let engine = this.engines.get(socket);
    if (!engine) {
      const docker = new Docker({ socketPath: socket });
      engine = {
        docker,
        images: new ImageProvider(docker, this.options.imageSpecs),
        leftovers: new LeftoverContainers(),
      };
      this.engines.set(socket, engine);
    }
    return engine;
  }

  async openSession(device: DeviceRecord): Promise<DockerSession> {
    const settings = dockerSettings(device);
    const { docker, images, leftovers } = this.engine(settings.socket);
    try {
      await images.ensure(settings);
    } catch (err) {
      if (err instanceof DeviceError) throw err;
      throw new InfrastructureError(
        `Device ${device.id}: image ${settings.image}: ${(err as Error).message}`,
        {
          deviceId: device.id,
          cause: err,
        },
      );
    }
    const onLog = this.options.onLog;
    const listener: LogListener | undefined = onLog
      ? (stream, line) => onLog(device.id, stream, line)
      : undefined;
    return new DockerSession(
      docker,
      device,
      settings,
      this.options.instance ?? PROCESS_INSTANCE,
      listener,
      leftovers,
      this.options.onWarn,
    );
  }

  /** A last removal try for containers the engine could not remove while it was away. */
  async dispose(): Promise<void> {
    for (const engine of this.engines.values()) await engine.leftovers.dispose();
  }
}

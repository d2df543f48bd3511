import Docker from 'dockerode';
import type { DeviceRecord } from '../device.ts';
import type { DeviceDriver, SessionOptions } from '../driver.ts';
import { DeviceError, InfrastructureError } from '../errors.ts';
import { DockerSession, type WarnListener } from './docker-session.ts';
import { type ImageSpecs, ImageProvider } from './images.ts';
import { DEFAULT_LAB, PROCESS_INSTANCE } from './labels.ts';
import { localImageSpecDigest } from './local-image.ts';
import { LeftoverContainers } from './leftover-containers.ts';
import type { LogListener } from './run-command.ts';
import { type DockerSettings, dockerSettingsSchema } from './settings.ts';

/** The engine of a driver told no socket, for devices naming none. */
export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

export interface DockerDriverOptions {
  /** Engine socket of the devices that name none (the lab's `dockerSocket`); default /var/run/docker.sock. */
  socket?: string;
  /** The lab (its Redis prefix) stamped on containers, so that its reaper leaves other labs' alone. */
  lab?: string;
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

  /** The engine socket of a device: its own, else the driver's. */
  socketOf(settings: DockerSettings): string {
    return settings.socket ?? this.options.socket ?? DEFAULT_DOCKER_SOCKET;
  }

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

  /**
   * A session on the device's engine. Its containers start the device's image (built or pulled as its
   * settings say), or the image the test asks for (`options.image`, a container manifest's): that one only
   * if the engine has it locally, never built or pulled.
   */
  async openSession(device: DeviceRecord, options: SessionOptions = {}): Promise<DockerSession> {
    const own = dockerSettings(device);
    const socket = this.socketOf(own);
    const { docker, images, leftovers } = this.engine(socket);
    const settings = { ...own, socket };
    if (options.image !== undefined && options.image !== own.image) {
      await requireLocalImage(docker, device, options.image, socket);
      settings.image = options.image;
    } else await this.ensureDeviceImage(device, images, settings);
    const onLog = this.options.onLog;
    const listener: LogListener | undefined = onLog
      ? (stream, line) => onLog(device.id, stream, line)
      : undefined;
    return new DockerSession(
      docker,
      device,
      settings,
      { instance: this.options.instance ?? PROCESS_INSTANCE, lab: this.options.lab ?? DEFAULT_LAB },
      listener,
      leftovers,
      this.options.onWarn,
    );
  }

  private async ensureDeviceImage(
    device: DeviceRecord,
    images: ImageProvider,
    settings: DockerSettings,
  ): Promise<void> {
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
  }

  /** A last removal try for containers the engine could not remove while it was away. */
  async dispose(): Promise<void> {
    for (const engine of this.engines.values()) await engine.leftovers.dispose();
  }
}

/** The test's own image must be on the engine already: an infrastructure error naming it otherwise. */
async function requireLocalImage(
  docker: Docker,
  device: DeviceRecord,
  image: string,
  socket: string,
): Promise<void> {
  let present: boolean;
  try {
    present = (await localImageSpecDigest(docker, image)) !== null;
  } catch (err) {
    throw new InfrastructureError(
      `Device ${device.id}: cannot look up the test's image ${image} on the Docker engine at ${socket}: ${(err as Error).message}`,
      { deviceId: device.id, cause: err },
    );
  }
  if (!present)
    throw new InfrastructureError(
      `Device ${device.id}: the test's image ${image} is not on the Docker engine at ${socket}; a container manifest's image is never pulled or built: build or load it on that engine first`,
      { deviceId: device.id },
    );
}

import type Docker from 'dockerode';
import type { Artifact, DeviceRecord } from '../device.ts';
import type { RunOptions, RunResult, Session, TestBodyFn } from '../driver.ts';
import { DeviceError, errorInfo } from '../errors.ts';
import { runBody } from '../run-body.ts';
import { readTree, resultArtifacts } from './archive.ts';
import { DockerContainerHandle } from './container-handle.ts';
import { createDeviceContainer, KEEPALIVE_CMD, removeContainer } from './create-container.ts';
import type { LeftoverContainers } from './leftover-containers.ts';
import { type LogListener, runToCompletion } from './run-command.ts';
import type { DockerSettings } from './settings.ts';

/** A problem that does not change the verdict, by device. */
export type WarnListener = (deviceId: string, message: string) => void;

const defaultWarn: WarnListener = (deviceId, message) =>
  console.warn(`[devlab docker] ${deviceId}: ${message}`);

export interface CommandRunResult extends RunResult {
  exitCode: number | null;
}

/**
 * A container device: every test gets a new container from the session's image (the device's, or the one
 * its tests asked for when it was opened), removed afterwards.
 */
export class DockerSession implements Session {
  private container: Docker.Container | null = null;
  private handle: DockerContainerHandle | null = null;

  constructor(
    private readonly docker: Docker,
    readonly device: DeviceRecord,
    private readonly settings: DockerSettings,
    /** Stamped on its containers: this agent life's id and the lab (see labels.ts). */
    private readonly stamp: { instance: string; lab: string },
    private readonly onLog?: LogListener,
    /** Where a container goes whose removal failed (engine away), to be removed once the engine is back. */
    private readonly leftovers?: LeftoverContainers,
    /** What went wrong that does not change the verdict (results not readable, a removal that failed). */
    private readonly onWarn: WarnListener = defaultWarn,
  ) {}

  /** The files of the results folder (a tmpfs: read by an exec while the container runs). */
  private async results(container: Docker.Container): Promise<Artifact[]> {
    return resultArtifacts(await readTree(this.docker, container, this.settings.resultsPath));
  }

  private warn(message: string): void {
    this.onWarn(this.device.id, message);
  }

  private async resetQuietly(): Promise<void> {
    try {
      await this.reset();
    } catch (err) {
      this.warn(
        `removing the test's container failed (retried in the background): ${(err as Error).message}`,
      );
    }
  }

  async run(body: TestBodyFn, options: RunOptions): Promise<RunResult> {
    const started = performance.now();
    try {
      await this.reset();
      const container = await createDeviceContainer(this.docker, this.device, this.settings, {
        ...this.stamp,
        cmd: KEEPALIVE_CMD,
      });
      this.container = container;
      await container.start();
      this.handle = new DockerContainerHandle(this.docker, container);
    } catch (err) {
      this.warn(`starting the test's container failed: ${(err as Error).message}`);
      await this.resetQuietly();
      return { status: 'error', error: errorInfo(err, 'infrastructure'), artifacts: [], durationMs: 0 };
    }
    const outcome = await runBody(body, { container: this.handle }, options);
    let artifacts: Artifact[] = [];
    try {
      artifacts =
        outcome.status === 'passed' ? await this.results(this.container) : await this.captureArtifacts();
    } catch (err) {
      // A container that died takes its files with it; the verdict stands.
      this.warn(`the test's result files could not be read: ${(err as Error).message}`);
    }
    await this.resetQuietly();
    return { ...outcome, artifacts, durationMs: performance.now() - started };
  }

  /**
   * Runs the device's own command (or `cmd`) in a fresh container (an exec beside its keepalive PID 1, so
   * that its tmpfs results outlive the command): streamed logs, killed at the deadline, exit code 0 =
   * passed; the result files and the command's stdout and stderr are the artifacts.
   */
  async runCommand(options: RunOptions & { cmd?: string[] }): Promise<CommandRunResult> {
    const started = performance.now();
    const cmd = options.cmd ?? this.settings.command;
    if (!cmd) {
      const err = new DeviceError('config', `Device ${this.device.id} has no command to run`, {
        deviceId: this.device.id,
      });
      return { status: 'error', exitCode: null, error: errorInfo(err), artifacts: [], durationMs: 0 };
    }
    let container: Docker.Container | null = null;
    try {
      await this.reset();
      container = await createDeviceContainer(this.docker, this.device, this.settings, {
        ...this.stamp,
        cmd: KEEPALIVE_CMD,
      });
      this.container = container;
      await container.start();
      const outcome = await runToCompletion(this.docker, container, {
        cmd,
        timeoutMs: options.timeoutMs,
        resultsPath: this.settings.resultsPath,
        ...(this.onLog ? { onLog: this.onLog } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      if (outcome.resultsError) this.warn(outcome.resultsError);
      const logs: Artifact[] = [
        { name: 'stdout.log', contentType: 'text/plain', data: Buffer.from(outcome.stdout) },
        { name: 'stderr.log', contentType: 'text/plain', data: Buffer.from(outcome.stderr) },
      ];
      const durationMs = performance.now() - started;
      const artifacts = [...outcome.artifacts, ...logs];
      if (outcome.timedOut) {
        const message = `${JSON.stringify(cmd)} was killed after ${options.timeoutMs} ms`;
        return {
          status: 'timed-out',
          exitCode: null,
          error: errorInfo(new Error(message), 'timeout'),
          artifacts,
          durationMs,
        };
      }
      if (outcome.exitCode === 0) return { status: 'passed', exitCode: 0, artifacts, durationMs };
      const message = `${JSON.stringify(cmd)} exited with code ${outcome.exitCode}`;
      return {
        status: 'failed',
        exitCode: outcome.exitCode,
        error: errorInfo(new Error(message), 'test'),
        artifacts,
        durationMs,
      };
    } catch (err) {
      this.warn(`running ${JSON.stringify(cmd)} failed: ${(err as Error).message}`);
      return {
        status: 'error',
        exitCode: null,
        error: errorInfo(err, 'infrastructure'),
        artifacts: [],
        durationMs: performance.now() - started,
      };
    } finally {
      await this.resetQuietly();
    }
  }

  async captureArtifacts(): Promise<Artifact[]> {
    if (!this.container) return [];
    const artifacts = await this.results(this.container);
    if (this.handle && this.handle.history.length > 0) {
      artifacts.push({
        name: 'exec-log.json',
        contentType: 'application/json',
        data: Buffer.from(JSON.stringify(this.handle.history, null, 2)),
      });
    }
    return artifacts;
  }

  /** Removes the test's container: the next test starts from the image again. */
  async reset(): Promise<void> {
    const container = this.container;
    this.container = null;
    this.handle = null;
    if (!container) return;
    try {
      await removeContainer(container);
    } catch (err) {
      this.leftovers?.add(container);
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.reset();
  }
}

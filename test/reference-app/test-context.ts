import type { Page } from 'playwright-core';
import type { TestContext } from '../../suites/test-api.ts';
import { deviceRecordFor, type LabProfile } from './lab-profiles.ts';

export interface RecordedContext {
  ctx: TestContext;
  steps: string[];
  attachments: Map<string, string | Buffer>;
  logs: string[];
}

/** A real TestContext over a real page: steps, logs and attachments are recorded for assertions. */
export function contextFor(page: Page, profile: LabProfile, appUrl: string): RecordedContext {
  const steps: string[] = [];
  const logs: string[] = [];
  const attachments = new Map<string, string | Buffer>();
  const log = (level: string) => (message: string, data?: Record<string, unknown>) => {
    logs.push(`${level} ${message} ${data ? JSON.stringify(data) : ''}`.trim());
  };
  const ctx: TestContext = {
    page,
    device: deviceRecordFor(profile),
    appUrl,
    log: { info: log('info'), warn: log('warn'), error: log('error') },
    async step(name, fn) {
      steps.push(name);
      return fn();
    },
    attach(name, data) {
      attachments.set(name, data);
    },
    signal: new AbortController().signal,
  };
  return { ctx, steps, attachments, logs };
}

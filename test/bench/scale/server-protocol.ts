/** What the bench tells the measured control plane's process (server-child.ts) at its start. */
export interface ServerSpec {
  suitesDir: string;
  inventoryFile: string;
  port: number;
}

/**
 * reset: zero the event-loop stall meter; stats: read it and the RSS; train: start a model training;
 * trained: answer once no training runs; settled: answer once every submitted run's attempts are queued
 * (a submit answers before); close: stop the service and exit.
 */
export type ChildCommand = 'reset' | 'stats' | 'train' | 'trained' | 'settled' | 'close';

export interface ChildRequest {
  id: number;
  cmd: ChildCommand;
}

export interface ChildReply {
  /** The request's id; 0 for the ready message. */
  id: number;
  /** Longest event-loop delay since the last reset. */
  maxStallMs: number;
  rssMb: number;
  /** Highest RSS of the process so far. */
  peakRssMb: number;
  ready?: boolean;
  /** Time from the process's start to ready (the child's own clock). */
  uptimeMs?: number;
  error?: string | null;
}

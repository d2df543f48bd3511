// The agents of the soak: one slot per agent host, what was restarted away, and starting one.
import { AgentProc } from './agent-proc.ts';
import { env, inventoryFile, state, suitesDir } from './lab.ts';
import { AGENTS } from './options.ts';
import { allProcs } from './procs.ts';
import { hostOf } from './suite.ts';

export const slots: (AgentProc | null)[] = Array.from({ length: AGENTS }, () => null);
export const retired: AgentProc[] = [];
export const unexpectedExits: string[] = [];
let generation = 0;

function agentArgv(host: string, serverUrl: string): string[] {
  return [
    '--host',
    host,
    '--inventory',
    inventoryFile,
    '--suites',
    suitesDir,
    '--server',
    serverUrl,
    '--app-url',
    'http://127.0.0.1:9/',
  ];
}

export async function startAgent(index: number): Promise<AgentProc> {
  if (state.stopping || !state.url) throw new Error('the soak is stopping');
  const host = hostOf(index);
  const agent = new AgentProc(host, ++generation, agentArgv(host, state.url), env, (a, code, signal) => {
    if (!state.stopping)
      unexpectedExits.push(
        `${a.host}#${a.generation} exited on its own (code ${code}, signal ${signal}): ${a.output.slice(-800)}`,
      );
  });
  slots[index] = agent;
  try {
    await agent.ready();
  } finally {
    // Started while the cleanup ran (Ctrl-C during a restart): stopped here, the cleanup may have missed it.
    if (state.stopping) await agent.stop(5000);
  }
  if (state.stopping) throw new Error('the soak is stopping');
  agent.track(allProcs());
  return agent;
}

import { rmSync } from 'node:fs';
import net from 'node:net';

/** A unix socket that forwards every connection to another one (e.g. a Docker engine's), counting them. */
export interface SocketProxy {
  path: string;
  /** Connections accepted so far: > 0 means something talked to the engine through this path. */
  readonly connections: number;
  close(): Promise<void>;
}

export async function startSocketProxy(target: string, path: string): Promise<SocketProxy> {
  let connections = 0;
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    connections++;
    const upstream = net.connect(target);
    for (const s of [client, upstream]) {
      open.add(s);
      s.once('close', () => open.delete(s));
    }
    // An end on either side ends the other; an error (a reset) destroys both.
    client.pipe(upstream).pipe(client);
    const destroy = () => {
      client.destroy();
      upstream.destroy();
    };
    client.once('error', destroy);
    upstream.once('error', destroy);
  });
  rmSync(path, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  return {
    path,
    get connections() {
      return connections;
    },
    async close() {
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

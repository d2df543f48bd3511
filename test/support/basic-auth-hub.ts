import http from 'node:http';

export interface HubRequest {
  method: string;
  path: string;
  /** The request carried the expected `Authorization: Basic` header. */
  authorized: boolean;
}

export interface BasicAuthHub {
  /** `http://127.0.0.1:<port>` (no credentials). */
  url: string;
  port: number;
  requests: HubRequest[];
  close(): Promise<void>;
}

/**
 * A hub in front of a real Appium server that wants `user:key` as HTTP Basic credentials on every request
 * (an authenticating reverse proxy, as device clouds and lab gateways put in front of Appium); anything
 * else gets 401. With `openStatus`, `/status` answers without credentials (some clouds do) and only the
 * session routes are guarded.
 */
export function startBasicAuthHub(
  target: string,
  credentials: { user: string; key: string },
  options: { openStatus?: boolean } = {},
): Promise<BasicAuthHub> {
  const expected = `Basic ${Buffer.from(`${credentials.user}:${credentials.key}`).toString('base64')}`;
  const upstream = new URL(target);
  const requests: HubRequest[] = [];
  const server = http.createServer((req, res) => {
    const path = req.url ?? '/';
    const authorized = req.headers.authorization === expected;
    requests.push({ method: req.method ?? '', path, authorized });
    if (!authorized && !(options.openStatus && path === '/status')) {
      req.resume();
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Basic realm="hub"' });
      res.end(
        JSON.stringify({ value: { error: 'unauthorized', message: 'hub: wrong or missing credentials' } }),
      );
      return;
    }
    const { authorization: _dropped, host: _host, ...headers } = req.headers;
    const forward = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path, headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', (err) => {
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ value: { error: 'bad gateway', message: err.message } }));
    });
    req.pipe(forward);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      resolve({
        url: `http://127.0.0.1:${port}`,
        port,
        requests,
        close: () =>
          new Promise((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    }),
  );
}

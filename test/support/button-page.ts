import { createServer, type Server } from 'node:http';

const PAGE = `<!doctype html><html><head><title>devlab button</title></head><body>
<button id="go" onclick="document.getElementById('out').textContent = 'clicked ' + (++window.n)">Go</button>
<p id="out">idle</p><script>window.n = 0;</script></body></html>`;

export interface ButtonPage {
  url: string;
  close(): Promise<void>;
}

/** A page with one button on an ephemeral loopback port: the smallest real thing to drive. */
export async function serveButtonPage(): Promise<ButtonPage> {
  const server: Server = createServer((_req, res) => {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(PAGE);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A tiny app page on loopback: it reports what the device announces (user agent, window, codec probes)
 * the way the reference app does, so tests can assert on what a real app would see.
 */
const PAGE = `<!doctype html>
<html><head><meta name="viewport" content="width=device-width, initial-scale=1"><title>devlab probe page</title></head>
<body>
<h1 id="title">probe</h1>
<pre id="report"></pre>
<script>
  var hevc = MediaSource.isTypeSupported('video/mp4; codecs="hvc1.2.4.L153.B0"');
  var report = {
    userAgent: navigator.userAgent,
    width: window.innerWidth,
    height: window.innerHeight,
    h264: MediaSource.isTypeSupported('video/mp4; codecs="avc1.640028"'),
    hevc: hevc,
    av1: MediaSource.isTypeSupported('video/mp4; codecs="av01.0.08M.08"'),
    dolbyVision: MediaSource.isTypeSupported('video/mp4; codecs="dvh1.05.06"'),
    canPlayHevc: document.createElement('video').canPlayType('video/mp4; codecs="hev1.1.6.L93.B0"'),
    hdr: window.matchMedia('(dynamic-range: high)').matches
  };
  document.getElementById('report').textContent = JSON.stringify(report);
  document.getElementById('title').textContent = hevc ? 'HEVC playback ready' : 'HEVC unsupported on this device';
  console.warn('probe page loaded, hevc=' + hevc);
</script>
</body></html>`;

export async function startPageServer(): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'set-cookie': 'visited=1; Path=/' });
    res.end(PAGE);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

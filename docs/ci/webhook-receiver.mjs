// A receiver for devlab's signed webhooks (`devlab hooks add`), with no dependencies: it checks the
// signature over the raw body, drops repeats by delivery id, and answers 2xx fast (do the work after).
//
//   DEVLAB_HOOK_SECRET=dlh_... PORT=8787 node docs/ci/webhook-receiver.mjs
//   devlab hooks add --url http://<this host>:8787/devlab --events run.finished,run.failed
//
// The control plane only sends to hosts on its allow-list (hooks.allowHosts / DEVLAB_HOOKS_ALLOW_HOSTS).
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';

/** True when `signature` (the X-Devlab-Signature-256 header) is HMAC-SHA256 of the raw body with `secret`. */
export function verifyDelivery(secret, rawBody, signature) {
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`);
  const given = Buffer.from(String(signature ?? ''));
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function serve(secret, port) {
  // Retries and redeliveries carry the same X-Devlab-Delivery id: handle each id once.
  const seen = new Set();
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks); // verify the bytes as received, before any JSON parsing
      if (!verifyDelivery(secret, raw, req.headers['x-devlab-signature-256'])) {
        res.writeHead(401).end('bad signature');
        return;
      }
      const id = req.headers['x-devlab-delivery'];
      res.writeHead(204).end();
      if (seen.has(id)) return;
      seen.add(id);
      const event = JSON.parse(raw.toString('utf8'));
      const { run } = event;
      console.log(
        `${event.event}: run ${run.id} (${run.partner}, build ${run.build}) ${run.status}`,
        JSON.stringify(run.counts),
      );
      for (const f of run.failing) console.log(`  ${f.testId} on ${f.deviceId}: ${f.message ?? f.verdict}`);
      console.log(`  results ${run.links.results}\n  junit   ${run.links.junit}`);
      // e.g. trigger or fail a pipeline stage here.
    });
  });
  server.listen(port, () => console.log(`listening on :${port}`));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const secret = process.env.DEVLAB_HOOK_SECRET;
  if (!secret) {
    console.error('set DEVLAB_HOOK_SECRET to the secret `devlab hooks add` printed');
    process.exit(2);
  }
  serve(secret, Number(process.env.PORT ?? 8787));
}

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

const PUBLIC = path.join(path.dirname(fileURLToPath(import.meta.url)), 'public');

const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/dashboard/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard/hooks.js': { file: 'hooks.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard/table.js': { file: 'table.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard/reservations.js': { file: 'reservations.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
  '/dashboard/favicon.svg': { file: 'favicon.svg', type: 'image/svg+xml' },
};

/**
 * Nothing but our own files may load: the page holds an API token, so no third-party script, style or
 * frame can run beside it. Artifacts are shown from blob: URLs fetched with the token, and so is the
 * failure-prediction report (in a frame, which inherits this policy): its charts (ECharts' SVG) carry inline
 * styles, so inline styles are allowed; scripts never are, and the page writes text only, never markup.
 */
const CSP =
  `default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' blob:; ` +
  "connect-src 'self'; frame-src blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** The dashboard: static files, no build step; the page itself talks to the JSON API. */
export function registerDashboard(app: FastifyInstance): void {
  for (const [route, { file, type }] of Object.entries(FILES)) {
    // Read per request so an edited page shows on reload; the files are a few kilobytes.
    app.get(route, async (_req, reply) =>
      reply
        .type(type)
        .header('content-security-policy', CSP)
        .header('x-content-type-options', 'nosniff')
        .header('cache-control', 'no-cache')
        .send(readFileSync(path.join(PUBLIC, file))),
    );
  }
}

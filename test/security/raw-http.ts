import http from 'node:http';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

/**
 * One HTTP request with the path sent byte for byte as given (fetch and `new URL` normalise dot segments
 * and percent escapes, which would hide exactly what a traversal test needs to send).
 */
export function rawRequest(
  baseUrl: string,
  path: string,
  init: {
    method?: string;
    headers?: Record<string, string>;
    body?: Buffer | string;
    /** Send the body in chunks without a content-length (chunked transfer encoding). */
    chunked?: boolean;
  } = {},
): Promise<RawResponse> {
  const base = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: base.hostname,
        port: Number(base.port),
        method: init.method ?? 'GET',
        path,
        headers: init.headers ?? {},
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (init.body === undefined) {
      req.end();
      return;
    }
    const body = Buffer.isBuffer(init.body) ? init.body : Buffer.from(init.body);
    if (!init.chunked) {
      req.setHeader('content-length', String(body.length));
      req.end(body);
      return;
    }
    // A server that stops reading at its limit may answer and close before the upload is complete.
    req.on('error', () => {});
    const step = 256 * 1024;
    let offset = 0;
    const pump = () => {
      while (offset < body.length) {
        const chunk = body.subarray(offset, offset + step);
        offset += step;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      req.end();
    };
    pump();
  });
}

/** Small HTTP helpers shared by the aggregator's routes: JSON answers and bounded request bodies. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ConfigError } from '../config.ts';

export function json(res: ServerResponse, code: number, body: unknown): void {
  res.statusCode = code;
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Cache-Control', 'no-store');
  res.end(JSON.stringify(body));
}

/** The request body as text; more than `max` bytes ends the request with a ConfigError. */
export function readBody(req: IncomingMessage, max: number): Promise<string> {
  return new Promise((ok, fail) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        fail(new ConfigError(`request body: at most ${max} bytes accepted`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => ok(Buffer.concat(chunks).toString('utf8')));
    req.on('error', fail);
  });
}

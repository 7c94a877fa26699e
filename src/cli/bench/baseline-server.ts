/**
 * Child process of `npm run bench`: the two ceilings the FHIR server is compared with, serving the
 * bytes of a real read response (file `BENCH_BODY_FILE`) on every GET.
 * - `BENCH_EXPRESS_PORT`: a bare Express 5 route (the framework's own ceiling);
 * - `BENCH_HTTP_PORT`: a bare `node:http` server (the machine's limit).
 * Prints `ready` on stdout once both listen.
 */
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import express from 'express';

const body = readFileSync(requiredEnv('BENCH_BODY_FILE'));
const type = 'application/fhir+json; charset=utf-8';

const app = express();
app.disable('x-powered-by');
// The FHIR server computes no body hash for ETag either; leaving it on would lower the ceiling.
app.disable('etag');
app.get('/fhir/Patient/:id', (_req, res) => {
  res.type(type).send(body);
});

const bare = createServer((_req, res) => {
  res.writeHead(200, { 'Content-Type': type, 'Content-Length': body.length });
  res.end(body);
});

await Promise.all([
  new Promise<void>((resolve) => app.listen(Number(requiredEnv('BENCH_EXPRESS_PORT')), '127.0.0.1', () => resolve())),
  new Promise<void>((resolve) => bare.listen(Number(requiredEnv('BENCH_HTTP_PORT')), '127.0.0.1', () => resolve())),
]);
console.log('ready');

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as a receiver saw it. */
export interface ReceivedWebhook {
  path: string;
  headers: IncomingHttpHeaders;
  rawBody: string;
  body: Record<string, unknown>;
  /** The status the receiver answered. */
  status: number;
}

export interface WebhookReceiver {
  /** Base URL (`http://127.0.0.1:<port>`); any path is accepted. */
  url: string;
  received: ReceivedWebhook[];
  /** Requests answered 2xx, in arrival order. */
  accepted(): ReceivedWebhook[];
  close(): Promise<void>;
}

/**
 * A real local HTTP receiver for dispatcher tests. `answer(n, path)` decides the status of the n-th
 * request (0-based) — e.g. 503 for the first N, then 200 ("down, then up"); it may wait (a promise)
 * to hold a request open. A request is recorded once it has been answered.
 */
export async function startReceiver(
  answer: (n: number, path: string) => number | Promise<number> = () => 200,
): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  let arrivals = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const path = req.url ?? '/';
      const status = await answer(arrivals++, path);
      received.push({ path, headers: req.headers, rawBody, body: JSON.parse(rawBody) as Record<string, unknown>, status });
      res.writeHead(status, { 'Content-Type': 'text/plain' }).end(status < 300 ? 'ok' : 'down');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    accepted: () => received.filter((r) => r.status >= 200 && r.status < 300),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Config } from './config/config.js';
import type { Clock } from './context/clock.js';
import { systemClock } from './context/clock.js';
import { localSecret } from './config/local-secret.js';
import { hasTokenKey } from './auth/verify-token.js';
import { createLogger, type Logger } from './observability/logger.js';
import { openStore } from './store/open-store.js';
import type { PatientStore } from './store/port.js';
import { buildApp, serverCapabilityStatement } from './app.js';
import { warmUpSchema } from './patient/validation/schema-validator.js';
import { errors, ErrorCode } from './fhir/outcome.js';
import { startScheduler } from './jobs/scheduler.js';
import { createMetrics } from './observability/metrics.js';
import { withoutAuditWrites } from './audit/audit-disabled.js';
import { WebhookDispatcher } from './events/webhook-dispatcher.js';
import { SqliteOutbox } from './store/sqlite/outbox-tables.js';
import { MongoOutbox } from './store/mongo/outbox-delivery.js';
import { SqliteStore } from './store/sqlite/sqlite-store.js';

const root = fileURLToPath(new URL('..', import.meta.url));

export interface RunningServer {
  server: Server;
  store: PatientStore;
  logger: Logger;
  /** `http://host:port` the server listens on. */
  url: string;
  /** Graceful stop: stop accepting, finish in-flight requests (bounded), close the store. */
  stop(): Promise<void>;
}

/**
 * The ordered start-up sequence: secrets → store (connected and checked) → schema compiled → app →
 * listen. Each step fails with one clear log line.
 */
export async function startServer(config: Config, options: { clock?: Clock; logger?: Logger } = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const clock = options.clock ?? systemClock;
  const cursorKey = config.serverSecret ?? localSecret(config.dataDir, 'server').value;
  const correlationSecret = config.correlationSecret ?? localSecret(config.dataDir, 'correlation').value;
  // The server never runs open: with no JWT key configured, tokens are HS256 with a local secret.
  const jwtSecret = hasTokenKey(config) ? config.jwtSecret : localSecret(config.dataDir, 'jwt').value;
  if (!hasTokenKey(config)) {
    logger.info('no JWT key configured: using the local secret under DATA_DIR; mint a token with: npm run token -- --roles admin --scope "user/*.cruds"');
  }

  const metrics = createMetrics({ ...(config.metricsToken ? { token: config.metricsToken } : {}) });
  const rawStore = await openStore(config.databaseUrl);
  // The app sees a store that times every port call and counts AuditEvent writes.
  let store = metrics.instrumentStore(rawStore);
  if (config.auditDisabledForBenchmark) {
    logger.warn('AUDIT_DISABLED_FOR_BENCHMARK: AuditEvents are NOT written; never run like this with patient data');
    store = withoutAuditWrites(store);
  }
  if (!(await store.ping())) throw errors.unavailable(ErrorCode.STORE_UNAVAILABLE, 'The store does not answer');
  logger.info('store ready', { engine: store.engine });
  warmUpSchema();

  const packageJson = JSON.parse(readFileSync(`${root}/package.json`, 'utf8')) as { version: string };
  const capabilityStatement = serverCapabilityStatement(config, packageJson.version, clock.now());
  const scheduler = await startScheduler({
    store: rawStore,
    clock,
    logger,
    onJobRun: (job, result) => metrics.jobRuns.inc({ job, result }),
    sweepIntervalMs: config.anonymizationSweepIntervalMs,
    auditRetentionMs: config.auditRetentionMs,
    uniqueContacts: config.uniqueContacts,
  });
  const dispatcher = config.eventWebhookUrls.length
    ? new WebhookDispatcher({
        outbox: rawStore instanceof SqliteStore ? new SqliteOutbox(rawStore) : new MongoOutbox(rawStore as never),
        targets: config.eventWebhookUrls,
        secret: config.eventWebhookSecret ?? '',
        clock,
        logger,
        backoff: { baseMs: 1000, maxMs: 300_000 },
        batchSize: 50,
      })
    : undefined;
  dispatcher?.start(1000);
  if (dispatcher) metrics.observeOutboxBacklog(() => dispatcher.backlog());
  let stopping = false;
  const app = buildApp({
    metrics,
    config: { ...config, ...(jwtSecret ? { jwtSecret } : {}) },
    store,
    logger,
    clock,
    cursorKey,
    correlationSecret,
    capabilityStatement,
    ready: async () => !stopping && (await store.ping()),
    jobs: scheduler.jobs,
  });

  const server = createServer({ requestTimeout: 30_000, headersTimeout: 15_000, keepAliveTimeout: 5_000 }, app);
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => answerClientError(err, socket));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  logger.info('listening', { endpoint: `${url}/fhir`, engine: store.engine });

  return {
    server,
    store,
    logger,
    url,
    async stop() {
      if (stopping) return;
      stopping = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timeout = new Promise<void>((resolve) => setTimeout(resolve, config.shutdownTimeoutMs).unref());
      await Promise.race([closed, timeout]);
      server.closeAllConnections();
      await scheduler.stop();
      await dispatcher?.stop();
      await store.close();
      logger.info('stopped');
    },
  };
}

/**
 * Requests Node's HTTP parser rejects (bad request line, oversized headers) still get an
 * OperationOutcome rather than a bare socket reset.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (!socket.writable || err.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  const outcome = (tooLarge
    ? errors.badRequest(ErrorCode.INVALID_HEADER, 'Request headers are too large')
    : errors.badRequest(ErrorCode.INVALID_HEADER, 'The HTTP request is malformed')
  ).toOperationOutcome();
  const body = JSON.stringify(outcome);
  const status = tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request';
  socket.end(
    `HTTP/1.1 ${status}\r\nContent-Type: application/fhir+json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

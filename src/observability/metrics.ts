import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { errors } from '../fhir/outcome.js';
import { sendOutcomeError } from '../http/error-response.js';
import { localsOf } from '../http/request-context.js';
import type { PatientStore } from '../store/port.js';

/** Options of {@link createMetrics}. */
export interface MetricsOptions {
  /** `METRICS_TOKEN`: when set, `GET /metrics` requires `Authorization: Bearer <token>`. */
  token?: string;
  /** Process metrics (CPU, memory, event loop lag, GC, …); default true. */
  defaultMetrics?: boolean;
}

/**
 * The Prometheus metrics of one app instance (SPEC §10), on a registry of its own — never the
 * global default registry, so several apps (tests) can live in one process.
 *
 * Labels carry route templates (`/fhir/Patient/:id`), methods, statuses and operation names only:
 * never an id, a query value or anything else a request chose.
 */
export interface Metrics {
  registry: Registry;
  /** `http_request_duration_seconds{route,method,status}` */
  httpRequestDuration: Histogram<'route' | 'method' | 'status'>;
  /** `store_operation_duration_seconds{operation,engine}` */
  storeOperationDuration: Histogram<'operation' | 'engine'>;
  /** `audit_events_written_total{outcome}`, e.g. `outcome="written"` / `"failed"`. */
  auditEventsWritten: Counter<'outcome'>;
  /** `job_runs_total{job,result}`, e.g. `job="anonymization-sweep",result="success"`. */
  jobRuns: Counter<'job' | 'result'>;
  /** `outbox_backlog`: events not yet delivered. Set it, or give a source to {@link Metrics.observeOutboxBacklog}. */
  outboxBacklog: Gauge;
  /** Express middleware timing every request; mount it first, it observes when the response finishes. */
  middleware(): RequestHandler;
  /** `GET /metrics` in the Prometheus text format, behind the bearer token when one is configured. */
  handler(): RequestHandler;
  /** A store that times each port call (and the calls made inside its transactions). */
  instrumentStore(store: PatientStore): PatientStore;
  /** Reads the outbox backlog at scrape time from `source` (its failures leave the last value). */
  observeOutboxBacklog(source: () => number | Promise<number>): void;
}

/** Seconds; finer than prom-client's defaults at the low end, where a fast API lives. */
const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5, 10];
const STORE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
/** Methods Node's parser accepts are bounded already; anything unusual still collapses to one label. */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const MAX_ROUTE_LENGTH = 200;

/** Builds the metrics of one app instance. */
export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });

  const httpRequestDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Duration of HTTP requests, by route template, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: HTTP_BUCKETS,
    registers: [registry],
  });
  const storeOperationDuration = new Histogram({
    name: 'store_operation_duration_seconds',
    help: 'Duration of storage port calls, by operation and engine',
    labelNames: ['operation', 'engine'] as const,
    buckets: STORE_BUCKETS,
    registers: [registry],
  });
  const auditEventsWritten = new Counter({
    name: 'audit_events_written_total',
    help: 'AuditEvents written, by outcome',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const jobRuns = new Counter({
    name: 'job_runs_total',
    help: 'Background job runs, by job and result',
    labelNames: ['job', 'result'] as const,
    registers: [registry],
  });
  let backlogSource: (() => number | Promise<number>) | undefined;
  const outboxBacklog = new Gauge({
    name: 'outbox_backlog',
    help: 'Events in the transactional outbox not yet delivered',
    registers: [registry],
    async collect() {
      if (!backlogSource) return;
      try {
        this.set(await backlogSource());
      } catch {
        // a failed count must not fail the scrape: the gauge keeps its last value
      }
    },
  });

  return {
    registry,
    httpRequestDuration,
    storeOperationDuration,
    auditEventsWritten,
    jobRuns,
    outboxBacklog,
    middleware: () => requestTimer(httpRequestDuration),
    handler: () => metricsEndpoint(registry, options.token),
    instrumentStore: (store) => instrumentStore(store, storeOperationDuration, auditEventsWritten),
    observeOutboxBacklog(source) {
      backlogSource = source;
    },
  };
}

function requestTimer(histogram: Histogram<'route' | 'method' | 'status'>): RequestHandler {
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const method = METHODS.has(req.method) ? req.method : 'OTHER';
      histogram.observe({ route: routeLabel(localsOf(res).route, req.method), method, status: String(res.statusCode) }, seconds);
    });
    next();
  };
}

/**
 * The route template the router recorded (`GET /fhir/Patient/:id`) without its method prefix, which
 * has a label of its own; `unmatched` when no route took the request.
 */
function routeLabel(route: string | undefined, method: string): string {
  if (!route) return 'unmatched';
  const template = route.startsWith(`${method} `) ? route.slice(method.length + 1) : route;
  return template.slice(0, MAX_ROUTE_LENGTH);
}

function metricsEndpoint(registry: Registry, token: string | undefined): RequestHandler {
  const expected = token ? digest(token) : undefined;
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    localsOf(res).route = 'GET /metrics';
    if (expected) {
      const given = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '')?.[1];
      // Compare digests: equal length whatever was sent, so the comparison time leaks nothing.
      if (!given || !timingSafeEqual(digest(given), expected)) {
        sendOutcomeError(res, errors.unauthorized('A valid metrics bearer token is required'));
        return;
      }
    }
    try {
      const body = await registry.metrics();
      res.setHeader('Content-Type', registry.contentType);
      res.setHeader('Cache-Control', 'no-store');
      res.end(body);
    } catch (err) {
      next(err);
    }
  };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/**
 * Wraps a store so every method call is timed as `store_operation_duration_seconds{operation,engine}`
 * (failures included). A Proxy rather than a hand-written class, so methods added to the port later
 * are timed too. `transaction(work)` is timed as a whole, and the `tx` store `work` receives is
 * wrapped as well, so the calls inside a transaction show up under their own names.
 */
export function instrumentStore(
  store: PatientStore,
  histogram: Histogram<'operation' | 'engine'>,
  auditWrites?: Counter<'outcome'>,
): PatientStore {
  const engine = store.engine;
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property);
      if (property === 'audit' && auditWrites && value) return countedAudit(value as PatientStore['audit'], auditWrites);
      if (typeof value !== 'function' || typeof property !== 'string' || property === 'constructor') return value;
      let timed = wrapped.get(property);
      if (!timed) {
        const method = value as (...args: unknown[]) => unknown;
        timed = (...args: unknown[]): unknown => {
          if (property === 'transaction' && typeof args[0] === 'function') {
            const work = args[0] as (tx: PatientStore) => Promise<unknown>;
            args[0] = (tx: PatientStore) => work(instrumentStore(tx, histogram, auditWrites));
          }
          const end = histogram.startTimer({ operation: property, engine });
          let result: unknown;
          try {
            result = method.apply(target, args);
          } catch (err) {
            end();
            throw err;
          }
          if (result instanceof Promise) return result.finally(() => end());
          end();
          return result;
        };
        wrapped.set(property, timed);
      }
      return timed;
    },
  });
}

/** Counts AuditEvent appends (`audit_events_written_total{outcome="written"|"failed"}`). */
function countedAudit(audit: PatientStore['audit'], counter: Counter<'outcome'>): PatientStore['audit'] {
  return new Proxy(audit, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property);
      if (property !== 'append' || typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        try {
          const result: unknown = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          counter.inc({ outcome: 'written' });
          return result;
        } catch (err) {
          counter.inc({ outcome: 'failed' });
          throw err;
        }
      };
    },
  });
}

import { fileURLToPath } from 'node:url';
import { capabilitySearchParams, capabilityStatementFrom } from './fhir/capability-statement.js';
import { patientSearchParameters } from './patient/search-parameters.js';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { CapabilityStatement } from 'fhir/r4.js';
import type { Clock } from './context/clock.js';
import type { Config } from './config/config.js';
import type { Logger } from './observability/logger.js';
import type { Metrics } from './observability/metrics.js';
import type { PatientStore } from './store/port.js';
import type { PatientDeps } from './patient/deps.js';
import type { JobQueue } from './jobs/job-queue.js';
import { errors, ErrorCode } from './fhir/outcome.js';
import { requestContextMiddleware, localsOf } from './http/request-context.js';
import { accessLogMiddleware } from './http/access-log.js';
import { acceptJsonOnly, bodyParser } from './http/body.js';
import { expressHandler, type FhirRoute } from './http/fhir-route.js';
import { sendOutcomeError, toOutcomeError } from './http/error-response.js';
import { FHIR_JSON } from './http/respond.js';
import { patientRoutes } from './http/patient-routes.js';
import { lifecycleRoutes } from './lifecycle/routes.js';
import { auditRoutes } from './audit/routes.js';
import { restRoutes } from './rest/routes.js';
import { bundleRoutes } from './http/bundle-routes.js';
import { recordFailure } from './audit/record-audit.js';
import { createTokenVerifier } from './auth/verify-token.js';
import { smartConfiguration } from './auth/smart-configuration.js';
import { authMiddleware } from './http/auth-middleware.js';
import { corsAllowList, rateLimitByIp, rateLimitBySubject, readOnlyGuard, securityHeaders } from './http/hardening.js';

/** Everything the app is built from; `main.ts` (or a test) assembles it. */
export interface AppDeps {
  config: Config;
  store: PatientStore;
  logger: Logger;
  clock: Clock;
  /** Key that signs search cursors. */
  cursorKey: string;
  /** HMAC key of the returning-patient correlation hash (stable across restarts). */
  correlationSecret: string;
  capabilityStatement: (baseUrl: string) => CapabilityStatement;
  /** Whether the store (and job runner) are ready, for `/readyz`. */
  ready: () => Promise<boolean>;
  /** Queue of the `$restore` / `$anonymize` jobs (the scheduler's); without it they run in the request. */
  jobs?: JobQueue;
  /** Prometheus metrics (`/metrics`); absent in tests that do not need them. */
  metrics?: Metrics;
}

/**
 * The CapabilityStatement this server serves: `capability-statement.json` (top level of the
 * repository) with its run-time fields — version, start time, the Patient parameter table, the
 * SMART endpoints of the configuration.
 */
export function serverCapabilityStatement(config: Config, softwareVersion: string, startedAt: Date) {
  return capabilityStatementFrom(fileURLToPath(new URL('../capability-statement.json', import.meta.url)), {
    softwareVersion,
    startedAt,
    patientSearchParams: capabilitySearchParams(patientSearchParameters),
    oauth: {
      ...(config.smartAuthorizeUrl ? { authorize: config.smartAuthorizeUrl } : {}),
      ...(config.smartTokenUrl ? { token: config.smartTokenUrl } : {}),
    },
  });
}

/** Every FHIR route of the server (public and protected), for wiring and for route-coverage tests. */
export function fhirRoutes(): FhirRoute<PatientDeps>[] {
  // lifecycle first: `GET /fhir/Patient/$deleted` must win over `GET /fhir/Patient/:id`
  // REST completeness routes before the Patient ones: `GET /fhir/Patient/_history` must win over `:id`.
  const routes: FhirRoute<PatientDeps>[] = [...lifecycleRoutes, ...restRoutes, ...patientRoutes, ...auditRoutes];
  return [...routes, ...bundleRoutes(() => routes)];
}

/** Express wiring only: middleware order, routes, fallbacks and the error handler. No logic. */
export function buildApp(deps: AppDeps): express.Express {
  const { config, logger } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', false);
  app.set('trust proxy', false);

  app.use(requestContextMiddleware({ clock: deps.clock, publicBaseUrl: config.publicBaseUrl }));
  app.use(accessLogMiddleware(logger));
  if (deps.metrics) app.use(deps.metrics.middleware());
  // `/metrics` never runs open: a static METRICS_TOKEN for scrapers, else an admin bearer token.
  const scrape = deps.metrics?.handler();
  const metricsRoute = (req: Request, res: Response, next: NextFunction) => {
    localsOf(res).route = 'GET /metrics';
    if (!config.metricsToken && !localsOf(res).context.actor.roles.includes('admin')) {
      return next(errors.forbidden(ErrorCode.FORBIDDEN, 'Metrics need the admin role or METRICS_TOKEN'));
    }
    void scrape!(req, res, next);
  };
  if (deps.metrics && config.metricsToken) app.get('/metrics', metricsRoute);
  // Probes come before the rate limiter: an orchestrator's probe must not fail because clients on
  // its address (or the load it watches) used up the budget.
  app.get('/healthz', (_req, res) => {
    localsOf(res).route = 'GET /healthz';
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    localsOf(res).route = 'GET /readyz';
    const ready = await deps.ready().catch(() => false);
    if (ready) res.json({ status: 'ready' });
    else sendOutcomeError(res, errors.unavailable(ErrorCode.NOT_READY, 'The server is not ready'));
  });
  // Hardening, then authentication: public routes (metadata, SMART discovery) pass it untouched.
  app.use(securityHeaders(), corsAllowList(config.corsOrigins), rateLimitByIp(config.rateLimitPerMinute));
  app.use(authMiddleware({ verifier: createTokenVerifier(config, { clock: deps.clock }), rolesClaim: config.authRolesClaim }));
  app.use(rateLimitBySubject(config.rateLimitPerMinute), readOnlyGuard(config.readOnly));
  if (deps.metrics && !config.metricsToken) app.get('/metrics', metricsRoute);
  app.get(['/.well-known/smart-configuration', '/fhir/.well-known/smart-configuration'], (_req, res) => {
    localsOf(res).route = 'GET /.well-known/smart-configuration';
    res.json(
      smartConfiguration(config, {
        ...(config.smartAuthorizeUrl ? { authorizationEndpoint: config.smartAuthorizeUrl } : {}),
        ...(config.smartTokenUrl ? { tokenEndpoint: config.smartTokenUrl } : {}),
      }),
    );
  });

  app.use('/fhir', acceptJsonOnly);
  app.get('/fhir/metadata', (_req, res) => {
    localsOf(res).route = 'GET /fhir/metadata';
    res.type(FHIR_JSON).send(JSON.stringify(deps.capabilityStatement(localsOf(res).context.baseUrl)));
  });

  const patientDeps: PatientDeps = {
    store: deps.store,
    logger,
    requireIfMatch: config.requireIfMatch,
    uniqueContacts: config.uniqueContacts,
    idempotencyTtlMs: config.idempotencyTtlMs,
    cursorKey: deps.cursorKey,
    deletionGracePeriodMs: config.deletionGracePeriodMs,
    correlationSecret: deps.correlationSecret,
    maxBundleEntries: config.maxBundleEntries,
    operationWaitMs: config.operationWaitMs,
    ...(deps.jobs ? { jobs: deps.jobs } : {}),
  };
  const routes = fhirRoutes();
  for (const route of routes) {
    app[route.method](route.path, ...bodyParser(route.body, config.bodyLimitBytes), expressHandler(route, patientDeps));
  }
  // A known path with another method: 405. Then unknown types and paths: 404.
  for (const path of new Set(routes.map((r) => r.path))) {
    app.all(path, (_req, _res, next) => next(errors.methodNotAllowed()));
  }
  app.all('/fhir/metadata', (_req, _res, next) => next(errors.methodNotAllowed()));
  app.all('/fhir/:type{/*rest}', (req, _res, next) => {
    const type = String(req.params.type);
    if (/^[A-Z][A-Za-z]{1,63}$/.test(type) && type !== 'Patient' && type !== 'AuditEvent') {
      return next(errors.unsupportedResourceType());
    }
    next(errors.unknownRoute());
  });
  app.use((_req, _res, next) => next(errors.unknownRoute()));

  app.use(async (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    let error = toOutcomeError(err);
    if (error.status >= 500) {
      logger.error('request failed', {
        requestId: localsOf(res).context?.requestId,
        traceId: localsOf(res).context?.traceId,
        route: localsOf(res).route ?? 'unmatched',
        method: req.method,
        // The message of a foreign error may quote data: log its type and frames only.
        error: err instanceof Error ? err.name : typeof err,
        stack: err instanceof Error ? err.stack?.split('\n').slice(1, 12).join('\n') : undefined,
      });
    }
    // One AuditEvent per refused or failed /fhir request; 503 AUDIT_UNAVAILABLE when it cannot be written.
    error = await recordFailure(deps.store, req, res, error);
    sendOutcomeError(res, error);
  });
  return app;
}

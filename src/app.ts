import express, { type NextFunction, type Request, type Response } from 'express';
import type { CapabilityStatement } from 'fhir/r4.js';
import type { Clock } from './context/clock.js';
import type { Config } from './config/config.js';
import type { Logger } from './observability/logger.js';
import type { PatientStore } from './store/port.js';
import type { PatientDeps } from './patient/deps.js';
import { errors, ErrorCode } from './fhir/outcome.js';
import { requestContextMiddleware, localsOf } from './http/request-context.js';
import { accessLogMiddleware } from './http/access-log.js';
import { acceptJsonOnly, bodyParser } from './http/body.js';
import { expressHandler, type FhirRoute } from './http/fhir-route.js';
import { sendOutcomeError, toOutcomeError } from './http/error-response.js';
import { FHIR_JSON } from './http/respond.js';
import { patientRoutes } from './http/patient-routes.js';

/** Everything the app is built from; `main.ts` (or a test) assembles it. */
export interface AppDeps {
  config: Config;
  store: PatientStore;
  logger: Logger;
  clock: Clock;
  /** Key that signs search cursors. */
  cursorKey: string;
  capabilityStatement: (baseUrl: string) => CapabilityStatement;
  /** Whether the store (and job runner) are ready, for `/readyz`. */
  ready: () => Promise<boolean>;
}

/** Every FHIR route of the server (public and protected), for wiring and for route-coverage tests. */
export function fhirRoutes(): FhirRoute<PatientDeps>[] {
  return patientRoutes;
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
    if (/^[A-Z][A-Za-z]{1,63}$/.test(type) && type !== 'Patient') {
      return next(errors.unsupportedResourceType());
    }
    next(errors.unknownRoute());
  });
  app.use((_req, _res, next) => next(errors.unknownRoute()));

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const error = toOutcomeError(err);
    if (error.status >= 500) {
      logger.error('request failed', {
        requestId: localsOf(res).context?.requestId,
        route: localsOf(res).route ?? 'unmatched',
        method: req.method,
        // The message of a foreign error may quote data: log its type and frames only.
        error: err instanceof Error ? err.name : typeof err,
        stack: err instanceof Error ? err.stack?.split('\n').slice(1, 12).join('\n') : undefined,
      });
    }
    sendOutcomeError(res, error);
  });
  return app;
}

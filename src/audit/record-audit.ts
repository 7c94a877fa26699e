import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import type { Bundle, Resource } from 'fhir/r4.js';
import type { RequestContext } from '../context/request-context.js';
import { ErrorCode, errors, type OperationOutcomeError } from '../fhir/outcome.js';
import type { FhirRequest, FhirResponse } from '../fhir/request.js';
import type { FhirRoute } from '../http/fhir-route.js';
import type { PatientStore } from '../store/port.js';
import type { AuditStore } from './audit-port.js';
import { buildAuditEvent } from './build-audit-event.js';

/**
 * Recording (SPEC §8): every FHIR interaction, operation and refused attempt writes exactly one
 * AuditEvent before its response leaves. Writes (create, update, patch, delete, the investigation
 * operations) append theirs in the same store transaction as the change; `$restore`/`$anonymize`
 * (`auditedBy: 'job'`) have their job append it in the job's transaction (a 202 answer leaves
 * before the job has run); reads append after the handler and before the response. When the
 * append fails the request fails with 503 `AUDIT_UNAVAILABLE` (fail closed).
 */

/** Interactions whose AuditEvent commits in the same transaction as the change. */
const TRANSACTIONAL = new Set(['create', 'update', 'patch', 'delete', '$investigation-start', '$investigation-end']);

/** Errors whose AuditEvent was already written where they arose (an operation job): never a second one. */
const auditedErrors = new WeakSet<object>();

/** Marks `err` as already audited (by the job that produced it); returns it. */
export function markAudited<E extends object>(err: E): E {
  auditedErrors.add(err);
  return err;
}
const SEARCHES = new Set(['search-type', 'search-system']);

/** What the recorder keeps on `res.locals` (beside `http/`'s own locals). */
interface AuditLocals {
  context: RequestContext;
  /** The matched route's interaction and resource type, set as soon as a route is chosen. */
  auditRoute?: RouteGuess;
  /** Set once this request's AuditEvent is written (or cannot be): never two events per request. */
  audited?: boolean;
}

function localsOf(res: Response): AuditLocals {
  return res.locals as AuditLocals;
}

/** The resource type of a route path: `/fhir/Patient/:id` → `Patient`; `/fhir/$job/:jobId` (a Patient operation's result) → `Patient`. */
function resourceTypeOf(path: string): string {
  const type = path.split('/')[2] ?? '';
  return type === '$job' ? 'Patient' : type;
}

/** The interaction a request was (or most likely was), and the ids it named. */
export interface RouteGuess {
  interaction: string;
  resourceType: string;
  params: Record<string, string | undefined>;
}

/** Marks the request as served by `route`, so a later failure is recorded with its interaction. */
export function markAuditRoute(res: Response, route: { interaction: string; path: string }, params: Record<string, string>): void {
  localsOf(res).auditRoute = { interaction: route.interaction, resourceType: resourceTypeOf(route.path), params: { ...params } };
}

/** The interaction a request that matched no route (or failed before routing, e.g. 401) most likely was. */
export function guessInteraction(method: string, path: string): RouteGuess {
  const parts = path.split('/').filter(Boolean).slice(1); // below /fhir
  const resourceType = parts[0] ?? '';
  const m = method.toUpperCase();
  const plainId = parts[1] !== undefined && !/^[_$]/.test(parts[1]) ? parts[1] : undefined;
  const params = { id: plainId, vid: parts[2] === '_history' ? parts[3] : undefined };
  const guess = (interaction: string): RouteGuess => ({ interaction, resourceType, params });
  const op = parts.find((p) => p.startsWith('$'));
  if (op) return guess(op);
  if (parts.length === 0) return { interaction: m === 'POST' ? 'transaction' : 'search-system', resourceType: '', params: {} };
  const history = parts.indexOf('_history');
  if (history >= 0) {
    if (history === 2 && parts.length === 4) return guess('vread');
    return guess(history === 2 ? 'history-instance' : 'history-type');
  }
  if (m === 'POST') return guess(parts[1] === '_search' ? 'search-type' : 'create');
  if (m === 'PUT') return guess('update');
  if (m === 'PATCH') return guess('patch');
  if (m === 'DELETE') return guess('delete');
  return guess(parts.length >= 2 ? 'read' : 'search-type');
}

function versionedRef(resource: Resource | undefined): string | undefined {
  if (!resource?.id || !resource.resourceType) return undefined;
  const vid = resource.meta?.versionId;
  return vid ? `${resource.resourceType}/${resource.id}/_history/${vid}` : `${resource.resourceType}/${resource.id}`;
}

/** The references an answer touched: its version, or each entry of a Bundle, else the requested id. */
export function touchedEntities(resourceType: string, params: Record<string, string | undefined>, answer?: FhirResponse): string[] {
  if (answer?.version) return [`${resourceType}/${answer.version.id}/_history/${answer.version.versionId}`];
  if (answer?.serialized) return answer.serialized.entities;
  const resource = answer?.resource;
  if (resource?.resourceType === 'Bundle') {
    return ((resource as Bundle).entry ?? [])
      .map((e) => (e.resource?.resourceType === 'Patient' ? versionedRef(e.resource) : e.resource?.resourceType === 'AuditEvent' ? `AuditEvent/${e.resource.id}` : undefined))
      .filter((r): r is string => r !== undefined);
  }
  if (resource && resource.resourceType === resourceType) {
    const ref = versionedRef(resource);
    if (ref) return [ref];
  }
  const id = params.id;
  if (id && resourceType && /^[A-Za-z0-9\-.]{1,64}$/.test(id)) {
    const vid = params.vid;
    return [vid && /^[A-Za-z0-9\-.]{1,64}$/.test(vid) ? `${resourceType}/${id}/_history/${vid}` : `${resourceType}/${id}`];
  }
  return [];
}

function queryString(query: Record<string, string[]>): string {
  const params = new URLSearchParams();
  for (const [name, values] of Object.entries(query)) for (const value of values) params.append(name, value);
  return params.toString();
}

function auditUnavailable(): OperationOutcomeError {
  return errors.unavailable(ErrorCode.AUDIT_UNAVAILABLE, 'The audit trail cannot be written; the request was not served');
}

interface EventInput {
  ctx: RequestContext;
  interaction: string;
  status: number;
  errorCode?: string;
  entities: string[];
  query?: string;
}

function eventOf(input: EventInput) {
  const { ctx } = input;
  return buildAuditEvent({
    id: randomUUID(),
    recorded: ctx.clock.now(),
    interaction: input.interaction,
    status: input.status,
    ...(input.errorCode ? { errorCode: input.errorCode } : {}),
    actor: ctx.actor,
    requestId: ctx.requestId,
    clientIp: ctx.clientIp,
    ...(ctx.userAgent ? { userAgent: ctx.userAgent } : {}),
    serverUrl: ctx.baseUrl,
    entities: input.entities,
    ...(input.query !== undefined ? { query: input.query } : {}),
  });
}

async function append(audit: AuditStore, input: EventInput): Promise<void> {
  try {
    await audit.append(eventOf(input));
  } catch {
    throw auditUnavailable();
  }
}

/**
 * Runs a route's handler with its AuditEvent: writes in one transaction with the change, reads
 * and operations append after the handler. Failures of the handler are recorded by
 * {@link recordFailure} (the error handler); a failing append answers 503 `AUDIT_UNAVAILABLE`.
 */
export async function runAudited<D>(route: FhirRoute<D>, req: FhirRequest, res: Response, deps: D): Promise<FhirResponse> {
  const locals = localsOf(res);
  const ctx = locals.context;
  const store = (deps as { store?: PatientStore }).store;
  if (!store) throw auditUnavailable();
  const resourceType = resourceTypeOf(route.path);
  const input = (answer: FhirResponse): EventInput => ({
    ctx,
    interaction: route.interaction,
    status: answer.status,
    entities: touchedEntities(resourceType, req.params, answer),
    ...(SEARCHES.has(route.interaction) ? { query: queryString(req.query) } : {}),
  });
  if (TRANSACTIONAL.has(route.interaction)) {
    let appendFailed = false;
    try {
      const answer = await store.transaction(async (tx) => {
        const result = await route.handler(req, ctx, { ...deps, store: tx });
        appendFailed = true;
        await append(tx.audit, input(result));
        appendFailed = false;
        return result;
      });
      locals.audited = true;
      return answer;
    } catch (err) {
      // the change was rolled back with its event; an audit failure must not be recorded again
      if (appendFailed) {
        locals.audited = true;
        throw auditUnavailable();
      }
      throw err;
    }
  }
  if (route.auditedBy === 'job') {
    // the job appends this request's AuditEvent with its change; a failure before enqueueing is recorded by recordFailure
    try {
      const answer = await route.handler(req, ctx, deps);
      locals.audited = true;
      return answer;
    } catch (err) {
      if (typeof err === 'object' && err !== null && auditedErrors.has(err)) locals.audited = true;
      throw err;
    }
  }
  const answer = await route.handler(req, ctx, deps);
  locals.audited = true;
  await append(store.audit, input(answer));
  return answer;
}

/**
 * Records a failed `/fhir` request (401, 403, 404, 409, 410, 412, 422, 5xx …) once, from the
 * error handler. Returns the error to send: `error` itself, or 503 `AUDIT_UNAVAILABLE` when the
 * event cannot be written.
 */
export async function recordFailure(store: PatientStore, req: Request, res: Response, error: OperationOutcomeError): Promise<OperationOutcomeError> {
  const locals = localsOf(res);
  if (locals.audited || !locals.context || !req.path.startsWith('/fhir')) return error;
  locals.audited = true;
  const { interaction, resourceType, params } = locals.auditRoute ?? guessInteraction(req.method, req.path);
  try {
    await append(store.audit, {
      ctx: locals.context,
      interaction,
      status: error.status,
      errorCode: error.code,
      entities: touchedEntities(resourceType, params),
    });
    return error;
  } catch {
    return auditUnavailable();
  }
}

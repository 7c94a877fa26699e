import type { Request, Response } from 'express';
import type { Bundle, BundleEntry } from 'fhir/r4.js';
import type { FhirHandler, FhirRequest } from '../fhir/request.js';
import type { RequestContext } from '../context/request-context.js';
import type { FhirRoute } from '../http/fhir-route.js';
import type { PatientDeps } from '../patient/deps.js';
import { ErrorCode, OperationOutcomeError, errors } from '../fhir/outcome.js';
import { toOutcomeError } from '../http/error-response.js';
import { authorize, resourceTypeOfRoute } from '../auth/authorize.js';
import { markAuditRoute, recordFailure, runAudited } from '../audit/record-audit.js';
import { checkBundle, entryRequest, errorEntry, responseEntry } from './bundle-entry.js';
import { resolveBatchReferences, resolveTransactionReferences } from './bundle-references.js';

/** `MAX_BUNDLE_ENTRIES` default. */
export const DEFAULT_MAX_BUNDLE_ENTRIES = 5000;

/** Transaction processing order (https://hl7.org/fhir/R4/http.html#trules): DELETE, POST, PUT/PATCH, GET/HEAD. */
const ORDER: Record<string, number> = { DELETE: 0, POST: 1, PUT: 2, PATCH: 2, GET: 3, HEAD: 3 };

/**
 * `POST /fhir` with a `batch` or `transaction` Bundle (https://hl7.org/fhir/R4/http.html#transaction).
 * Each entry is served by the same route and handler as its REST twin (found in `routes()` by an
 * in-process router), after the same authorization, and writes its own AuditEvent like a REST
 * request would; the Bundle itself is audited once more by the route that runs this handler.
 *
 * - `batch`: entries run one by one in order, each in its own store transaction; a failing entry
 *   gets its status and OperationOutcome in the `batch-response`, the others go on.
 * - `transaction`: everything (entries and their AuditEvents) in one store transaction, in the
 *   order DELETE, POST, PUT/PATCH, GET; `urn:uuid:` placeholders and conditional references
 *   resolved first; the first failure rolls everything back and answers its status, with
 *   `Bundle.entry[n]` in the issue's expression.
 */
export function bundleHandler(routes: () => readonly FhirRoute<PatientDeps>[]): FhirHandler<PatientDeps> {
  return async (req, ctx, deps) => {
    const bundle = checkBundle(req.body, deps.maxBundleEntries ?? DEFAULT_MAX_BUNDLE_ENTRIES);
    const table = routes();
    const run = (entry: BundleEntry, index: number, entryDeps: PatientDeps, assignedId?: string) =>
      runEntry(table, entry, index, req, ctx, entryDeps, assignedId);
    const response: BundleEntry[] = new Array(bundle.entries.length);

    if (bundle.type === 'batch') {
      for (const [i, entry] of bundle.entries.entries()) {
        try {
          await resolveBatchReferences(entry, deps.store, ctx, deps.cursorKey);
          response[i] = await run(entry, i, deps);
        } catch (err) {
          response[i] = errorEntry(toOutcomeError(err));
        }
      }
      return { status: 200, resource: responseBundle('batch-response', response) };
    }

    await deps.store.transaction(async (tx) => {
      const txDeps: PatientDeps = { ...deps, store: tx };
      const assigned = await resolveTransactionReferences(bundle.entries, tx, ctx, deps.cursorKey);
      const order = bundle.entries.map((_, i) => i);
      order.sort((a, b) => rank(bundle.entries[a]!) - rank(bundle.entries[b]!) || a - b);
      for (const i of order) {
        try {
          response[i] = await run(bundle.entries[i]!, i, txDeps, assigned.get(i));
        } catch (err) {
          throw atEntry(toOutcomeError(err), i);
        }
      }
    });
    return { status: 200, resource: responseBundle('transaction-response', response) };
  };
}

/**
 * One entry through its route: authorization as for the REST request (403), the handler inside
 * `runAudited` (so its AuditEvent is written exactly as for REST, in the open transaction), and on
 * failure the failure's AuditEvent. A transaction's failure events are rolled back with it; the
 * Bundle's own failure is recorded by the error handler.
 */
async function runEntry(
  routes: readonly FhirRoute<PatientDeps>[],
  entry: BundleEntry,
  index: number,
  outer: FhirRequest,
  ctx: RequestContext,
  deps: PatientDeps,
  assignedId: string | undefined,
): Promise<BundleEntry> {
  const exchange = entryExchange(ctx);
  try {
    const { route, request } = entryRequest(routes, entry, index, { baseUrl: ctx.baseUrl, prefer: outer.headers.prefer });
    if (route.path === '/fhir') throw errors.badRequest(ErrorCode.INVALID_BUNDLE, 'A Bundle entry cannot hold another batch or transaction');
    markAuditRoute(exchange.res, route, request.params);
    authorize(ctx.actor, route.interaction, resourceTypeOfRoute(route.path));
    if (assignedId !== undefined) request.assignedId = assignedId;
    const answer = await runAudited(route, request, exchange.res, deps);
    return responseEntry(answer, ctx.baseUrl, outer.headers.prefer);
  } catch (err) {
    throw await recordFailure(deps.store, exchange.req, exchange.res, toOutcomeError(err));
  }
}

/**
 * The audit recorder keeps its per-request state on `res.locals` and reads `req.path`/`req.method`
 * only for requests that matched no route: an entry gets a fresh pair of those, so its event is
 * recorded exactly once, with its own interaction.
 */
function entryExchange(ctx: RequestContext): { req: Request; res: Response } {
  const res = { locals: { context: ctx } } as unknown as Response;
  const req = { path: '/fhir', method: 'POST' } as unknown as Request;
  return { req, res };
}

function rank(entry: BundleEntry): number {
  return ORDER[entry.request?.method ?? ''] ?? 3;
}

/** The entry's error, its issues located at `Bundle.entry[index]`. */
function atEntry(error: OperationOutcomeError, index: number): OperationOutcomeError {
  return new OperationOutcomeError(
    error.issues.map((issue) => ({ ...issue, expression: [`Bundle.entry[${index}]`, ...(issue.expression ?? [])] })),
    error.headers,
  );
}

function responseBundle(type: 'batch-response' | 'transaction-response', entry: BundleEntry[]): Bundle {
  return { resourceType: 'Bundle', type, entry };
}

import type { Resource } from 'fhir/r4.js';
import type { RequestContext } from '../context/request-context.js';

/**
 * A transport-neutral FHIR request, after Medplum's fhir-router: handlers never see Express.
 * Built by `http/` from the HTTP request.
 */
export interface FhirRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD';
  /** Path below the FHIR base, e.g. `/Patient/123/_history/2`. */
  path: string;
  /** Route parameters (`id`, `vid`, `operation`). */
  params: Record<string, string>;
  /** Query (or form body for `_search`) parameters; a repeated parameter keeps every value in order. */
  query: Record<string, string[]>;
  body?: unknown;
  headers: FhirRequestHeaders;
  /**
   * The id a create must use, chosen by the server (a transaction Bundle's `urn:uuid:` placeholder,
   * https://hl7.org/fhir/R4/http.html#trules). Never taken from the client.
   */
  assignedId?: string;
}

export interface FhirRequestHeaders {
  ifMatch?: string;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
  ifNoneExist?: string;
  /** Parsed `Prefer` header: `return`, `handling`, `respond-async`. */
  prefer: { return?: 'minimal' | 'representation' | 'OperationOutcome'; handling?: 'strict' | 'lenient'; respondAsync?: boolean };
  idempotencyKey?: string;
  contentType?: string;
}

/**
 * A response body the handler serialized itself (a searchset assembled from stored JSON text, so a
 * page of patients is not parsed and re-serialized): sent as is, in place of `resource`.
 */
export interface SerializedBody {
  json: string;
  /** The resources it holds (`Patient/{id}/_history/{vid}`), for the AuditEvent's entities. */
  entities: string[];
}

/** What a handler answers. `http/` writes status, headers and JSON body. */
export interface FhirResponse {
  status: number;
  resource?: Resource;
  /** The body as JSON text, when the handler built it as text; `resource` is then absent. */
  serialized?: SerializedBody;
  /** Version metadata used for `ETag`, `Last-Modified` and `Location`. */
  version?: { id: string; versionId: string; lastUpdated: string };
  /** Whether `Location` should be sent (create). */
  location?: boolean;
  headers?: Record<string, string>;
}

/** The resource an answer carries, whether as an object or as JSON text. */
export function answerResource(answer: FhirResponse): Resource | undefined {
  return answer.resource ?? (answer.serialized ? (JSON.parse(answer.serialized.json) as Resource) : undefined);
}

/** A FHIR interaction handler: `(request, context) → response`; throws only `OperationOutcomeError`. */
export type FhirHandler<D> = (req: FhirRequest, ctx: RequestContext, deps: D) => Promise<FhirResponse>;

import type { Response } from 'express';
import type { FhirRequest, FhirResponse } from '../fhir/request.js';
import { informational } from '../fhir/outcome.js';
import { etagFor } from '../fhir/etag.js';

export const FHIR_JSON = 'application/fhir+json; charset=utf-8';

/**
 * Writes a handler's answer: status, `ETag`, `Last-Modified`, `Location`, then the body chosen by
 * `Prefer: return=` (https://hl7.org/fhir/R4/http.html#ops). Returns the body it sent (for audit).
 */
export function sendFhirResponse(res: Response, req: FhirRequest, answer: FhirResponse): void {
  if (answer.version) {
    res.setHeader('ETag', etagFor(answer.version.versionId));
    res.setHeader('Last-Modified', new Date(answer.version.lastUpdated).toUTCString());
    if (answer.location) {
      res.setHeader('Location', `/fhir/Patient/${answer.version.id}/_history/${answer.version.versionId}`);
    }
  }
  for (const [name, value] of Object.entries(answer.headers ?? {})) res.setHeader(name, value);
  res.status(answer.status);
  if (answer.status === 304 || (answer.resource === undefined && answer.serialized === undefined)) {
    res.end();
    return;
  }
  const isWrite = req.method !== 'GET' && req.method !== 'HEAD';
  const preference = isWrite ? req.headers.prefer.return : undefined;
  if (preference === 'minimal') {
    res.end();
    return;
  }
  res.setHeader('Content-Type', FHIR_JSON);
  if (preference === 'OperationOutcome') res.end(JSON.stringify(informational('The interaction succeeded')));
  else res.end(answer.serialized ? answer.serialized.json : JSON.stringify(answer.resource));
}

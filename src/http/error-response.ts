import type { Response } from 'express';
import { errors, ErrorCode, isOperationOutcomeError, OperationOutcomeError } from '../fhir/outcome.js';
import { FHIR_JSON } from './respond.js';

/** Errors raised by Express's body parser (`raw-body`, `body-parser`) carry a `type`. */
interface BodyParserError {
  type?: string;
  status?: number;
}

/**
 * Turns anything thrown during a request into an OperationOutcomeError: the server's own errors as
 * they are, body-parser failures as 400/413/415, anything else as an opaque 500 (logged by the
 * caller, never shown to the client).
 */
export function toOutcomeError(err: unknown): OperationOutcomeError {
  if (isOperationOutcomeError(err)) return err;
  const { type, status } = (err ?? {}) as BodyParserError;
  switch (type) {
    case 'entity.parse.failed':
      return errors.badRequest(ErrorCode.MALFORMED_JSON, 'The request body is not valid JSON');
    case 'entity.too.large':
      return errors.payloadTooLarge();
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return errors.unsupportedMediaType('Unsupported content encoding or charset');
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return errors.badRequest(ErrorCode.MALFORMED_JSON, 'The request body could not be read');
  }
  if (status === 400) return errors.badRequest(ErrorCode.MALFORMED_JSON, 'The request could not be read');
  return errors.internal();
}

/** Sends an OperationOutcomeError as a FHIR OperationOutcome with its status and headers. */
export function sendOutcomeError(res: Response, error: OperationOutcomeError): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
  res.status(error.status).setHeader('Content-Type', FHIR_JSON);
  res.end(JSON.stringify(error.toOperationOutcome()));
}

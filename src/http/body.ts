import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { errors } from '../fhir/outcome.js';
import type { BodyKind } from './fhir-route.js';
import { parseQueryString } from './fhir-request.js';

const MEDIA_TYPES: Record<Exclude<BodyKind, 'none'>, string[]> = {
  // application/json+fhir is the DSTU2 name some clients still send
  json: ['application/fhir+json', 'application/json', 'application/json+fhir'],
  'json-patch': ['application/json-patch+json'],
  form: ['application/x-www-form-urlencoded'],
};

function mediaType(req: Request): string | undefined {
  return req.get('content-type')?.split(';')[0]?.trim().toLowerCase();
}

/**
 * Whether a media type's `fhirVersion` parameter, if any, names R4 (`4.0` or `4.0.x`): the version
 * parameter of https://hl7.org/fhir/R4/http.html#version-parameter. This server speaks R4 only.
 */
function speaksR4(mediaRange: string): boolean {
  const version = /;\s*fhirVersion\s*=\s*"?([^";,\s]*)/i.exec(mediaRange)?.[1];
  return version === undefined || /^4\.0(\.\d+)?$/.test(version);
}

/** A media range that admits JSON: wildcards, (FHIR) JSON, DSTU2's `application/json+fhir`, any `+json`. */
const JSON_RANGE = /^\s*(\*\/\*|application\/\*|application\/(fhir\+)?json|application\/json\+fhir|[^;,\s]*\+json)\s*(;|$)/i;

/**
 * Body handling per route: the media type must be one the route takes (415 otherwise), the body is
 * parsed with a size limit (413) and malformed JSON answers 400 — all as OperationOutcomes via the
 * error handler. Form bodies (`POST _search`) keep repeated parameters like a query string.
 */
export function bodyParser(kind: BodyKind, limitBytes: number): RequestHandler[] {
  if (kind === 'none') return [];
  const accepted = MEDIA_TYPES[kind];
  const checkType = (req: Request, _res: Response, next: NextFunction) => {
    const type = mediaType(req);
    if (kind === 'form' && type === undefined && !hasBody(req)) return next();
    if (type === undefined || !accepted.includes(type)) {
      return next(errors.unsupportedMediaType(`Content-Type must be ${accepted.join(' or ')}`));
    }
    if (!speaksR4(req.get('content-type') ?? '')) return next(errors.unsupportedMediaType('This server speaks FHIR R4 (fhirVersion=4.0) only'));
    next();
  };
  if (kind === 'form') {
    const parseForm = (req: Request, _res: Response, next: NextFunction) => {
      try {
        req.body = parseQueryString(typeof req.body === 'string' ? req.body : '');
        next();
      } catch (err) {
        next(err);
      }
    };
    return [checkType, express.text({ type: () => true, limit: limitBytes }), parseForm];
  }
  return [checkType, express.json({ type: () => true, limit: limitBytes, strict: true })];
}

function hasBody(req: Request): boolean {
  return req.get('transfer-encoding') !== undefined || Number(req.get('content-length') ?? 0) > 0;
}

/**
 * JSON only (SPEC §4): `Accept` or `_format` asking for anything else answers 406 — as does an
 * `Accept` whose JSON media ranges all ask for another FHIR version than R4.
 */
export function acceptJsonOnly(req: Request, _res: Response, next: NextFunction): void {
  const format = req.originalUrl.includes('_format') ? new URL(req.originalUrl, 'http://x').searchParams.get('_format') : null;
  if (format !== null && !/^(json|application\/(fhir\+)?json)$/i.test(format.split(';')[0]!.trim())) {
    return next(errors.notAcceptable());
  }
  const accept = req.get('accept');
  if (accept && !accept.split(',').some((range) => JSON_RANGE.test(range) && speaksR4(range))) {
    return next(errors.notAcceptable());
  }
  next();
}

import type { FhirRequest } from './request.js';
import { errors, ErrorCode } from './outcome.js';

const DEFAULT_COUNT = 20;
const MAX_COUNT = 1000;
const KNOWN = new Set(['_count', '_since', '_before', '_format']);
const INSTANT = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/** The parameters of a history interaction (https://hl7.org/fhir/R4/http.html#history). */
export interface HistoryParams {
  count: number;
  /** `_since` as epoch ms, and as written (for links). */
  since?: number;
  sinceText?: string;
  /** `_before`: the keyset position of the next page, as written; each handler reads its own form. */
  before?: string;
}

/**
 * Reads `_count` (1–1000, default 20), `_since` (an instant; a date is accepted too) and `_before`,
 * each at most once; other parameters are ignored, or answer 400 with `Prefer: handling=strict`.
 */
export function parseHistoryParams(req: FhirRequest): HistoryParams {
  for (const name of Object.keys(req.query)) {
    if (!KNOWN.has(name) && req.headers.prefer.handling === 'strict') {
      throw errors.badRequest(ErrorCode.UNKNOWN_PARAMETER, `Unknown parameter for history: ${name.slice(0, 40)}`);
    }
  }
  const countText = single(req, '_count');
  const count = countText === undefined ? DEFAULT_COUNT : Number(countText);
  if (countText !== undefined && (!/^\d{1,7}$/.test(countText) || count < 1 || count > MAX_COUNT)) {
    throw errors.badRequest(ErrorCode.INVALID_PARAMETER, `_count must be an integer from 1 to ${MAX_COUNT}`, ['_count']);
  }
  const sinceText = single(req, '_since');
  const since = sinceText === undefined ? undefined : Date.parse(sinceText);
  if (sinceText !== undefined && (!INSTANT.test(sinceText) || Number.isNaN(since))) {
    throw errors.badRequest(ErrorCode.INVALID_PARAMETER, '_since must be an instant', ['_since']);
  }
  const before = single(req, '_before');
  return {
    count,
    ...(sinceText !== undefined ? { since: since!, sinceText } : {}),
    ...(before !== undefined ? { before } : {}),
  };
}

/** `self` and `next` links of a history page: the same `_count`/`_since`, `_before` moved on. */
export function historyLinks(base: string, params: HistoryParams, next: string | undefined) {
  const common = `${base}?_count=${params.count}${params.sinceText !== undefined ? `&_since=${encodeURIComponent(params.sinceText)}` : ''}`;
  return [
    { relation: 'self', url: `${common}${params.before !== undefined ? `&_before=${encodeURIComponent(params.before)}` : ''}` },
    ...(next !== undefined ? [{ relation: 'next', url: `${common}&_before=${encodeURIComponent(next)}` }] : []),
  ];
}

function single(req: FhirRequest, name: string): string | undefined {
  const values = req.query[name];
  if (!values) return undefined;
  if (values.length > 1) throw errors.badRequest(ErrorCode.INVALID_PARAMETER, `${name} may appear once`, [name]);
  return values[0];
}

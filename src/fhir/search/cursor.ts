import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { SearchCursor } from '../../store/port.js';
import { ErrorCode, errors } from '../outcome.js';
import type { SearchRequest, SortKey } from './types.js';

/** Query parameter that carries the opaque paging cursor in `next`/`previous` links. */
export const CURSOR_PARAM = '_cursor';

const MAX_TOKEN_LENGTH = 4096;

interface CursorPayload {
  /** format version */
  v: 1;
  /** fingerprint of the query the cursor belongs to */
  f: string;
  a: (string | number | null)[];
  d: 'next' | 'previous';
}

/**
 * A short, stable digest of what a cursor position depends on: the filters, the sort and the
 * states (not the page size). A cursor replayed against another query is refused.
 */
export function searchFingerprint(request: Pick<SearchRequest, 'where' | 'sort' | 'states'>): string {
  const basis = JSON.stringify([request.where, request.sort, [...request.states].sort()]);
  return createHash('sha256').update(basis).digest('base64url').slice(0, 22);
}

function tag(key: Buffer | string, body: string): Buffer {
  return createHmac('sha256', key).update(body).digest();
}

/**
 * Encodes a keyset position as an opaque token: base64url(JSON) + "." + base64url(HMAC-SHA256).
 * The token holds sort values of a boundary row (possibly PHI such as a family name), so it is
 * tamper-proof but not secret: it only travels back to the client that ran the search.
 */
export function encodeCursor(cursor: SearchCursor, fingerprint: string, key: Buffer | string): string {
  const payload: CursorPayload = { v: 1, f: fingerprint, a: cursor.after, d: cursor.direction };
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `${body}.${tag(key, body).toString('base64url')}`;
}

function invalid(): never {
  throw errors.badRequest(ErrorCode.INVALID_CURSOR, 'The paging cursor is invalid, tampered with, or belongs to another query', [
    CURSOR_PARAM,
  ]);
}

/**
 * Verifies and decodes a token made by {@link encodeCursor}. Throws 400 `INVALID_CURSOR` when the
 * tag does not verify, the shape is wrong, the fingerprint differs from `fingerprint`, or the
 * number of boundary values is not `keyCount` (sort keys + the final id).
 */
export function decodeCursor(token: string, fingerprint: string, key: Buffer | string, keyCount: number): SearchCursor {
  if (token.length > MAX_TOKEN_LENGTH) invalid();
  const [body, mac, extra] = token.split('.');
  if (!body || !mac || extra !== undefined) invalid();
  const expected = tag(key, body);
  const given = Buffer.from(mac, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) invalid();
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    invalid();
  }
  const p = payload as Partial<CursorPayload> | null;
  if (!p || typeof p !== 'object' || p.v !== 1 || p.f !== fingerprint) invalid();
  if (p.d !== 'next' && p.d !== 'previous') invalid();
  if (!Array.isArray(p.a) || p.a.length !== keyCount) invalid();
  const okValue = (x: unknown) => x === null || typeof x === 'string' || (typeof x === 'number' && Number.isFinite(x));
  if (!p.a.every(okValue) || typeof p.a[p.a.length - 1] !== 'string') invalid();
  return { after: p.a, direction: p.d };
}

/**
 * The full keyset order of a request: its `_sort` keys up to `_id`, then `_id` ascending as the
 * final tie-breaker (in the direction of the last key) when it is not already there. A cursor holds one value per key of this list.
 */
export function keysetOrder(sort: readonly SortKey[]): SortKey[] {
  const order: SortKey[] = [];
  for (const key of sort) {
    order.push(key);
    if (key.field === '_id') return order;
  }
  // the tie-breaker follows the last key's direction, so one index can be walked in one direction
  order.push({ field: '_id', descending: sort[sort.length - 1]?.descending ?? false });
  return order;
}

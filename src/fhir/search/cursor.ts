import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
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
export function searchFingerprint(
  filters: readonly (readonly [string, string])[],
  request: Pick<SearchRequest, 'sort' | 'states'>,
): string {
  // The filters as the client wrote them, not the compiled conditions: `ap` ranges depend on "now",
  // and a cursor must stay valid from one page to the next.
  const basis = JSON.stringify([filters, request.sort, [...request.states].sort()]);
  return createHash('sha256').update(basis).digest('base64url').slice(0, 22);
}

function cipherKey(key: Buffer | string): Buffer {
  return createHash('sha256').update('search-cursor\0').update(key).digest();
}

/**
 * Encodes a keyset position as an opaque token: base64url(iv ‖ AES-256-GCM ciphertext ‖ tag).
 * The position holds sort values of a boundary row (e.g. a folded family name, which is PHI), so
 * it is encrypted as well as authenticated: links can end up in proxy logs and browser history.
 */
export function encodeCursor(cursor: SearchCursor, fingerprint: string, key: Buffer | string): string {
  const payload: CursorPayload = { v: 1, f: fingerprint, a: cursor.after, d: cursor.direction };
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', cipherKey(key), iv);
  const sealed = Buffer.concat([cipher.update(JSON.stringify(payload), 'utf8'), cipher.final()]);
  return Buffer.concat([iv, sealed, cipher.getAuthTag()]).toString('base64url');
}

function invalid(): never {
  throw errors.badRequest(ErrorCode.INVALID_CURSOR, 'The paging cursor is invalid, tampered with, or belongs to another query', [
    CURSOR_PARAM,
  ]);
}

function open(token: string, key: Buffer | string): unknown {
  if (token.length > MAX_TOKEN_LENGTH || !/^[A-Za-z0-9_-]+$/.test(token)) invalid();
  const raw = Buffer.from(token, 'base64url');
  if (raw.length < 12 + 16 + 2) invalid();
  try {
    const decipher = createDecipheriv('aes-256-gcm', cipherKey(key), raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(raw.length - 16));
    const plain = Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]);
    return JSON.parse(plain.toString('utf8'));
  } catch {
    return invalid();
  }
}

/**
 * Verifies and decodes a token made by {@link encodeCursor}. Throws 400 `INVALID_CURSOR` when it
 * does not decrypt and authenticate, the shape is wrong, the fingerprint differs from
 * `fingerprint`, or the number of boundary values is not `keyCount` (sort keys + the final id).
 */
export function decodeCursor(token: string, fingerprint: string, key: Buffer | string, keyCount: number): SearchCursor {
  const p = open(token, key) as Partial<CursorPayload> | null;
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

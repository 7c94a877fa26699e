import { randomUUID } from 'node:crypto';
import type { BundleEntry } from 'fhir/r4.js';
import type { RequestContext } from '../context/request-context.js';
import type { PatientStore } from '../store/port.js';
import { errors, ErrorCode } from '../fhir/outcome.js';
import { criteriaOf, findMatches, multipleMatches } from './conditional-match.js';

const PLACEHOLDER = /^urn:(uuid|oid):/;
const CONDITIONAL = /^Patient\?/;

/**
 * Resolves the references between the entries of a transaction
 * (https://hl7.org/fhir/R4/http.html#trules, https://hl7.org/fhir/R4/bundle.html#references):
 * every `urn:uuid:` fullUrl of a Patient create gets its server id now (the id of the match for a
 * conditional create that finds one), and each `reference` naming such a fullUrl, in any entry, is
 * rewritten to `Patient/{id}`. Conditional references (`Patient?identifier=…`) are replaced by
 * their single match. 400 `UNRESOLVED_REFERENCE` for a placeholder no entry declares or a
 * conditional reference without match; 412 `MULTIPLE_MATCHES` when it matches several.
 *
 * Resources are rewritten in place. Returns the id assigned to each entry index (creates only).
 */
export async function resolveTransactionReferences(
  entries: readonly BundleEntry[],
  store: PatientStore,
  ctx: RequestContext,
  cursorKey: string,
): Promise<Map<number, string>> {
  const targets = new Map<string, string>();
  const assigned = new Map<number, string>();
  for (const [i, entry] of entries.entries()) {
    const fullUrl = entry.fullUrl;
    if (typeof fullUrl !== 'string' || !PLACEHOLDER.test(fullUrl)) continue;
    const method = entry.request?.method;
    if (method === 'POST' && entry.resource?.resourceType === 'Patient') {
      let id: string = randomUUID();
      const ifNoneExist = entry.request?.ifNoneExist;
      if (typeof ifNoneExist === 'string') {
        // a conditional create that finds its patient stands for that patient (several: the entry fails later)
        const matches = await findMatches(store, ctx, criteriaOf(ifNoneExist), cursorKey);
        if (matches.length === 1) id = matches[0]!.id!;
      }
      assigned.set(i, id);
      targets.set(fullUrl, `Patient/${id}`);
    } else if (method === 'PUT' && typeof entry.request?.url === 'string' && /^Patient\/[A-Za-z0-9\-.]{1,64}$/.test(entry.request.url)) {
      targets.set(fullUrl, entry.request.url);
    }
  }
  await rewriteReferences(entries, targets, store, ctx, cursorKey);
  return assigned;
}

/**
 * Rewrites the references of a batch entry: conditional references are resolved; a placeholder
 * answers 400, since batch entries may not depend on each other.
 */
export async function resolveBatchReferences(entry: BundleEntry, store: PatientStore, ctx: RequestContext, cursorKey: string): Promise<void> {
  await rewriteReferences([entry], new Map(), store, ctx, cursorKey);
}

async function rewriteReferences(
  entries: readonly BundleEntry[],
  targets: Map<string, string>,
  store: PatientStore,
  ctx: RequestContext,
  cursorKey: string,
): Promise<void> {
  const conditional = new Map<string, string>();
  for (const [i, entry] of entries.entries()) {
    if (!entry.resource) continue;
    for (const holder of referenceHolders(entry.resource)) {
      const reference = holder.reference;
      const where = [`Bundle.entry[${i}].resource`];
      if (PLACEHOLDER.test(reference)) {
        const target = targets.get(reference);
        if (!target) throw errors.badRequest(ErrorCode.UNRESOLVED_REFERENCE, 'A reference names a urn: placeholder that no entry of this Bundle creates', where);
        holder.reference = target;
      } else if (CONDITIONAL.test(reference)) {
        let target = conditional.get(reference);
        if (!target) {
          const matches = await findMatches(store, ctx, criteriaOf(reference), cursorKey);
          if (matches.length > 1) throw multipleMatches();
          if (matches.length === 0) throw errors.badRequest(ErrorCode.UNRESOLVED_REFERENCE, 'A conditional reference matches no patient', where);
          target = `Patient/${matches[0]!.id}`;
          conditional.set(reference, target);
        }
        holder.reference = target;
      }
    }
  }
}

/** Every object with a string `reference` inside `value` (walked without recursion). */
function referenceHolders(value: unknown): { reference: string }[] {
  const found: { reference: string }[] = [];
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const current = stack.pop();
    if (current === null || typeof current !== 'object') continue;
    if (Array.isArray(current)) {
      for (const item of current) stack.push(item);
      continue;
    }
    const record = current as Record<string, unknown>;
    if (typeof record.reference === 'string') found.push(record as { reference: string });
    for (const key of Object.keys(record)) {
      const child = record[key];
      if (child !== null && typeof child === 'object') stack.push(child);
    }
  }
  return found;
}

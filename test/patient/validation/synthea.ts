import { readFileSync } from 'node:fs';
import type { Patient } from 'fhir/r4.js';

let corpus: Patient[] | undefined;

/** The 300 Synthea patients of /work/shared/data (no id, no meta); a fresh copy on every call. */
export function loadSyntheaPatients(): Patient[] {
  corpus ??= JSON.parse(
    readFileSync(new URL('../../../../shared/data/synthea-r4/patients.json', import.meta.url), 'utf8'),
  ) as Patient[];
  return structuredClone(corpus);
}

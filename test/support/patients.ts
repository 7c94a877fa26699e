import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Patient } from 'fhir/r4.js';

const path = fileURLToPath(new URL('../../../shared/data/synthea-r4/patients.json', import.meta.url));

/** The 300 synthetic patients of `shared/data` (no id/meta), read once. */
export const samplePatients: readonly Patient[] = JSON.parse(readFileSync(path, 'utf8')) as Patient[];

/** A deep copy of sample patient `i`, safe to change. */
export function samplePatient(i = 0): Patient {
  return structuredClone(samplePatients[i % samplePatients.length]!);
}

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Patient } from 'fhir/r4.js';
import { extractIndexEntries, extractSortKeys } from '../../../src/patient/search-index.js';
import type { PatientRecord, PatientState } from '../../../src/store/port.js';

const PATIENTS_FILE = new URL('../../../../shared/data/synthea-r4/patients.json', import.meta.url);

/** A stored patient as the tests see it: resource with id/meta, and its lifecycle state. */
export interface FixturePatient {
  resource: Patient & { id: string; meta: { versionId: string; lastUpdated: string } };
  state: PatientState;
}

const BASE_MS = Date.parse('2025-01-01T00:00:00.000Z');

/**
 * The 300 sample patients with ids and meta, plus deterministic additions the sample lacks
 * (references, address use, deceasedBoolean, a second given name, a few soft-deleted), so every
 * Patient parameter has something to find. `lastUpdated` repeats in threes to test tie-breaks.
 */
export function fixturePatients(): FixturePatient[] {
  const raw = JSON.parse(readFileSync(PATIENTS_FILE, 'utf8')) as Patient[];
  const ids = raw.map((_, i) => createHash('sha256').update(`patient-${i}`).digest('hex').slice(0, 16));
  return raw.map((p, i) => {
    const lastUpdated = new Date(BASE_MS + Math.floor(i / 3) * 60_000).toISOString();
    const resource = { ...p, id: ids[i]!, meta: { versionId: '1', lastUpdated } };
    if (i % 3 === 0) resource.generalPractitioner = [{ reference: `Practitioner/pr-${i % 7}` }];
    if (i % 11 === 0) resource.generalPractitioner = [...(resource.generalPractitioner ?? []), { reference: 'Organization/org-1' }];
    if (i % 4 === 0) {
      const ref = i % 20 === 0 ? `http://example.org/fhir/Organization/org-${i % 5}` : `Organization/org-${i % 5}`;
      resource.managingOrganization = { reference: ref };
    }
    if (i % 10 === 0) resource.link = [{ other: { reference: `Patient/${ids[(i + 1) % ids.length]}` }, type: 'seealso' }];
    for (const a of resource.address ?? []) {
      if (i % 5 === 0) a.use = 'home';
      else if (i % 5 === 1) a.use = 'work';
    }
    if (resource.deceasedDateTime === undefined) {
      if (i % 37 === 0) resource.deceasedBoolean = true;
      else if (i % 41 === 0) resource.deceasedBoolean = false;
    }
    if (i % 97 === 3) delete resource.birthDate; // missing sort values
    if (i % 89 === 5) delete resource.gender;
    if (i % 13 === 0) resource.name?.[0]?.given?.push('Joan');
    const state: PatientState = i % 50 === 7 ? 'soft-deleted' : 'active';
    return { resource, state };
  });
}

/** The record the engines store for a fixture patient (real extractor, as the handlers will do). */
export function fixtureRecord(p: FixturePatient): PatientRecord {
  return { resource: p.resource, state: p.state, index: extractIndexEntries(p.resource), uniqueKeys: [], sort: extractSortKeys(p.resource) };
}

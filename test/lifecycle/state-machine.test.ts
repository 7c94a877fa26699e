import { expect } from 'chai';
import { runAnonymizationSweep } from '../../src/lifecycle/sweep.js';
import { describeEachEngine } from '../support/engines.js';
import { samplePatient } from '../support/patients.js';
import { DAY, FHIR, bed, closeBed, warmSchema, create, errorCode, eventTypes, notesBody, op, type Bed } from './lifecycle-fixture.js';

type StateName = 'active' | 'held' | 'soft-deleted' | 'soft-deleted+held' | 'anonymized';
const STATES: StateName[] = ['active', 'held', 'soft-deleted', 'soft-deleted+held', 'anonymized'];

/** Brings a new patient into `state` through the HTTP API; returns its id. */
async function patientIn(b: Bed, state: StateName): Promise<string> {
  const { id } = await create(b, samplePatient(7));
  const ok = async (res: { status: number; body: unknown }) => expect(res.status, JSON.stringify(res.body)).to.be.oneOf([200, 204]);
  if (state === 'held' || state === 'soft-deleted+held') {
    if (state === 'soft-deleted+held') await ok(await b.http.delete(`/fhir/Patient/${id}`));
    await ok(await op(b, id, '$investigation-start', notesBody('fraud check')));
  }
  if (state === 'soft-deleted' || state === 'anonymized') await ok(await b.http.delete(`/fhir/Patient/${id}`));
  if (state === 'anonymized') await ok(await op(b, id, '$anonymize'));
  return id;
}

/** What an action answers: an HTTP status (and error code), or for the sweep the state afterwards. */
interface Outcome {
  status: number | string;
  code?: string;
  event?: string;
}

type Action = (b: Bed, id: string) => Promise<{ status: number | string; body?: unknown }>;

const actions: Record<string, Action> = {
  read: (b, id) => b.http.get(`/fhir/Patient/${id}`),
  search: async (b, id) => {
    const res = await b.http.get(`/fhir/Patient?_id=${id}`);
    return { status: `total=${res.body.total}` };
  },
  update: async (b, id) => {
    const current = await b.store.read(id);
    const body = { ...samplePatient(8), id };
    return b.http
      .put(`/fhir/Patient/${id}`)
      .set('Content-Type', FHIR)
      .set('If-Match', `W/"${current?.resource.meta?.versionId}"`)
      .send(JSON.stringify(body));
  },
  DELETE: (b, id) => b.http.delete(`/fhir/Patient/${id}`),
  $restore: (b, id) => op(b, id, '$restore'),
  $anonymize: (b, id) => op(b, id, '$anonymize'),
  '$investigation-start': (b, id) => op(b, id, '$investigation-start', notesBody('second look')),
  '$investigation-end': (b, id) => op(b, id, '$investigation-end'),
  sweep: async (b, id) => {
    b.clock.advance(8 * DAY);
    await runAnonymizationSweep(b.store, { now: b.clock.now() });
    return { status: `state=${(await b.store.read(id))?.state}` };
  },
};

const c = (status: number | string, code?: string, event?: string): Outcome => ({ status, ...(code ? { code } : {}), ...(event ? { event } : {}) });
const ev = (name: string) => `identity.patient.${name}`;

/** The expected outcome of each action in each state (SPEC §7). */
const table: Record<string, Record<StateName, Outcome>> = {
  read: { active: c(200), held: c(200), 'soft-deleted': c(410, 'GONE'), 'soft-deleted+held': c(410, 'GONE'), anonymized: c(410, 'GONE') },
  search: { active: c('total=1'), held: c('total=1'), 'soft-deleted': c('total=0'), 'soft-deleted+held': c('total=0'), anonymized: c('total=0') },
  update: { active: c(200), held: c(200), 'soft-deleted': c(410, 'GONE'), 'soft-deleted+held': c(410, 'GONE'), anonymized: c(410, 'GONE') },
  DELETE: {
    active: c(204, undefined, ev('soft_deleted')),
    held: c(409, 'UNDER_INVESTIGATION'),
    'soft-deleted': c(204),
    'soft-deleted+held': c(204),
    anonymized: c(204),
  },
  $restore: {
    active: c(409, 'NOT_DELETED'),
    held: c(409, 'NOT_DELETED'),
    'soft-deleted': c(200, undefined, ev('restored')),
    'soft-deleted+held': c(200, undefined, ev('restored')),
    anonymized: c(409, 'ALREADY_ANONYMIZED'),
  },
  $anonymize: {
    active: c(409, 'NOT_DELETED'),
    held: c(409, 'NOT_DELETED'),
    'soft-deleted': c(200, undefined, ev('anonymized')),
    'soft-deleted+held': c(409, 'UNDER_INVESTIGATION'),
    anonymized: c(409, 'ALREADY_ANONYMIZED'),
  },
  '$investigation-start': {
    active: c(200, undefined, ev('investigation_started')),
    held: c(409, 'UNDER_INVESTIGATION'),
    'soft-deleted': c(200, undefined, ev('investigation_started')),
    'soft-deleted+held': c(409, 'UNDER_INVESTIGATION'),
    anonymized: c(410, 'GONE'),
  },
  '$investigation-end': {
    active: c(409, 'NOT_UNDER_INVESTIGATION'),
    held: c(200, undefined, ev('investigation_ended')),
    'soft-deleted': c(409, 'NOT_UNDER_INVESTIGATION'),
    'soft-deleted+held': c(200, undefined, ev('investigation_ended')),
    anonymized: c(409, 'NOT_UNDER_INVESTIGATION'),
  },
  sweep: {
    active: c('state=active'),
    held: c('state=active'),
    'soft-deleted': c('state=anonymized', undefined, ev('anonymized')),
    'soft-deleted+held': c('state=soft-deleted'),
    anonymized: c('state=anonymized'),
  },
};

describeEachEngine('deletion lifecycle state machine', (engine) => {
  let b: Bed;
  before(warmSchema);
  beforeEach(async function () {
    this.timeout(60_000);
    b = await bed(engine);
  });
  afterEach(() => closeBed(b));

  for (const [action, row] of Object.entries(table)) {
    for (const state of STATES) {
      const expected = row[state];
      const label = `${expected.status}${expected.code ? ` ${expected.code}` : ''}${expected.event ? ` + ${expected.event}` : ''}`;
      it(`${action} on ${state} → ${label}`, async () => {
        const id = await patientIn(b, state);
        const before = (await eventTypes(b, id)).length;
        const res = await actions[action]!(b, id);
        const body = (res.body ?? {}) as Parameters<typeof errorCode>[0];
        expect(res.status, JSON.stringify(res.body)).to.equal(expected.status);
        if (expected.code) expect(errorCode(body)).to.equal(expected.code);
        const after = (await eventTypes(b, id)).slice(before);
        const relevant = after.filter((t) => t !== 'identity.patient.returning_user');
        expect(relevant).to.deep.equal(expected.event ? [expected.event] : []);
      });
    }
  }
});

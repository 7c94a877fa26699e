import { expect } from 'chai';
import type { Patient } from 'fhir/r4.js';
import request from 'supertest';
import type { Test } from 'supertest';
import { fhirRoutes } from '../../src/app.js';
import type { TestApp } from '../support/test-app.js';
import {
  auditState, buildFixture, COLUMNS, describeEachEngine, FHIR, phiOf, tokenFor, uniquePatient, GP,
  type Column, type Fixture, type FixtureState, type Side,
} from './security-matrix-fixture.js';

/** `200∅`: 200, and the out-of-compartment patient is not in the answer (the store query filtered it). */
const EMPTY = '200∅';
type Expected = number | typeof EMPTY;
/** Clinician and patient cells: [in their compartment, outside it]. */
type Cell = Expected | [Expected, Expected];
type Line = [interaction: string, ...cells: Cell[]];

/**
 * THE POLICY. Rows: interactions and operations; columns: token kinds (see the fixture). A clinician
 * is `user/Patient.cruds` + `fhirUser: Practitioner/gp-matrix`; a patient is `patient/Patient.rs` +
 * `patient`; system is `system/Patient.rs`; admin `user/*.cruds` + role admin; auditor
 * `user/AuditEvent.rs` + role auditor. Bad-signature and expired tokens would be admins.
 * Rows marked † run only once their route exists (other engineers are adding them).
 */
// prettier-ignore
const MATRIX: Line[] = [
  // interaction              none badSig expired system  clinician    patient      admin auditor
  ['metadata',                200, 200,   200,    200,    [200, 200],  [200, 200],  200,  200],
  ['read',                    401, 401,   401,    200,    [200, 404],  [200, 404],  200,  403],
  ['vread',                   401, 401,   401,    200,    [200, 404],  [200, 404],  200,  403],
  ['history-instance',        401, 401,   401,    200,    [200, 404],  [200, 404],  200,  403],
  ['search GET',              401, 401,   401,    200,    [200, EMPTY], [200, EMPTY], 200, 403],
  ['search POST _search',     401, 401,   401,    200,    [200, EMPTY], [200, EMPTY], 200, 403],
  ['create',                  401, 401,   401,    403,    [201, 403],  [403, 403],  201,  403],
  ['update',                  401, 401,   401,    403,    [200, 404],  [403, 403],  200,  403],
  ['delete',                  401, 401,   401,    403,    [204, 404],  [403, 403],  204,  403],
  ['$investigation-start',    401, 401,   401,    403,    [403, 403],  [403, 403],  200,  403],
  ['$investigation-end',      401, 401,   401,    403,    [403, 403],  [403, 403],  200,  403],
  ['$restore',                401, 401,   401,    403,    [403, 403],  [403, 403],  200,  403],
  ['$anonymize',              401, 401,   401,    403,    [403, 403],  [403, 403],  200,  403],
  ['$deleted',                401, 401,   401,    403,    [403, 403],  [403, 403],  200,  403],
  ['AuditEvent read',         401, 401,   401,    403,    [403, 403],  [403, 403],  200,  200],
  ['AuditEvent search',       401, 401,   401,    403,    [403, 403],  [403, 403],  200,  200],
  ['AuditEvent $verify',      401, 401,   401,    403,    [403, 403],  [403, 403],  200,  200],
  ['patch †',                 401, 401,   401,    403,    [200, 404],  [403, 403],  200,  403],
  // conditional: `?_id=` of the target; the match is confined to the compartment (out: no match,
  // and a body with an id that matches nothing is 400 ID_MISMATCH, as for an unknown id)
  ['conditional update †',    401, 401,   401,    403,    [200, 400],  [403, 403],  200,  403],
  ['conditional delete †',    401, 401,   401,    403,    [204, 404],  [403, 403],  204,  403],
  ['history-type †',          401, 401,   401,    200,    [403, 403],  [403, 403],  200,  403],
  // batch: the status of its one entry (a read); the Bundle itself answers 200 once authenticated
  ['batch †',                 401, 401,   401,    200,    [200, 404],  [200, 404],  200,  403],
  // transaction: one create entry; the transaction-response answers 200, a refused entry fails it all
  ['transaction †',           401, 401,   401,    403,    [200, 403],  [403, 403],  200,  403],
];

/** What each row sends, about `target` (the fixture patient of the cell's side). */
interface Row {
  state?: FixtureState;
  /** The interaction a route must declare for the row to run (the † rows). */
  requires?: string;
  /** The cell is the status of the answer's one entry (batch); the answer itself is 200 unless 401. */
  entryStatus?: boolean;
  /** The AuditEvent subtype code; `null`: not audited (public); `undefined`: not checked here. */
  subtype: string | null | undefined;
  send(r: ReturnType<typeof request>, target: Patient & { id: string }, cell: CellContext): Test;
}

interface CellContext {
  t: TestApp;
  side: Side;
  fixture: Fixture;
  /** An AuditEvent about the target, for AuditEvent read. */
  auditEventId?: string;
}

const json = (test: Test, body: unknown, type = FHIR) => test.set('Content-Type', type).send(JSON.stringify(body));
const otherGender = (p: Patient) => (p.gender === 'female' ? 'male' : 'female');
// The body a create writes: inside the clinician's compartment, or not.
const createBody = (side: Side) => uniquePatient(side === 'in' ? GP : 'gp-elsewhere');

const ROWS: Record<string, Row> = {
  metadata: { subtype: null, send: (r) => r.get('/fhir/metadata') },
  read: { subtype: 'read', send: (r, p) => r.get(`/fhir/Patient/${p.id}`) },
  vread: { subtype: 'vread', send: (r, p) => r.get(`/fhir/Patient/${p.id}/_history/1`) },
  'history-instance': { subtype: 'history-instance', send: (r, p) => r.get(`/fhir/Patient/${p.id}/_history`) },
  'search GET': { subtype: 'search-type', send: (r, p) => r.get(`/fhir/Patient?_id=${p.id}`) },
  'search POST _search': {
    subtype: 'search-type',
    send: (r, p) => r.post('/fhir/Patient/_search').set('Content-Type', 'application/x-www-form-urlencoded').send(`_id=${p.id}`),
  },
  create: { subtype: 'create', send: (r, _p, c) => json(r.post('/fhir/Patient'), createBody(c.side)) },
  update: {
    subtype: 'update',
    send: (r, p) => json(r.put(`/fhir/Patient/${p.id}`).set('If-Match', 'W/"1"'), { ...p, gender: otherGender(p) }),
  },
  delete: { subtype: 'delete', send: (r, p) => r.delete(`/fhir/Patient/${p.id}`) },
  '$investigation-start': {
    subtype: '$investigation-start',
    send: (r, p) => json(r.post(`/fhir/Patient/${p.id}/$investigation-start`), { resourceType: 'Parameters', parameter: [{ name: 'notes', valueString: 'matrix' }] }),
  },
  '$investigation-end': { state: 'held', subtype: '$investigation-end', send: (r, p) => r.post(`/fhir/Patient/${p.id}/$investigation-end`) },
  $restore: { state: 'soft-deleted', subtype: '$restore', send: (r, p) => r.post(`/fhir/Patient/${p.id}/$restore`) },
  $anonymize: { state: 'soft-deleted', subtype: '$anonymize', send: (r, p) => r.post(`/fhir/Patient/${p.id}/$anonymize`) },
  $deleted: { state: 'soft-deleted', subtype: '$deleted', send: (r) => r.get('/fhir/Patient/$deleted') },
  'AuditEvent read': { subtype: 'read', send: (r, _p, c) => r.get(`/fhir/AuditEvent/${c.auditEventId}`) },
  'AuditEvent search': { subtype: 'search-type', send: (r) => r.get('/fhir/AuditEvent?_count=5') },
  'AuditEvent $verify': { subtype: '$verify', send: (r) => r.get('/fhir/AuditEvent/$verify') },
  'patch †': {
    requires: 'patch',
    subtype: 'patch',
    send: (r, p) =>
      json(r.patch(`/fhir/Patient/${p.id}`).set('If-Match', 'W/"1"'), [{ op: 'replace', path: '/gender', value: otherGender(p) }], 'application/json-patch+json'),
  },
  'conditional update †': {
    requires: 'update',
    subtype: 'update',
    send: (r, p) => json(r.put(`/fhir/Patient?_id=${p.id}`).set('If-Match', 'W/"1"'), { ...p, gender: otherGender(p) }),
  },
  'conditional delete †': { requires: 'delete', subtype: 'delete', send: (r, p) => r.delete(`/fhir/Patient?_id=${p.id}`) },
  'history-type †': { requires: 'history-type', subtype: 'history-type', send: (r) => r.get('/fhir/Patient/_history') },
  'batch †': {
    requires: 'transaction',
    entryStatus: true,
    subtype: undefined,
    send: (r, p) => json(r.post('/fhir'), { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: `Patient/${p.id}` } }] }),
  },
  'transaction †': {
    requires: 'transaction',
    subtype: undefined,
    send: (r, _p, c) =>
      json(r.post('/fhir'), { resourceType: 'Bundle', type: 'transaction', entry: [{ fullUrl: 'urn:uuid:7d5e3b7a-0d0c-4d0b-9f5e-1c2d3e4f5a6b', resource: createBody(c.side), request: { method: 'POST', url: 'Patient' } }] }),
  },
};

const ROUTE_INTERACTIONS = new Set(fhirRoutes().map((r) => r.interaction));

/** Every cell of a line: [column, side (for the split columns), expected]. */
function cellsOf(line: Line): { column: Column; side: Side; expected: Expected }[] {
  const cells = line.slice(1) as Cell[];
  expect(cells.length, `${line[0]}: one cell per column`).to.equal(COLUMNS.length);
  return COLUMNS.flatMap((column, i) => {
    const cell = cells[i]!;
    if (Array.isArray(cell)) return [{ column, side: 'in' as Side, expected: cell[0] }, { column, side: 'out' as Side, expected: cell[1] }];
    return [{ column, side: 'in' as Side, expected: cell }];
  });
}

async function checkCell(t: TestApp, interaction: string, row: Row, column: Column, side: Side, expected: Expected): Promise<void> {
  const fixture = await buildFixture(t, row.state ?? 'active');
  const target = side === 'in' ? fixture.inside : fixture.outside;
  const before = await auditState(t.store);
  const cell: CellContext = { t, side, fixture, ...(before.newest ? { auditEventId: before.newest.id } : {}) };
  let req = row.send(request(t.app), target, cell);
  const token = tokenFor(column, fixture);
  if (token) req = req.set('Authorization', `Bearer ${token}`);
  const res = await req;
  const status = expected === EMPTY ? 200 : expected;
  const label = `${interaction} × ${column}${column === 'clinician' || column === 'patient' ? ` (${side})` : ''}`;
  const answer = `${label}: ${JSON.stringify(res.body).slice(0, 300)}`;
  if (row.entryStatus && status !== 401) {
    expect(res.status, answer).to.equal(200);
    expect(String(res.body.entry?.[0]?.response?.status), answer).to.match(new RegExp(`^${status}\\b`));
  } else {
    expect(res.status, answer).to.equal(status);
  }

  if (interaction.startsWith('search')) {
    const ids = ((res.body.entry ?? []) as { resource: Patient }[]).map((e) => e.resource.id);
    if (expected === EMPTY) expect(ids, label).to.not.include(target.id);
    else if (status === 200) expect(ids, label).to.include(target.id);
  }
  if (res.status >= 400) {
    expect(res.headers['content-type'], label).to.match(/^application\/fhir\+json/);
    expect(res.body.resourceType, label).to.equal('OperationOutcome');
    if (status === 401) expect(res.headers['www-authenticate'], label).to.match(/^Bearer /);
    const text = JSON.stringify(res.body) + JSON.stringify(res.headers);
    for (const phi of phiOf(fixture)) expect(text, `${label} leaks PHI`).to.not.include(phi);
  }
  if (row.subtype === undefined) return;
  const after = await auditState(t.store);
  expect(after.total - before.total, `${label}: AuditEvents written`).to.equal(row.subtype === null ? 0 : 1);
  if (row.subtype === null) return;
  expect(after.newest?.subtype?.[0]?.code, `${label}: subtype`).to.equal(row.subtype);
  expect(after.newest?.outcome, `${label}: outcome`).to.equal(status < 400 ? '0' : '4');
}

  describeEachEngine('security matrix', (engine) => {
    let t: TestApp;
    before(async function () {
      this.timeout(120_000);
      t = await engine.start();
    });
    after(async () => t && engine.stop(t));

    for (const line of MATRIX) {
      const interaction = line[0];
      const row = ROWS[interaction];
      describe(interaction, () => {
        if (!row) throw new Error(`no request for row ${interaction}`);
        const missing = row.requires !== undefined && !ROUTE_INTERACTIONS.has(row.requires);
        for (const { column, side, expected } of cellsOf(line)) {
          const name = `${column}${column === 'clinician' || column === 'patient' ? ` ${side}` : ''} → ${expected}`;
          if (missing) it.skip(`${name} (no ${row.requires} route yet)`);
          else it(name, () => checkCell(t, interaction, row, column, side, expected));
        }
      });
    }
  });

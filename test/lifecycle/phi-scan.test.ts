import { expect } from 'chai';
import type { Patient } from 'fhir/r4.js';
import { contactKeys } from '../../src/patient/validation/normalize-contacts.js';
import { detectReturningPatient } from '../../src/lifecycle/returning-patient.js';
import { MongoStore } from '../../src/store/mongo/mongo-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { describeEachEngine } from '../support/engines.js';
import { samplePatient } from '../support/patients.js';
import { CORRELATION_SECRET, FHIR, bed, closeBed, create, events, op, warmSchema, type Bed } from './lifecycle-fixture.js';

/** Every PHI string of a patient that must not survive anonymization. */
function phiStrings(p: Patient): string[] {
  const out = new Set<string>();
  for (const n of p.name ?? []) for (const s of [n.family, ...(n.given ?? [])]) if (s) out.add(s);
  for (const t of p.telecom ?? []) if (t.value) out.add(t.value);
  const { emails, phones } = contactKeys(p);
  for (const s of [...emails, ...phones]) out.add(s);
  for (const a of p.address ?? []) for (const s of [...(a.line ?? []), a.city, a.postalCode]) if (s) out.add(s);
  for (const i of p.identifier ?? []) if (i.value) out.add(i.value);
  if (p.birthDate) out.add(p.birthDate);
  return [...out].filter((s) => s.length >= 4);
}

/** Every row of every table of the SQLite database, as text. */
function dumpSqlite(sqlite: SqliteStore): string {
  const tables = sqlite.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
  return tables.map((t) => `${t.name}: ${JSON.stringify(sqlite.db.prepare(`SELECT * FROM "${t.name}"`).all())}`).join('\n');
}

/** Every document of every collection of the MongoDB database, as text. */
async function dumpMongo(mongo: MongoStore): Promise<string> {
  const collections = await mongo.database.listCollections({}, { nameOnly: true }).toArray();
  const parts: string[] = [];
  for (const { name } of collections) {
    parts.push(`${name}: ${JSON.stringify(await mongo.database.collection(name).find({}).toArray())}`);
  }
  return parts.join('\n');
}

/** The raw contents of the bed's store, every table or collection, as text. */
async function dumpAll(b: Bed): Promise<string> {
  if (b.store instanceof SqliteStore) return dumpSqlite(b.store);
  if (b.store instanceof MongoStore) return dumpMongo(b.store);
  throw new Error(`no raw dump for engine ${b.engine.name}`);
}

describeEachEngine('anonymization leaves no PHI in the store', (engine) => {
  let b: Bed;
  before(warmSchema);
  beforeEach(async function () {
    this.timeout(60_000);
    b = await bed(engine);
  });
  afterEach(() => closeBed(b));

  it('finds none of the name, email, phone, address, identifier strings in any table or collection', async () => {
    const original = samplePatient(11);
    original.telecom = [...(original.telecom ?? []), { system: 'email', value: 'Maria.Example@Mail.Example.org' }];
    const created = await b.http
      .post('/fhir/Patient')
      .set('Content-Type', FHIR)
      .set('Idempotency-Key', 'phi-scan-key-1')
      .send(JSON.stringify(original));
    expect(created.status).to.equal(201);
    const id = created.body.id as string;
    const updated = { ...created.body, name: [{ family: 'Zwischenname', given: ['Korrigiert'] }] };
    expect((await b.http.put(`/fhir/Patient/${id}`).set('Content-Type', FHIR).set('If-Match', 'W/"1"').send(JSON.stringify(updated))).status).to.equal(200);
    expect((await b.http.delete(`/fhir/Patient/${id}?note=called%20Zwischenname`)).status).to.equal(204);

    const phi = [...phiStrings(original), 'Zwischenname', 'Korrigiert'];
    expect(phi.length).to.be.greaterThan(5);
    const before = await dumpAll(b);
    expect(phi.filter((s) => before.includes(s))).to.not.be.empty;

    expect((await op(b, id, '$anonymize')).status).to.equal(200);
    const after = await dumpAll(b);
    expect(phi.filter((s) => after.includes(s))).to.deep.equal([]);
    const history = await b.http.get(`/fhir/Patient/${id}/_history`);
    expect(history.body.total).to.equal(4);
  });

  it('keeps the correlation hashes, so a returning patient is detected after anonymization', async () => {
    const original = samplePatient(12);
    original.telecom = [{ system: 'email', value: 'returning@example.org' }];
    const { id } = await create(b, original);
    await b.http.delete(`/fhir/Patient/${id}`);
    await op(b, id, '$anonymize');

    const again: Patient = { ...samplePatient(13), telecom: [{ system: 'email', value: 'RETURNING@example.org ' }] };
    const now = b.clock.now();
    const found = await b.store.transaction((tx) => detectReturningPatient(tx, again, 'new-id-1', now, CORRELATION_SECRET));
    expect(found).to.have.length(1);
    expect(found[0]?.data).to.deep.equal({
      new_patient_id: 'new-id-1',
      previous_patient_id: id,
      detected_at: now.toISOString(),
      previous_anonymized_at: now.toISOString(),
    });
    expect((await events(b)).filter((e) => e.type === 'identity.patient.returning_user')).to.have.length(1);
    const stranger: Patient = { ...samplePatient(14), telecom: [{ system: 'email', value: 'someone.else@example.org' }] };
    expect(await b.store.transaction((tx) => detectReturningPatient(tx, stranger, 'new-id-2', now, CORRELATION_SECRET))).to.deep.equal([]);
  });

  it('carries no PHI in any lifecycle event', async () => {
    const original = samplePatient(15);
    const { id } = await create(b, original);
    await b.http.delete(`/fhir/Patient/${id}?note=${encodeURIComponent(original.name?.[0]?.family ?? 'x')}`);
    await op(b, id, '$restore');
    await b.http.delete(`/fhir/Patient/${id}`);
    await op(b, id, '$anonymize');
    const text = JSON.stringify(await events(b));
    expect(phiStrings(original).filter((s) => text.includes(s))).to.deep.equal([]);
  });
});

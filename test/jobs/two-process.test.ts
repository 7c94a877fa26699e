import { expect } from 'chai';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { samplePatient } from '../support/patients.js';
import { adminToken, TEST_JWT_SECRET } from '../support/tokens.js';
import { eventually } from '../support/eventually.js';

const PATIENTS = 30;
const headers = () => ({ Authorization: `Bearer ${adminToken()}`, 'Content-Type': 'application/fhir+json' });

async function createAndDelete(server: ServerProcess, n: number): Promise<string> {
  const created = await fetch(`${server.url}/fhir/Patient`, { method: 'POST', headers: headers(), body: JSON.stringify(samplePatient(n)) });
  expect(created.status).to.equal(201);
  const { id } = (await created.json()) as { id: string };
  expect((await fetch(`${server.url}/fhir/Patient/${id}`, { method: 'DELETE', headers: headers() })).status).to.equal(204);
  return id;
}

/** `identity.patient.anonymized` events per patient, read from the shared SQLite file. */
function anonymizedEvents(file: string): Map<string, number> {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const rows = db
      .prepare("SELECT patient_id, COUNT(*) AS n FROM outbox_event WHERE type = 'identity.patient.anonymized' GROUP BY patient_id")
      .all() as { patient_id: string; n: number }[];
    return new Map(rows.map((r) => [r.patient_id, r.n]));
  } finally {
    db.close();
  }
}

describe('two server processes on one SQLite file', function () {
  this.timeout(120_000);
  let a: ServerProcess;
  let b: ServerProcess;
  let file: string;

  before(async () => {
    const env = { JWT_SECRET: TEST_JWT_SECRET, DELETION_GRACE_PERIOD: 'PT1S', ANONYMIZATION_SWEEP_INTERVAL: 'PT1S' };
    a = await startServerProcess(env, 60_000);
    file = join(a.dataDir, 'fhir.sqlite');
    b = await startServerProcess({ ...env, DATA_DIR: a.dataDir, DATABASE_URL: `sqlite:${file}` }, 60_000);
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it('anonymizes every expired patient exactly once, whichever process sweeps', async () => {
    const ids: string[] = [];
    for (let i = 0; i < PATIENTS; i++) ids.push(await createAndDelete(i % 2 === 0 ? a : b, 100 + i));
    const all = await eventually(async () => {
      const counts = anonymizedEvents(file);
      return ids.every((id) => counts.has(id));
    }, 60_000, 200);
    expect(all, 'every patient anonymized').to.equal(true);
    const res = await fetch(`${b.url}/fhir/Patient/$deleted?status=anonymized&_count=100`, { headers: headers() });
    expect(((await res.json()) as { total: number }).total).to.be.at.least(PATIENTS);
    const counts = anonymizedEvents(file);
    expect(ids.map((id) => counts.get(id))).to.deep.equal(ids.map(() => 1));
    // the sweeps' own tally agrees: no patient counted twice across the two processes
    const tally = () =>
      [...a.logs, ...b.logs].filter((l) => l.message === 'anonymization sweep finished').reduce((sum, l) => sum + Number(l.anonymized ?? 0), 0);
    // a sweep logs its tally when it ends, after its patients' commits
    await eventually(async () => tally() >= PATIENTS, 10_000, 200);
    expect(tally()).to.equal(PATIENTS);
  });

  it('answers a job enqueued in one process from the other ($job), racing the sweep exactly once', async () => {
    const id = await createAndDelete(a, 200);
    const res = await fetch(`${a.url}/fhir/Patient/${id}/$anonymize`, { method: 'POST', headers: { ...headers(), Prefer: 'respond-async' } });
    expect(res.status).to.equal(202);
    const location = res.headers.get('content-location')!;
    let final: Response | undefined;
    const answered = await eventually(async () => {
      final = await fetch(`${b.url}${location}`, { headers: headers() });
      return final.status !== 202;
    }, 30_000, 200);
    expect(answered).to.equal(true);
    // the job wins (200) or the sweep anonymized first (409 ALREADY_ANONYMIZED): one anonymization either way
    expect(final!.status).to.be.oneOf([200, 409]);
    const once = await eventually(async () => anonymizedEvents(file).get(id) === 1, 10_000, 200);
    expect(once).to.equal(true);
  });
});

import { expect } from 'chai';
import { join } from 'node:path';
import jwt from 'jsonwebtoken';
import { startServerProcess } from '../support/server-process.js';
import { samplePatients } from '../support/patients.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

const JWT_SECRET = 'shutdown-secret-0123456789abcdef0123456789abcdef';

describe('graceful shutdown', function () {
  this.timeout(90_000);

  it('finishes in-flight requests on SIGTERM: every 2xx is in the store, and the process exits 0', async () => {
    const server = await startServerProcess({ JWT_SECRET, SHUTDOWN_TIMEOUT: 'PT10S' });
    const token = jwt.sign({ sub: 'shutdown', scope: 'user/*.cruds', roles: ['admin'] }, JWT_SECRET, { expiresIn: '5m' });
    const created: string[] = [];
    let answered = 0;
    let refused = 0;
    const post = async (i: number) => {
      const patient = structuredClone(samplePatients[i % samplePatients.length]!);
      patient.identifier = [{ system: 'urn:test:shutdown', value: `mrn-${i}` }];
      delete patient.telecom;
      try {
        const res = await fetch(`${server.url}/fhir/Patient`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/fhir+json' },
          body: JSON.stringify(patient),
        });
        answered++;
        if (res.status === 201) created.push(((await res.json()) as { id: string }).id);
      } catch {
        refused++; // the listener is closed: a refused connection is fine, a lost 2xx is not
      }
    };
    let next = 0;
    let signalled: Promise<number | null> | undefined;
    const worker = async () => {
      while (next < 400) {
        const i = next++;
        if (i === 120) signalled = server.stop('SIGTERM');
        await post(i);
      }
    };
    const started = Date.now();
    await Promise.all(Array.from({ length: 16 }, worker));
    const code = await (signalled ?? server.stop('SIGTERM'));
    expect(code).to.equal(0);
    expect(Date.now() - started).to.be.lessThan(30_000);
    expect(created.length).to.be.greaterThan(100);
    expect(answered + refused).to.equal(400);

    const store = SqliteStore.open(join(server.dataDir, 'fhir.sqlite'));
    try {
      for (const id of created) expect(await store.read(id), id).to.not.equal(undefined);
    } finally {
      await store.close();
    }
  });
});

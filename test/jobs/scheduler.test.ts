import { expect } from 'chai';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { createLogger } from '../../src/observability/logger.js';
import { samplePatient } from '../support/patients.js';
import { adminToken, TEST_JWT_SECRET } from '../support/tokens.js';
import { eventually } from '../support/eventually.js';

describe('Agenda scheduler in the running server', function () {
  this.timeout(60_000);
  let running: RunningServer;

  before(async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'fhir-jobs-'));
    const config = loadConfig({
      PORT: '0',
      DATA_DIR: dataDir,
      DATABASE_URL: `sqlite:${join(dataDir, 'fhir.sqlite')}`,
      JWT_SECRET: TEST_JWT_SECRET,
      DELETION_GRACE_PERIOD: 'PT1S',
      ANONYMIZATION_SWEEP_INTERVAL: 'PT1S',
    });
    running = await startServer(config, { logger: createLogger({ level: 'error', silent: true }) });
  });
  after(async () => {
    await running.stop();
  });

  it('anonymizes a soft-deleted patient once its grace period has passed, by the recurring sweep', async () => {
    const headers = { Authorization: `Bearer ${adminToken()}`, 'Content-Type': 'application/fhir+json' };
    const created = await fetch(`${running.url}/fhir/Patient`, { method: 'POST', headers, body: JSON.stringify(samplePatient(50)) });
    expect(created.status).to.equal(201);
    const { id } = (await created.json()) as { id: string };
    const deleted = await fetch(`${running.url}/fhir/Patient/${id}`, { method: 'DELETE', headers });
    expect(deleted.status).to.be.oneOf([200, 204]);
    const anonymized = await eventually(async () => (await running.store.read(id))?.state === 'anonymized', 20_000);
    expect(anonymized).to.equal(true);
    const stored = await running.store.read(id);
    expect(JSON.stringify(stored?.resource)).to.not.include(samplePatient(50).name![0]!.family!);
  });
});

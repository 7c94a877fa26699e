import { expect } from 'chai';
import { Client, type FhirResource } from 'fhir-kit-client';
import jwt from 'jsonwebtoken';
import type { Bundle, Patient } from 'fhir/r4.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { samplePatient } from '../support/patients.js';

/** fhir-kit-client types resources loosely; ours are the strict R4 ones. */
const fhir = (resource: object) => resource as unknown as FhirResource;

const JWT_SECRET = 'e2e-secret-0123456789abcdef0123456789abcdef';

/** The real server process, driven by a real FHIR client. */
describe('end to end with fhir-kit-client', function () {
  this.timeout(60_000);
  let server: ServerProcess;
  let client: Client;

  before(async () => {
    server = await startServerProcess({ JWT_SECRET });
    const token = jwt.sign({ sub: 'e2e', scope: 'user/*.cruds system/*.cruds', roles: ['admin'] }, JWT_SECRET, {
      algorithm: 'HS256',
      expiresIn: '10m',
    });
    client = new Client({ baseUrl: `${server.url}/fhir`, bearerToken: token });
  });

  after(async () => {
    const code = await server.stop();
    expect(code).to.equal(0);
  });

  it('reads the CapabilityStatement', async () => {
    const statement = (await client.capabilityStatement()) as { resourceType: string; fhirVersion: string };
    expect(statement.resourceType).to.equal('CapabilityStatement');
    expect(statement.fhirVersion).to.equal('4.0.1');
  });

  it('creates, reads, updates with If-Match, vreads and lists history', async () => {
    const created = (await client.create({ resourceType: 'Patient', body: fhir(samplePatient(30)) })) as Patient;
    expect(created.id).to.be.a('string');
    expect(created.meta?.versionId).to.equal('1');
    const location = Client.httpFor(fhir(created)).response?.headers.get('location');
    expect(location).to.equal(`/fhir/Patient/${created.id}/_history/1`);

    const read = (await client.read({ resourceType: 'Patient', id: created.id! })) as Patient;
    expect(read.name).to.deep.equal(created.name);

    const updated = (await client.update({
      resourceType: 'Patient',
      id: created.id!,
      body: fhir({ ...read, gender: 'other' }),
      options: { headers: { 'If-Match': 'W/"1"' } },
    })) as Patient;
    expect(updated.meta?.versionId).to.equal('2');
    expect(Client.httpFor(fhir(updated)).response?.headers.get('etag')).to.equal('W/"2"');

    const v1 = (await client.vread({ resourceType: 'Patient', id: created.id!, version: '1' })) as Patient;
    expect(v1.gender).to.equal(created.gender);

    const history = (await client.history({ resourceType: 'Patient', id: created.id! })) as unknown as Bundle;
    expect(history.type).to.equal('history');
    expect(history.entry?.map((e) => e.resource?.meta?.versionId)).to.deep.equal(['2', '1']);
  });

  it('finds the patient by identifier through search', async () => {
    const patient = samplePatient(31);
    const created = (await client.create({ resourceType: 'Patient', body: fhir(patient) })) as Patient;
    const identifier = patient.identifier![0]!;
    const bundle = (await client.search({
      resourceType: 'Patient',
      searchParams: { identifier: `${identifier.system}|${identifier.value}` },
    })) as unknown as Bundle;
    expect(bundle.type).to.equal('searchset');
    expect(bundle.entry?.map((e) => e.resource?.id)).to.deep.equal([created.id]);
  });

  it('surfaces a stale update as an error with status 412', async () => {
    const created = (await client.create({ resourceType: 'Patient', body: fhir(samplePatient(32)) })) as Patient;
    try {
      await client.update({
        resourceType: 'Patient',
        id: created.id!,
        body: fhir({ ...created, gender: 'unknown' }),
        options: { headers: { 'If-Match': 'W/"9"' } },
      });
      expect.fail('the update should be refused');
    } catch (err) {
      const status = (err as { response?: { status?: number } }).response?.status;
      expect(status).to.equal(412);
    }
  });

  it('writes JSON log lines with request id and route template, and no PHI', () => {
    const patient = samplePatient(31);
    const requests = server.logs.filter((l) => l.message === 'request');
    expect(requests.length).to.be.greaterThan(3);
    for (const line of requests) {
      expect(line).to.have.property('requestId');
      expect(line.traceId).to.match(/^[0-9a-f]{32}$/);
      expect(line.route).to.be.a('string');
    }
    const text = JSON.stringify(server.logs);
    expect(text).to.not.include(patient.name![0]!.family!);
    expect(text).to.not.include(patient.identifier![0]!.value!);
  });
});

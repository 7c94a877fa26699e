import { expect } from 'chai';
import { Client, type FhirResource } from 'fhir-kit-client';
import jwt from 'jsonwebtoken';
import type { Bundle, Patient } from 'fhir/r4.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { samplePatient } from '../support/patients.js';

const fhir = (resource: object) => resource as unknown as FhirResource;
const JWT_SECRET = 'e2e-secret-0123456789abcdef0123456789abcdef';
const A = 'urn:uuid:1b7c2e4a-8d3f-4e5a-9b6c-7d8e9f0a1b2c';

/** Batch and transaction Bundles from a real FHIR client against the real server process. */
describe('end to end: fhir-kit-client batch and transaction', function () {
  this.timeout(60_000);
  let server: ServerProcess;
  let client: Client;

  before(async () => {
    server = await startServerProcess({ JWT_SECRET });
    const token = jwt.sign({ sub: 'e2e', scope: 'user/*.cruds', roles: ['admin'] }, JWT_SECRET, { algorithm: 'HS256', expiresIn: '10m' });
    client = new Client({ baseUrl: `${server.url}/fhir`, bearerToken: token });
  });

  after(async () => {
    expect(await server.stop()).to.equal(0);
  });

  it('runs a transaction with a urn:uuid reference', async () => {
    const linked = { ...samplePatient(90), link: [{ other: { reference: A }, type: 'seealso' }] };
    const body = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:1b7c2e4a-8d3f-4e5a-9b6c-7d8e9f0a1b2d', resource: linked, request: { method: 'POST', url: 'Patient' } },
        { fullUrl: A, resource: samplePatient(91), request: { method: 'POST', url: 'Patient' } },
      ],
    };
    const response = (await client.transaction({ body: fhir(body) })) as unknown as Bundle;
    expect(response.type).to.equal('transaction-response');
    expect(response.entry!.map((e) => e.response!.status)).to.deep.equal(['201', '201']);
    const targetId = (response.entry![1]!.resource as Patient).id!;
    const first = (await client.read({ resourceType: 'Patient', id: (response.entry![0]!.resource as Patient).id! })) as unknown as Patient;
    expect(first.link?.[0]?.other.reference).to.equal(`Patient/${targetId}`);
  });

  it('runs a batch whose entries succeed and fail on their own', async () => {
    const body = {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { resource: samplePatient(92), request: { method: 'POST', url: 'Patient' } },
        { request: { method: 'GET', url: 'Patient/0e4b1d6e-0000-4000-8000-000000000000' } },
      ],
    };
    const response = (await client.batch({ body: fhir(body) })) as unknown as Bundle;
    expect(response.type).to.equal('batch-response');
    expect(response.entry!.map((e) => e.response!.status)).to.deep.equal(['201', '404']);
  });
});

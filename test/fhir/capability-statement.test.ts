import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import request from 'supertest';
import type { CapabilityStatement } from 'fhir/r4.js';
import { testApp } from '../support/test-app.js';

const profiles = new URL('../../profiles/', import.meta.url);

/** Canonical URLs of the OperationDefinitions shipped in profiles/. */
function operationDefinitions(): Map<string, { code: string; resource: string[] }> {
  const found = new Map<string, { code: string; resource: string[] }>();
  for (const file of readdirSync(profiles).filter((f) => f.startsWith('OperationDefinition-'))) {
    const od = JSON.parse(readFileSync(new URL(file, profiles), 'utf8')) as { url: string; code: string; resource: string[] };
    found.set(od.url, od);
  }
  return found;
}

describe('CapabilityStatement', () => {
  it('declares SMART-on-FHIR security, and the oauth-uris extension when an authorization server is configured', async () => {
    const plain = (await request(testApp().app).get('/fhir/metadata')).body as CapabilityStatement;
    const security = plain.rest![0]!.security!;
    expect(security.service?.[0]?.coding?.[0]?.code).to.equal('SMART-on-FHIR');
    expect(security.extension ?? []).to.have.length(0);

    const env = { SMART_AUTHORIZE_URL: 'https://auth.example.org/authorize', SMART_TOKEN_URL: 'https://auth.example.org/token' };
    const t = testApp({ env });
    const withOauth = (await request(t.app).get('/fhir/metadata')).body as CapabilityStatement;
    const oauth = withOauth.rest![0]!.security!.extension?.find((e) => e.url.endsWith('/oauth-uris'));
    expect(oauth?.extension).to.deep.include({ url: 'token', valueUri: env.SMART_TOKEN_URL });
    const smart = (await request(t.app).get('/.well-known/smart-configuration')).body as Record<string, unknown>;
    expect(smart.authorization_endpoint).to.equal(env.SMART_AUTHORIZE_URL);
    expect(smart.token_endpoint).to.equal(env.SMART_TOKEN_URL);
  });

  it('lists every custom operation with an OperationDefinition that profiles/ ships', async () => {
    const statement = (await request(testApp().app).get('/fhir/metadata')).body as CapabilityStatement;
    const definitions = operationDefinitions();
    const listed = statement.rest![0]!.resource!.flatMap((r) => (r.operation ?? []).map((o) => ({ type: r.type, ...o })));
    expect(listed.map((o) => o.name).sort()).to.deep.equal(['anonymize', 'deleted', 'investigation-end', 'investigation-start', 'restore', 'verify']);
    for (const op of listed) {
      const definition = definitions.get(op.definition);
      expect(definition, op.definition).to.not.equal(undefined);
      expect(definition!.code).to.equal(op.name);
      expect(definition!.resource).to.include(op.type);
    }
    expect(definitions.size).to.equal(listed.length);
  });

  it('describes the AuditEvent endpoint as read and search only', async () => {
    const statement = (await request(testApp().app).get('/fhir/metadata')).body as CapabilityStatement;
    const audit = statement.rest![0]!.resource!.find((r) => r.type === 'AuditEvent')!;
    expect(audit.interaction!.map((i) => i.code).sort()).to.deep.equal(['read', 'search-type']);
    expect(audit.searchParam!.map((p) => p.name)).to.include.members(['date', 'patient', 'agent', 'action', 'subtype', 'outcome']);
  });
});

import { expect } from 'chai';
import { actorFromClaims } from '../../src/auth/actor-from-claims.js';
import { OperationOutcomeError } from '../../src/fhir/outcome.js';

function refused(fn: () => unknown): OperationOutcomeError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(OperationOutcomeError);
    return err as OperationOutcomeError;
  }
  throw new Error('expected a refusal');
}

describe('actorFromClaims', () => {
  it('maps sub, fhirUser, client id, roles and known scopes', () => {
    const actor = actorFromClaims(
      { sub: 'u1', azp: 'app', roles: ['auditor'], scope: 'openid user/AuditEvent.rs  junk', fhirUser: 'https://idp/Person/9' },
      'roles',
    );
    expect(actor).to.deep.equal({
      subject: 'u1', fhirUser: 'https://idp/Person/9', clientId: 'app', roles: ['auditor'], scopes: ['user/AuditEvent.rs'],
    });
  });

  it('reads scp arrays and nested roles claims', () => {
    const actor = actorFromClaims({ sub: 'u', scp: ['system/*.rs'], realm_access: { roles: ['admin'] } }, 'realm_access.roles');
    expect(actor.scopes).to.deep.equal(['system/*.rs']);
    expect(actor.roles).to.deep.equal(['admin']);
  });

  it('answers 401 when the roles claim is not an array of strings', () => {
    expect(refused(() => actorFromClaims({ sub: 'u', roles: 'admin' }, 'roles')).status).to.equal(401);
    expect(refused(() => actorFromClaims({ sub: 'u', roles: [1] }, 'roles')).status).to.equal(401);
  });

  it('answers 401 without a subject or with a malformed scope claim', () => {
    expect(refused(() => actorFromClaims({ scope: 'user/*.rs' }, 'roles')).status).to.equal(401);
    expect(refused(() => actorFromClaims({ sub: 'u', scope: 42 }, 'roles')).status).to.equal(401);
  });

  it('takes the patient compartment from the patient claim or fhirUser', () => {
    expect(actorFromClaims({ sub: 'u', patient: 'p1' }, 'roles').patient).to.equal('p1');
    expect(actorFromClaims({ sub: 'u', fhirUser: 'http://x/fhir/Patient/p2' }, 'roles').patient).to.equal('p2');
    expect(refused(() => actorFromClaims({ sub: 'u', patient: 'p1', fhirUser: 'Patient/p2' }, 'roles')).status).to.equal(401);
    expect(refused(() => actorFromClaims({ sub: 'u', patient: 'a/b' }, 'roles')).status).to.equal(401);
  });

  it('confines a practitioner with user/ scopes unless admin', () => {
    const claims = { sub: 'u', fhirUser: 'Practitioner/dr1', scope: 'user/Patient.rs' };
    expect(actorFromClaims(claims, 'roles').practitioner).to.equal('dr1');
    expect(actorFromClaims({ ...claims, roles: ['admin'] }, 'roles').practitioner).to.equal(undefined);
    expect(actorFromClaims({ ...claims, scope: 'system/Patient.rs' }, 'roles').practitioner).to.equal(undefined);
  });
});

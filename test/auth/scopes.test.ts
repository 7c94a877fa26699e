import { expect } from 'chai';
import { parseScope, parseScopes } from '../../src/auth/scopes.js';

describe('SMART scopes', () => {
  it('reads v1 read/write/* as permission letters', () => {
    expect([...parseScope('patient/Patient.read')!.permissions]).to.have.members(['r', 's']);
    expect([...parseScope('user/Patient.write')!.permissions]).to.have.members(['c', 'u', 'd']);
    expect([...parseScope('system/*.*')!.permissions]).to.have.members(['c', 'r', 'u', 'd', 's']);
  });

  it('reads v2 letters in cruds order', () => {
    const scope = parseScope('user/AuditEvent.rs')!;
    expect(scope).to.include({ context: 'user', resourceType: 'AuditEvent' });
    expect([...scope.permissions]).to.deep.equal(['r', 's']);
    expect([...parseScope('system/Patient.cruds')!.permissions]).to.have.length(5);
  });

  it('ignores junk, out-of-order letters, unknown types and granular scopes', () => {
    const junk = [
      'openid', 'fhirUser', 'launch/patient', 'offline_access', 'user/Patient.src', 'user/Patient.rr', 'user/Patient.x',
      'user/Observation.read', 'admin/Patient.read', 'user/Patient.rs?gender=male', 'user/patient.read', '', 'user/Patient.',
      'user/.read', 'user/Patient.read extra', '__proto__', 'user/__proto__.read', 'user/constructor.read',
    ];
    for (const scope of junk) expect(parseScope(scope), scope).to.equal(undefined);
    expect(parseScopes(['openid', 'user/Patient.r', 'bogus'])).to.have.length(1);
  });
});

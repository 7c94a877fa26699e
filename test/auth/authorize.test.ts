import { expect } from 'chai';
import type { Actor } from '../../src/context/actor.js';
import { authorize, resourceTypeOfRoute } from '../../src/auth/authorize.js';
import { OperationOutcomeError } from '../../src/fhir/outcome.js';

const actor = (scopes: string[], extra: Partial<Actor> = {}): Actor => ({ subject: 's', roles: [], scopes, ...extra });

function outcome(fn: () => void): { status: number; code: string } | 'allowed' {
  try {
    fn();
    return 'allowed';
  } catch (err) {
    if (!(err instanceof OperationOutcomeError)) throw err;
    return { status: err.status, code: err.code };
  }
}

describe('authorize', () => {
  it('maps interactions to c r u d s', () => {
    const reader = actor(['user/Patient.rs']);
    for (const i of ['read', 'vread', 'history-instance', 'search-type']) expect(outcome(() => authorize(reader, i, 'Patient')), i).to.equal('allowed');
    for (const i of ['create', 'update', 'patch', 'delete']) {
      expect(outcome(() => authorize(reader, i, 'Patient')), i).to.deep.equal({ status: 403, code: 'INSUFFICIENT_SCOPE' });
    }
    expect(outcome(() => authorize(actor(['user/Patient.c']), 'create', 'Patient'))).to.equal('allowed');
    expect(outcome(() => authorize(actor(['user/Patient.u']), 'patch', 'Patient'))).to.equal('allowed');
    expect(outcome(() => authorize(actor(['system/*.d']), 'delete', 'Patient'))).to.equal('allowed');
  });

  it('names the missing scope', () => {
    try {
      authorize(actor(['user/Patient.r']), 'search-type', 'Patient');
      expect.fail('allowed');
    } catch (err) {
      expect((err as OperationOutcomeError).message).to.contain('user/Patient.s');
      expect((err as OperationOutcomeError).headers['WWW-Authenticate']).to.contain('insufficient_scope');
    }
  });

  it('ignores patient/ scopes without a patient in context', () => {
    expect(outcome(() => authorize(actor(['patient/Patient.read']), 'read', 'Patient'))).to.deep.equal({ status: 403, code: 'INSUFFICIENT_SCOPE' });
    expect(outcome(() => authorize(actor(['patient/Patient.read'], { patient: 'p' }), 'read', 'Patient'))).to.equal('allowed');
  });

  it('requires the admin role for operations', () => {
    const full = actor(['user/*.cruds']);
    for (const op of ['$restore', '$anonymize', '$investigation-start', '$investigation-end', '$deleted']) {
      expect(outcome(() => authorize(full, op, 'Patient')), op).to.deep.equal({ status: 403, code: 'FORBIDDEN' });
      expect(outcome(() => authorize({ ...full, roles: ['admin'] }, op, 'Patient')), op).to.equal('allowed');
    }
  });

  it('lets auditors, admins and patient-context tokens read AuditEvents', () => {
    const scopes = ['user/AuditEvent.rs'];
    expect(outcome(() => authorize(actor(scopes), 'search-type', 'AuditEvent'))).to.deep.equal({ status: 403, code: 'FORBIDDEN' });
    expect(outcome(() => authorize(actor(scopes, { roles: ['auditor'] }), 'search-type', 'AuditEvent'))).to.equal('allowed');
    expect(outcome(() => authorize(actor(['user/Patient.rs'], { roles: ['auditor'] }), 'read', 'AuditEvent'))).to.deep.equal({ status: 403, code: 'INSUFFICIENT_SCOPE' });
    expect(outcome(() => authorize(actor(['patient/AuditEvent.rs'], { patient: 'p' }), 'search-type', 'AuditEvent'))).to.equal('allowed');
    expect(outcome(() => authorize(actor(['patient/AuditEvent.rs'], { patient: 'p' }), '$verify', 'AuditEvent'))).to.deep.equal({ status: 403, code: 'FORBIDDEN' });
  });

  it('refuses unknown interactions and compartment escapes', () => {
    const full = actor(['user/*.cruds'], { roles: ['admin'] });
    expect(outcome(() => authorize(full, 'launch-missiles', 'Patient'))).to.deep.equal({ status: 403, code: 'FORBIDDEN' });
    expect(outcome(() => authorize(full, 'read', 'Observation'))).to.deep.equal({ status: 403, code: 'FORBIDDEN' });
    expect(outcome(() => authorize({ ...full, patient: 'p' }, 'create', 'Patient'))).to.deep.equal({ status: 403, code: 'FORBIDDEN' });
    expect(outcome(() => authorize({ ...full, patient: 'p' }, 'history-type', 'Patient'))).to.deep.equal({ status: 403, code: 'FORBIDDEN' });
  });

  it('finds the resource type of a route', () => {
    expect(resourceTypeOfRoute('/fhir/Patient/:id')).to.equal('Patient');
    expect(resourceTypeOfRoute('/fhir/AuditEvent')).to.equal('AuditEvent');
    expect(resourceTypeOfRoute('/fhir')).to.equal('*');
    expect(resourceTypeOfRoute('/fhir/$job/:id')).to.equal('Patient');
  });
});

import type { PatientStore } from '../store/port.js';
import type { AuditStore } from './audit-port.js';

/**
 * A store whose AuditEvent appends do nothing — for `npm run bench` only, to measure what the audit
 * trail costs (`AUDIT_DISABLED_FOR_BENCHMARK`, refused in production). Transactions hand out views
 * with the same behaviour.
 */
export function withoutAuditWrites(store: PatientStore): PatientStore {
  return new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property);
      if (property === 'audit') return noAppend(value as AuditStore);
      if (property === 'transaction' && typeof value === 'function') {
        return <T>(work: (tx: PatientStore) => Promise<T>) =>
          (value as PatientStore['transaction']).call(target, (tx) => work(withoutAuditWrites(tx)));
      }
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

function noAppend(audit: AuditStore): AuditStore {
  return new Proxy(audit, {
    get(target, property) {
      if (property === 'append') {
        return async (event: Parameters<AuditStore['append']>[0]) => ({ seq: 0, resource: event, hash: '', prevHash: '' });
      }
      const value: unknown = Reflect.get(target, property);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

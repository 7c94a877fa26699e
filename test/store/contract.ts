import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { Patient } from 'fhir/r4.js';
import { isOperationOutcomeError, type OperationOutcomeError } from '../../src/fhir/outcome.js';
import type { PatientStore } from '../../src/store/port.js';
import { buildRecord, nextVersion, samplePatients } from './record-builder.js';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

/**
 * The storage-port contract (src/store/port.ts), written once and run on every engine. Search is not
 * covered here: it has its own conformance suite.
 */
export function runStoreContract(
  engineName: string,
  open: () => Promise<PatientStore>,
  hooks: { cleanup?: (store: PatientStore) => Promise<void> } = {},
): void {
  describe(`PatientStore contract (${engineName})`, () => {
    let store: PatientStore;
    const patients = samplePatients();
    const withEmail = patients.filter((p) => p.telecom?.some((t) => t.system === 'email'));
    const record = (patient: Patient, seconds = 0) => buildRecord(patient, { id: randomUUID(), lastUpdated: at(seconds) });

    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await hooks.cleanup?.(store);
      await store.close();
    });

    describe('create and read', () => {
      it('stores version 1 and reads it back with its state', async () => {
        const r = record(patients[0]!);
        await store.create(r);
        expect(await store.read(r.resource.id)).to.deep.equal({ resource: r.resource, state: 'active' });
        expect(await store.readVersion(r.resource.id, '1')).to.deep.equal({ resource: r.resource, state: 'active' });
      });

      it('answers undefined for an id that never existed', async () => {
        expect(await store.read(randomUUID())).to.equal(undefined);
        expect(await store.readVersion(randomUUID(), '1')).to.equal(undefined);
      });

      it('refuses a second create of the same id with 409', async () => {
        const r = record(patients[0]!);
        await store.create(r);
        const err = await rejection(store.create({ ...r, uniqueKeys: [] }));
        expect(err.status).to.equal(409);
      });

      it('stores every sample patient unchanged', async () => {
        const records = patients.map((p, i) => record(p, i));
        for (const r of records) await store.create(r);
        for (const r of records) expect((await store.read(r.resource.id))?.resource).to.deep.equal(r.resource);
      });
    });

    describe('update', () => {
      it('numbers versions 1, 2, 3 and keeps each readable', async () => {
        const v1 = record(patients[1]!);
        const v2 = nextVersion(v1, { patient: { ...v1.resource, gender: 'other' } });
        const v3 = nextVersion(v2, { state: 'soft-deleted', uniqueKeys: [] });
        await store.create(v1);
        await store.update(v2, '1');
        await store.update(v3, '2');
        expect(await store.read(v1.resource.id)).to.deep.equal({ resource: v3.resource, state: 'soft-deleted' });
        expect((await store.readVersion(v1.resource.id, '2'))?.resource.gender).to.equal('other');
        expect((await store.readVersion(v1.resource.id, '1'))?.resource).to.deep.equal(v1.resource);
        for (const missing of ['4', '0', 'abc', '']) {
          expect(await store.readVersion(v1.resource.id, missing)).to.equal(undefined);
        }
      });

      it('answers 412 VERSION_CONFLICT for a stale expected version and changes nothing', async () => {
        const v1 = record(patients[2]!);
        await store.create(v1);
        await store.update(nextVersion(v1), '1');
        const err = await rejection(store.update(nextVersion(v1, { patient: { ...v1.resource, gender: 'unknown' } }), '1'));
        expect([err.status, err.code]).to.deep.equal([412, 'VERSION_CONFLICT']);
        expect((await store.read(v1.resource.id))?.resource.meta?.versionId).to.equal('2');
      });

      it('answers 404 for an unknown id', async () => {
        const err = await rejection(store.update(nextVersion(record(patients[3]!)), '1'));
        expect(err.status).to.equal(404);
      });

      it('lets exactly one of two concurrent updates of one version win', async () => {
        const v1 = record(patients[4]!);
        await store.create(v1);
        const results = await Promise.allSettled([store.update(nextVersion(v1), '1'), store.update(nextVersion(v1), '1')]);
        expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(1);
        expect(outcomeCodes(results)).to.deep.equal(['VERSION_CONFLICT']);
      });
    });

    describe('history', () => {
      it('pages versions newest first with total and hasMore', async () => {
        const v1 = record(patients[5]!, 0);
        const v2 = nextVersion(v1, { lastUpdated: at(10) });
        const v3 = nextVersion(v2, { lastUpdated: at(20) });
        await store.create(v1);
        await store.update(v2, '1');
        await store.update(v3, '2');
        const id = v1.resource.id;

        const first = await store.history(id, { count: 2 });
        expect(first.versions.map((v) => v.resource.meta?.versionId)).to.deep.equal(['3', '2']);
        expect([first.total, first.hasMore]).to.deep.equal([3, true]);

        const second = await store.history(id, { count: 2, beforeVersion: 2 });
        expect(second.versions.map((v) => v.resource.meta?.versionId)).to.deep.equal(['1']);
        expect([second.total, second.hasMore]).to.deep.equal([3, false]);
        expect(second.versions[0]).to.deep.equal({ resource: v1.resource, state: 'active' });
      });

      it('keeps only versions updated at or after since', async () => {
        const v1 = record(patients[6]!, 0);
        const v2 = nextVersion(v1, { lastUpdated: at(10) });
        await store.create(v1);
        await store.update(v2, '1');
        const page = await store.history(v1.resource.id, { count: 10, since: Date.parse(at(10)) });
        expect(page.versions.map((v) => v.resource.meta?.versionId)).to.deep.equal(['2']);
        expect([page.total, page.hasMore]).to.deep.equal([1, false]);
      });

      it('is empty for an unknown id', async () => {
        expect(await store.history(randomUUID(), { count: 10 })).to.deep.equal({ versions: [], total: 0, hasMore: false });
      });
    });

    describe('history across patients', () => {
      it('walks every version newest first (lastUpdated, then id, then version), keyset paged', async () => {
        const a = record(patients[10]!, 1);
        const b = record(patients[11]!, 2);
        const c = { ...record(patients[12]!, 2), resource: { ...record(patients[12]!, 2).resource, id: `${b.resource.id}z` } };
        await store.create(a);
        await store.create(b);
        await store.create(c);
        await store.update(nextVersion(a, { lastUpdated: at(3) }), '1');
        const expected = [`${a.resource.id}/2`, `${c.resource.id}/1`, `${b.resource.id}/1`, `${a.resource.id}/1`];
        const seen: string[] = [];
        let after: Awaited<ReturnType<PatientStore['historyAcrossPatients']>>['next'];
        do {
          const page = await store.historyAcrossPatients({ count: 3, ...(after ? { after } : {}) });
          seen.push(...page.versions.map((v) => `${v.resource.id}/${v.resource.meta?.versionId}`));
          after = page.next;
        } while (after);
        expect(seen).to.deep.equal(expected);
        const since = await store.historyAcrossPatients({ count: 10, since: Date.parse(at(2)) });
        expect(since.versions.map((v) => v.resource.meta?.versionId)).to.deep.equal(['2', '1', '1']);
        expect(since.next).to.equal(undefined);
      });
    });

    describe('unique keys', () => {
      const owner = withEmail[0]!;
      const other = withEmail[1]!;

      it('answers 409 DUPLICATE_IDENTIFIER naming the kind, never the value', async () => {
        await store.create(record(owner));
        const copy = record({ ...other, identifier: structuredClone(owner.identifier) });
        const err = await rejection(store.create(copy));
        expect([err.status, err.code]).to.deep.equal([409, 'DUPLICATE_IDENTIFIER']);
        expect(err.issues[0]?.expression).to.deep.equal(['Patient.identifier']);
        for (const id of owner.identifier!) expect(JSON.stringify(err.toOperationOutcome())).not.to.include(id.value);
        expect(await store.read(copy.resource.id)).to.equal(undefined);
      });

      it('answers 409 DUPLICATE_CONTACT for a taken email or phone', async () => {
        await store.create(record(owner));
        for (const system of ['email', 'phone'] as const) {
          const telecom = owner.telecom!.filter((t) => t.system === system);
          const err = await rejection(store.create(record({ ...other, identifier: [], telecom })));
          expect([err.status, err.code]).to.deep.equal([409, 'DUPLICATE_CONTACT']);
          expect(err.issues[0]?.expression).to.deep.equal(['Patient.telecom']);
          expect(JSON.stringify(err.toOperationOutcome())).not.to.include(telecom[0]!.value);
        }
      });

      it('keeps a patient its own keys across updates', async () => {
        const v1 = record(owner);
        await store.create(v1);
        await store.update(nextVersion(v1), '1');
        expect((await store.read(v1.resource.id))?.resource.meta?.versionId).to.equal('2');
      });

      it('refuses an update that takes another patient key and leaves both unchanged', async () => {
        const a = record(owner);
        const b = record(other);
        await store.create(a);
        await store.create(b);
        const err = await rejection(store.update(nextVersion(b, { patient: { ...other, identifier: owner.identifier } }), '1'));
        expect(err.code).to.equal('DUPLICATE_IDENTIFIER');
        expect((await store.read(b.resource.id))?.resource).to.deep.equal(b.resource);
        const takeB = record({ ...patients[7]!, identifier: other.identifier });
        expect((await rejection(store.create(takeB))).code).to.equal('DUPLICATE_IDENTIFIER');
      });

      it('frees the keys when a version with no unique keys is written', async () => {
        const v1 = record(owner);
        await store.create(v1);
        await store.update(nextVersion(v1, { state: 'soft-deleted', uniqueKeys: [] }), '1');
        await store.create(record(owner));
      });

      it('frees keys a new version no longer holds', async () => {
        const v1 = record(owner);
        await store.create(v1);
        await store.update(nextVersion(v1, { patient: { ...owner, identifier: [], telecom: [] } }), '1');
        await store.create(record(owner));
      });

      it('lets exactly one of two concurrent creates with one identifier win', async () => {
        const shared = structuredClone(owner.identifier);
        const results = await Promise.allSettled([
          store.create(record({ ...owner, telecom: [], identifier: shared })),
          store.create(record({ ...other, telecom: [], identifier: shared })),
        ]);
        expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(1);
        expect(outcomeCodes(results)).to.deep.equal(['DUPLICATE_IDENTIFIER']);
      });
    });

    describe('transaction', () => {
      it('commits every write made through the transaction store', async () => {
        const [a, b] = [record(patients[8]!), record(patients[9]!)];
        const value = await store.transaction(async (tx) => {
          await tx.create(a);
          await tx.create(b);
          await tx.update(nextVersion(a), '1');
          return 'done';
        });
        expect(value).to.equal('done');
        expect((await store.read(a.resource.id))?.resource.meta?.versionId).to.equal('2');
        expect(await store.read(b.resource.id)).not.to.equal(undefined);
      });

      it('persists nothing when the work throws, and rethrows its error', async () => {
        const a = record(patients[10]!);
        const boom = new Error('boom');
        const thrown = await store
          .transaction(async (tx) => {
            await tx.create(a);
            await tx.putIdempotency(idempotency('k-rollback', a.resource.id, at(60)));
            throw boom;
          })
          .catch((e: unknown) => e);
        expect(thrown).to.equal(boom);
        expect(await store.read(a.resource.id)).to.equal(undefined);
        expect(await store.history(a.resource.id, { count: 5 })).to.include({ total: 0 });
        expect(await store.getIdempotency('k-rollback')).to.equal(undefined);
        await store.create(record(patients[10]!));
      });

      it('joins the outer transaction when nested', async () => {
        const a = record(patients[11]!);
        await store
          .transaction(async (tx) => {
            await tx.transaction(async (inner) => inner.create(a));
            expect(await tx.read(a.resource.id)).not.to.equal(undefined);
            throw new Error('undo');
          })
          .catch(() => undefined);
        expect(await store.read(a.resource.id)).to.equal(undefined);
      });

      it('never shows uncommitted writes outside the transaction', async () => {
        const a = record(patients[12]!);
        let committed = false;
        let created!: () => void;
        const createdInTx = new Promise<void>((resolve) => (created = resolve));
        let finish!: () => void;
        const finishTx = new Promise<void>((resolve) => (finish = resolve));
        const tx = store.transaction(async (t) => {
          await t.create(a);
          created();
          await finishTx;
        });
        await createdInTx;
        const outside = store.read(a.resource.id).then((found) => ({ found, committed }));
        finish();
        await tx;
        committed = true;
        const seen = await outside;
        if (!seen.committed) expect(seen.found).to.equal(undefined);
        expect(await store.read(a.resource.id)).not.to.equal(undefined);
      });
    });

    describe('idempotency records', () => {
      it('stores a record once and reads it back', async () => {
        const rec = idempotency('key-1', randomUUID(), at(3600));
        expect(await store.getIdempotency('key-1')).to.equal(undefined);
        expect(await store.putIdempotency(rec)).to.equal(true);
        expect(await store.putIdempotency({ ...rec, status: 200, fingerprint: 'other' })).to.equal(false);
        expect(await store.getIdempotency('key-1')).to.deep.equal(rec);
      });

      it('purges only records that expired before now', async () => {
        await store.putIdempotency(idempotency('old', randomUUID(), at(10)));
        await store.putIdempotency(idempotency('edge', randomUUID(), at(20)));
        await store.putIdempotency(idempotency('new', randomUUID(), at(30)));
        expect(await store.purgeIdempotency(new Date(at(20)))).to.equal(1);
        expect(await store.getIdempotency('old')).to.equal(undefined);
        expect(await store.getIdempotency('edge')).not.to.equal(undefined);
        expect(await store.purgeIdempotency(new Date(at(31)))).to.equal(2);
      });
    });

    it('answers ping', async () => {
      expect(await store.ping()).to.equal(true);
    });
  });
}

function idempotency(key: string, patientId: string, expiresAt: string) {
  return { key, fingerprint: 'a'.repeat(64), status: 201, patientId, versionId: '1', createdAt: at(0), expiresAt };
}

/** The error a promise rejects with, which must be the server's error type. */
async function rejection(promise: Promise<unknown>): Promise<OperationOutcomeError> {
  const outcome = await promise.then(
    () => expect.fail('expected the call to be refused'),
    (err: unknown) => err,
  );
  expect(isOperationOutcomeError(outcome), String(outcome)).to.equal(true);
  return outcome as OperationOutcomeError;
}

function outcomeCodes(results: PromiseSettledResult<unknown>[]): string[] {
  return results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as OperationOutcomeError).code] : []));
}

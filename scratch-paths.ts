import mongoose from 'mongoose';
import { randomUUID } from 'node:crypto';
import { MongoStore } from './src/store/mongo/mongo-store.js';
import { bindModels } from './src/store/mongo/schemas.js';
import { buildRecord, samplePatient } from './test/store/record-builder.js';
const conn = mongoose.createConnection();
conn.set('bufferCommands', false);
const models = bindModels(conn);
const store = new (MongoStore as any)(conn, models) as MongoStore;
const r = buildRecord(samplePatient(0), { id: randomUUID() });
const fake = { session: undefined, open: true };
const tx = new (MongoStore as any)(conn, models, fake) as MongoStore;
const calls: [string, () => Promise<unknown>][] = [
  ['read', () => store.read('x')],
  ['readVersion', () => store.readVersion('x', '1')],
  ['history', () => store.history('x', { count: 2, since: 1, beforeVersion: 3 })],
  ['getIdem', () => store.getIdempotency('k')],
  ['putIdem', () => store.putIdempotency({ key: 'k', fingerprint: 'f', status: 201, patientId: 'p', versionId: '1', createdAt: new Date().toISOString(), expiresAt: new Date().toISOString() })],
  ['purge', () => store.purgeIdempotency(new Date())],
  ['tx.create', () => tx.create(r)],
  ['tx.update', () => tx.update(r, '1')],
  ['create', () => store.create(r)],
  ['ping', () => store.ping()],
];
for (const [name, call] of calls) {
  try { console.log(name, 'resolved', await call()); } catch (e: any) { console.log(name, e.name, e.status, e.code, e.message); }
}

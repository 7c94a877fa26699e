// Child process for the shared-file test: one Agenda on its own connection; every run of `one-off`
// is recorded in `job_runs` so the parent can count runs per job across processes.
import { Agenda } from 'agenda';
import { SqliteBackend } from '../../../src/jobs/sqlite-backend/sqlite-backend.js';
import { openConnection } from './temp-db.js';

const [file, worker] = process.argv.slice(2);
const db = openConnection(file ?? '');
db.exec('CREATE TABLE IF NOT EXISTS job_runs (job_id TEXT NOT NULL, worker TEXT NOT NULL)');
const record = db.prepare('INSERT INTO job_runs (job_id, worker) VALUES (?, ?)');

const backend = new SqliteBackend({ db });
await backend.repository.ensureSchema();
const agenda = new Agenda({ backend, name: worker ?? 'worker', processEvery: 50 });
agenda.define('one-off', async (job) => {
  record.run(String(job.attrs._id), worker ?? 'worker');
});
await agenda.start();

process.on('message', (message: string) => {
  if (message !== 'stop') return;
  void agenda.stop().then(() => {
    db.close();
    process.send?.('stopped');
    process.exit(0);
  });
});
process.send?.('started');

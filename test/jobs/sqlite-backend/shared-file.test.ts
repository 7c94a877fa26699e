import type { ChildProcess } from 'node:child_process';
import { expect } from 'chai';
import type { Database } from 'better-sqlite3';
import { Agenda } from 'agenda';
import { SqliteBackend } from '../../../src/jobs/sqlite-backend/sqlite-backend.js';
import { SqliteJobRepository } from '../../../src/jobs/sqlite-backend/sqlite-job-repository.js';
import { forkScript, nextMessage, openConnection, tempDir, waitFor } from './temp-db.js';

interface RaceReply {
  round: number;
  locked?: boolean;
  id?: string | null;
  error?: string;
}

describe('SQLite Agenda backend on one file shared by two processes', function () {
  this.timeout(60_000);
  const dir = tempDir();
  const children: ChildProcess[] = [];
  const open: Database[] = [];
  const connect = (file: string) => {
    const db = openConnection(file);
    open.push(db);
    return db;
  };
  const start = async (script: string, args: string[], ready: string) => {
    const child = forkScript(script, args);
    children.push(child);
    await nextMessage<string>(child, (m) => m === ready);
    return child;
  };

  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill();
    for (const db of open.splice(0)) if (db.open) db.close();
  });
  after(() => dir.remove());

  it('gives a contended job to exactly one of two racing connections, 50 times in a row', async () => {
    const file = dir.file('race.sqlite');
    const repo = new SqliteJobRepository({ db: connect(file) });
    await repo.ensureSchema();
    const racers = await Promise.all([start('./race-process.ts', [file], 'ready'), start('./race-process.ts', [file], 'ready')]);

    for (let round = 0; round < 50; round++) {
      const name = `race-${round}`;
      const saved = await repo.saveJob({ name, priority: 0, nextRunAt: new Date(Date.now() - 1000), type: 'normal', data: { round } }, undefined);
      const replies = racers.map((child) => nextMessage<RaceReply>(child, (m) => m.round === round));
      const at = Date.now() + 40;
      for (const child of racers) child.send({ round, name, at });
      const answers = await Promise.all(replies);
      expect(answers.map((a) => a.error)).to.deep.equal([undefined, undefined]);
      expect(answers.filter((a) => a.locked).length, `round ${round}`).to.equal(1);
      expect(answers.find((a) => a.locked)?.id).to.equal(saved._id);
      expect((await repo.getJobById(String(saved._id)))?.lockedAt).to.be.instanceOf(Date);
    }
    for (const child of racers) child.send('exit');
  });

  it('runs each of 20 one-off jobs exactly once across two Agenda processes', async () => {
    const file = dir.file('agendas.sqlite');
    const db = connect(file);
    db.exec('CREATE TABLE IF NOT EXISTS job_runs (job_id TEXT NOT NULL, worker TEXT NOT NULL)');
    const workers = await Promise.all([
      start('./agenda-process.ts', [file, 'worker-a'], 'started'),
      start('./agenda-process.ts', [file, 'worker-b'], 'started'),
    ]);

    // a third, never-started Agenda only enqueues, as the HTTP side of the server would
    const backend = new SqliteBackend({ db });
    await backend.repository.ensureSchema();
    const producer = new Agenda({ backend });
    await producer.ready;
    const ids = new Set<string>();
    for (let i = 0; i < 20; i++) ids.add(String((await producer.now('one-off', { i })).attrs._id));

    const runs = () => db.prepare('SELECT job_id, worker FROM job_runs').all() as { job_id: string; worker: string }[];
    await waitFor('20 job runs', () => runs().length >= 20, 20_000);
    await Promise.all(workers.map((w) => (w.send('stop'), nextMessage<string>(w, (m) => m === 'stopped'))));

    const done = runs();
    expect(done).to.have.length(20);
    expect(new Set(done.map((r) => r.job_id))).to.deep.equal(ids);
    const jobs = await backend.repository.queryJobs({ name: 'one-off' });
    expect(jobs.jobs.every((j) => j.lastFinishedAt instanceof Date && j.lockedAt === undefined)).to.equal(true);
  });
});

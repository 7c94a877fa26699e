import { expect } from 'chai';
import type { Database } from 'better-sqlite3';
import type { JobParameters } from 'agenda';
import { SqliteJobRepository } from '../../../src/jobs/sqlite-backend/sqlite-job-repository.js';
import { createAgendaJobsSchema } from '../../../src/jobs/sqlite-backend/schema.js';
import { openConnection, tempDir } from './temp-db.js';

const minute = 60_000;
const ago = (ms: number) => new Date(Date.now() - ms);
const later = (ms: number) => new Date(Date.now() + ms);
const job = (name: string, extra: Partial<JobParameters> = {}): JobParameters => ({
  name,
  priority: 0,
  nextRunAt: ago(1000),
  type: 'normal',
  data: {},
  ...extra,
});
const nextOf = (repo: SqliteJobRepository, name: string, lockLifetime = 10 * minute) => {
  const now = new Date();
  return repo.getNextJobToRun(name, new Date(now.getTime() + 5000), new Date(now.getTime() - lockLifetime), now, undefined);
};

describe('SqliteJobRepository', () => {
  const dir = tempDir();
  let db: Database;
  let repo: SqliteJobRepository;
  let n = 0;

  beforeEach(async () => {
    db = openConnection(dir.file(`repo-${++n}.sqlite`));
    repo = new SqliteJobRepository({ db });
    await repo.connect();
  });
  afterEach(() => db.close());
  after(() => dir.remove());

  describe('schema', () => {
    it('creates agenda_jobs idempotently with its indexes', () => {
      createAgendaJobsSchema(db);
      createAgendaJobsSchema(db);
      const indexes = db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'agenda_jobs'").all() as { name: string }[];
      expect(indexes.map((i) => i.name)).to.include.members(['agenda_jobs_next_job', 'agenda_jobs_expired_lock', 'agenda_jobs_due']);
    });

    it('uses the next-job index for getNextJobToRun', () => {
      const plan = db
        .prepare(
          `EXPLAIN QUERY PLAN SELECT seq FROM agenda_jobs WHERE name = ? AND (disabled IS NULL OR disabled <> 1)
           AND ((locked_at IS NULL AND next_run_at <= ?) OR locked_at <= ?) ORDER BY next_run_at ASC, priority DESC, seq ASC LIMIT 1`,
        )
        .all('x', 1, 1) as { detail: string }[];
      expect(plan.map((p) => p.detail).join('\n')).to.match(/USING (COVERING )?INDEX agenda_jobs_/);
    });

    it('connect never rejects, and ensureSchema reports a closed database', async () => {
      const closed = openConnection(':memory:');
      closed.close();
      const broken = new SqliteJobRepository({ db: closed });
      await broken.connect();
      expect(broken.connectError).to.be.instanceOf(Error);
      await broken.ensureSchema().then(() => expect.fail('should reject'), (err: unknown) => expect(err).to.be.instanceOf(Error));
    });

    it('runs every call through the given executor', async () => {
      let calls = 0;
      const counted = new SqliteJobRepository({ db, run: async (work) => (calls++, work(db)) });
      await counted.saveJob(job('exec'), undefined);
      await counted.getQueueSize();
      expect(calls).to.equal(2);
    });
  });

  describe('saveJob', () => {
    it('inserts a job with an id and round-trips every field', async () => {
      const startDate = later(minute);
      const saved = await repo.saveJob(
        job('full', { priority: 10, data: { patientId: 'p-1', n: 2, ok: true }, repeatInterval: '5 minutes', repeatTimezone: 'UTC', startDate, skipDays: [0, 6], fork: false }),
        { lastModifiedBy: 'node-a' },
      );
      expect(saved._id).to.be.a('string');
      const read = await repo.getJobById(String(saved._id));
      expect(read).to.include({ name: 'full', priority: 10, type: 'normal', repeatInterval: '5 minutes', repeatTimezone: 'UTC', lastModifiedBy: 'node-a', fork: false });
      expect(read?.data).to.deep.equal({ patientId: 'p-1', n: 2, ok: true });
      expect(read?.startDate?.getTime()).to.equal(startDate.getTime());
      expect(read?.skipDays).to.deep.equal([0, 6]);
      expect(read?.lockedAt).to.equal(undefined);
      expect(read?.disabled).to.equal(undefined);
    });

    it('keeps a numeric repeatInterval a number', async () => {
      const saved = await repo.saveJob(job('numeric', { repeatInterval: 5000 }), undefined);
      expect((await repo.getJobById(String(saved._id)))?.repeatInterval).to.equal(5000);
    });

    it('updates an existing job by id', async () => {
      const saved = await repo.saveJob(job('upd', { priority: 5, data: { v: 1 } }), undefined);
      const updated = await repo.saveJob({ ...saved, priority: 20, data: { v: 2 } }, undefined);
      expect(updated._id).to.equal(saved._id);
      expect(updated).to.include({ priority: 20 });
      expect(updated.data).to.deep.equal({ v: 2 });
      expect((await repo.queryJobs({ name: 'upd' })).total).to.equal(1);
    });

    it('returns the job unchanged when its row is gone', async () => {
      const saved = await repo.saveJob(job('gone'), undefined);
      await repo.removeJobs({ id: saved._id });
      const again = await repo.saveJob({ ...saved, priority: 3 }, undefined);
      expect(again.priority).to.equal(3);
      expect(await repo.getJobById(String(saved._id))).to.equal(null);
    });

    it('does not clear the lock of a job saved without processor fields', async () => {
      const saved = await repo.saveJob(job('running'), undefined);
      const locked = await repo.lockJob(saved, undefined);
      const { lockedAt: _l, ...withoutProcessorFields } = locked as JobParameters;
      await repo.saveJob({ ...withoutProcessorFields, priority: 1 }, undefined);
      expect((await repo.getJobById(String(saved._id)))?.lockedAt).to.be.instanceOf(Date);
    });

    it('upserts single jobs by name and protects a due nextRunAt', async () => {
      const due = ago(minute);
      const first = await repo.saveJob(job('single', { type: 'single', nextRunAt: due, data: { run: 1 } }), undefined);
      const second = await repo.saveJob(job('single', { type: 'single', nextRunAt: ago(1000), priority: 10, data: { run: 2 } }), undefined);
      expect(second._id).to.equal(first._id);
      expect(second.priority).to.equal(10);
      expect(second.data).to.deep.equal({ run: 2 });
      expect(second.nextRunAt?.getTime()).to.equal(due.getTime());
      const future = later(minute);
      const third = await repo.saveJob(job('single', { type: 'single', nextRunAt: future }), undefined);
      expect(third.nextRunAt?.getTime()).to.equal(future.getTime());
      expect((await repo.queryJobs({ name: 'single' })).total).to.equal(1);
    });

    it('upserts on a unique data key', async () => {
      const a = await repo.saveJob(job('uniq', { data: { patientId: 'p1', v: 1 }, unique: { 'data.patientId': 'p1' } }), undefined);
      const b = await repo.saveJob(job('uniq', { data: { patientId: 'p1', v: 2 }, unique: { 'data.patientId': 'p1' } }), undefined);
      const c = await repo.saveJob(job('uniq', { data: { patientId: 'p2', v: 1 }, unique: { 'data.patientId': 'p2' } }), undefined);
      expect(b._id).to.equal(a._id);
      expect(b.data).to.deep.equal({ patientId: 'p1', v: 2 });
      expect(c._id).to.not.equal(a._id);
      expect((await repo.queryJobs({ name: 'uniq' })).total).to.equal(2);
    });

    it('leaves an existing unique job untouched with insertOnly', async () => {
      const opts = { unique: { 'data.patientId': 'p1' }, uniqueOpts: { insertOnly: true } };
      const a = await repo.saveJob(job('once', { data: { patientId: 'p1', v: 1 }, ...opts }), undefined);
      const b = await repo.saveJob(job('once', { data: { patientId: 'p1', v: 2 }, priority: 9, ...opts }), undefined);
      expect(b._id).to.equal(a._id);
      expect(b.data).to.deep.equal({ patientId: 'p1', v: 1 });
      expect(b.priority).to.equal(0);
    });

    it('pushes nextRunAt forward for a trailing debounce', async () => {
      const opts = { unique: { 'data.key': 'k' }, uniqueOpts: { debounce: { delay: 10_000 } } };
      const before = Date.now();
      const a = await repo.saveJob(job('debounced', { data: { key: 'k' }, ...opts }), undefined);
      expect(a.nextRunAt!.getTime()).to.be.at.least(before + 10_000);
      const b = await repo.saveJob(job('debounced', { data: { key: 'k' }, ...opts }), undefined);
      expect(b._id).to.equal(a._id);
      expect(b.nextRunAt!.getTime()).to.be.at.least(a.nextRunAt!.getTime());
      expect(b.debounceStartedAt?.getTime()).to.equal(a.debounceStartedAt?.getTime());
    });

    it('rejects query operators in unique()', async () => {
      const err = await repo.saveJob(job('inj', { unique: { 'data.x': { $where: '1' } } }), undefined).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(Error);
    });
  });

  describe('queries', () => {
    beforeEach(async () => {
      await repo.saveJob(job('job-a', { priority: 10, nextRunAt: later(minute), data: { kind: 'alpha', count: 1 } }), undefined);
      await repo.saveJob(job('job-b', { priority: 5, nextRunAt: later(2 * minute), data: { kind: 'beta', count: 2 } }), undefined);
      await repo.saveJob(job('job-a', { priority: 15, nextRunAt: ago(minute), data: { kind: 'alpha', count: 3 } }), undefined);
      await repo.saveJob(job('job-c', { nextRunAt: ago(2 * minute), disabled: true }), undefined);
    });

    it('queries by name, names, search, id and data', async () => {
      expect((await repo.queryJobs()).total).to.equal(4);
      expect((await repo.queryJobs({ name: 'job-a' })).total).to.equal(2);
      expect((await repo.queryJobs({ names: ['job-a', 'job-b'] })).total).to.equal(3);
      expect((await repo.queryJobs({ search: 'JOB-' })).total).to.equal(4);
      expect((await repo.queryJobs({ search: '%' })).total).to.equal(0);
      expect((await repo.queryJobs({ data: { kind: 'alpha' } })).total).to.equal(2);
      expect((await repo.queryJobs({ data: { kind: 'alpha', count: 3 } })).total).to.equal(1);
      const one = (await repo.queryJobs({ name: 'job-b' })).jobs[0];
      expect((await repo.queryJobs({ id: String(one?._id) })).jobs.map((j) => j.name)).to.deep.equal(['job-b']);
    });

    it('paginates and sorts, counting the total before pagination', async () => {
      const page = await repo.queryJobs({ sort: { priority: 'desc' }, skip: 1, limit: 2 });
      expect(page.total).to.equal(4);
      expect(page.jobs.map((j) => j.priority)).to.deep.equal([10, 5]);
      const byDefault = await repo.queryJobs();
      expect(byDefault.jobs[0]?.name).to.equal('job-b'); // nextRunAt descending
    });

    it('filters by computed state and by disabled', async () => {
      expect((await repo.queryJobs({ state: 'scheduled' })).total).to.equal(2);
      expect((await repo.queryJobs({ state: 'queued' })).jobs.map((j) => j.name)).to.have.members(['job-a', 'job-c']);
      expect((await repo.queryJobs({ state: 'paused' })).jobs.map((j) => j.name)).to.deep.equal(['job-c']);
      expect((await repo.queryJobs({ includeDisabled: false })).total).to.equal(3);
      expect((await repo.queryJobs({ state: 'queued', limit: 1, skip: 1 })).jobs).to.have.length(1);
    });

    it('gives an overview per name, distinct names and the queue size', async () => {
      const overview = await repo.getJobsOverview();
      const a = overview.find((o) => o.name === 'job-a');
      expect(a).to.include({ total: 2, scheduled: 1, queued: 1, paused: 0 });
      expect(overview.find((o) => o.name === 'job-c')).to.include({ total: 1, paused: 1 });
      expect(await repo.getDistinctJobNames()).to.deep.equal(['job-a', 'job-b', 'job-c']);
      expect(await repo.getQueueSize()).to.equal(2);
    });
  });

  describe('removeJobs, disable, enable, purge', () => {
    it('removes by name, id, ids, notNames and data; nothing without criteria', async () => {
      const a = await repo.saveJob(job('r-a', { data: { k: 1 } }), undefined);
      const b = await repo.saveJob(job('r-b', { data: { k: 2 } }), undefined);
      await repo.saveJob(job('r-c', { data: { k: 3 } }), undefined);
      await repo.saveJob(job('r-d', { data: { k: 4 } }), undefined);
      expect(await repo.removeJobs({})).to.equal(0);
      expect(await repo.removeJobs({ names: [] })).to.equal(0);
      expect(await repo.removeJobs({ name: 'nobody' })).to.equal(0);
      expect(await repo.removeJobs({ ids: [a._id!, b._id!] })).to.equal(2);
      expect(await repo.removeJobs({ data: { k: 3 } })).to.equal(1);
      expect(await repo.removeJobs({ notNames: ['r-x'] })).to.equal(1);
      expect((await repo.queryJobs()).total).to.equal(0);
    });

    it('disables and enables, counting only changed jobs', async () => {
      await repo.saveJob(job('d'), undefined);
      await repo.saveJob(job('d'), undefined);
      expect(await repo.disableJobs({ name: 'd' })).to.equal(2);
      expect(await repo.disableJobs({ name: 'd' })).to.equal(0);
      expect(await nextOf(repo, 'd')).to.equal(undefined);
      expect(await repo.enableJobs({ name: 'd' })).to.equal(2);
      expect((await repo.queryJobs({ name: 'd' })).jobs.every((j) => j.disabled === false)).to.equal(true);
      expect(await nextOf(repo, 'd')).to.not.equal(undefined);
      expect(await repo.disableJobs({})).to.equal(0);
    });

    it('purges every job', async () => {
      await repo.saveJob(job('p1'), undefined);
      await repo.saveJob(job('p2'), undefined);
      expect(await repo.purgeAllJobs()).to.equal(2);
      expect(await repo.getDistinctJobNames()).to.deep.equal([]);
    });
  });

  describe('locking', () => {
    it('locks a job once and only while it is where the caller saw it', async () => {
      const saved = await repo.saveJob(job('lock'), undefined);
      const locked = await repo.lockJob(saved, { lastModifiedBy: 'node-a' });
      expect(locked?.lockedAt).to.be.instanceOf(Date);
      expect(locked?.lastModifiedBy).to.equal('node-a');
      expect(await repo.lockJob(saved, undefined)).to.equal(undefined);
      await repo.unlockJob(locked!);
      expect(await repo.lockJob({ ...saved, nextRunAt: later(minute) }, undefined)).to.equal(undefined);
      await repo.disableJobs({ id: saved._id });
      expect(await repo.lockJob(saved, undefined)).to.equal(undefined);
    });

    it('unlockJob leaves a job with no nextRunAt locked; unlockJobs unlocks it', async () => {
      const saved = await repo.saveJob(job('running-once'), undefined);
      const locked = (await repo.lockJob(saved, undefined))!;
      await repo.saveJobState({ ...locked, nextRunAt: null }, undefined);
      await repo.unlockJob(locked);
      expect((await repo.getJobById(String(saved._id)))?.lockedAt).to.be.instanceOf(Date);
      await repo.unlockJobs([saved._id!]);
      expect((await repo.getJobById(String(saved._id)))?.lockedAt).to.equal(undefined);
    });

    it('saveJobState writes the run fields and fails for a missing job', async () => {
      const saved = await repo.saveJob(job('state'), undefined);
      const lastRunAt = new Date();
      await repo.saveJobState({ ...saved, lastRunAt, lastFinishedAt: lastRunAt, failCount: 1, failReason: 'boom', progress: 50 }, { lastModifiedBy: 'b' });
      const read = await repo.getJobById(String(saved._id));
      expect(read).to.include({ failCount: 1, failReason: 'boom', progress: 50, lastModifiedBy: 'b' });
      expect(read?.lastFinishedAt?.getTime()).to.equal(lastRunAt.getTime());
      await repo.removeJobs({ id: saved._id });
      const err = await repo.saveJobState(saved, undefined).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(Error);
    });
  });

  describe('getNextJobToRun', () => {
    it('takes the earliest nextRunAt, then the highest priority', async () => {
      const same = ago(minute);
      await repo.saveJob(job('order', { priority: 5, nextRunAt: same, data: { p: 'low' } }), undefined);
      await repo.saveJob(job('order', { priority: 10, nextRunAt: same, data: { p: 'high' } }), undefined);
      await repo.saveJob(job('order', { priority: 20, nextRunAt: ago(10), data: { p: 'later' } }), undefined);
      await repo.saveJob(job('order', { priority: 99, nextRunAt: ago(2 * minute), data: { p: 'earliest' } }), undefined);
      const order = [];
      for (let i = 0; i < 4; i++) order.push(((await nextOf(repo, 'order'))?.data as { p: string }).p);
      expect(order).to.deep.equal(['earliest', 'high', 'low', 'later']);
      expect(await nextOf(repo, 'order')).to.equal(undefined);
    });

    it('takes jobs due before the next scan, not later ones or other names', async () => {
      await repo.saveJob(job('scan', { nextRunAt: later(2000) }), undefined);
      await repo.saveJob(job('scan', { nextRunAt: later(minute) }), undefined);
      await repo.saveJob(job('other'), undefined);
      expect(await nextOf(repo, 'scan')).to.not.equal(undefined);
      expect(await nextOf(repo, 'scan')).to.equal(undefined);
    });

    it('re-locks a job whose lock lifetime expired', async () => {
      await repo.saveJob(job('expiry', { nextRunAt: ago(minute) }), undefined);
      const first = await nextOf(repo, 'expiry');
      expect(first).to.not.equal(undefined);
      expect(await nextOf(repo, 'expiry', minute)).to.equal(undefined);
      // lock lifetime of -1 s: the deadline is in the future, so the lock taken now has expired
      const again = await nextOf(repo, 'expiry', -1000);
      expect(again?._id).to.equal(first?._id);
      expect(again!.lockedAt!.getTime()).to.be.at.least(first!.lockedAt!.getTime());
    });

    it('never returns a disabled job', async () => {
      await repo.saveJob(job('off', { disabled: true }), undefined);
      expect(await nextOf(repo, 'off')).to.equal(undefined);
    });
  });
});

// Child process for the lock race: one connection, one repository; on each `go` it waits until the
// given instant (so both racers fire together), tries to lock the named job and reports the outcome.
import { SqliteJobRepository } from '../../../src/jobs/sqlite-backend/sqlite-job-repository.js';
import { openConnection } from './temp-db.js';

interface Go {
  round: number;
  name: string;
  at: number;
}

const [file] = process.argv.slice(2);
const db = openConnection(file ?? '');
const repository = new SqliteJobRepository({ db });
await repository.ensureSchema();

process.on('message', (message: Go | 'exit') => {
  if (message === 'exit') {
    db.close();
    process.exit(0);
  }
  const { round, name, at } = message;
  while (Date.now() < at) {
    // spin until the start instant: a timer would add milliseconds of jitter between the racers
  }
  const now = new Date();
  void repository
    .getNextJobToRun(name, new Date(now.getTime() + 1000), new Date(now.getTime() - 600_000), now, { lastModifiedBy: `pid-${process.pid}` })
    .then(
      (job) => process.send?.({ round, locked: job !== undefined, id: job?._id ?? null }),
      (err: unknown) => process.send?.({ round, error: String(err) }),
    );
});
process.send?.('ready');

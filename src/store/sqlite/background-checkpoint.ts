import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * The worker's code (CommonJS, evaluated): its own connection to the file, a PASSIVE checkpoint
 * every `intervalMs`. A PASSIVE checkpoint never blocks writers or readers.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 1000');
const timer = setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch { /* busy: the next round catches up */ }
}, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  try { db.close(); } catch {}
  parentPort.postMessage('closed');
});
`;

/**
 * Checkpoints the WAL from a worker thread. better-sqlite3 is synchronous: an automatic checkpoint
 * runs inside whichever commit crosses the threshold and stalls the event loop while it copies and
 * fsyncs tens of megabytes (the long tails of write latency). Checkpointing from another thread
 * keeps that work off the request path; the main connection's `wal_autocheckpoint` stays as a
 * high safety net should the worker fall behind.
 */
export class BackgroundCheckpoint {
  private readonly worker: Worker;

  constructor(file: string, intervalMs = 1000) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, driver, intervalMs } });
    this.worker.unref();
    // a failing checkpointer must never take the server down: the safety net still checkpoints
    this.worker.on('error', () => undefined);
  }

  /** Stops the worker after its current checkpoint and closes its connection. */
  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => {
      this.worker.once('message', () => resolve());
      this.worker.once('exit', () => resolve());
    });
    this.worker.postMessage('close');
    await Promise.race([closed, new Promise<void>((resolve) => setTimeout(resolve, 2000).unref())]);
    await this.worker.terminate();
  }
}

import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { eventually } from '../../support/eventually.js';

/** A fresh directory for SQLite files, and a function that removes it. */
export function tempDir(): { file: (name: string) => string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'agenda-sqlite-'));
  return { file: (name) => join(dir, name), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A connection with the server's pragmas (WAL, busy_timeout), as `openDatabase` sets them. */
export function openConnection(file: string): Database.Database {
  const db = new Database(file);
  db.pragma('busy_timeout = 5000');
  if (file !== ':memory:') db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  return db;
}

/** Polls `check` until it returns true or `timeoutMs` passes (then throws `what`). */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  if (!(await eventually(check, timeoutMs, 20))) throw new Error(`timed out waiting for ${what}`);
}

/** A child process running one of this folder's scripts through tsx, with an IPC channel. */
export function forkScript(script: string, args: string[]): ChildProcess {
  const path = fileURLToPath(new URL(script, import.meta.url));
  return fork(path, args, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

/** The next IPC message of `child` that satisfies `accept`. */
export function nextMessage<M>(child: ChildProcess, accept: (m: M) => boolean = () => true, timeoutMs = 20_000): Promise<M> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('message', onMessage);
      reject(new Error('timed out waiting for a child message'));
    }, timeoutMs);
    const onMessage = (m: unknown) => {
      if (!accept(m as M)) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(m as M);
    };
    child.on('message', onMessage);
  });
}

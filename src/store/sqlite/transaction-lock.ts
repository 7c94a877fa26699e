/**
 * A first-come, first-served async mutex. better-sqlite3 runs one statement at a time on one
 * connection, but a `PatientStore.transaction` spans `await`s: while one holds this lock, every other
 * call on the store queues behind it instead of reading or writing into its uncommitted state.
 */
export class TransactionLock {
  private held = false;
  private readonly waiting: (() => void)[] = [];

  /** Nobody holds the lock and nobody waits for it: a synchronous call may run right now. */
  get idle(): boolean {
    return !this.held && this.waiting.length === 0;
  }

  /** Resolves with a release function once the lock is ours. Call it exactly once. */
  async acquire(): Promise<() => void> {
    if (this.held || this.waiting.length > 0) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    this.held = true;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.handOver();
    };
  }

  /** Runs `work` while holding the lock. */
  async hold<T>(work: () => T | Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await work();
    } finally {
      release();
    }
  }

  private handOver(): void {
    const next = this.waiting.shift();
    if (next) {
      // the lock passes straight to the next waiter, so no newcomer can slip in between
      next();
    } else {
      this.held = false;
    }
  }
}

/**
 * Polls `check` every `intervalMs` until it holds or `deadlineMs` passes; answers whether it held.
 * Tests wait with this (a deadline), never with a fixed sleep.
 */
export async function eventually(check: () => boolean | Promise<boolean>, deadlineMs: number, intervalMs = 100): Promise<boolean> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= end) return false;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

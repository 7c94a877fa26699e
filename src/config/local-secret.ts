import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

/**
 * Reads a secret kept under the data folder, creating a random one (file mode 600) on first use.
 * This is how `npm start` runs with zero setup while never running with a guessable key.
 * Several processes starting at once on one data folder agree on one secret: the file is created
 * exclusively, and whoever loses the race reads the winner's.
 * Returns the secret and whether this call created it.
 */
export function localSecret(dataDir: string, name: string): { value: string; created: boolean; path: string } {
  const path = join(dataDir, `${name}.secret`);
  const existing = readSecret(path);
  if (existing) return { value: existing, created: false, path };
  mkdirSync(dataDir, { recursive: true });
  const value = randomBytes(32).toString('base64url');
  try {
    writeFileSync(path, `${value}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const winner = readSecret(path);
    if (winner) return { value: winner, created: false, path };
    // an empty or truncated file left behind: replace it
    writeFileSync(path, `${value}\n`, { mode: 0o600 });
  }
  chmodSync(path, 0o600);
  return { value, created: true, path };
}

function readSecret(path: string): string | undefined {
  try {
    const value = readFileSync(path, 'utf8').trim();
    return value.length >= 32 ? value : undefined;
  } catch {
    return undefined;
  }
}

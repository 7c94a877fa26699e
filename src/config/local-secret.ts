import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

/**
 * Reads a secret kept under the data folder, creating a random one (file mode 600) on first use.
 * This is how `npm start` runs with zero setup while never running with a guessable key.
 * Returns the secret and whether it was just created.
 */
export function localSecret(dataDir: string, name: string): { value: string; created: boolean; path: string } {
  const path = join(dataDir, `${name}.secret`);
  if (existsSync(path)) {
    const value = readFileSync(path, 'utf8').trim();
    if (value.length >= 32) return { value, created: false, path };
  }
  mkdirSync(dataDir, { recursive: true });
  const value = randomBytes(32).toString('base64url');
  writeFileSync(path, `${value}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return { value, created: true, path };
}

import { expect } from 'chai';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localSecret } from '../../src/config/local-secret.js';

describe('local secrets under DATA_DIR', () => {
  it('creates a random secret once, mode 600, and reads the same one afterwards', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'secret-')), 'nested');
    const first = localSecret(dir, 'jwt');
    expect(first.created).to.equal(true);
    expect(first.value).to.have.length.greaterThan(32);
    expect(statSync(first.path).mode & 0o777).to.equal(0o600);
    const again = localSecret(dir, 'jwt');
    expect(again).to.deep.equal({ ...first, created: false });
    expect(localSecret(dir, 'server').value).to.not.equal(first.value);
  });

  it('keeps the secret another process created first (exclusive create)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'secret-'));
    const winner = 'w'.repeat(43);
    writeFileSync(join(dir, 'jwt.secret'), `${winner}\n`, { mode: 0o600 });
    expect(localSecret(dir, 'jwt')).to.include({ value: winner, created: false });
  });

  it('replaces an empty or truncated secret file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'secret-'));
    writeFileSync(join(dir, 'jwt.secret'), 'short\n');
    const replaced = localSecret(dir, 'jwt');
    expect(replaced.created).to.equal(true);
    expect(replaced.value).to.not.equal('short');
  });
});

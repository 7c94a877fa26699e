import { expect } from 'chai';
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { createLogger } from '../../src/observability/logger.js';
import { TEST_JWT_SECRET } from '../support/tokens.js';

/** Sends raw bytes and collects everything the server answers until it closes the socket. */
function raw(url: string, bytes: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.end(bytes));
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString('utf8')));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

describe('requests the HTTP parser rejects', function () {
  this.timeout(30_000);
  let running: RunningServer;
  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'client-error-'));
    const config = loadConfig({ PORT: '0', DATA_DIR: dir, DATABASE_URL: `sqlite:${join(dir, 'x.sqlite')}`, JWT_SECRET: TEST_JWT_SECRET });
    running = await startServer(config, { logger: createLogger({ level: 'error', silent: true }) });
  });
  after(async () => {
    await running.stop();
  });

  for (const [name, bytes, status] of [
    ['a malformed header line', 'GET /fhir/metadata HTTP/1.1\r\nHost: x\r\nthis is not a header\r\n\r\n', '400'],
    ['a garbage request line', 'HELLO THERE\r\n\r\n', '400'],
    ['headers over the size limit', `GET /fhir/metadata HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, '431'],
  ] as const) {
    it(`answers ${name} with ${status} and an OperationOutcome`, async () => {
      const answer = await raw(running.url, bytes);
      expect(answer).to.match(new RegExp(`^HTTP/1\\.1 ${status} `));
      expect(answer).to.match(/content-type: application\/fhir\+json/i);
      const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { resourceType: string };
      expect(body.resourceType).to.equal('OperationOutcome');
    });
  }
});

import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

/** The README's "First requests" block, as a newcomer would paste it. */
function firstRequestsBlock(): string {
  const readme = readFileSync(`${root}/README.md`, 'utf8');
  const start = readme.indexOf('```sh\nBASE=http://127.0.0.1:8080/fhir');
  expect(start, 'README has the First requests block').to.be.greaterThan(0);
  return readme.slice(start + 6, readme.indexOf('```\n', start + 6));
}

/** The README's lifecycle block, which continues the first one. */
function lifecycleBlock(): string {
  const readme = readFileSync(`${root}/README.md`, 'utf8');
  const start = readme.indexOf('```sh\n# (continues the First requests above');
  expect(start, 'README has the lifecycle block').to.be.greaterThan(0);
  return readme.slice(start + 6, readme.indexOf('```\n', start + 6));
}

/** The README's audit-trail block, which continues the first one. */
function auditBlock(): string {
  const readme = readFileSync(`${root}/README.md`, 'utf8');
  const start = readme.indexOf('```sh\n# (audit trail; continues the First requests above');
  expect(start, 'README has the audit trail block').to.be.greaterThan(0);
  return readme.slice(start + 6, readme.indexOf('```\n', start + 6));
}

describe('README curl examples', function () {
  this.timeout(90_000);
  let server: ServerProcess;
  const env = { JWT_SECRET: 'readme-secret-0123456789abcdef0123456789abcdef' };

  before(async () => {
    server = await startServerProcess(env);
  });
  after(async () => {
    await server?.stop();
  });

  it('create, read, vread, update, history and search work as written', async () => {
    const port = new URL(server.url).port;
    const script = `set -euo pipefail\n${firstRequestsBlock().replaceAll('127.0.0.1:8080', `127.0.0.1:${port}`)}`;
    const { stdout } = await run('bash', ['-c', script], { cwd: root, env: { ...process.env, ...env, DATA_DIR: server.dataDir } });
    expect(stdout.split('\n')[0]).to.equal('4.0.1'); // the CapabilityStatement's fhirVersion
    const lines = stdout.split('\n').filter((l) => l.startsWith('{'));
    const types = lines.map((l) => (JSON.parse(l) as { resourceType: string }).resourceType);
    expect(types).to.deep.equal(['Patient', 'Patient', 'Patient', 'Bundle', 'Bundle']);
    const [read, vread, updated, history, search] = lines.map((l) => JSON.parse(l));
    expect(read.meta.versionId).to.equal('1');
    expect(vread.meta.versionId).to.equal('1');
    expect(updated.meta.versionId).to.equal('2');
    expect(history.type).to.equal('history');
    expect(history.total).to.equal(2);
    expect(search.type).to.equal('searchset');
    expect(search.entry.map((e: { resource: { id: string } }) => e.resource.id)).to.include(read.id);
  });

  it('the custom operations work as written, in order', async () => {
    const port = new URL(server.url).port;
    const script = `set -euo pipefail\n${firstRequestsBlock()}\n${lifecycleBlock()}`.replaceAll('127.0.0.1:8080', `127.0.0.1:${port}`);
    const { stdout } = await run('bash', ['-c', script], { cwd: root, env: { ...process.env, ...env, DATA_DIR: server.dataDir } });
    const lines = stdout.split('\n').filter(Boolean);
    const tail = lines.slice(-8);
    const parse = (line: string) => JSON.parse(line) as { resourceType: string; issue?: { details?: { coding?: { code?: string }[] } }[]; extension?: unknown[]; name?: unknown; meta?: { versionId?: string }; type?: string };
    const [held, refused, released, deleted, list, restored, deletedAgain, job] = [
      parse(tail[0]!), parse(tail[1]!), parse(tail[2]!), tail[3], parse(tail[4]!), parse(tail[5]!), tail[6], parse(tail[7]!),
    ];
    expect(held.resourceType).to.equal('Patient');
    expect(refused.issue?.[0]?.details?.coding?.[0]?.code).to.equal('UNDER_INVESTIGATION');
    expect(released.resourceType).to.equal('Patient');
    expect(deleted).to.equal('204');
    expect(list.type).to.equal('searchset');
    expect(restored.resourceType).to.equal('Patient');
    expect(deletedAgain).to.equal('204');
    expect(job.resourceType).to.equal('Patient');
    expect(job.name).to.equal(undefined);
  });

  it('the audit trail examples work as written: events of the patient, $verify, $verify with an anchor', async () => {
    const port = new URL(server.url).port;
    const script = `set -euo pipefail\n${firstRequestsBlock()}\n${auditBlock()}`.replaceAll('127.0.0.1:8080', `127.0.0.1:${port}`);
    const { stdout } = await run('bash', ['-c', script], { cwd: root, env: { ...process.env, ...env, DATA_DIR: server.dataDir } });
    const [events, verified, anchored] = stdout.split('\n').filter(Boolean).slice(-3).map((l) => JSON.parse(l) as { resourceType: string; type?: string; entry?: unknown[]; parameter?: { name: string; valueBoolean?: boolean; part?: { name: string; valueCode?: string }[] }[] });
    expect(events!.type).to.equal('searchset');
    expect(events!.entry?.length).to.be.greaterThan(0);
    expect(verified!.parameter?.find((p) => p.name === 'result')?.valueBoolean).to.equal(true);
    expect(anchored!.parameter?.find((p) => p.name === 'result')?.valueBoolean).to.equal(true);
    expect(anchored!.parameter?.find((p) => p.name === 'anchor')?.part?.find((p) => p.name === 'status')?.valueCode).to.equal('matched');
  });
});

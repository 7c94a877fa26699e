/**
 * `npm run bench [scenario…] [-- --patients N --duration S --connections C --log-level L --out FILE]`
 *
 * Measures the server as SPEC §11 asks: the server (child process, fresh temporary SQLite file, auth
 * on) is loaded with N patients, driven over 127.0.0.1 with autocannon, and compared in the same run
 * with a bare Express 5 route and a bare `node:http` server answering the same bytes. Prints req/s and
 * p50/p95/p99 per scenario, ratios to both ceilings and a PASS/FAIL per budget (a report, not a test),
 * and writes docs/benchmarks.md after a full run (or to `--out`). A scenario that fails is reported
 * and the bench carries on.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import jwt from 'jsonwebtoken';
import { openStore } from '../store/open-store.js';
import { warmUpSchema } from '../patient/validation/schema-validator.js';
import { loadPatients } from './seed/load-patients.js';
import { loadSamplePatients, SyntheticPatients } from './seed/synthetic-patients.js';
import { runLoad, type LoadOptions } from './bench/load.js';
import { scenarios, type BenchContext, type Run } from './bench/scenarios.js';
import { BARE_EXPRESS, BARE_HTTP, READ_AUDIT_OFF, checkBudgets, formatConsole, formatMarkdown, problemOf, withKeptSections, type BenchReport, type RunOutcome } from './bench/report.js';
import { freePort, PROJECT_ROOT, startChild, waitUntilReady, type Target } from './bench/targets.js';

const USAGE = `usage: npm run bench [${scenarios.map((s) => s.name).join('|')} …] [-- --patients 10000 --duration 8 --connections 50 --out docs/benchmarks.md]`;

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      patients: { type: 'string', default: '10000' },
      duration: { type: 'string', default: '8' },
      connections: { type: 'string', default: '50' },
      'log-level': { type: 'string', default: 'info' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void console.log(USAGE);
  const unknown = positionals.filter((p) => !scenarios.some((s) => s.name === p));
  const patients = Number(values.patients);
  const durationSec = Number(values.duration);
  const connections = Number(values.connections);
  if (unknown.length || !(patients >= 1) || !(durationSec >= 1) || !(connections >= 1)) {
    console.error(`${unknown.length ? `unknown scenario: ${unknown.join(', ')}\n` : ''}${USAGE}`);
    process.exit(2);
  }
  const selected = positionals.length ? scenarios.filter((s) => positionals.includes(s.name)) : scenarios;
  const out = values.out ?? (positionals.length ? undefined : join(PROJECT_ROOT, 'docs/benchmarks.md'));

  const started = Date.now();
  const startMachine = machine();
  const dir = mkdtempSync(join(tmpdir(), 'fhir-bench-'));
  const targets: Target[] = [];
  try {
    // 1. Data: validated copies of the sample, loaded through the store's bulk path.
    console.log(`seeding ${patients} patients into ${dir}/bench.sqlite …`);
    const samples = loadSamplePatients();
    const synthetic = new SyntheticPatients(samples);
    warmUpSchema();
    const store = await openStore(`sqlite:${join(dir, 'bench.sqlite')}`);
    const seeded = await loadPatients(store, { count: patients, patient: (k) => synthetic.copy(k), uniqueContacts: true });
    await store.close();
    const seed = { patients: seeded.loaded, seconds: seeded.ms / 1000, perSecond: (seeded.loaded / seeded.ms) * 1000 };
    console.log(`seeded ${seed.patients} in ${seed.seconds.toFixed(1)} s (${Math.round(seed.perSecond)} patients/s)`);

    // 2. The server under test, auth on.
    const secret = randomBytes(32).toString('base64url');
    const port = await freePort();
    const server = startChild('src/main.ts', {
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: `sqlite:${join(dir, 'bench.sqlite')}`,
      DATA_DIR: dir,
      JWT_SECRET: secret,
      SERVER_SECRET: randomBytes(32).toString('base64url'),
      CORRELATION_SECRET: randomBytes(32).toString('base64url'),
      // The bench is one client: without this the per-token limit would measure the limiter.
      RATE_LIMIT_PER_MINUTE: '10000000',
      LOG_LEVEL: values['log-level'],
    });
    targets.push(server);
    const url = `http://127.0.0.1:${port}`;
    await waitUntilReady(server, `${url}/healthz`);
    const token = jwt.sign({ sub: 'bench', scope: 'system/*.cruds user/*.cruds', roles: ['admin'] }, secret, {
      algorithm: 'HS256',
      expiresIn: '2h',
    });
    const headers = { authorization: `Bearer ${token}`, accept: 'application/fhir+json' };
    const [auth, audit] = await Promise.all([
      fetch(`${url}/fhir/Patient/${seeded.ids[0]}`).then((r) => (r.status === 401 ? 'on (HS256 bearer tokens)' : `NOT enforced by this build (${r.status} without a token)`)),
      fetch(`${url}/fhir/AuditEvent?_count=1`, { headers }).then((r) => (r.status === 200 ? 'on' : `not available in this build (GET /fhir/AuditEvent answered ${r.status})`)),
    ]);
    console.log(`server ready at ${url}; auth ${auth}; audit ${audit}`);

    // 3. The ceilings, serving the bytes of a real read response.
    const read = await fetch(`${url}/fhir/Patient/${seeded.ids[0]}`, { headers });
    if (read.status !== 200) throw new Error(`GET /fhir/Patient/{id} answered ${read.status}: ${(await read.text()).slice(0, 300)}`);
    writeFileSync(join(dir, 'body.json'), Buffer.from(await read.arrayBuffer()));
    const [expressPort, httpPort] = [await freePort(), await freePort()];
    const baselines = startChild('src/cli/bench/baseline-server.ts', {
      BENCH_BODY_FILE: join(dir, 'body.json'),
      BENCH_EXPRESS_PORT: String(expressPort),
      BENCH_HTTP_PORT: String(httpPort),
    });
    targets.push(baselines);
    await waitUntilReady(baselines, `http://127.0.0.1:${expressPort}/fhir/Patient/x`);
    await waitUntilReady(baselines, `http://127.0.0.1:${httpPort}/fhir/Patient/x`);

    // 4. Load runs: ceilings first, then the scenarios.
    let copy = patients;
    const families = [...new Set(samples.map((p) => p.name?.[0]?.family?.slice(0, 3)).filter((f): f is string => !!f && f.length === 3))];
    const ctx: BenchContext = { url, databaseUrl: `sqlite:${join(dir, 'bench.sqlite')}`, headers, ids: seeded.ids, synthetic, nextCopy: () => copy++, familyPrefixes: families };
    const load: Omit<LoadOptions, 'url'> = { connections, durationSec, headers };
    const runs: RunOutcome[] = [];
    const time = async (scenario: string, run: Run, target: string) => {
      const options = { ...load, url: target, ...pickDefined(run) };
      let outcome: RunOutcome;
      try {
        if (server.child.exitCode !== null) throw new Error(`the server exited (code ${server.child.exitCode})`);
        if (run.measure) {
          outcome = { scenario, label: run.label, result: await run.measure() };
        } else if (run.workload) {
          await runLoad(run.workload, { ...options, durationSec: 1 });
          outcome = { scenario, label: run.label, result: await runLoad(run.workload, options) };
        } else {
          throw new Error('the run has neither a workload nor a measurement');
        }
      } catch (err) {
        outcome = { scenario, label: run.label, error: err instanceof Error ? err.message : String(err) };
      }
      runs.push(outcome);
      console.log(progressLine(outcome));
    };
    const same = { next: () => ({ method: 'GET' as const, path: `/fhir/Patient/${seeded.ids[0]}` }) };
    await time('ceiling', { label: BARE_HTTP, workload: same }, `http://127.0.0.1:${httpPort}`);
    await time('ceiling', { label: BARE_EXPRESS, workload: same }, `http://127.0.0.1:${expressPort}`);
    for (const scenario of selected) {
      let prepared: Run[];
      try {
        prepared = await scenario.prepare(ctx);
      } catch (err) {
        const outcome = { scenario: scenario.name, label: scenario.name, error: `preparation failed: ${err instanceof Error ? err.message : String(err)}` };
        runs.push(outcome);
        console.log(progressLine(outcome));
        continue;
      }
      for (const run of prepared) await time(scenario.name, run, url);
      if (scenario.name === 'read') {
        // What the audit trail costs: the same reads against a second server that writes no AuditEvents
        // (right after the audited run, before any scenario changes the data).
        const offPort = await freePort();
        const withoutAudit = startChild('src/main.ts', {
          PORT: String(offPort),
          HOST: '127.0.0.1',
          DATABASE_URL: `sqlite:${join(dir, 'bench.sqlite')}`,
          DATA_DIR: dir,
          JWT_SECRET: secret,
          RATE_LIMIT_PER_MINUTE: '10000000',
          LOG_LEVEL: values['log-level'],
          AUDIT_DISABLED_FOR_BENCHMARK: 'true',
        });
        targets.push(withoutAudit);
        await waitUntilReady(withoutAudit, `http://127.0.0.1:${offPort}/healthz`);
        for (const run of prepared) {
          await time('read', { ...run, label: READ_AUDIT_OFF }, `http://127.0.0.1:${offPort}`);
        }
        await withoutAudit.stop();
        targets.pop();
      }
    }

    // 5. Report.
    const report: BenchReport = {
      command: `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`,
      startedAt: new Date(started),
      totalSec: (Date.now() - started) / 1000,
      machine: startMachine,
      settings: { connections, durationSec, logLevel: values['log-level'], auth, audit },
      seed,
      scenarios: selected.map(({ name, description }) => ({ name, description })),
      runs,
    };
    const checks = checkBudgets(report);
    console.log(`\n${formatConsole(report, checks)}\n\nwhole run: ${Math.round(report.totalSec)} s`);
    if (out) {
      const previous = existsSync(out) ? readFileSync(out, 'utf8') : undefined;
      writeFileSync(out, withKeptSections(formatMarkdown(report, checks), previous));
      console.log(`wrote ${out}`);
    }
  } finally {
    for (const target of targets.reverse()) await target.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function pickDefined(run: Run): Partial<LoadOptions> {
  return {
    ...(run.connections ? { connections: run.connections } : {}),
    ...(run.durationSec ? { durationSec: run.durationSec } : {}),
    ...(run.overallRate ? { overallRate: run.overallRate } : {}),
  };
}

function progressLine(outcome: RunOutcome): string {
  const problem = problemOf(outcome);
  const r = outcome.result;
  const numbers = !r
    ? ''
    : Number.isNaN(r.p50)
      ? `${r.responses} in ${r.durationSec.toFixed(1)} s (${Math.round(r.rps)}/s)`
      : `${Math.round(r.rps)} req/s, p50 ${r.p50.toFixed(2)} / p95 ${r.p95.toFixed(2)} / p99 ${r.p99.toFixed(2)} ms`;
  return `  ${outcome.label.padEnd(22)} ${numbers}${problem ? `${numbers ? '  ' : ''}[${problem}]` : ''}`;
}

function machine(): BenchReport['machine'] {
  const list = cpus();
  const db = new Database(':memory:');
  const sqlite = (db.prepare('select sqlite_version() as v').get() as { v: string }).v;
  db.close();
  return {
    cpus: `${list.length} × ${list[0]?.model.trim() ?? 'unknown'}`,
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    sqlite,
    loadAverage: loadavg().map((n) => n.toFixed(2)).join(' / '),
  };
}

main().catch((err: unknown) => {
  console.error(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});

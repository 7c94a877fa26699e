import type { LoadResult } from './load.js';

/** Labels of the two ceilings measured in every run. */
export const BARE_HTTP = 'bare node:http';
export const BARE_EXPRESS = 'bare Express 5';

/** One timed run, or why it could not be timed. */
export interface RunOutcome {
  scenario: string;
  label: string;
  result?: LoadResult;
  error?: string;
}

export interface BenchReport {
  command: string;
  startedAt: Date;
  totalSec: number;
  machine: { cpus: string; memory: string; node: string; platform: string; sqlite: string; loadAverage: string };
  settings: { connections: number; durationSec: number; logLevel: string; auth: string; audit: string };
  seed: { patients: number; seconds: number; perSecond: number };
  /** The scenarios run, with what each sends. */
  scenarios: { name: string; description: string }[];
  runs: RunOutcome[];
}

export type Verdict = 'PASS' | 'FAIL' | 'NOT MEASURED' | 'REPORTED';

export interface BudgetCheck {
  budget: string;
  measured: string;
  verdict: Verdict;
}

/** Share of non-2xx answers above which a run does not count as a measurement of the scenario. */
const MAX_FAILURE_SHARE = 0.01;
const SEARCH_BUDGET_PATIENTS = 100_000;

const ms = (n: number) => (Number.isFinite(n) ? n.toFixed(n < 10 ? 2 : 1) : '–');
const perSecond = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');

/** Why a run's numbers cannot be trusted, or undefined when they can. */
export function problemOf(run: RunOutcome | undefined): string | undefined {
  if (!run) return 'not run';
  if (run.error) return run.error.split('\n')[0];
  const r = run.result!;
  const failed = Object.values(r.failures).reduce((sum, n) => sum + n, 0) + r.errors;
  if (r.responses === 0) return 'no answers';
  if (failed / Math.max(1, r.responses) > MAX_FAILURE_SHARE) {
    return `${failed} of ${r.responses} requests failed (${Object.entries(r.failures).map(([s, n]) => `${s}×${n}`).join(', ') || `${r.errors} connection errors`})`;
  }
  return undefined;
}

/** The SPEC §11 budgets, each checked against this run's numbers. */
/** The read scenario run again against a server started with AUDIT_DISABLED_FOR_BENCHMARK. */
export const READ_AUDIT_OFF = 'read (audit off)';

export function checkBudgets(report: BenchReport): BudgetCheck[] {
  const run = (label: string) => report.runs.find((r) => r.label === label);
  const checks: BudgetCheck[] = [];
  const check = (budget: string, runs: (RunOutcome | undefined)[], measure: () => [string, boolean]) => {
    const problem = runs.map(problemOf).find((p) => p !== undefined);
    if (problem) {
      checks.push({ budget, measured: problem, verdict: problem === 'not run' ? 'NOT MEASURED' : 'FAIL' });
      return;
    }
    const [measured, ok] = measure();
    checks.push({ budget, measured, verdict: ok ? 'PASS' : 'FAIL' });
  };

  const read = run('read');
  const express = run(BARE_EXPRESS);
  check('read by id >= 50% of a bare Express 5 route', [read, express], () => {
    const ratio = read!.result!.rps / express!.result!.rps;
    return [`${(ratio * 100).toFixed(0)}% (${perSecond(read!.result!.rps)} vs ${perSecond(express!.result!.rps)} req/s)`, ratio >= 0.5];
  });
  const auditOff = run(READ_AUDIT_OFF);
  if (read || auditOff) {
    const problem = [read, auditOff].map(problemOf).find((p) => p !== undefined);
    checks.push(
      problem
        ? { budget: 'read throughput, audit on / audit off', measured: problem, verdict: problem === 'not run' ? 'NOT MEASURED' : 'FAIL' }
        : {
            budget: 'read throughput, audit on / audit off',
            measured: `${(((read!.result!.rps / auditOff!.result!.rps) * 100)).toFixed(0)}% (${perSecond(read!.result!.rps)} vs ${perSecond(auditOff!.result!.rps)} req/s)`,
            verdict: 'REPORTED',
          },
    );
  }
  const create = run('create');
  check('create >= 1,500/s', [create], () => [`${perSecond(create!.result!.rps)}/s`, create!.result!.rps >= 1500]);
  const scale =
    report.seed.patients >= SEARCH_BUDGET_PATIENTS
      ? ''
      : ` — on ${report.seed.patients.toLocaleString('en-US')} patients; the budget is for 100,000 (\`--patients 100000\`)`;
  for (const label of ['search-family', 'search-birthdate']) {
    const search = run(label);
    check(`${label} p95 <= 20 ms`, [search], () => [`p95 ${ms(search!.result!.p95)} ms${scale}`, search!.result!.p95 <= 20]);
  }
  const deepRuns = report.runs.filter((r) => r.scenario === 'deep-page');
  const first = deepRuns.find((r) => r.label === 'deep-page p1');
  const deep = deepRuns.find((r) => r !== first);
  check('page 1,000 as fast as page 1 (>= 80% of its req/s)', [first, deep], () => {
    const ratio = deep!.result!.rps / first!.result!.rps;
    return [
      `${deep!.label.replace('deep-page ', '')}: ${perSecond(deep!.result!.rps)} req/s, p95 ${ms(deep!.result!.p95)} ms; p1: ${perSecond(first!.result!.rps)} req/s, p95 ${ms(first!.result!.p95)} ms (${(ratio * 100).toFixed(0)}%)`,
      ratio >= 0.8,
    ];
  });
  const sweep = run('sweep');
  check('anonymization sweep of 10,000 expired patients < 30 s', [sweep], () => {
    const r = sweep!.result!;
    // With fewer patients seeded, the verdict is on the time 10,000 would take at the same rate.
    const seconds = r.responses >= 10_000 ? r.durationSec : 10_000 / r.rps;
    const note = r.responses < 10_000 ? `; only ${r.responses.toLocaleString('en-US')} seeded, 10,000 extrapolated to ${seconds.toFixed(1)} s` : '';
    return [`${r.responses.toLocaleString('en-US')} in ${r.durationSec.toFixed(1)} s (${perSecond(r.rps)}/s)${note}`, seconds < 30];
  });
  for (const [label, limit] of [['floor GET', 50], ['floor POST', 200], ['floor PUT', 200]] as const) {
    const floor = run(label);
    check(`${label.replace('floor ', '')} p95 <= ${limit} ms at 50 req/s (seeds' floor)`, [floor], () => [`p95 ${ms(floor!.result!.p95)} ms`, floor!.result!.p95 <= limit]);
  }
  return checks;
}

/** Table rows: scenario, req/s, latencies, failures and ratios to both ceilings. */
function resultRows(report: BenchReport): string[][] {
  const rpsOf = (label: string) => report.runs.find((r) => r.label === label)?.result?.rps ?? NaN;
  const [express, http] = [rpsOf(BARE_EXPRESS), rpsOf(BARE_HTTP)];
  const ratio = (a: number, b: number) => (Number.isFinite(a / b) ? `${(a / b).toFixed(2)}×` : '–');
  return report.runs.map((run) => {
    if (!run.result) return [run.label, '–', '–', '–', '–', `FAILED: ${(run.error ?? '').split('\n')[0]}`, '–', '–'];
    const r = run.result;
    const failed = Object.entries(r.failures).map(([s, n]) => `${s}×${n}`);
    if (r.errors) failed.push(`${r.errors} conn. errors`);
    // An in-process measurement (the sweep) has a rate but no HTTP latencies and no ceiling to compare with.
    const inProcess = Number.isNaN(r.p50);
    return [
      inProcess ? `${run.label} (patients/s)` : run.label,
      perSecond(r.rps),
      ms(r.p50),
      ms(r.p95),
      ms(r.p99),
      failed.join(', ') || '0',
      inProcess ? '–' : ratio(r.rps, express),
      inProcess ? '–' : ratio(r.rps, http),
    ];
  });
}

const RESULT_HEADER = ['scenario', 'req/s', 'p50 ms', 'p95 ms', 'p99 ms', 'non-2xx', '÷ Express', '÷ node:http'];

/** The plain-text summary printed at the end of a run. */
export function formatConsole(report: BenchReport, checks: BudgetCheck[]): string {
  const rows = [RESULT_HEADER, ...resultRows(report)];
  const widths = RESULT_HEADER.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const lines = rows.map((r) => r.map((cell, i) => (i === 0 || i === 5 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '));
  lines.push('', 'SPEC §11 budgets:');
  for (const c of checks) lines.push(`  ${c.verdict.padEnd(12)} ${c.budget}: ${c.measured}`);
  return lines.join('\n');
}

/** `docs/benchmarks.md`: machine, exact command, results and budget verdicts. */
export function formatMarkdown(report: BenchReport, checks: BudgetCheck[]): string {
  const table = (header: string[], rows: string[][]) =>
    [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`)].join('\n');
  const m = report.machine;
  const s = report.settings;
  return `# Benchmarks

Generated by \`npm run bench\` (src/cli/bench.ts) on ${report.startedAt.toISOString()}; the whole run took ${Math.round(report.totalSec)} s.
These numbers are measurements of one run on one machine, not guarantees; re-run the command to check.

Command:

\`\`\`
${report.command}
\`\`\`

## Machine

- CPU: ${m.cpus}
- Memory: ${m.memory}
- Node ${m.node} on ${m.platform}; SQLite ${m.sqlite} (better-sqlite3)
- Load average when the run started (1/5/15 min): ${m.loadAverage} — anything well above 0 means other work shared the CPUs

## Set-up

- The server runs as a child process (\`node --import tsx src/main.ts\`) on a fresh temporary SQLite file
  (WAL), with \`LOG_LEVEL=${s.logLevel}\` (JSON logs to /dev/null), auth ${s.auth}, audit ${s.audit}.
- ${report.seed.patients.toLocaleString('en-US')} patients made from the Synthea sample (\`shared/data/synthea-r4\`), validated and loaded
  through the store in transactions of 1,000 before the server starts: ${report.seed.seconds.toFixed(1)} s
  (${perSecond(report.seed.perSecond)} patients/s).
- Load: autocannon over 127.0.0.1, ${s.connections} connections, one request in flight each, ${s.durationSec} s per run after a 1 s warm-up.
  The load generator shares the machine with the server.
- Ceilings, same run: a bare Express 5 route and a bare \`node:http\` server (another child process) answering
  every GET with the exact bytes of a real read response.
- Latencies are of 2xx answers. req/s counts 2xx answers only.

## Scenarios

${report.scenarios.map((sc) => `- \`${sc.name}\`: ${sc.description}`).join('\n')}

## Results

${table(RESULT_HEADER, resultRows(report))}

## Budgets (SPEC §11)

${table(['budget', 'measured', 'verdict'], checks.map((c) => [c.budget, c.measured, `**${c.verdict}**`]))}
`;
}

/** Marks where hand-kept sections of docs/benchmarks.md begin (other runs, other commands). */
export const KEPT_MARKER = '<!-- Everything below this line is kept when `npm run bench` rewrites this file. -->';

/**
 * The new report followed by the part of the previous file from {@link KEPT_MARKER} on, so measurements
 * recorded by hand (a 100,000-patient run, the transaction and sweep scripts) survive a rerun.
 */
export function withKeptSections(report: string, previous: string | undefined): string {
  const at = previous?.indexOf(KEPT_MARKER) ?? -1;
  return at < 0 ? report : `${report.trimEnd()}\n\n${previous!.slice(at)}`;
}

import type { Bundle, Patient } from 'fhir/r4.js';
import type { SyntheticPatients } from '../seed/synthetic-patients.js';
import type { LoadResult, RequestSpec, Workload } from './load.js';
import { measureSweep, SWEEP_PATIENTS } from './sweep.js';

const FHIR_JSON = 'application/fhir+json';

/** What scenarios know about the server under test and its data. */
export interface BenchContext {
  /** `http://127.0.0.1:port` */
  url: string;
  /** The server's `DATABASE_URL` (for measurements made in this process). */
  databaseUrl: string;
  /** Headers of every request (the bearer token). */
  headers: Record<string, string>;
  /** Ids of the seeded patients. */
  ids: string[];
  synthetic: SyntheticPatients;
  /** Next unused copy number of `synthetic` (creates continue after the seeded copies). */
  nextCopy(): number;
  /** Family-name prefixes that occur in the data. */
  familyPrefixes: string[];
  /** Pool of patients for updates, fetched once. */
  updatePool?: UpdatePool;
}

/** One timed run of a scenario: a load over HTTP, or (`measure`) something timed in this process. */
export interface Run {
  label: string;
  workload?: Workload;
  measure?: () => Promise<LoadResult>;
  /** Requests per second over all connections (default: as fast as possible). */
  overallRate?: number;
  connections?: number;
  durationSec?: number;
}

export interface Scenario {
  name: string;
  description: string;
  /** Does the untimed preparation (fetch ETags, walk to a deep page) and returns the runs to time. */
  prepare(ctx: BenchContext): Promise<Run[]>;
}

/** Every scenario, in the order a full run takes them (searches before creates grow the data). */
export const scenarios: Scenario[] = [
  { name: 'read', description: 'GET /fhir/Patient/{id}, random seeded ids', prepare: async (ctx) => [{ label: 'read', workload: readWorkload(ctx) }] },
  {
    name: 'search-family',
    description: 'GET /fhir/Patient?family={3-letter prefix}',
    prepare: async (ctx) => [{ label: 'search-family', workload: familyWorkload(ctx) }],
  },
  {
    name: 'search-birthdate',
    description: 'GET /fhir/Patient?birthdate=ge{date}&birthdate=lt{date + 2 months}',
    prepare: async (ctx) => [{ label: 'search-birthdate', workload: birthdateWorkload(ctx) }],
  },
  { name: 'deep-page', description: 'GET /fhir/Patient?_count=10: page 1 vs page 1,000 (next-cursor)', prepare: deepPageRuns },
  {
    name: 'update',
    description: 'PUT /fhir/Patient/{id} with If-Match, a new e-mail each time',
    prepare: async (ctx) => [{ label: 'update', workload: updateWorkload(await updatePool(ctx)) }],
  },
  { name: 'create', description: 'POST /fhir/Patient, unique identifiers/e-mail/phone', prepare: async (ctx) => [{ label: 'create', workload: createWorkload(ctx) }] },
  {
    name: 'mixed',
    description: '70% read, 10% family search, 5% birthdate search, 10% create, 5% update',
    prepare: async (ctx) => [{ label: 'mixed', workload: mixedWorkload(ctx, await updatePool(ctx)) }],
  },
  {
    name: 'floor',
    description: 'the seeds\' floor: GET, POST, PUT each at 50 requests/s',
    prepare: async (ctx) => {
      const pool = await updatePool(ctx);
      const floor = (label: string, workload: Workload): Run => ({ label, workload, overallRate: 50, connections: 10, durationSec: 5 });
      return [floor('floor GET', readWorkload(ctx)), floor('floor POST', createWorkload(ctx)), floor('floor PUT', updateWorkload(pool))];
    },
  },
  {
    name: 'sweep',
    description: `anonymization sweep of ${SWEEP_PATIENTS.toLocaleString('en-US')} expired patients (in-process; anonymizes them, so it runs last)`,
    prepare: async (ctx) => [{ label: 'sweep', measure: () => measureSweep(ctx.databaseUrl, ctx.ids) }],
  },
];

function pick<T>(list: readonly T[]): T {
  return list[Math.floor(Math.random() * list.length)]!;
}

function readWorkload(ctx: BenchContext): Workload {
  return { next: () => ({ method: 'GET', path: `/fhir/Patient/${pick(ctx.ids)}` }) };
}

function familyWorkload(ctx: BenchContext): Workload {
  return { next: () => ({ method: 'GET', path: `/fhir/Patient?family=${encodeURIComponent(pick(ctx.familyPrefixes))}` }) };
}

function birthdateWorkload(_ctx: BenchContext): Workload {
  return {
    next: () => {
      const from = new Date(Date.UTC(1925 + Math.floor(Math.random() * 95), Math.floor(Math.random() * 12), 1));
      const to = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth() + 2, 1));
      const day = (d: Date) => d.toISOString().slice(0, 10);
      return { method: 'GET', path: `/fhir/Patient?birthdate=ge${day(from)}&birthdate=lt${day(to)}` };
    },
  };
}

function createWorkload(ctx: BenchContext): Workload {
  return {
    next: () => ({
      method: 'POST',
      path: '/fhir/Patient',
      headers: { 'content-type': FHIR_JSON },
      body: ctx.synthetic.body(ctx.nextCopy()),
    }),
  };
}

/** Walks next links to page 1,000 of `_count=10` (or the last page there is) and times it against page 1. */
async function deepPageRuns(ctx: BenchContext): Promise<Run[]> {
  const pageSize = 10;
  const targetPage = Math.min(1000, Math.max(1, Math.floor((ctx.ids.length - 1) / pageSize) + 1));
  let skip = (targetPage - 1) * pageSize;
  let cursor: string | undefined;
  // The cursor holds a position, not a page size: walk with big pages, then ask for 10 from there.
  while (skip > 0) {
    const step = Math.min(1000, skip);
    const bundle = await getJson<Bundle>(ctx, `/fhir/Patient?_count=${step}&_total=none${cursor ? `&_cursor=${cursor}` : ''}`);
    const next = bundle.link?.find((l) => l.relation === 'next')?.url;
    if (!next) throw new Error(`the search has no next link after ${targetPage * pageSize - skip} rows`);
    const nextCursor = new URL(next).searchParams.get('_cursor');
    if (!nextCursor) throw new Error('the next link carries no _cursor');
    cursor = nextCursor;
    skip -= step;
  }
  const first = `/fhir/Patient?_count=${pageSize}`;
  const deep = cursor ? `${first}&_cursor=${encodeURIComponent(cursor)}` : first;
  const deepBundle = await getJson<Bundle>(ctx, deep);
  if (!deepBundle.entry?.length) throw new Error(`page ${targetPage} is empty`);
  return [
    { label: 'deep-page p1', workload: { next: () => ({ method: 'GET', path: first }) } },
    { label: `deep-page p${targetPage}`, workload: { next: () => ({ method: 'GET', path: deep }) } },
  ];
}

interface PoolEntry {
  id: string;
  version: string;
  /** The resource as JSON text split around the e-mail value. */
  parts: [string, string];
}

/** Patients that updates take turns on: each is used by one request at a time, with its latest ETag. */
export interface UpdatePool {
  idle: PoolEntry[];
  seq: number;
  refresh(entry: PoolEntry): Promise<void>;
}

async function updatePool(ctx: BenchContext, size = 1000): Promise<UpdatePool> {
  if (ctx.updatePool) return ctx.updatePool;
  const load = async (id: string): Promise<PoolEntry> => {
    const res = await fetch(`${ctx.url}/fhir/Patient/${id}`, { headers: ctx.headers });
    if (res.status !== 200) throw new Error(`GET /fhir/Patient/{id} answered ${res.status}`);
    const patient = (await res.json()) as Patient;
    const { meta: _meta, ...resource } = patient;
    const telecom = (resource.telecom ?? []).filter((t) => t.system !== 'email');
    const text = JSON.stringify({ ...resource, telecom: [...telecom, { system: 'email', value: '@@email@@' }] });
    const [before, after] = text.split('@@email@@') as [string, string];
    return { id, version: versionOf(res.headers.get('etag')) ?? patient.meta?.versionId ?? '1', parts: [before, after] };
  };
  const ids = ctx.ids.slice(-size);
  const idle: PoolEntry[] = [];
  for (let i = 0; i < ids.length; i += 50) idle.push(...(await Promise.all(ids.slice(i, i + 50).map(load))));
  const pool: UpdatePool = {
    idle,
    seq: 0,
    async refresh(entry) {
      try {
        const fresh = await load(entry.id);
        pool.idle.push(fresh);
      } catch {
        // the entry leaves the pool; the failed request is already counted
      }
    },
  };
  ctx.updatePool = pool;
  return pool;
}

function versionOf(etag: string | null | undefined): string | undefined {
  return etag ? /^W\/"([^"]+)"$/.exec(etag)?.[1] : undefined;
}

interface UpdateSpec extends RequestSpec {
  entry?: PoolEntry;
}

function updateWorkload(pool: UpdatePool): Workload {
  const tag = Math.random().toString(36).slice(2, 8);
  return {
    next: (): UpdateSpec => {
      const entry = pool.idle.shift();
      if (!entry) throw new Error('the update pool is empty: every patient failed to update');
      return {
        method: 'PUT',
        path: `/fhir/Patient/${entry.id}`,
        headers: { 'content-type': FHIR_JSON, 'if-match': `W/"${entry.version}"` },
        body: `${entry.parts[0]}update.${tag}.${pool.seq++}@example.org${entry.parts[1]}`,
        entry,
      };
    },
    onResponse: (spec: UpdateSpec, status, headers) => {
      const entry = spec.entry;
      if (!entry) return;
      const version = versionOf(headers.etag);
      if (status === 200 && version) {
        entry.version = version;
        pool.idle.push(entry);
      } else {
        void pool.refresh(entry);
      }
    },
  };
}

interface MixedSpec extends RequestSpec {
  owner?: Workload;
}

function mixedWorkload(ctx: BenchContext, pool: UpdatePool): Workload {
  const weighted: [number, Workload][] = [
    [70, readWorkload(ctx)],
    [10, familyWorkload(ctx)],
    [5, birthdateWorkload(ctx)],
    [10, createWorkload(ctx)],
    [5, updateWorkload(pool)],
  ];
  const total = weighted.reduce((sum, [w]) => sum + w, 0);
  return {
    next: (): MixedSpec => {
      let r = Math.random() * total;
      const owner = weighted.find(([w]) => (r -= w) < 0)?.[1] ?? weighted[0]![1];
      return { ...owner.next(), owner };
    },
    onResponse: (spec: MixedSpec, status, headers) => spec.owner?.onResponse?.(spec, status, headers),
  };
}

async function getJson<T>(ctx: BenchContext, path: string): Promise<T> {
  const res = await fetch(`${ctx.url}${path}`, { headers: ctx.headers });
  const text = await res.text();
  if (!res.ok) throw new Error(`GET ${path.split('?')[0]} answered ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

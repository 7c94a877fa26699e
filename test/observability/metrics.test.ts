import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import express from 'express';
import request from 'supertest';
import { createMetrics, type Metrics } from '../../src/observability/metrics.js';
import { buildPatientRecord } from '../../src/patient/record.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { PatientRecord } from '../../src/store/port.js';
import { samplePatient } from '../support/patients.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: -?\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/gy;

/** A strict reader of the Prometheus text format 0.0.4: throws on any line it does not understand. */
function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || /^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* /.test(line)) continue;
    const match = LINE.exec(line);
    if (!match) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    const body = match[2] ?? '';
    LABEL.lastIndex = 0;
    let consumed = 0;
    for (let m = LABEL.exec(body); m; m = LABEL.exec(body)) {
      labels[m[1]!] = m[2]!;
      consumed = LABEL.lastIndex;
    }
    if (consumed !== body.length) throw new Error(`malformed labels: ${line}`);
    // Prometheus reads values with Go's ParseFloat, which takes NaN in any case (prom-client writes `Nan`).
    const raw = match[3]!;
    const value = /^nan$/i.test(raw) ? NaN : /^[+-]?inf$/i.test(raw) ? (raw.startsWith('-') ? -Infinity : Infinity) : Number(raw);
    if (Number.isNaN(value) && !/^nan$/i.test(raw)) throw new Error(`malformed value: ${line}`);
    samples.push({ name: match[1]!, labels, value });
  }
  return samples;
}

/** A small app shaped like ours: metrics middleware first, routes recording their template. */
function appWith(metrics: Metrics): express.Express {
  const app = express();
  app.use(metrics.middleware());
  app.get('/metrics', metrics.handler());
  app.get('/fhir/Patient/:id', (req, res) => {
    res.locals.route = 'GET /fhir/Patient/:id';
    if (req.params.id === 'missing') res.status(404).json({ resourceType: 'OperationOutcome' });
    else res.json({ resourceType: 'Patient', id: req.params.id });
  });
  app.post('/fhir/Patient', (_req, res) => {
    res.locals.route = 'POST /fhir/Patient';
    res.status(201).json({});
  });
  app.use((_req, res) => {
    res.status(404).json({ resourceType: 'OperationOutcome' });
  });
  return app;
}

async function scrape(app: express.Express, token?: string): Promise<Sample[]> {
  const req = request(app).get('/metrics');
  if (token) req.set('Authorization', `Bearer ${token}`);
  const res = await req;
  expect(res.status, res.text).to.equal(200);
  expect(res.headers['content-type']).to.match(/^text\/plain; version=0\.0\.4/);
  return parsePrometheus(res.text);
}

function countOf(samples: Sample[], labels: Record<string, string>): number {
  const hit = samples.find(
    (s) => s.name === 'http_request_duration_seconds_count' && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  return hit?.value ?? 0;
}

describe('metrics', () => {
  describe('http_request_duration_seconds', () => {
    it('counts requests by route template, method and status', async () => {
      const metrics = createMetrics({ defaultMetrics: false });
      const app = appWith(metrics);
      await request(app).get(`/fhir/Patient/${randomUUID()}`).expect(200);
      await request(app).get('/fhir/Patient/12345').expect(200);
      await request(app).get('/fhir/Patient/missing').expect(404);
      await request(app).post('/fhir/Patient').send({}).expect(201);
      const samples = await scrape(app);
      expect(countOf(samples, { route: '/fhir/Patient/:id', method: 'GET', status: '200' })).to.equal(2);
      expect(countOf(samples, { route: '/fhir/Patient/:id', method: 'GET', status: '404' })).to.equal(1);
      expect(countOf(samples, { route: '/fhir/Patient', method: 'POST', status: '201' })).to.equal(1);
    });

    it('labels requests no route took as unmatched', async () => {
      const metrics = createMetrics({ defaultMetrics: false });
      const app = appWith(metrics);
      await request(app).get(`/fhir/Observation/${randomUUID()}`).expect(404);
      await request(app).get('/no/such/path/42').expect(404);
      expect(countOf(await scrape(app), { route: 'unmatched', method: 'GET', status: '404' })).to.equal(2);
    });

    it('never puts an id or a number-only path segment in a label', async () => {
      const metrics = createMetrics();
      const app = appWith(metrics);
      const id = randomUUID();
      await request(app).get(`/fhir/Patient/${id}`);
      await request(app).get('/fhir/Patient/987654321');
      await request(app).get(`/elsewhere/${id}/7`);
      const samples = await scrape(app);
      expect(samples.length).to.be.greaterThan(20);
      const uuid = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
      for (const sample of samples) {
        for (const [key, value] of Object.entries(sample.labels)) {
          expect(value, `${sample.name}{${key}}`).to.not.match(uuid);
          if (key === 'route') expect(value.split('/').some((segment) => /^\d+$/.test(segment)), value).to.equal(false);
        }
      }
    });
  });

  describe('GET /metrics', () => {
    it('serves default process metrics in the Prometheus text format', async () => {
      const samples = await scrape(appWith(createMetrics()));
      const names = new Set(samples.map((s) => s.name));
      expect(names).to.include('process_cpu_user_seconds_total');
      expect(names).to.include('nodejs_eventloop_lag_seconds');
      expect(names).to.include('outbox_backlog');
    });

    it('answers 401 with an OperationOutcome without the metrics token', async () => {
      const app = appWith(createMetrics({ token: 'metrics-secret-0123456789', defaultMetrics: false }));
      for (const auth of [undefined, 'Bearer wrong', 'Bearer metrics-secret-012345678', 'Basic bWV0cmljcw==']) {
        const req = request(app).get('/metrics');
        if (auth) req.set('Authorization', auth);
        const res = await req;
        expect(res.status).to.equal(401);
        expect(res.headers['www-authenticate']).to.match(/^Bearer/);
        expect(res.headers['content-type']).to.match(/^application\/fhir\+json/);
        expect(JSON.parse(res.text)).to.have.property('resourceType', 'OperationOutcome');
      }
      await scrape(app, 'metrics-secret-0123456789');
    });

    it('keeps the metrics of two apps apart', async () => {
      const first = createMetrics({ defaultMetrics: false });
      const second = createMetrics({ defaultMetrics: false });
      await request(appWith(first)).post('/fhir/Patient').send({});
      expect(countOf(await scrape(appWith(first)), { route: '/fhir/Patient' })).to.equal(1);
      expect(countOf(await scrape(appWith(second)), { route: '/fhir/Patient' })).to.equal(0);
    });

    it('reads the outbox backlog, audit writes and job runs at scrape time', async () => {
      const metrics = createMetrics({ defaultMetrics: false });
      metrics.observeOutboxBacklog(async () => 7);
      metrics.auditEventsWritten.inc({ outcome: 'written' });
      metrics.jobRuns.inc({ job: 'anonymization-sweep', result: 'success' });
      const samples = await scrape(appWith(metrics));
      expect(samples.find((s) => s.name === 'outbox_backlog')?.value).to.equal(7);
      expect(samples.find((s) => s.name === 'audit_events_written_total')?.labels).to.deep.equal({ outcome: 'written' });
      expect(samples.find((s) => s.name === 'job_runs_total')?.labels).to.deep.equal({
        job: 'anonymization-sweep',
        result: 'success',
      });
    });
  });

  describe('instrumentStore', () => {
    function record(): PatientRecord {
      const resource = { ...samplePatient(0), id: randomUUID(), meta: { versionId: '1', lastUpdated: new Date().toISOString() } };
      return buildPatientRecord(resource, 'active', { uniqueContacts: true });
    }

    it('times each port call by operation and engine, inside transactions too', async () => {
      const metrics = createMetrics({ defaultMetrics: false });
      const store = metrics.instrumentStore(SqliteStore.open(':memory:'));
      try {
        const created = record();
        await store.transaction(async (tx) => tx.create(created));
        expect(await store.read(created.resource.id)).to.have.nested.property('resource.id', created.resource.id);
        expect(await store.read(randomUUID())).to.equal(undefined);
        const duplicate = { ...record(), uniqueKeys: created.uniqueKeys };
        await store.create(duplicate).then(
          () => expect.fail('a taken identifier must be refused'),
          (err: { status?: number }) => expect(err.status).to.equal(409),
        );
        expect(store.engine).to.equal('sqlite');
      } finally {
        await store.close();
      }
      const samples = parsePrometheus(await metrics.registry.metrics());
      const count = (operation: string) =>
        samples.find(
          (s) =>
            s.name === 'store_operation_duration_seconds_count' &&
            s.labels.operation === operation &&
            s.labels.engine === 'sqlite',
        )?.value;
      expect(count('transaction')).to.equal(1);
      expect(count('create')).to.equal(2);
      expect(count('read')).to.equal(2);
      expect(count('close')).to.equal(1);
    });
  });
});

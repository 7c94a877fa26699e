import { expect } from 'chai';
import request from 'supertest';
import { testApp } from '../support/test-app.js';
import { samplePatient } from '../support/patients.js';
import { asActor, patientToken } from '../support/tokens.js';

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

/** `name{labels} value` lines of the Prometheus text format. */
function samples(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  const out: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/.exec(line);
    expect(m, `not Prometheus text: ${line}`).to.not.equal(null);
    const labels: Record<string, string> = {};
    for (const pair of (m![2] ?? '').match(/[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"/g) ?? []) {
      const eq = pair.indexOf('=');
      labels[pair.slice(0, eq)] = pair.slice(eq + 2, -1);
    }
    out.push({ name: m![1]!, labels, value: Number(m![3]) });
  }
  return out;
}

describe('GET /metrics on the real app', () => {
  it('is Prometheus text with request, store and audit metrics whose labels carry no ids', async () => {
    const t = testApp({ metrics: true });
    const admin = asActor(t.app);
    const created = await admin.post('/fhir/Patient').set('Content-Type', 'application/fhir+json').send(JSON.stringify(samplePatient(60)));
    await admin.get(`/fhir/Patient/${created.body.id}`);
    await admin.get(`/fhir/Patient/${created.body.id}/_history/1`);
    await admin.get('/fhir/Patient?family=abc');
    const res = await admin.get('/metrics');
    expect(res.status).to.equal(200);
    expect(res.headers['content-type']).to.match(/^text\/plain/);
    const all = samples(res.text);
    const names = new Set(all.map((s) => s.name));
    expect(names).to.include('http_request_duration_seconds_bucket');
    expect(names).to.include('store_operation_duration_seconds_count');
    expect(all.some((s) => s.name === 'audit_events_written_total' && s.labels.outcome === 'written' && s.value >= 4)).to.equal(true);
    expect(all.some((s) => s.labels.route === '/fhir/Patient/:id' && s.labels.status === '200')).to.equal(true);
    for (const s of all) {
      for (const value of Object.values(s.labels)) {
        expect(value, `${s.name} label`).to.not.match(UUID);
        expect(value, `${s.name} label`).to.not.include('abc');
      }
    }
    await t.store.close();
  });

  it('needs an admin token, or METRICS_TOKEN when one is configured', async () => {
    const t = testApp({ metrics: true });
    expect((await request(t.app).get('/metrics')).status).to.equal(401);
    expect((await asActor(t.app, patientToken('x')).get('/metrics')).status).to.equal(403);
    await t.store.close();
    const withToken = testApp({ metrics: true, env: { METRICS_TOKEN: 'scrape-token-123' } });
    expect((await request(withToken.app).get('/metrics')).status).to.equal(401);
    expect((await request(withToken.app).get('/metrics').set('Authorization', 'Bearer scrape-token-123')).status).to.equal(200);
    await withToken.store.close();
  });
});

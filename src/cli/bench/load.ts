import autocannon from 'autocannon';

/** One request of a workload. */
export interface RequestSpec {
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

/** What a scenario sends: a new request each time, and (optionally) what it learns from answers. */
export interface Workload {
  next(): RequestSpec;
  onResponse?(spec: RequestSpec, status: number, headers: Record<string, string>): void;
}

export interface LoadOptions {
  /** `http://127.0.0.1:port` */
  url: string;
  connections: number;
  durationSec: number;
  /** Headers of every request (e.g. Authorization). */
  headers?: Record<string, string>;
  /** Requests per second over all connections (default: as fast as possible). */
  overallRate?: number;
}

/** Throughput and latency of one load run. Latencies are of 2xx answers, in milliseconds. */
export interface LoadResult {
  /** 2xx answers per second. */
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  responses: number;
  /** Answers that were not 2xx, by status. */
  failures: Record<string, number>;
  /** Connection errors and timeouts. */
  errors: number;
  durationSec: number;
}

/**
 * Drives `workload` with autocannon (keep-alive connections, one request in flight per
 * connection) and measures latencies itself, because autocannon's percentiles skip p95.
 */
export async function runLoad(workload: Workload, options: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  let workloadError: unknown;
  let stop: (() => void) | undefined;
  let last: RequestSpec = { method: 'GET', path: '/healthz' };
  interface Context {
    spec?: RequestSpec;
  }
  const request: autocannon.Request = {
    // autocannon keeps `context` per connection from a request to its answer.
    setupRequest: (req, context) => {
      let spec = last;
      try {
        spec = workload.next();
        last = spec;
      } catch (err) {
        // A workload that cannot go on ends the run; the error is reported once it has stopped.
        workloadError ??= err;
        stop?.();
      }
      (context as Context).spec = spec;
      return {
        ...req,
        method: spec.method,
        path: spec.path,
        headers: { ...req.headers, ...spec.headers },
        ...(spec.body === undefined ? {} : { body: spec.body }),
      };
    },
    onResponse: (status, _body, context, headers) => {
      const spec = (context as Context).spec;
      if (spec && workload.onResponse) workload.onResponse(spec, status, lowerCaseKeys(headers ?? {}));
    },
  };

  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        connections: options.connections,
        duration: options.durationSec,
        headers: options.headers ?? {},
        requests: [request],
        ...(options.overallRate ? { overallRate: options.overallRate } : {}),
        timeout: 10,
      },
      (err, res) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(res)),
    );
    stop = () => instance.stop();
    instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      if (status >= 200 && status < 300) latencies.push(ms);
    });
  });

  if (workloadError) throw workloadError instanceof Error ? workloadError : new Error(String(workloadError));
  const sorted = Float64Array.from(latencies).sort();
  const at = (q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]! : NaN);
  const durationSec = (result.finish.getTime() - result.start.getTime()) / 1000 || options.durationSec;
  const failures: Record<string, number> = {};
  for (const [status, stat] of Object.entries(result.statusCodeStats ?? {})) {
    if (!status.startsWith('2') && stat.count) failures[status] = stat.count;
  }
  return {
    rps: sorted.length / durationSec,
    p50: at(0.5),
    p95: at(0.95),
    p99: at(0.99),
    responses: Object.values(result.statusCodeStats ?? {}).reduce((sum, s) => sum + (s.count ?? 0), 0),
    failures,
    errors: result.errors,
    durationSec,
  };
}

function lowerCaseKeys(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value !== undefined) out[key.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

import { parseIsoDuration } from './duration.js';

/** The validated, typed configuration of one server process. Built only from the environment. */
export interface Config {
  port: number;
  host: string;
  databaseUrl: string;
  /** Public base URL of the server (no trailing slash); derived from the request when empty. */
  publicBaseUrl: string;
  logLevel: 'error' | 'warn' | 'info' | 'debug';
  requireIfMatch: boolean;
  uniqueContacts: boolean;
  bodyLimitBytes: number;
  idempotencyTtlMs: number;
  /** Key for search cursors and other server-internal MACs; from the local secret when unset. */
  serverSecret?: string;
  dataDir: string;
  deletionGracePeriodMs: number;
  anonymizationSweepIntervalMs: number;
  operationWaitMs: number;
  correlationSecret?: string;
  eventWebhookUrls: string[];
  eventWebhookSecret?: string;
  jwtSecret?: string;
  jwtPublicKey?: string;
  jwksUri?: string;
  jwtIssuer?: string;
  jwtAudience?: string;
  /** SMART authorization server endpoints, published in discovery and the CapabilityStatement when set. */
  smartAuthorizeUrl?: string;
  smartTokenUrl?: string;
  authRolesClaim: string;
  corsOrigins: string[];
  rateLimitPerMinute: number;
  readOnly: boolean;
  metricsToken?: string;
  shutdownTimeoutMs: number;
  auditRetentionMs: number;
  maxBundleEntries: number;
  /** Benchmark only: AuditEvent writes become no-ops (refused when NODE_ENV=production). */
  auditDisabledForBenchmark: boolean;
}

/** One environment variable: its name, default, meaning and how it becomes a Config field. */
interface Variable<K extends keyof Config> {
  name: string;
  key: K;
  default: string;
  description: string;
  parse: (raw: string) => Config[K] | Invalid;
}

class Invalid {
  constructor(readonly reason: string) {}
}

const integer = (min: number, max: number) => (raw: string) => {
  const n = Number(raw);
  return Number.isInteger(n) && n >= min && n <= max ? n : new Invalid(`an integer from ${min} to ${max}`);
};
const boolean = (raw: string) => {
  const v = raw.trim().toLowerCase();
  if (['true', '1', 'yes'].includes(v)) return true;
  if (['false', '0', 'no'].includes(v)) return false;
  return new Invalid('true or false');
};
const duration = (raw: string) => parseIsoDuration(raw) ?? new Invalid('an ISO 8601 duration such as P7D or PT10M');
const text = (raw: string) => raw;
const optional = (raw: string) => (raw === '' ? undefined : raw);
const optionalUrl = (raw: string) =>
  raw === '' ? undefined : URL.canParse(raw) && /^https?:/.test(raw) ? raw : new Invalid('an http(s) URL');
const list = (raw: string) => raw.split(',').map((s) => s.trim()).filter(Boolean);
const bytes = (raw: string) => {
  const m = /^(\d+)(b|kb|mb)?$/i.exec(raw.trim());
  if (!m) return new Invalid('a size such as 1mb, 512kb or 1048576');
  const unit = { b: 1, kb: 1024, mb: 1024 * 1024 }[(m[2] ?? 'b').toLowerCase() as 'b' | 'kb' | 'mb'];
  return Number(m[1]) * unit;
};
const oneOf = <T extends string>(...values: T[]) => (raw: string) =>
  (values as string[]).includes(raw) ? (raw as T) : new Invalid(`one of ${values.join(', ')}`);
const databaseUrl = (raw: string) =>
  /^(sqlite:.+|mongodb(\+srv)?:\/\/.+)$/.test(raw)
    ? raw
    : new Invalid('sqlite:<file>, sqlite::memory:, mongodb://… or mongodb+srv://…');
const urls = (raw: string) => {
  const all = list(raw);
  return all.every((u) => URL.canParse(u) && /^https?:/.test(u)) ? all : new Invalid('comma-separated http(s) URLs');
};

/** Every variable the server reads, in the order `.env.example` lists them. */
export const variables = [
  v('PORT', 'port', '8080', 'TCP port to listen on', integer(0, 65535)),
  v('HOST', 'host', '127.0.0.1', 'Interface to listen on (0.0.0.0 in containers)', text),
  v('DATABASE_URL', 'databaseUrl', 'sqlite:./data/fhir.sqlite', 'Storage engine: sqlite:<file>, sqlite::memory:, mongodb://…', databaseUrl),
  v('PUBLIC_BASE_URL', 'publicBaseUrl', '', 'Public URL of the server (e.g. https://fhir.example.org); derived from the request when empty', (raw) => raw.replace(/\/+$/, '')),
  v('LOG_LEVEL', 'logLevel', 'info', 'error, warn, info or debug', oneOf('error', 'warn', 'info', 'debug')),
  v('REQUIRE_IF_MATCH', 'requireIfMatch', 'true', 'Updates must carry If-Match (428 otherwise)', boolean),
  v('UNIQUE_CONTACTS', 'uniqueContacts', 'true', 'Emails and phones unique among non-deleted patients', boolean),
  v('BODY_LIMIT', 'bodyLimitBytes', '1mb', 'Largest accepted request body (413 above)', bytes),
  v('IDEMPOTENCY_TTL', 'idempotencyTtlMs', 'PT24H', 'How long Idempotency-Key records are kept', duration),
  v('SERVER_SECRET', 'serverSecret', '', 'Key for search cursors; a random one is kept under DATA_DIR when empty', optional),
  v('DATA_DIR', 'dataDir', './data', 'Folder for the local secrets (and the default SQLite file)', text),
  v('DELETION_GRACE_PERIOD', 'deletionGracePeriodMs', 'P7D', 'Time a soft-deleted patient can be restored', duration),
  v('ANONYMIZATION_SWEEP_INTERVAL', 'anonymizationSweepIntervalMs', 'PT10M', 'How often expired patients are anonymized', duration),
  v('OPERATION_WAIT', 'operationWaitMs', 'PT30S', 'How long $restore/$anonymize wait for their job before answering 202', duration),
  v('CORRELATION_SECRET', 'correlationSecret', '', 'HMAC key of the returning-patient hash; kept under DATA_DIR when empty', optional),
  v('EVENT_WEBHOOK_URLS', 'eventWebhookUrls', '', 'Comma-separated URLs that receive lifecycle events', urls),
  v('EVENT_WEBHOOK_SECRET', 'eventWebhookSecret', '', 'HMAC key of the X-Signature header of webhooks', optional),
  v('JWT_SECRET', 'jwtSecret', '', 'HS256 key; a random one is kept under DATA_DIR when no key is configured', optional),
  v('JWT_PUBLIC_KEY', 'jwtPublicKey', '', 'PEM public key for RS256/ES256 tokens', optional),
  v('JWKS_URI', 'jwksUri', '', 'JWKS URL for RS256/ES256 tokens (cached, follows key rotation)', optional),
  v('JWT_ISSUER', 'jwtIssuer', '', 'Required `iss` of tokens when set', optional),
  v('JWT_AUDIENCE', 'jwtAudience', '', 'Required `aud` of tokens when set', optional),
  v('SMART_AUTHORIZE_URL', 'smartAuthorizeUrl', '', 'Authorization endpoint of the SMART authorization server, published when set', optionalUrl),
  v('SMART_TOKEN_URL', 'smartTokenUrl', '', 'Token endpoint of the SMART authorization server, published when set', optionalUrl),
  v('AUTH_ROLES_CLAIM', 'authRolesClaim', 'roles', 'Token claim that carries the roles array', text),
  v('CORS_ORIGINS', 'corsOrigins', '', 'Comma-separated origins allowed by CORS (none when empty)', list),
  v('RATE_LIMIT_PER_MINUTE', 'rateLimitPerMinute', '6000', 'Requests per minute per token and per IP (429 above)', integer(1, 10_000_000)),
  v('READ_ONLY', 'readOnly', 'false', 'Kill switch: writes answer 503', boolean),
  v('METRICS_TOKEN', 'metricsToken', '', 'Bearer token required by /metrics when set', optional),
  v('SHUTDOWN_TIMEOUT', 'shutdownTimeoutMs', 'PT10S', 'Longest wait for in-flight requests on SIGTERM', duration),
  v('AUDIT_RETENTION', 'auditRetentionMs', 'P6Y', 'How long AuditEvents are kept at least', duration),
  v('AUDIT_DISABLED_FOR_BENCHMARK', 'auditDisabledForBenchmark', 'false', 'Benchmark only: skip AuditEvent writes to measure their cost; refused in production', boolean),
  v('MAX_BUNDLE_ENTRIES', 'maxBundleEntries', '5000', 'Largest batch/transaction Bundle (413 above)', integer(1, 100_000)),
] as const;

function v<K extends keyof Config>(
  name: string,
  key: K,
  def: string,
  description: string,
  parse: (raw: string) => Config[K] | Invalid,
): Variable<K> {
  return { name, key, default: def, description, parse };
}

/** Thrown when the environment holds bad values: one line per bad variable, never the value itself. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Builds the Config from an environment (default `process.env`), or throws ConfigError. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const problems: string[] = [];
  const config: Record<string, unknown> = {};
  for (const variable of variables as readonly Variable<keyof Config>[]) {
    const raw = env[variable.name] ?? variable.default;
    const value = variable.parse(raw);
    if (value instanceof Invalid) problems.push(`${variable.name} must be ${value.reason}`);
    else config[variable.key] = value;
  }
  if (config.auditDisabledForBenchmark && env.NODE_ENV === 'production') {
    problems.push('AUDIT_DISABLED_FOR_BENCHMARK cannot be used with NODE_ENV=production (every access must be audited)');
  }
  if ((config.eventWebhookUrls as string[] | undefined)?.length && !config.eventWebhookSecret) {
    problems.push('EVENT_WEBHOOK_SECRET must be set when EVENT_WEBHOOK_URLS is set (webhooks are signed)');
  }
  if (problems.length) throw new ConfigError(problems);
  return config as unknown as Config;
}

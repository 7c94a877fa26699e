/**
 * `npm run token -- --roles admin --scope "user/*.cruds" [--patient ID] [--fhir-user Practitioner/x]
 * [--ttl 1h] [--sub x] [--client-id x]` — mints an HS256 bearer token the local server accepts, signed
 * with `JWT_SECRET` or the local secret under `DATA_DIR` (the one the server uses). Prints only the
 * token, so `TOKEN=$(npm run -s token -- --roles admin)` works.
 */
import { parseArgs } from 'node:util';
import jwt from 'jsonwebtoken';
import { ConfigError, loadConfig } from '../config/config.js';
import { parseIsoDuration } from '../config/duration.js';
import { localSecret } from '../config/local-secret.js';

const USAGE =
  'usage: npm run token -- [--roles admin,auditor] [--scope "user/*.cruds"] [--patient ID] [--fhir-user Practitioner/x] [--ttl 1h] [--sub NAME] [--client-id ID]';

/** `90`, `90s`, `15m`, `1h`, `7d` or an ISO 8601 duration (`PT1H`), in seconds. */
function ttlSeconds(text: string): number | undefined {
  const m = /^(\d+)(s|m|h|d)?$/.exec(text.trim());
  if (m) return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[(m[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
  const ms = parseIsoDuration(text);
  return ms === undefined ? undefined : Math.floor(ms / 1000);
}

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

function main(): void {
  let args;
  try {
    args = parseArgs({
      options: {
        roles: { type: 'string', multiple: true },
        scope: { type: 'string', multiple: true },
        patient: { type: 'string' },
        'fhir-user': { type: 'string' },
        ttl: { type: 'string', default: '1h' },
        sub: { type: 'string', default: 'cli-user' },
        'client-id': { type: 'string', default: 'fhir-patient-server-cli' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (err) {
    fail(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    fail(err instanceof ConfigError ? err.message : String(err));
  }
  if (!config.jwtSecret && (config.jwtPublicKey || config.jwksUri)) {
    fail('The server verifies tokens with a public key (JWT_PUBLIC_KEY/JWKS_URI): mint tokens with your identity provider.');
  }
  const secret = config.jwtSecret ?? localSecret(config.dataDir, 'jwt').value;
  const ttl = ttlSeconds(args.ttl);
  if (ttl === undefined || ttl <= 0) fail(`--ttl must be a duration such as 90s, 15m, 1h, 7d or PT1H\n${USAGE}`);

  const roles = (args.roles ?? []).flatMap((r) => r.split(/[\s,]+/)).filter(Boolean);
  const scope = (args.scope ?? ['user/*.cruds']).join(' ').trim();
  const claims: Record<string, unknown> = { roles, scope, client_id: args['client-id'] };
  if (config.authRolesClaim !== 'roles') {
    delete claims.roles;
    claims[config.authRolesClaim] = roles;
  }
  if (args.patient) claims.patient = args.patient;
  if (args['fhir-user']) claims.fhirUser = args['fhir-user'];

  const token = jwt.sign(claims, secret, {
    algorithm: 'HS256',
    expiresIn: ttl,
    subject: args.sub,
    ...(config.jwtIssuer ? { issuer: config.jwtIssuer } : {}),
    ...(config.jwtAudience ? { audience: config.jwtAudience } : {}),
  });
  process.stdout.write(`${token}\n`);
}

main();

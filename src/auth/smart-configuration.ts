import type { Config } from '../config/config.js';

/** Where the authorization server lives, when one is known (this server only verifies tokens). */
export interface SmartEndpoints {
  authorizationEndpoint?: string;
  tokenEndpoint?: string;
}

/** The `/.well-known/smart-configuration` document (SMART App Launch 2.x §2.3). */
export interface SmartConfiguration {
  issuer?: string;
  jwks_uri?: string;
  authorization_endpoint?: string;
  token_endpoint?: string;
  grant_types_supported?: string[];
  token_endpoint_auth_methods_supported?: string[];
  scopes_supported: string[];
  response_types_supported?: string[];
  capabilities: string[];
  code_challenge_methods_supported: string[];
}

const CONTEXTS = ['patient', 'user', 'system'] as const;
const RESOURCES = ['Patient', 'AuditEvent', '*'] as const;

/** Every scope this server understands, v2 first then v1, plus the identity scopes. */
function scopesSupported(): string[] {
  const scopes: string[] = ['openid', 'fhirUser', 'launch/patient', 'offline_access'];
  for (const context of CONTEXTS) {
    for (const resource of RESOURCES) scopes.push(`${context}/${resource}.cruds`, `${context}/${resource}.rs`);
  }
  for (const context of CONTEXTS) {
    for (const resource of RESOURCES) scopes.push(`${context}/${resource}.read`, `${context}/${resource}.write`, `${context}/${resource}.*`);
  }
  return scopes;
}

/**
 * Builds the SMART discovery document. Authorization and token endpoints (and the launch
 * capabilities that depend on them) are published only when configured; the permission
 * capabilities describe what this resource server enforces.
 * https://hl7.org/fhir/smart-app-launch/conformance.html
 */
export function smartConfiguration(
  config: Pick<Config, 'jwtIssuer' | 'jwksUri'>,
  endpoints: SmartEndpoints = {},
): SmartConfiguration {
  const capabilities = ['permission-v1', 'permission-v2', 'permission-patient', 'permission-user'];
  const withAuthServer = Boolean(endpoints.authorizationEndpoint && endpoints.tokenEndpoint);
  if (withAuthServer) {
    capabilities.push('launch-standalone', 'client-public', 'client-confidential-symmetric', 'context-standalone-patient');
  }
  return {
    ...(config.jwtIssuer ? { issuer: config.jwtIssuer } : {}),
    ...(config.jwksUri ? { jwks_uri: config.jwksUri } : {}),
    ...(withAuthServer
      ? {
          authorization_endpoint: endpoints.authorizationEndpoint!,
          token_endpoint: endpoints.tokenEndpoint!,
          grant_types_supported: ['authorization_code', 'client_credentials'],
          token_endpoint_auth_methods_supported: ['private_key_jwt', 'client_secret_basic'],
          response_types_supported: ['code'],
        }
      : {}),
    scopes_supported: scopesSupported(),
    capabilities,
    code_challenge_methods_supported: ['S256'],
  };
}

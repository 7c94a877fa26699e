import { readFileSync } from 'node:fs';
import type { CapabilityStatement, CapabilityStatementRestResourceSearchParam } from 'fhir/r4.js';
import type { SearchParameterDefinition } from './search/search-parameter.js';

export interface CapabilityRuntime {
  softwareVersion: string;
  /** When this process started (`CapabilityStatement.date`). */
  startedAt: Date;
  /** Search parameters of Patient, from the parameter table. */
  patientSearchParams: CapabilityStatementRestResourceSearchParam[];
  /** SMART authorization server endpoints, published as the `oauth-uris` extension when set. */
  oauth?: { authorize?: string; token?: string };
}

/**
 * Loads `capability-statement.json` (top level of the repository) once and returns a function that
 * fills its run-time fields (https://hl7.org/fhir/R4/capabilitystatement.html): date, software
 * version, implementation URL and the Patient search parameters from the parameter table.
 */
export function capabilityStatementFrom(path: string, runtime: CapabilityRuntime): (baseUrl: string) => CapabilityStatement {
  const template = JSON.parse(readFileSync(path, 'utf8')) as CapabilityStatement;
  template.date = runtime.startedAt.toISOString();
  template.software = { ...template.software!, version: runtime.softwareVersion };
  for (const rest of template.rest ?? []) {
    const oauth = oauthUris(runtime.oauth);
    if (oauth && rest.security) rest.security.extension = [oauth];
    for (const resource of rest.resource ?? []) {
      if (resource.type === 'Patient') resource.searchParam = runtime.patientSearchParams;
    }
  }
  const byBase = new Map<string, CapabilityStatement>();
  return (baseUrl) => {
    let statement = byBase.get(baseUrl);
    if (!statement) {
      statement = { ...template, implementation: { ...template.implementation!, url: baseUrl } };
      if (byBase.size < 16) byBase.set(baseUrl, statement);
    }
    return statement;
  };
}

/** The CapabilityStatement view of a parameter table: name, type and documentation with modifiers. */
export function capabilitySearchParams(definitions: readonly SearchParameterDefinition[]): CapabilityStatementRestResourceSearchParam[] {
  return definitions.map((d) => ({
    name: d.code,
    definition: `http://hl7.org/fhir/SearchParameter/${canonicalName(d.code)}`,
    type: d.type as CapabilityStatementRestResourceSearchParam['type'],
    documentation: `${d.documentation} Modifiers: ${[...d.modifiers, 'missing'].map((m) => `:${m}`).join(' ')}.`,
  }));
}

/** R4 shares some Patient parameters with Practitioner etc. under `individual-…`. */
const INDIVIDUAL = new Set([
  'address', 'address-city', 'address-country', 'address-postalcode', 'address-state', 'address-use',
  'birthdate', 'email', 'family', 'gender', 'given', 'phone', 'phonetic', 'telecom',
]);

function canonicalName(code: string): string {
  if (code.startsWith('_')) return `Resource-${code.slice(1)}`;
  return INDIVIDUAL.has(code) ? `individual-${code}` : `Patient-${code}`;
}

/** http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris (SMART App Launch), when configured. */
function oauthUris(oauth: CapabilityRuntime['oauth']) {
  const parts = [
    ...(oauth?.authorize ? [{ url: 'authorize', valueUri: oauth.authorize }] : []),
    ...(oauth?.token ? [{ url: 'token', valueUri: oauth.token }] : []),
  ];
  return parts.length ? { url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris', extension: parts } : undefined;
}

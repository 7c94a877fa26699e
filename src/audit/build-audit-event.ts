import type { AuditEventAgent, AuditEventEntity, Coding } from 'fhir/r4.js';
import type { Actor } from '../context/actor.js';
import type { AuditEventResource } from './audit-port.js';

/**
 * The pure AuditEvent builder, after IHE Basic Audit Log Patterns (BALP,
 * https://profiles.ihe.net/ITI/BALP/) on FHIR R4 (https://hl7.org/fhir/R4/auditevent.html).
 * References only: no name, identifier value or other PHI of a patient ever enters an event; the
 * query of a search is kept base64-encoded, as BALP does (it may carry PHI and lives only in the
 * audit store, never in logs).
 */

/** Canonical base of this server's own definitions. */
export const SERVER_CANONICAL_BASE = 'http://fhir-patient-server.example/fhir';

const AUDIT_EVENT_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-event-type';
const RESTFUL_INTERACTION = 'http://hl7.org/fhir/restful-interaction';
const OPERATION_SYSTEM = `${SERVER_CANONICAL_BASE}/CodeSystem/operation`;
const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
const ENTITY_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
const OBJECT_ROLE = 'http://terminology.hl7.org/CodeSystem/object-role';
const BALP_ENTITY_TYPE = 'https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType';
const BALP_PROFILE = 'https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.';
/** Extension carrying the HTTP `User-Agent` of the requesting agent. */
export const USER_AGENT_EXTENSION = `${SERVER_CANONICAL_BASE}/StructureDefinition/audit-user-agent`;

/** R4 AuditEvent.action (https://hl7.org/fhir/R4/valueset-audit-event-action.html). */
export const AuditAction = { create: 'C', read: 'R', update: 'U', delete: 'D', execute: 'E' } as const;
export type AuditAction = (typeof AuditAction)[keyof typeof AuditAction];

/** R4 AuditEvent.outcome (https://hl7.org/fhir/R4/valueset-audit-event-outcome.html). */
export const AuditOutcome = { success: '0', minor: '4', serious: '8', major: '12' } as const;
export type AuditOutcome = (typeof AuditOutcome)[keyof typeof AuditOutcome];

/** Interactions of http://hl7.org/fhir/restful-interaction this server answers. */
const RESTFUL = new Set([
  'read', 'vread', 'update', 'patch', 'delete', 'history', 'history-instance', 'history-type', 'history-system',
  'create', 'search', 'search-type', 'search-system', 'capabilities', 'transaction', 'batch', 'operation',
]);

/** BALP action: create C, read/vread/history R, update/patch U, delete D, search and operations E. */
export function auditActionOf(interaction: string): AuditAction {
  if (interaction === 'create') return AuditAction.create;
  if (interaction === 'update' || interaction === 'patch') return AuditAction.update;
  if (interaction === 'delete') return AuditAction.delete;
  if (interaction === 'read' || interaction === 'vread' || interaction.startsWith('history')) return AuditAction.read;
  return AuditAction.execute;
}

/**
 * Outcome from the HTTP status: 2xx/3xx success (0); 4xx minor failure (4, the request was refused
 * and may be retried corrected); 503 major failure (12, the service was unavailable); any other
 * 5xx serious failure (8, the action was terminated).
 */
export function auditOutcomeOf(status: number): AuditOutcome {
  if (status < 400) return AuditOutcome.success;
  if (status < 500) return AuditOutcome.minor;
  return status === 503 ? AuditOutcome.major : AuditOutcome.serious;
}

/** What one audited interaction was. */
export interface AuditFacts {
  /** UUID of the new AuditEvent. */
  id: string;
  recorded: Date;
  /** Route interaction name (`read`, `search-type`, `$restore`, …). */
  interaction: string;
  /** HTTP status answered. */
  status: number;
  /** Stable error code when the request failed (e.g. `NOT_FOUND`). */
  errorCode?: string;
  actor: Actor;
  requestId: string;
  clientIp: string;
  userAgent?: string;
  /** FHIR base URL of this server as the client saw it. */
  serverUrl: string;
  /** References touched: `Patient/<id>/_history/<vid>` when the version is known, else `Patient/<id>`. */
  entities: string[];
  /** Raw query string of a search (without `?`); recorded base64-encoded. */
  query?: string;
}

function subtypeOf(interaction: string): Coding {
  if (interaction.startsWith('$')) return { system: OPERATION_SYSTEM, code: interaction };
  return RESTFUL.has(interaction) ? { system: RESTFUL_INTERACTION, code: interaction } : { system: OPERATION_SYSTEM, code: interaction };
}

function profileOf(interaction: string, hasPatient: boolean, success: boolean): string | undefined {
  if (!success) return undefined;
  const basic: Record<string, string> = {
    read: 'Read', vread: 'Read', 'history-instance': 'Read', create: 'Create', update: 'Update', patch: 'Update',
    delete: 'Delete', 'search-type': 'Query', 'search-system': 'Query',
  };
  const name = basic[interaction];
  if (!name) return undefined;
  return `${BALP_PROFILE}${hasPatient ? `Patient${name}` : name}`;
}

function userAgent(facts: AuditFacts): AuditEventAgent {
  const { actor } = facts;
  return {
    type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/extra-security-role-type', code: 'humanuser', display: 'human user' }] },
    ...(actor.roles.length ? { role: actor.roles.map((role) => ({ text: role })) } : {}),
    who: {
      ...(actor.fhirUser ? { reference: actor.fhirUser } : {}),
      identifier: { value: actor.subject },
    },
    ...(actor.clientId ? { altId: actor.clientId, policy: [actor.clientId] } : {}),
    requestor: true,
    network: { address: facts.clientIp, type: '2' },
    ...(facts.userAgent ? { extension: [{ url: USER_AGENT_EXTENSION, valueString: facts.userAgent }] } : {}),
  };
}

function serverAgent(facts: AuditFacts): AuditEventAgent {
  return {
    type: { coding: [{ system: DCM, code: '110152', display: 'Destination Role ID' }] },
    who: { display: facts.serverUrl },
    requestor: false,
    network: { address: facts.serverUrl, type: '5' },
  };
}

function clientAgent(facts: AuditFacts): AuditEventAgent {
  return {
    type: { coding: [{ system: DCM, code: '110153', display: 'Source Role ID' }] },
    who: { display: facts.actor.clientId ?? 'unidentified client' },
    requestor: false,
    network: { address: facts.clientIp, type: '2' },
  };
}

function patientEntity(reference: string): AuditEventEntity {
  return {
    what: { reference },
    type: { system: ENTITY_TYPE, code: '1', display: 'Person' },
    role: { system: OBJECT_ROLE, code: '1', display: 'Patient' },
  };
}

function otherEntity(reference: string): AuditEventEntity {
  return {
    what: { reference },
    type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
    role: { system: OBJECT_ROLE, code: '4', display: 'Domain Resource' },
  };
}

/** Builds the BALP-shaped AuditEvent for one interaction. Pure: same facts, same event. */
export function buildAuditEvent(facts: AuditFacts): AuditEventResource {
  const success = facts.status < 400;
  const entities = [...new Set(facts.entities)];
  const hasPatient = entities.some((r) => r.startsWith('Patient/'));
  const entity: AuditEventEntity[] = entities.map((r) => (r.startsWith('Patient/') ? patientEntity(r) : otherEntity(r)));
  if (facts.query !== undefined && facts.query !== '') {
    entity.push({
      type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
      role: { system: OBJECT_ROLE, code: '24', display: 'Query' },
      query: Buffer.from(facts.query, 'utf8').toString('base64'),
    });
  }
  entity.push({
    what: { identifier: { value: facts.requestId } },
    type: { system: BALP_ENTITY_TYPE, code: 'XrequestId', display: 'X-Request-Id' },
  });
  const profile = profileOf(facts.interaction, hasPatient, success);
  const outcome = auditOutcomeOf(facts.status);
  return {
    resourceType: 'AuditEvent',
    id: facts.id,
    ...(profile ? { meta: { profile: [profile] } } : {}),
    type: { system: AUDIT_EVENT_TYPE, code: 'rest', display: 'Restful Operation' },
    subtype: [subtypeOf(facts.interaction)],
    action: auditActionOf(facts.interaction),
    recorded: facts.recorded.toISOString(),
    outcome,
    ...(facts.errorCode && outcome !== AuditOutcome.success ? { outcomeDesc: `${facts.status} ${facts.errorCode}` } : {}),
    agent: [userAgent(facts), clientAgent(facts), serverAgent(facts)],
    source: {
      site: facts.serverUrl,
      observer: { display: facts.serverUrl },
      type: [{ system: 'http://terminology.hl7.org/CodeSystem/security-source-type', code: '4', display: 'Application Server' }],
    },
    entity,
  };
}

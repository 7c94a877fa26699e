/** The error-code system of this server's OperationOutcomes, as clients see it on the wire. */
export const ERROR_SYSTEM = 'http://fhir-patient-server.example/fhir/CodeSystem/error-code';

/** The stable error code of an OperationOutcome body (`issue[0].details.coding`). */
export function errorCode(body: { issue?: { details?: { coding?: { system?: string; code?: string }[] } }[] }): string | undefined {
  return body.issue?.[0]?.details?.coding?.find((c) => c.system === ERROR_SYSTEM)?.code;
}

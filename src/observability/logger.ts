import winston from 'winston';

/** Structured logger. Log lines carry ids, route templates, statuses and durations — never bodies or query values. */
export type Logger = winston.Logger;

/** Keys that may carry PHI; a log call that passes one has it replaced (defence in depth). */
const PHI_KEYS = new Set(['body', 'query', 'name', 'family', 'given', 'email', 'phone', 'telecom', 'address', 'identifier', 'birthDate', 'url', 'originalUrl', 'resource', 'patient']);

const redact = winston.format((info) => {
  for (const key of Object.keys(info)) {
    if (PHI_KEYS.has(key)) info[key] = '[redacted]';
  }
  return info;
});

/** Creates the process logger: JSON lines on stdout. `silent` for tests. */
export function createLogger(options: { level: string; silent?: boolean }): Logger {
  return winston.createLogger({
    level: options.level,
    silent: options.silent ?? false,
    format: winston.format.combine(redact(), winston.format.timestamp(), winston.format.json()),
    defaultMeta: { service: 'fhir-patient-server' },
    transports: [new winston.transports.Console()],
  });
}

import type { Patient } from 'fhir/r4.js';
import { ruleViolation, type RuleContext } from './rule-context.js';

/** Oldest accepted age (SPEC §5). */
export const MAX_AGE_YEARS = 120;

/**
 * A date without a time zone is a calendar day somewhere on Earth: it may already have begun where
 * the patient is while UTC is still on the day before (up to UTC+14).
 */
const DATE_ONLY_SLACK_MS = 14 * 3_600_000;
/** Clock skew tolerated between a client stamping an instant and this server. */
const INSTANT_SKEW_MS = 60_000;
const DAY_MS = 86_400_000;

/** The span of time a FHIR date or dateTime denotes: `[start, end)` in epoch milliseconds (UTC). */
export interface TimeSpan {
  start: number;
  end: number;
  /** Whether the value has a time of day (and therefore a time zone). */
  hasTime: boolean;
}

const DATE = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Parses a FHIR `date` (`YYYY`, `YYYY-MM`, `YYYY-MM-DD`; https://hl7.org/fhir/R4/datatypes.html#date)
 * as the UTC span it covers. `undefined` when malformed or not a real calendar date (`2021-02-30`).
 */
export function parseFhirDate(value: string): TimeSpan | undefined {
  const match = DATE.exec(value);
  if (!match) return undefined;
  const year = Number(match[1]);
  const month = match[2] === undefined ? undefined : Number(match[2]);
  const day = match[3] === undefined ? undefined : Number(match[3]);
  if (month === undefined) return { start: utc(year, 1, 1), end: utc(year + 1, 1, 1), hasTime: false };
  if (month < 1 || month > 12) return undefined;
  if (day === undefined) return { start: utc(year, month, 1), end: utc(year, month + 1, 1), hasTime: false };
  if (day < 1 || day > daysInMonth(year, month)) return undefined;
  const start = utc(year, month, day);
  return { start, end: start + DAY_MS, hasTime: false };
}

/**
 * Parses a FHIR `dateTime` (https://hl7.org/fhir/R4/datatypes.html#dateTime): a partial date, or a
 * full date and time with a zone. A leap second (`:60`) counts as `:59`.
 */
export function parseFhirDateTime(value: string): TimeSpan | undefined {
  if (!value.includes('T')) return parseFhirDate(value);
  const match = DATE_TIME.exec(value);
  if (!match) return undefined;
  const day = parseFhirDate(`${match[1]}-${match[2]}-${match[3]}`);
  const [hours, minutes, seconds] = [Number(match[4]), Number(match[5]), Math.min(Number(match[6]), 59)];
  if (!day || hours > 23 || minutes > 59) return undefined;
  const fraction = match[7] === undefined ? 0 : Math.floor(Number(`0${match[7]}`) * 1000);
  const start = day.start + ((hours * 60 + minutes) * 60 + seconds) * 1000 + fraction - zoneOffsetMs(match[8]!);
  return { start, end: start + 1, hasTime: true };
}

/**
 * Age in completed years at `now` (UTC calendar) of someone born on `birthDate`. For a partial date
 * the latest possible birthday is used, i.e. the youngest possible age. `undefined` when the date is
 * invalid.
 */
export function ageInYears(birthDate: string, now: Date): number | undefined {
  const span = parseFhirDate(birthDate);
  if (!span) return undefined;
  const birth = new Date(span.end - DAY_MS);
  const years = now.getUTCFullYear() - birth.getUTCFullYear();
  const beforeBirthday =
    now.getUTCMonth() < birth.getUTCMonth() ||
    (now.getUTCMonth() === birth.getUTCMonth() && now.getUTCDate() < birth.getUTCDate());
  return beforeBirthday ? years - 1 : years;
}

/**
 * SPEC §5 date rules (https://hl7.org/fhir/R4/patient.html): `birthDate` is a real date, not in the
 * future, age <= {@link MAX_AGE_YEARS}; `deceasedDateTime` is a real date, not in the future and not
 * before `birthDate`.
 */
export function applyDateRules(draft: Patient, ctx: RuleContext): void {
  const now = ctx.now.getTime();
  let birth: TimeSpan | undefined;
  if (draft.birthDate !== undefined) {
    birth = parseFhirDate(draft.birthDate);
    const age = ageInYears(draft.birthDate, ctx.now);
    if (!birth || age === undefined) {
      ctx.problems.push(ruleViolation('birthDate is not a valid calendar date', 'Patient.birthDate'));
    } else if (birth.start > now + DATE_ONLY_SLACK_MS) {
      ctx.problems.push(ruleViolation('birthDate must not be in the future', 'Patient.birthDate'));
    } else if (age > MAX_AGE_YEARS) {
      ctx.problems.push(ruleViolation(`Age must not exceed ${MAX_AGE_YEARS} years`, 'Patient.birthDate'));
    }
  }
  if (draft.deceasedDateTime !== undefined) {
    const deceased = parseFhirDateTime(draft.deceasedDateTime);
    const expression = 'Patient.deceasedDateTime';
    if (!deceased) {
      ctx.problems.push(ruleViolation('deceasedDateTime is not a valid date and time', expression));
    } else if (deceased.start > now + (deceased.hasTime ? INSTANT_SKEW_MS : DATE_ONLY_SLACK_MS)) {
      ctx.problems.push(ruleViolation('deceasedDateTime must not be in the future', expression));
    } else if (birth && deceased.end + DATE_ONLY_SLACK_MS <= birth.start) {
      ctx.problems.push(ruleViolation('deceasedDateTime must not be before birthDate', expression));
    }
  }
}

function utc(year: number, month: number, day: number): number {
  // Date.UTC maps years 0–99 to 1900–1999; setUTCFullYear does not.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  return date.getTime();
}

function daysInMonth(year: number, month: number): number {
  return new Date(utc(year, month + 1, 1) - DAY_MS).getUTCDate();
}

function zoneOffsetMs(zone: string): number {
  if (zone === 'Z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  return sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
}

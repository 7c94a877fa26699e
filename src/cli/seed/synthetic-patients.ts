import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { HumanName, Patient } from 'fhir/r4.js';

/** The 300 Synthea R4 patients of `shared/data` (no id/meta), next to the project checkout. */
export const SAMPLE_PATIENTS_PATH = fileURLToPath(new URL('../../../../shared/data/synthea-r4/patients.json', import.meta.url));

const DAY_MS = 86_400_000;
/** Copies never get older than this (the server refuses ages above 120). */
const MAX_AGE_YEARS = 119;
/** Size of the sequential spaces of the number-shaped identifiers and phones. */
const SSN_SPACE = 1_000_000;
const LONG_NUMBER_SPACE = 100_000_000;
const PHONE_SPACE = 8_000_000;

/** Reads a JSON array of FHIR Patients (default: the Synthea sample). */
export function loadSamplePatients(path: string = SAMPLE_PATIENTS_PATH): Patient[] {
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as unknown;
  if (!Array.isArray(parsed) || parsed.length === 0) throw new Error(`${path} holds no array of Patients`);
  return parsed as Patient[];
}

/**
 * Makes any number of distinct, realistic Patients from a small sample: copy `k` starts from sample
 * `k mod n`, takes a family and given name from elsewhere in the sample (so names keep their real
 * distribution but combine differently), moves the birth date up to a year earlier, and gets
 * identifiers, e-mail and phone that are unique within one generator — and, thanks to a random run
 * tag and random bases, very unlikely to collide with another run's.
 */
export class SyntheticPatients {
  private readonly tag = randomBytes(4).toString('hex');
  private readonly base = randomBytes(4).readUInt32BE(0);
  private readonly families: string[];
  private readonly givens: Map<string, string[][]>;
  private templates: string[][] | undefined;

  constructor(
    private readonly samples: readonly Patient[],
    private readonly now: Date = new Date(),
  ) {
    this.families = unique(samples.map((p) => officialName(p)?.family).filter((f): f is string => !!f));
    this.givens = new Map();
    for (const p of samples) {
      const given = officialName(p)?.given;
      if (!given?.length) continue;
      const list = this.givens.get(p.gender ?? 'unknown') ?? [];
      list.push(given);
      this.givens.set(p.gender ?? 'unknown', list);
    }
  }

  /** Copy number `k` (0, 1, 2, …): a fresh object, safe to change. */
  copy(k: number): Patient {
    const n = this.samples.length;
    const sample = this.samples[k % n]!;
    const patient = structuredClone(sample);
    const round = Math.floor(k / n);
    const seq = this.base + k;

    const name = officialName(patient);
    if (name && round > 0) {
      if (this.families.length) name.family = this.families[(k * 7 + round) % this.families.length]!;
      const givens = this.givens.get(patient.gender ?? 'unknown');
      if (givens?.length) name.given = [...givens[(k * 13 + round) % givens.length]!];
    }
    if (patient.birthDate && round > 0) patient.birthDate = this.shiftBirthDate(patient.birthDate, (k * 37) % 365);

    const uuid = randomUUID();
    for (const identifier of patient.identifier ?? []) {
      if (identifier.value !== undefined) identifier.value = identifierValue(identifier.type?.coding?.[0]?.code, seq, uuid);
    }
    for (const telecom of patient.telecom ?? []) {
      if (telecom.system === 'email' && telecom.value) {
        telecom.value = `${emailLocalPart(name) || 'patient'}.${this.tag}${k}@example.org`;
      } else if (telecom.system === 'phone' && telecom.value) {
        telecom.value = `+1${areaCode(telecom.value)}${phoneNumber(seq)}`;
      }
    }
    return patient;
  }

  /**
   * Copy number `k` as JSON text, made cheaply from a per-sample template: identifiers, e-mail and
   * phone as unique as {@link SyntheticPatients.copy}'s (they share the numbering, so `copy(k)` and
   * `body(j)` never collide for k ≠ j), names and birth date as in the sample. For load generators,
   * where cloning a Patient per request would cost the client more than the server.
   */
  body(k: number): string {
    const n = this.samples.length;
    this.templates ??= this.samples.map((sample) => template(sample));
    const parts = this.templates[k % n]!;
    const seq = this.base + k;
    const uuid = randomUUID();
    let out = parts[0]!;
    for (let i = 1; i < parts.length; i += 2) {
      const slot = parts[i]!;
      if (slot === 'email') out += `${this.tag}${k}`;
      else if (slot === 'phone') out += phoneNumber(seq);
      else out += identifierValue(slot.slice(3) || undefined, seq, uuid);
      out += parts[i + 1]!;
    }
    return out;
  }

  /** `birthDate` moved `days` earlier, unless that would make the patient implausibly old. */
  private shiftBirthDate(birthDate: string, days: number): string {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(birthDate)) return birthDate;
    const shifted = new Date(Date.parse(`${birthDate}T00:00:00Z`) - days * DAY_MS);
    const oldest = Date.UTC(this.now.getUTCFullYear() - MAX_AGE_YEARS, this.now.getUTCMonth(), this.now.getUTCDate());
    return shifted.getTime() < oldest ? birthDate : shifted.toISOString().slice(0, 10);
  }
}

function officialName(patient: Patient): HumanName | undefined {
  return patient.name?.find((n) => n.use === 'official') ?? patient.name?.[0];
}

/** `given.family`, folded to the ASCII letters an e-mail local part allows. */
function emailLocalPart(name: HumanName | undefined): string {
  const fold = (s: string | undefined) =>
    (s ?? '').normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/[^A-Za-z]/g, '').toLowerCase();
  return [fold(name?.given?.[0]), fold(name?.family)].filter(Boolean).join('.').slice(0, 40);
}

function unique(values: string[]): string[] {
  return [...new Set(values)].sort();
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

/** Synthea's test-range SSNs: `999-XX-XXXX`. */
function ssn(n: number): string {
  const digits = pad(n, 6);
  return `999-${digits.slice(0, 2)}-${digits.slice(2)}`;
}

/** The value of an identifier of v2-0203 type `type` for copy `seq` (`uuid` for the UUID-valued ones). */
function identifierValue(type: string | undefined, seq: number, uuid: string): string {
  if (type === 'SS') return ssn(seq % SSN_SPACE);
  if (type === 'DL') return `S${pad(seq % LONG_NUMBER_SPACE, 8)}`;
  if (type === 'PPN') return `X${pad((seq * 7) % LONG_NUMBER_SPACE, 8)}X`;
  return uuid;
}

function areaCode(phone: string): string {
  return /^\+1(\d{3})/.exec(phone)?.[1] ?? '617';
}

/**
 * The 7 digits of a valid NANP number after the area code: exchange 200–999 (never starting 0 or 1)
 * and line from `seq`, so each `seq` (modulo the space) maps to one number.
 */
function phoneNumber(seq: number): string {
  const n = seq % PHONE_SPACE;
  return `${200 + Math.floor(n / 10_000)}${pad(n % 10_000, 4)}`;
}

/**
 * A sample as JSON text split around `@@slot@@` markers: odd entries name the slot (`id:<type>`,
 * `email`, `phone`), even entries are literal JSON.
 */
function template(sample: Patient): string[] {
  const patient = structuredClone(sample);
  for (const identifier of patient.identifier ?? []) {
    if (identifier.value !== undefined) identifier.value = `@@id:${identifier.type?.coding?.[0]?.code ?? ''}@@`;
  }
  for (const telecom of patient.telecom ?? []) {
    if (telecom.system === 'email' && telecom.value) {
      telecom.value = `${emailLocalPart(officialName(patient)) || 'patient'}.@@email@@@example.org`;
    } else if (telecom.system === 'phone' && telecom.value) {
      telecom.value = `+1${areaCode(telecom.value)}@@phone@@`;
    }
  }
  return JSON.stringify(patient).split(/@@([a-z]+:?[A-Z]*)@@/);
}

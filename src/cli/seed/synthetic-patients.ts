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
      const type = identifier.type?.coding?.[0]?.code;
      if (type === 'SS') identifier.value = ssn(seq % SSN_SPACE);
      else if (type === 'DL') identifier.value = `S${pad(seq % LONG_NUMBER_SPACE, 8)}`;
      else if (type === 'PPN') identifier.value = `X${pad((seq * 7) % LONG_NUMBER_SPACE, 8)}X`;
      else if (identifier.value !== undefined) identifier.value = uuid;
    }
    for (const telecom of patient.telecom ?? []) {
      if (telecom.system === 'email' && telecom.value) {
        telecom.value = `${emailLocalPart(name) || 'patient'}.${this.tag}${k}@example.org`;
      } else if (telecom.system === 'phone' && telecom.value) {
        telecom.value = usPhone(telecom.value, seq % PHONE_SPACE);
      }
    }
    return patient;
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

/**
 * A valid NANP number in the sample's area code: exchange 200–999 (never starting 0 or 1) and line
 * from `n`, so `n` maps to one number.
 */
function usPhone(sample: string, n: number): string {
  const area = /^\+1(\d{3})/.exec(sample)?.[1] ?? '617';
  const exchange = 200 + Math.floor(n / 10_000);
  return `+1${area}${exchange}${pad(n % 10_000, 4)}`;
}

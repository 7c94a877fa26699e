const ISO_DURATION =
  /^P(?!$)(?:(\d+(?:\.\d+)?)Y)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?=\d)(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

const MS = { year: 365 * 86_400_000, month: 30 * 86_400_000, week: 7 * 86_400_000, day: 86_400_000, hour: 3_600_000, minute: 60_000, second: 1000 };

/**
 * Parses an ISO 8601 duration (`P7D`, `PT10M`, `P6Y`, `PT0.5S`) into milliseconds. Years count as 365
 * days and months as 30 days: configuration durations are periods, not calendar arithmetic.
 * Returns `undefined` when the text is not a duration.
 */
export function parseIsoDuration(text: string): number | undefined {
  const m = ISO_DURATION.exec(text.trim().toUpperCase());
  if (!m) return undefined;
  const [, y, mo, w, d, h, mi, s] = m;
  const units = [MS.year, MS.month, MS.week, MS.day, MS.hour, MS.minute, MS.second];
  return [y, mo, w, d, h, mi, s].reduce((sum, part, i) => sum + (part ? Number(part) * units[i]! : 0), 0);
}

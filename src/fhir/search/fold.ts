/**
 * Case- and accent-folding for string search (https://hl7.org/fhir/R4/search.html#string):
 * "the search is case-insensitive and accent-insensitive". The same function runs at write time
 * (index entries) and at query time, so both sides always agree.
 *
 * Steps: Unicode compatibility decomposition (NFKD), removal of every combining mark (`\p{M}`),
 * lower-casing, and collapsing runs of white space to one space.
 *
 * @example foldText('Müller') === 'muller'; foldText('ＮÚÑEZ') === 'nunez'
 */
export function foldText(value: string): string {
  return value
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/\s+/gu, ' ')
    .trim();
}

/**
 * The smallest string greater than every string that starts with `prefix`, in code-point order
 * (SQLite BINARY collation and MongoDB's simple collation both compare UTF-8 bytes, i.e. code
 * points). `text >= prefix AND text < prefixUpperBound(prefix)` is a prefix match that an index
 * on `text` serves as a range. Returns `undefined` when no bound exists (prefix of U+10FFFF only).
 */
export function prefixUpperBound(prefix: string): string | undefined {
  const points = Array.from(prefix);
  while (points.length > 0) {
    const last = points.pop()!.codePointAt(0)!;
    if (last < 0x10ffff) {
      let next = last + 1;
      if (next >= 0xd800 && next <= 0xdfff) next = 0xe000; // skip surrogates: not code points
      return points.join('') + String.fromCodePoint(next);
    }
  }
  return undefined;
}

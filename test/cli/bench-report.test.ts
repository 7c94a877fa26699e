import { expect } from 'chai';
import { KEPT_MARKER, withKeptSections } from '../../src/cli/bench/report.js';

describe('bench report file', () => {
  const report = '# Benchmarks\n\nnew run\n';

  it('keeps everything from the marker on when it rewrites the file', () => {
    const previous = `# Benchmarks\n\nold run\n\n${KEPT_MARKER}\n\n## Search on 100,000 patients\n\nkept\n`;
    expect(withKeptSections(report, previous)).to.equal(`# Benchmarks\n\nnew run\n\n${KEPT_MARKER}\n\n## Search on 100,000 patients\n\nkept\n`);
  });

  it('writes the report alone when there is no previous file or no marker', () => {
    expect(withKeptSections(report, undefined)).to.equal(report);
    expect(withKeptSections(report, '# Benchmarks\n\nold run\n')).to.equal(report);
  });

  it('is the marker docs/benchmarks.md carries', async () => {
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(new URL('../../docs/benchmarks.md', import.meta.url), 'utf8')).to.include(KEPT_MARKER);
  });
});

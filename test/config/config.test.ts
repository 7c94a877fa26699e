import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { ConfigError, loadConfig, variables } from '../../src/config/config.js';
import { parseIsoDuration } from '../../src/config/duration.js';

describe('configuration', () => {
  it('has working defaults for every variable', () => {
    const config = loadConfig({});
    expect(config.port).to.equal(8080);
    expect(config.host).to.equal('127.0.0.1');
    expect(config.databaseUrl).to.equal('sqlite:./data/fhir.sqlite');
    expect(config.requireIfMatch).to.equal(true);
    expect(config.uniqueContacts).to.equal(true);
    expect(config.deletionGracePeriodMs).to.equal(7 * 86_400_000);
    expect(config.anonymizationSweepIntervalMs).to.equal(10 * 60_000);
  });

  it('reports one clear line per bad value and never echoes the value', () => {
    try {
      loadConfig({ PORT: 'eighty', REQUIRE_IF_MATCH: 'maybe', DELETION_GRACE_PERIOD: 'secret-7-days', DATABASE_URL: 'postgres://x' });
      expect.fail('should throw');
    } catch (err) {
      expect(err).to.be.instanceOf(ConfigError);
      const { problems } = err as ConfigError;
      expect(problems).to.have.length(4);
      expect(problems.join('\n')).to.include('PORT').and.include('REQUIRE_IF_MATCH').and.include('DELETION_GRACE_PERIOD');
      expect(problems.join('\n')).to.not.include('secret-7-days');
    }
  });

  it('parses ISO 8601 durations', () => {
    expect(parseIsoDuration('P7D')).to.equal(7 * 86_400_000);
    expect(parseIsoDuration('PT10M')).to.equal(600_000);
    expect(parseIsoDuration('PT0.5S')).to.equal(500);
    expect(parseIsoDuration('P1DT2H')).to.equal(86_400_000 + 7_200_000);
    for (const bad of ['', 'P', 'PT', '7D', 'P7', 'PTXM']) expect(parseIsoDuration(bad), bad).to.equal(undefined);
  });

  it('.env.example lists every variable with its default', () => {
    const example = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
    for (const v of variables) expect(example, v.name).to.include(`\n${v.name}=${v.default}\n`);
  });
});

import { expect } from 'chai';
import { foldText, prefixUpperBound } from '../../../src/fhir/search/fold.js';

describe('foldText', () => {
  it('drops case and accents and collapses spaces', () => {
    expect(foldText('Müller')).to.equal('muller');
    expect(foldText('ＮÚÑEZ')).to.equal('nunez');
    expect(foldText('  José   María ')).to.equal('jose maria');
    expect(foldText("O'Brien-Smith")).to.equal("o'brien-smith");
  });
});

describe('prefixUpperBound', () => {
  it('is the least string above every string with the prefix', () => {
    expect(prefixUpperBound('jo')).to.equal('jp');
    expect(prefixUpperBound('a\uffff')).to.equal('a\u{10000}');
    expect(prefixUpperBound('\u{10ffff}')).to.equal(undefined);
    expect(prefixUpperBound('a\u{10ffff}')).to.equal('b');
  });
});

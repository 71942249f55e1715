import { describe, expect, it } from 'vitest';
import { distinctChars, formatCount, normaliseTlds, possibleDomainCount, toSafeNumber } from './domainCount';

const count = (patternType: 'prefix' | 'suffix' | 'both', constantString: string, variableLength: number, characterSet: string, tlds = ['.com']) =>
  possibleDomainCount({ patternType, constantString, variableLength, characterSet, tlds });

describe('possibleDomainCount', () => {
  it('multiplies positions and TLDs for a dash-free set', () => {
    expect(count('prefix', 'shop', 3, 'abcdefghijklmnopqrstuvwxyz0123456789', ['.com', '.net'])).toBe(36n ** 3n * 2n);
    expect(count('suffix', 'shop', 2, 'abc')).toBe(9n);
    expect(count('both', 'shop', 2, 'abc')).toBe(81n);
  });

  it('ignores duplicate characters, keeping first-seen order', () => {
    expect(distinctChars('abcab')).toEqual(['a', 'b', 'c']);
    expect(count('prefix', 'x', 2, 'aab')).toBe(4n);
  });

  it('prefix: the first variable position is the label start and cannot be "-"', () => {
    // label = v0 v1 + "x": v0 ∈ {a,b}, v1 ∈ {a,b,-}
    expect(count('prefix', 'x', 2, 'ab-')).toBe(2n * 3n);
  });

  it('prefix with an empty constant: the last variable position is the label end too', () => {
    expect(count('prefix', '', 2, 'ab-')).toBe(2n * 2n);
    expect(count('prefix', '', 3, 'ab-')).toBe(2n * 3n * 2n);
    // a single position is both the start and the end
    expect(count('prefix', '', 1, 'ab-')).toBe(2n);
  });

  it('suffix: the last variable position is the label end; the first too when the constant is empty', () => {
    expect(count('suffix', 'x', 3, 'ab-')).toBe(3n * 3n * 2n);
    expect(count('suffix', '', 3, 'ab-')).toBe(2n * 3n * 2n);
    expect(count('suffix', '', 1, 'ab-')).toBe(2n);
  });

  it('both: var1[0] and var2[last] are the edges, each run has variableLength positions', () => {
    // var1 = [edge, inner], var2 = [inner, edge]
    expect(count('both', 'x', 2, 'ab-')).toBe(2n * 3n * (3n * 2n));
    // empty constant: var1[last] and var2[0] meet in the middle and stay free
    expect(count('both', '', 2, 'ab-')).toBe(2n * 3n * (3n * 2n));
    expect(count('both', '', 1, 'ab-')).toBe(2n * 2n);
  });

  it('a dash-only set produces nothing at an edge', () => {
    expect(count('prefix', 'x', 1, '-')).toBe(0n);
  });

  it('is exact beyond Number.MAX_SAFE_INTEGER (BigInt)', () => {
    const set = 'abcdefghijklmnopqrstuvwxyz0123456789-'; // 37 chars, 36 without '-'
    const run = 36n * 37n ** 11n;
    const expected = run * run * 3n;
    expect(count('both', 'mid', 12, set, ['.com', '.net', '.org'])).toBe(expected);
    expect(expected > BigInt(Number.MAX_SAFE_INTEGER)).toBe(true);
    expect(toSafeNumber(expected)).toBe(Number.MAX_SAFE_INTEGER);
    expect(toSafeNumber(12n)).toBe(12);
  });

  it('is 0 for incomplete input', () => {
    expect(count('prefix', 'x', 0, 'abc')).toBe(0n);
    expect(count('prefix', 'x', 2.5, 'abc')).toBe(0n);
    expect(count('prefix', 'x', 2, '')).toBe(0n);
    expect(count('prefix', 'x', 2, 'abc', [])).toBe(0n);
  });
});

describe('normaliseTlds', () => {
  it('accepts commas, spaces, missing dots and upper case, and de-duplicates', () => {
    expect(normaliseTlds('com, .NET  org;.com')).toEqual(['.com', '.net', '.org']);
    expect(normaliseTlds('  ')).toEqual([]);
    expect(normaliseTlds('.')).toEqual([]);
  });
});

describe('formatCount', () => {
  it('groups digits, and switches to scientific notation for huge values', () => {
    expect(formatCount(0n)).toBe('0');
    expect(formatCount(1234567n)).toBe('1,234,567');
    expect(formatCount(10n ** 20n * 3n)).toBe('≈ 3.00 × 10^20');
  });
});

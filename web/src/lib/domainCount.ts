import type { PatternType } from '../api/types';

export interface CountInput {
  patternType: PatternType;
  constantString: string;
  variableLength: number;
  characterSet: string;
  /** Already normalised TLDs (see normaliseTlds); their count multiplies the result. */
  tlds: readonly string[];
}

/** Distinct characters of a character set, in first-seen order. */
export function distinctChars(characterSet: string): string[] {
  return [...new Set([...characterSet])];
}

/**
 * Number of distinct domains a discovery pattern can produce — the same rule the server uses:
 * every variable position may take any distinct character of the set, except that a position
 * at the very start or very end of the DNS label may not be '-'. The result is multiplied by
 * the number of TLDs. Returns 0n for an incomplete/invalid input (no chars, bad length, no TLD).
 */
export function possibleDomainCount(input: CountInput): bigint {
  const len = input.variableLength;
  if (!Number.isInteger(len) || len < 1 || input.tlds.length === 0) return 0n;
  const chars = distinctChars(input.characterSet);
  const all = BigInt(chars.length);
  const noDash = BigInt(chars.filter((c) => c !== '-').length);
  const constEmpty = input.constantString.length === 0;

  // Edge flags for one run of variable positions.
  const run = (firstIsEdge: boolean, lastIsEdge: boolean): bigint => {
    let n = 1n;
    for (let i = 0; i < len; i++) {
      const edge = (i === 0 && firstIsEdge) || (i === len - 1 && lastIsEdge);
      n *= edge ? noDash : all;
    }
    return n;
  };

  let perTld: bigint;
  switch (input.patternType) {
    case 'prefix': // label = var + constant
      perTld = run(true, constEmpty);
      break;
    case 'suffix': // label = constant + var
      perTld = run(constEmpty, true);
      break;
    case 'both': // label = var1 + constant + var2
      perTld = run(true, false) * run(false, true);
      break;
    default:
      return 0n;
  }
  return perTld * BigInt(input.tlds.length);
}

/** TLDs typed as "com, .net  org" → [".com", ".net", ".org"] (lower-case, de-duplicated). */
export function normaliseTlds(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split(/[\s,;]+/)) {
    const t = raw.trim().toLowerCase();
    if (!t || t === '.') continue;
    const tld = t.startsWith('.') ? t : `.${t}`;
    if (!out.includes(tld)) out.push(tld);
  }
  return out;
}

/** Human-readable count: exact with separators up to 10^15, scientific beyond. */
export function formatCount(n: bigint): string {
  if (n < 1_000_000_000_000_000n) return groupDigits(n.toString());
  const s = n.toString();
  const exp = s.length - 1;
  return `≈ ${s[0]}.${s.slice(1, 3)} × 10^${exp}`;
}

function groupDigits(s: string): string {
  return s.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** A BigInt clamped into a safe JS number (for comparisons with form numbers). */
export function toSafeNumber(n: bigint): number {
  return n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n);
}

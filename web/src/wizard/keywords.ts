/**
 * The wizard's keywords section (config.keywords, API.md): terms one per line, paths one per
 * line, match any/all. Client checks mirror the server's ranges; the server stays authoritative.
 * No terms → no `keywords` in the request (the phase then is not ready; readiness says so).
 */
import type { KeywordMatch, KeywordsInput } from '../api/types';

export const KEYWORD_LIMITS = { maxTerms: 50, maxTermChars: 64, maxPaths: 5 } as const;

const lines = (s: string): string[] =>
  s
    .split(/\r?\n/)
    .map((x) => x.trim())
    .filter((x) => x.length > 0);

export const parseTerms = lines;

/** Paths one per line; none given means the default `["/"]`. */
export function parsePaths(s: string): string[] {
  const p = lines(s);
  return p.length ? p : ['/'];
}

const chars = (s: string) => Array.from(s).length;

export interface KeywordErrors {
  keywordTerms?: string;
  keywordPaths?: string;
}

export function validateKeywords(terms: string, paths: string): KeywordErrors {
  const e: KeywordErrors = {};
  const t = parseTerms(terms);
  if (t.length === 0) {
    // Keywords are optional at create; paths are only checked when there is something to scan.
    return e;
  }
  if (t.length > KEYWORD_LIMITS.maxTerms) e.keywordTerms = `At most ${KEYWORD_LIMITS.maxTerms} terms (you have ${t.length}).`;
  else {
    const long = t.filter((x) => chars(x) > KEYWORD_LIMITS.maxTermChars);
    // Terms match case-insensitively, so "Sale" and "sale" are the same term.
    const seen = new Set<string>();
    const dupes = t.filter((x) => {
      const k = x.toLowerCase();
      if (seen.has(k)) return true;
      seen.add(k);
      return false;
    });
    // Terms match whole words, so each needs a letter or digit.
    const wordless = t.filter((x) => !/[\p{L}\p{N}]/u.test(x));
    if (long.length) e.keywordTerms = `At most ${KEYWORD_LIMITS.maxTermChars} characters per term: ${long.map((x) => `“${x.slice(0, 20)}…”`).join(', ')}`;
    else if (wordless.length) e.keywordTerms = `Each term needs a letter or digit (terms match whole words): ${wordless.map((x) => `“${x}”`).join(', ')}`;
    else if (dupes.length) e.keywordTerms = `Each term once (terms match case-insensitively): ${dupes.map((x) => `“${x}”`).join(', ')} repeated.`;
  }
  const p = parsePaths(paths);
  if (p.length > KEYWORD_LIMITS.maxPaths) e.keywordPaths = `At most ${KEYWORD_LIMITS.maxPaths} paths (you have ${p.length}).`;
  else {
    // As the server checks them: a path (not `//host`), printable ASCII, no fragment.
    const bad = p.filter((x) => !x.startsWith('/') || x.startsWith('//') || /[^\x21-\x7e]|#/.test(x));
    if (bad.length) e.keywordPaths = `Absolute paths starting with “/”, without spaces, “#” or non-ASCII characters: ${bad.join(', ')}`;
  }
  return e;
}

export function toKeywordsConfig(terms: string, paths: string, match: KeywordMatch): KeywordsInput | undefined {
  const t = parseTerms(terms);
  if (t.length === 0) return undefined;
  return { terms: t, paths: parsePaths(paths), match };
}

import { describe, expect, it } from 'vitest';
import type { Persona } from '../api/types';
import { parsePaths, toKeywordsConfig, validateKeywords } from './keywords';
import { fullAutoWarnings, wizardNeeds } from './readiness';
import { fieldForDetail, initialState, toCreateRequest, validateStep } from './state';

describe('keywords', () => {
  it('is optional: no terms, no keywords in the request', () => {
    expect(validateKeywords('', 'not a path')).toEqual({});
    expect(toKeywordsConfig(' \n ', '/', 'any')).toBeUndefined();
    expect(toCreateRequest(initialState().values).config).not.toHaveProperty('keywords');
  });

  it('trims lines, defaults the paths to /', () => {
    expect(parsePaths('')).toEqual(['/']);
    expect(toKeywordsConfig(' running shoes \n\nsale\n', '\n/\n/shop \n', 'all')).toEqual({ terms: ['running shoes', 'sale'], paths: ['/', '/shop'], match: 'all' });
    const req = toCreateRequest(initialState({ keywordTerms: 'sale', keywordPaths: '' }).values);
    expect(req.config.keywords).toEqual({ terms: ['sale'], paths: ['/'], match: 'any' });
  });

  it('checks the ranges of API.md', () => {
    expect(validateKeywords(Array.from({ length: 51 }, (_, i) => `t${i}`).join('\n'), '/').keywordTerms).toMatch(/At most 50 terms/);
    expect(validateKeywords(Array.from({ length: 50 }, (_, i) => `t${i}`).join('\n'), '/')).toEqual({});
    expect(validateKeywords('x'.repeat(65), '/').keywordTerms).toMatch(/64 characters/);
    expect(validateKeywords('é'.repeat(64), '/')).toEqual({});
    expect(validateKeywords('Sale\nsale', '/').keywordTerms).toMatch(/repeated/);
    expect(validateKeywords('a', 'shop').keywordPaths).toMatch(/Absolute paths/);
    expect(validateKeywords('a', '/a b').keywordPaths).toMatch(/without spaces/);
    expect(validateKeywords('a', '//host/x').keywordPaths).toMatch(/Absolute paths/);
    expect(validateKeywords('a', '/page#top').keywordPaths).toMatch(/“#”/);
    expect(validateKeywords('a', '/café').keywordPaths).toMatch(/non-ASCII/);
    expect(validateKeywords('a', '/search?q=1&x=%20')).toEqual({});
    expect(validateKeywords('sale\n--', '/').keywordTerms).toMatch(/letter or digit.*“--”/);
    expect(validateKeywords('écoute\n42', '/')).toEqual({});
    expect(validateKeywords('a', '/1\n/2\n/3\n/4\n/5\n/6').keywordPaths).toMatch(/At most 5 paths/);
    expect(validateStep(3, initialState({ keywordTerms: 'a', keywordPaths: 'x' }).values)).toHaveProperty('keywordPaths');
  });

  it('maps 422 details to the keywords fields', () => {
    expect(fieldForDetail('config.keywords.terms[3]')).toBe('keywordTerms');
    expect(fieldForDetail('config.keywords.paths[0]')).toBe('keywordPaths');
    expect(fieldForDetail('config.keywords.match')).toBe('keywordMatch');
    expect(fieldForDetail('config.keywords')).toBe('keywordTerms');
  });
});

describe('wizard readiness warnings', () => {
  const meta = { createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z', version: 1 };
  const p = (id: string, kind: 'dns' | 'http', enabled = true, config: Record<string, unknown> = {}): Persona => ({ id, name: id, kind, enabled, config, ...meta });
  const personas = [p('dns1', 'dns', true, { resolvers: ['1.1.1.1:53'] }), p('dns-off', 'dns', false), p('web', 'http'), p('web-off', 'http', false)];

  it('no DNS persona → stops before validation; keywords needs terms and an http persona', () => {
    const n = wizardNeeds({ personaIds: [], proxyIds: [], keywordTerms: '' }, personas);
    expect(fullAutoWarnings(n)).toEqual([
      'Full Auto will stop before validation: no DNS persona selected (step 3).',
      'Keywords will also need: no keyword terms (step 4); no HTTP persona selected (step 3).',
    ]);
  });

  it('a configured DNS persona moves the stop to keywords', () => {
    expect(fullAutoWarnings(wizardNeeds({ personaIds: ['dns1'], proxyIds: [], keywordTerms: 'sale' }, personas))).toEqual([
      'Full Auto will stop before keywords: no HTTP persona selected (step 3).',
    ]);
    expect(wizardNeeds({ personaIds: ['dns1', 'web'], proxyIds: [], keywordTerms: 'sale' }, personas)).toEqual([]);
  });

  it('the first persona of a kind must be enabled', () => {
    expect(wizardNeeds({ personaIds: ['dns-off', 'dns1', 'web-off'], proxyIds: ['px'], keywordTerms: 'x' }, personas, [{ id: 'px', address: 'http://127.0.0.1:3999', enabled: false, ...meta }])).toEqual([
      { phase: 'discovery', problems: ['the persona “dns-off” is disabled', 'the persona “web-off” is disabled', 'the proxy http://127.0.0.1:3999 is disabled'] },
      { phase: 'validation', problems: ['the DNS persona “dns-off” is disabled'] },
      { phase: 'keywords', problems: ['the HTTP persona “web-off” is disabled'] },
    ]);
    expect(wizardNeeds({ personaIds: ['d0', 'web'], proxyIds: [], keywordTerms: 'x' }, [p('d0', 'dns', true, { resolvers: [] }), p('web', 'http')])[0].problems).toEqual([
      'the DNS persona “d0” has no resolvers',
    ]);
  });
});

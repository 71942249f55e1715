import { describe, expect, it } from 'vitest';
import { HTTP_DEFAULTS, httpFieldFor, parseHeaders, validateHttpPersona } from './httpPersona';

const form = (over: Partial<typeof HTTP_DEFAULTS> = {}) => ({ ...HTTP_DEFAULTS, ...over });

describe('http persona', () => {
  it('the defaults are valid and become the config, in bytes', () => {
    const r = validateHttpPersona(form({ headers: 'Accept-Language: en\nX-Test:  1 ' }));
    expect(r.errors).toEqual({});
    expect(r.config).toEqual({
      userAgent: HTTP_DEFAULTS.userAgent,
      headers: { 'Accept-Language': 'en', 'X-Test': '1' },
      scheme: 'https',
      timeoutMs: 5000,
      concurrency: 16,
      rateLimitPerSecond: 50,
      maxBodyBytes: 262_144,
      followRedirects: 3,
    });
    expect(validateHttpPersona(form({ scheme: 'http', port: '8080' })).config).toMatchObject({ scheme: 'http', port: 8080 });
  });

  it('checks every range of API.md at both ends', () => {
    const edges: [keyof typeof HTTP_DEFAULTS, string, string][] = [
      ['port', '1', '0'],
      ['port', '65535', '65536'],
      ['timeoutMs', '100', '99'],
      ['timeoutMs', '30000', '30001'],
      ['concurrency', '1', '0'],
      ['concurrency', '128', '129'],
      ['rateLimitPerSecond', '1000', '1001'],
      ['maxBodyKiB', '1', '0'],
      ['maxBodyKiB', '1024', '1025'],
      ['followRedirects', '0', '-1'],
      ['followRedirects', '5', '6'],
    ];
    for (const [field, ok, bad] of edges) {
      expect(validateHttpPersona(form({ [field]: ok })).errors, `${field}=${ok}`).toEqual({});
      expect(validateHttpPersona(form({ [field]: bad })).errors, `${field}=${bad}`).toHaveProperty(field);
    }
    expect(validateHttpPersona(form({ timeoutMs: '1.5' })).errors).toHaveProperty('timeoutMs');
    expect(validateHttpPersona(form({ userAgent: ' ' })).errors.userAgent).toBe('Enter a user agent.');
    expect(validateHttpPersona(form({ userAgent: 'x'.repeat(256) })).errors).toEqual({});
    expect(validateHttpPersona(form({ userAgent: 'x'.repeat(257) })).errors).toHaveProperty('userAgent');
  });

  it('headers: ≤ 20, no Host/Content-Length/Transfer-Encoding, no duplicates, Name: value', () => {
    expect(parseHeaders(Array.from({ length: 20 }, (_, i) => `X-${i}: v`).join('\n')).error).toBeUndefined();
    expect(parseHeaders(Array.from({ length: 21 }, (_, i) => `X-${i}: v`).join('\n')).error).toMatch(/At most 20/);
    expect(parseHeaders('host: example.com').error).toMatch(/set by the phase/);
    expect(parseHeaders('Content-Length: 3').error).toMatch(/set by the phase/);
    expect(parseHeaders('Transfer-Encoding: chunked').error).toMatch(/set by the phase/);
    expect(parseHeaders('X-A: 1\nx-a: 2').error).toMatch(/twice/);
    expect(parseHeaders('no colon').error).toMatch(/Name: value/);
    expect(parseHeaders('Bad Name: 1').error).toMatch(/Name: value/);
    expect(parseHeaders('X-Empty:').headers).toEqual({ 'X-Empty': '' });
  });

  it('puts server details on their fields', () => {
    expect(httpFieldFor('config.userAgent')).toBe('userAgent');
    expect(httpFieldFor('config.headers.Host')).toBe('headers');
    expect(httpFieldFor('config.maxBodyBytes')).toBe('maxBodyKiB');
    expect(httpFieldFor('config.unknown')).toBeNull();
  });
});

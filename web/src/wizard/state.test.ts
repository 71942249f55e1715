import { describe, expect, it } from 'vitest';
import { fieldForDetail, initialState, possibleCount, toCreateRequest, validateStep, wizardReducer, type WizardAction, type WizardState } from './state';

const run = (s: WizardState, ...actions: WizardAction[]) => actions.reduce(wizardReducer, s);
const valid = () =>
  initialState({
    name: 'Shoes Q4',
    patternType: 'prefix',
    constantString: 'shop',
    variableLength: '2',
    characterSet: 'abc',
    tlds: 'com, .net',
    numDomains: '10',
  });

describe('wizard navigation', () => {
  it('starts on step 0 with Full Auto preselected', () => {
    const s = initialState();
    expect(s.step).toBe(0);
    expect(s.values.mode).toBe('full_sequence');
    expect(s.submitting).toBe('idle');
  });

  it('blocks Next while the current step is invalid and shows the field error', () => {
    const s = run(initialState(), { type: 'next' });
    expect(s.step).toBe(0);
    expect(s.errors.name).toMatch(/name/i);
    const s2 = run(s, { type: 'set', field: 'name', value: 'X' });
    expect(s2.errors.name).toBeUndefined();
    expect(run(s2, { type: 'next' }).step).toBe(1);
  });

  it('walks forward and back; the stepper only jumps to reached steps', () => {
    let s = run(valid(), { type: 'next' }, { type: 'next' });
    expect(s.step).toBe(2);
    expect(s.reached).toBe(2);
    s = run(s, { type: 'goto', step: 3 });
    expect(s.step).toBe(2); // not reached yet
    s = run(s, { type: 'back' }, { type: 'back' }, { type: 'back' });
    expect(s.step).toBe(0);
    s = run(s, { type: 'goto', step: 2 });
    expect(s.step).toBe(2);
  });

  it('goto stops at the first invalid earlier step', () => {
    let s = run(valid(), { type: 'next' }, { type: 'next' }, { type: 'goto', step: 0 });
    s = run(s, { type: 'set', field: 'name', value: '' }, { type: 'goto', step: 2 });
    expect(s.step).toBe(0);
    expect(s.errors.name).toBeDefined();
  });

  it('toggles persona and proxy selections', () => {
    let s = run(valid(), { type: 'toggle', field: 'proxyIds', id: 'p1' }, { type: 'toggle', field: 'proxyIds', id: 'p2' });
    expect(s.values.proxyIds).toEqual(['p1', 'p2']);
    s = run(s, { type: 'toggle', field: 'proxyIds', id: 'p1' }, { type: 'toggle', field: 'personaIds', id: 'x' });
    expect(s.values.proxyIds).toEqual(['p2']);
    expect(s.values.personaIds).toEqual(['x']);
  });
});

describe('discovery validation', () => {
  const v = valid().values;
  it('accepts a valid configuration', () => {
    expect(validateStep(1, v)).toEqual({});
  });
  it('rejects more domains than the pattern can produce', () => {
    // 3^2 × 2 TLDs = 18
    expect(possibleCount(v)).toBe(18n);
    expect(validateStep(1, { ...v, numDomains: '18' })).toEqual({});
    expect(validateStep(1, { ...v, numDomains: '19' }).numDomains).toMatch(/18/);
  });
  it('checks ranges and character classes', () => {
    expect(validateStep(1, { ...v, variableLength: '13' }).variableLength).toBeDefined();
    expect(validateStep(1, { ...v, variableLength: 'x' }).variableLength).toBeDefined();
    expect(validateStep(1, { ...v, characterSet: 'aaaa' }).characterSet).toMatch(/2 distinct/);
    expect(validateStep(1, { ...v, characterSet: 'AB' }).characterSet).toBeDefined();
    expect(validateStep(1, { ...v, constantString: 'sh op' }).constantString).toBeDefined();
    expect(validateStep(1, { ...v, tlds: '' }).tlds).toBeDefined();
    expect(validateStep(1, { ...v, tlds: 'c-' }).tlds).toMatch(/\.c-/);
    expect(validateStep(1, { ...v, tlds: '.co.uk, io' })).toEqual({});
    expect(validateStep(1, { ...v, tlds: '.co..uk' }).tlds).toBeDefined();
    expect(validateStep(1, { ...v, constantString: 'shop-' }).constantString).toMatch(/'-'/);
    expect(validateStep(1, { ...v, constantString: '-shop' })).toEqual({});
    expect(validateStep(1, { ...v, patternType: 'suffix', constantString: '-shop' }).constantString).toBeDefined();
    expect(validateStep(1, { ...v, numDomains: '0' }).numDomains).toBeDefined();
    expect(validateStep(1, { ...v, numDomains: '1000001' }).numDomains).toBeDefined();
  });
  it('rejects labels longer than 63 characters', () => {
    const long = { ...v, constantString: 'a'.repeat(50), patternType: 'both' as const, variableLength: '7' };
    expect(validateStep(1, long).variableLength).toMatch(/64/);
  });
});

describe('submit', () => {
  it('builds the exact request body (normalised TLDs, numbers)', () => {
    const s = run(valid(), { type: 'set', field: 'mode', value: 'step_by_step' }, { type: 'toggle', field: 'personaIds', id: 'pa' });
    expect(toCreateRequest(s.values)).toEqual({
      name: 'Shoes Q4',
      mode: 'step_by_step',
      config: {
        discovery: { patternType: 'prefix', constantString: 'shop', variableLength: 2, characterSet: 'abc', tlds: ['.com', '.net'], numDomains: 10 },
        personaIds: ['pa'],
        proxyIds: [],
      },
    });
  });

  it('refuses to submit an invalid wizard and jumps to the first bad step', () => {
    let s = run(valid(), { type: 'next' }, { type: 'next' }, { type: 'next' });
    s = { ...s, values: { ...s.values, numDomains: '999' } };
    s = run(s, { type: 'submit_start', key: 'k1' });
    expect(s.submitting).toBe('idle');
    expect(s.step).toBe(1);
    expect(s.errors.numDomains).toBeDefined();
  });

  it('locks the form while submitting: edits, navigation and a second submit are ignored', () => {
    let s = run(valid(), { type: 'next' }, { type: 'next' }, { type: 'next' }, { type: 'submit_start', key: 'k1' });
    expect(s.submitting).toBe('creating');
    const locked = run(s, { type: 'set', field: 'name', value: 'other' }, { type: 'back' }, { type: 'goto', step: 0 }, { type: 'submit_start', key: 'k2' });
    expect(locked.values.name).toBe('Shoes Q4');
    expect(locked.step).toBe(3);
    expect(locked.idempotency?.key).toBe('k1');
    s = run(s, { type: 'submit_stage', stage: 'starting' });
    expect(s.submitting).toBe('starting');
    expect(run(s, { type: 'submit_done' }).submitting).toBe('idle');
  });

  it('reuses the Idempotency-Key for the same body and takes a new one when the body changes', () => {
    let s = run(valid(), { type: 'submit_start', key: 'k1' }, { type: 'submit_failed', message: 'network' });
    s = run(s, { type: 'submit_start', key: 'k2' });
    expect(s.idempotency?.key).toBe('k1');
    s = run(s, { type: 'submit_failed', message: 'again' }, { type: 'set', field: 'name', value: 'Shoes Q5' }, { type: 'submit_start', key: 'k3' });
    expect(s.idempotency?.key).toBe('k3');
  });

  it('puts 422 details on their fields and moves to the first step that has one', () => {
    let s = run(valid(), { type: 'next' }, { type: 'next' }, { type: 'next' }, { type: 'submit_start', key: 'k' });
    s = run(s, {
      type: 'submit_failed',
      message: 'Invalid config',
      details: [
        { field: 'config.proxyIds[0]', problem: 'unknown proxy' },
        { field: 'config.discovery.tlds[1]', problem: 'not a valid TLD' },
        { field: 'config.discovery.numDomains', problem: 'too many' },
        { field: 'somethingElse', problem: 'odd' },
      ],
    });
    expect(s.submitting).toBe('idle');
    expect(s.step).toBe(1);
    expect(s.errors).toMatchObject({ proxyIds: 'unknown proxy', tlds: 'not a valid TLD', numDomains: 'too many' });
    expect(s.formError).toContain('somethingElse: odd');
    // editing a field clears its error
    expect(run(s, { type: 'set', field: 'tlds', value: '.org' }).errors.tlds).toBeUndefined();
  });
});

describe('fieldForDetail', () => {
  it.each([
    ['name', 'name'],
    ['config.discovery.characterSet', 'characterSet'],
    ['discovery.variableLength', 'variableLength'],
    ['config.discovery', 'discovery'],
    ['config.personaIds[2]', 'personaIds'],
    ['proxyIds', 'proxyIds'],
    ['mode', 'mode'],
    ['config.discovery.labels', 'discovery'],
    ['foo.bar', null],
  ])('%s → %s', (field, key) => {
    expect(fieldForDetail(field)).toBe(key);
  });
});

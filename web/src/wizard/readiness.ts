/**
 * What the wizard can tell before the create about where Full Auto will stop: the same pre-start
 * checks the server reports as `readiness` (API.md), computed from the form and the persona list.
 * Validation needs the campaign's DNS persona (the first selected persona of kind dns); keywords
 * needs terms and an `http` persona. Every selected persona must be enabled.
 */
import type { Persona, Proxy } from '../api/types';
import { parseTerms } from './keywords';
import type { WizardValues } from './state';

export interface WizardNeeds {
  phase: 'discovery' | 'validation' | 'keywords';
  problems: string[];
}

function personaProblem(kind: 'dns' | 'http', values: Pick<WizardValues, 'personaIds'>, personas: Persona[]): string | null {
  const chosen = values.personaIds.map((id) => personas.find((p) => p.id === id)).filter((p): p is Persona => !!p && p.kind === kind);
  const label = kind.toUpperCase();
  if (chosen.length === 0) return `no ${label} persona selected (step 3)`;
  const first = chosen[0];
  if (!first.enabled) return `the ${label} persona “${first.name}” is disabled`;
  if (kind === 'dns') {
    const resolvers = (first.config as { resolvers?: unknown }).resolvers;
    if (Array.isArray(resolvers) && resolvers.length === 0) return `the DNS persona “${first.name}” has no resolvers`;
  }
  return null;
}

/**
 * Phases that are not configured, in pipeline order (empty: nothing stops it). Discovery's
 * pre-start checks need every selected persona and proxy enabled.
 */
export function wizardNeeds(
  values: Pick<WizardValues, 'personaIds' | 'proxyIds' | 'keywordTerms'>,
  personas: Persona[],
  proxies: Proxy[] = [],
): WizardNeeds[] {
  const out: WizardNeeds[] = [];
  const disabled = [
    ...personas.filter((p) => values.personaIds.includes(p.id) && !p.enabled).map((p) => `the persona “${p.name}” is disabled`),
    ...proxies.filter((p) => values.proxyIds.includes(p.id) && !p.enabled).map((p) => `the proxy ${p.address} is disabled`),
  ];
  if (disabled.length) out.push({ phase: 'discovery', problems: disabled });
  const dns = personaProblem('dns', values, personas);
  if (dns) out.push({ phase: 'validation', problems: [dns] });
  const kw: string[] = [];
  if (parseTerms(values.keywordTerms).length === 0) kw.push('no keyword terms (step 4)');
  const http = personaProblem('http', values, personas);
  if (http) kw.push(http);
  if (kw.length) out.push({ phase: 'keywords', problems: kw });
  return out;
}

/** "Full Auto will stop before validation: no DNS persona selected (step 3)." and what comes after. */
export function fullAutoWarnings(needs: WizardNeeds[]): string[] {
  return needs.map((n, i) =>
    i === 0 ? `Full Auto will stop before ${n.phase}: ${n.problems.join('; ')}.` : `${n.phase.charAt(0).toUpperCase()}${n.phase.slice(1)} will also need: ${n.problems.join('; ')}.`,
  );
}

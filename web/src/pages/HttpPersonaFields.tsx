/** The `http` persona's fields on the Personas page (user agent, headers, scheme, port, limits). */
import type { ReactElement } from 'react';
import { HTTP_LIMITS, type HttpField, type HttpPersonaForm } from '../lib/httpPersona';

interface Props {
  form: HttpPersonaForm;
  errors: Partial<Record<HttpField, string>>;
  onChange: (f: HttpPersonaForm) => void;
}

const NUMBERS: [HttpField, string, string][] = [
  ['timeoutMs', 'Time-out (ms)', `${HTTP_LIMITS.timeoutMs[0]}–${HTTP_LIMITS.timeoutMs[1].toLocaleString('en')} ms per request.`],
  ['concurrency', 'Concurrency', `${HTTP_LIMITS.concurrency[0]}–${HTTP_LIMITS.concurrency[1]} requests at once.`],
  ['rateLimitPerSecond', 'Rate limit (per second)', `${HTTP_LIMITS.rateLimitPerSecond[0]}–${HTTP_LIMITS.rateLimitPerSecond[1]} requests per second.`],
  ['maxBodyKiB', 'Max body (KiB)', `${HTTP_LIMITS.maxBodyKiB[0]}–${HTTP_LIMITS.maxBodyKiB[1]} KiB; a longer body is cut and still scanned.`],
  ['followRedirects', 'Redirects to follow', `${HTTP_LIMITS.followRedirects[0]}–${HTTP_LIMITS.followRedirects[1]}.`],
];

export function HttpPersonaFields({ form, errors, onChange }: Props) {
  const set = (k: HttpField, v: string) => onChange({ ...form, [k]: v });
  const a11y = (k: HttpField) => ({
    id: `http-${k}`,
    'aria-invalid': errors[k] ? (true as const) : undefined,
    'aria-describedby': [errors[k] ? `http-${k}-error` : null, `http-${k}-hint`].filter(Boolean).join(' '),
  });
  const field = (k: HttpField, label: string, hint: string, input: ReactElement) => (
    <div className={`field${errors[k] ? ' has-error' : ''}`} key={k}>
      <label htmlFor={`http-${k}`}>{label}</label>
      {input}
      <p id={`http-${k}-hint`} className="hint">
        {hint}
      </p>
      {errors[k] && (
        <p id={`http-${k}-error`} className="field-error">
          {errors[k]}
        </p>
      )}
    </div>
  );
  return (
    <fieldset className="group">
      <legend>HTTP settings</legend>
      {field('userAgent', 'User agent', `1–${HTTP_LIMITS.userAgentChars} characters, sent with every request.`, (
        <input {...a11y('userAgent')} value={form.userAgent} onChange={(e) => set('userAgent', e.target.value)} />
      ))}
      {field('headers', 'Extra headers', `“Name: value”, one per line, at most ${HTTP_LIMITS.headers}; not Host or Content-Length.`, (
        <textarea {...a11y('headers')} rows={3} value={form.headers} onChange={(e) => set('headers', e.target.value)} />
      ))}
      <div className="grid2">
        {field('scheme', 'Scheme', 'How each domain is fetched.', (
          <select {...a11y('scheme')} value={form.scheme} onChange={(e) => set('scheme', e.target.value)}>
            <option value="https">https</option>
            <option value="http">http</option>
          </select>
        ))}
        {field('port', 'Port', `${HTTP_LIMITS.port[0]}–${HTTP_LIMITS.port[1]}; empty for ${form.scheme === 'http' ? 80 : 443}.`, (
          <input {...a11y('port')} inputMode="numeric" value={form.port} placeholder={form.scheme === 'http' ? '80' : '443'} onChange={(e) => set('port', e.target.value)} />
        ))}
        {NUMBERS.map(([k, label, hint]) =>
          field(k, label, hint, <input {...a11y(k)} inputMode="numeric" value={form[k]} onChange={(e) => set(k, e.target.value)} />),
        )}
      </div>
    </fieldset>
  );
}

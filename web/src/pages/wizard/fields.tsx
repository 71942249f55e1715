/** Labelled form fields of the wizard: error and hint wired through aria-describedby. */
import type { ReactNode } from 'react';
import type { FieldKey } from '../../wizard/state';

/** Props for the input of field `key`: id, aria-invalid, aria-describedby (error, then hint). */
export const fieldProps =
  (errors: Partial<Record<FieldKey, string>>) =>
  (key: FieldKey, hint?: string) => ({
    id: `f-${key}`,
    'aria-invalid': errors[key] ? (true as const) : undefined,
    'aria-describedby': [errors[key] ? `f-${key}-error` : null, hint ? `f-${key}-hint` : null].filter(Boolean).join(' ') || undefined,
  });

export function FieldError({ k, error }: { k: FieldKey; error?: string }) {
  if (!error) return null;
  return (
    <p id={`f-${k}-error`} className="field-error">
      {error}
    </p>
  );
}

export function Field({ k, label, error, hint, children }: { k: FieldKey; label: string; error?: string; hint?: string; children: ReactNode }) {
  return (
    <div className={`field${error ? ' has-error' : ''}`}>
      <label htmlFor={`f-${k}`}>{label}</label>
      {children}
      {hint && (
        <p id={`f-${k}-hint`} className="hint">
          {hint}
        </p>
      )}
      <FieldError k={k} error={error} />
    </div>
  );
}

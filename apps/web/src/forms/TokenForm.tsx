import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { CreateTokenBody } from '../api';
import { Field } from '../components/Field';
import { ErrorMessage } from '../components/ErrorMessage';
import { hasErrors, tokenInputToBody, validateToken, type Errors, type TokenField, type TokenInput } from '../validation';

export function TokenForm({ onSubmit }: { onSubmit: (body: CreateTokenBody) => Promise<void> }) {
  const { t } = useTranslation();
  const [input, setInput] = useState<TokenInput>({ uses: '1', expiresInHours: '24', autoApprove: false, note: '' });
  const [errors, setErrors] = useState<Errors<TokenField>>({});
  const [failure, setFailure] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const set = <K extends TokenField>(key: K, value: TokenInput[K]) => setInput((prev) => ({ ...prev, [key]: value }));

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const found = validateToken(input);
    setErrors(found);
    if (hasErrors(found)) return;
    setBusy(true);
    setFailure(null);
    try {
      await onSubmit(tokenInputToBody(input));
    } catch (err) {
      setFailure(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={submit} noValidate className="form-grid" aria-label={t('tokens.create')}>
      <ErrorMessage error={failure} />
      <Field label={t('tokens.uses')} error={errors.uses}>
        {(p) => <input {...p} inputMode="numeric" value={input.uses} onChange={(e) => set('uses', e.target.value)} />}
      </Field>
      <Field label={t('tokens.expiresInHours')} error={errors.expiresInHours}>
        {(p) => (
          <input {...p} inputMode="decimal" value={input.expiresInHours} onChange={(e) => set('expiresInHours', e.target.value)} />
        )}
      </Field>
      <Field label={t('tokens.note')} error={errors.note}>
        {(p) => <input {...p} value={input.note} onChange={(e) => set('note', e.target.value)} />}
      </Field>
      <label className="checkbox">
        <input type="checkbox" checked={input.autoApprove} onChange={(e) => set('autoApprove', e.target.checked)} />
        {t('tokens.autoApprove')}
      </label>
      <div className="actions">
        <button type="submit" className="primary" disabled={busy}>
          {t('tokens.create')}
        </button>
      </div>
    </form>
  );
}

import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { ErrorMessage } from '../components/ErrorMessage';
import { Field } from '../components/Field';
import { hasErrors, validatePasswordChange, type Errors } from '../validation';

type PasswordField = 'current' | 'password' | 'confirm';

/** The signed-in user's own password change; `onSubmit` throws the server's refusal (a wrong current password). */
export function PasswordForm({ onSubmit }: { onSubmit: (current: string, next: string) => Promise<void> }) {
  const { t } = useTranslation();
  const empty = { current: '', password: '', confirm: '' };
  const [input, setInput] = useState(empty);
  const [errors, setErrors] = useState<Errors<PasswordField>>({});
  const [failure, setFailure] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [changed, setChanged] = useState(false);
  const set = (key: PasswordField, value: string) => setInput((prev) => ({ ...prev, [key]: value }));

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const found = validatePasswordChange(input);
    setErrors(found);
    if (hasErrors(found)) return;
    setBusy(true);
    setFailure(null);
    try {
      await onSubmit(input.current, input.password);
      setInput(empty);
      setChanged(true);
    } catch (err) {
      setFailure(err);
    } finally {
      setBusy(false);
    }
  };

  if (changed) return <p role="status">{t('account.changed')}</p>;
  return (
    <form onSubmit={submit} noValidate className="form-grid" aria-label={t('account.changePassword')}>
      <ErrorMessage error={failure} />
      <Field label={t('account.current')} error={errors.current}>
        {(p) => <input {...p} type="password" autoComplete="current-password" value={input.current} onChange={(e) => set('current', e.target.value)} />}
      </Field>
      <Field label={t('account.new')} error={errors.password}>
        {(p) => <input {...p} type="password" autoComplete="new-password" value={input.password} onChange={(e) => set('password', e.target.value)} />}
      </Field>
      <Field label={t('account.confirm')} error={errors.confirm}>
        {(p) => <input {...p} type="password" autoComplete="new-password" value={input.confirm} onChange={(e) => set('confirm', e.target.value)} />}
      </Field>
      <div className="actions full">
        <button type="submit" className="primary" disabled={busy}>
          {t('account.submit')}
        </button>
      </div>
    </form>
  );
}

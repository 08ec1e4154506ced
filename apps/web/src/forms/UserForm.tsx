import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { Field } from '../components/Field';
import { ErrorMessage } from '../components/ErrorMessage';
import { ROLES, type Role } from '../types';
import { hasErrors, validateUser, type Errors, type UserField, type UserInput } from '../validation';

export function UserForm({ onSubmit }: { onSubmit: (body: { username: string; password: string; role: Role }) => Promise<void> }) {
  const { t } = useTranslation();
  const empty: UserInput = { username: '', password: '', confirm: '', role: 'viewer' };
  const [input, setInput] = useState<UserInput>(empty);
  const [errors, setErrors] = useState<Errors<UserField>>({});
  const [failure, setFailure] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const set = (key: UserField, value: string) => setInput((prev) => ({ ...prev, [key]: value }));

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const found = validateUser(input);
    setErrors(found);
    if (hasErrors(found)) return;
    setBusy(true);
    setFailure(null);
    try {
      await onSubmit({ username: input.username.trim(), password: input.password, role: input.role as Role });
      setInput(empty);
    } catch (err) {
      setFailure(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={submit} noValidate className="form-grid" aria-label={t('users.create')}>
      <ErrorMessage error={failure} />
      <Field label={t('users.username')} error={errors.username}>
        {(p) => <input {...p} autoComplete="off" value={input.username} onChange={(e) => set('username', e.target.value)} />}
      </Field>
      <Field label={t('users.role')} error={errors.role}>
        {(p) => (
          <select {...p} value={input.role} onChange={(e) => set('role', e.target.value)}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {t(`roles.${r}`)}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label={t('users.password')} error={errors.password}>
        {(p) => <input {...p} type="password" autoComplete="new-password" value={input.password} onChange={(e) => set('password', e.target.value)} />}
      </Field>
      <Field label={t('users.confirm')} error={errors.confirm}>
        {(p) => <input {...p} type="password" autoComplete="new-password" value={input.confirm} onChange={(e) => set('confirm', e.target.value)} />}
      </Field>
      <div className="actions full">
        <button type="submit" className="primary" disabled={busy}>
          {t('users.create')}
        </button>
      </div>
    </form>
  );
}

import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { Field } from '../components/Field';
import { ErrorMessage } from '../components/ErrorMessage';
import { hasErrors, validateLogin, type Errors } from '../validation';

export function LoginForm({ onSubmit }: { onSubmit: (username: string, password: string) => Promise<void> }) {
  const { t } = useTranslation();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<Errors<'username' | 'password'>>({});
  const [failure, setFailure] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const found = validateLogin({ username, password });
    setErrors(found);
    if (hasErrors(found)) return;
    setBusy(true);
    setFailure(null);
    try {
      await onSubmit(username.trim(), password);
    } catch (err) {
      setFailure(err);
      setBusy(false);
    }
  };

  return (
    <form onSubmit={submit} noValidate className="stack">
      <ErrorMessage error={failure} />
      <Field label={t('login.username')} error={errors.username}>
        {(p) => <input {...p} autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} />}
      </Field>
      <Field label={t('login.password')} error={errors.password}>
        {(p) => (
          <input
            {...p}
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        )}
      </Field>
      <button type="submit" className="primary" disabled={busy}>
        {busy ? t('login.signingIn') : t('login.submit')}
      </button>
    </form>
  );
}

import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api';
import { useAuth } from '../auth';
import { useResource } from '../hooks';
import { Dialog } from '../components/Dialog';
import { ErrorMessage } from '../components/ErrorMessage';
import { Field } from '../components/Field';
import { useConfirm } from '../components/Confirm';
import { useNotify } from '../components/Notices';
import { UserForm } from '../forms/UserForm';
import { formatDate } from '../format';
import { ROLES, type Role, type User } from '../types';
import { hasErrors, validatePassword, type Errors } from '../validation';

function PasswordDialog({ user, onClose }: { user: User; onClose: () => void }) {
  const { t } = useTranslation();
  const notify = useNotify();
  const [password, setPassword] = useState('');
  const [confirmText, setConfirmText] = useState('');
  const [errors, setErrors] = useState<Errors<'password' | 'confirm'>>({});
  const [failure, setFailure] = useState<unknown>(null);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const found = validatePassword(password, confirmText);
    setErrors(found);
    if (hasErrors(found)) return;
    try {
      await api.setPassword(user.id, password);
      notify(t('users.passwordChanged', { name: user.username }));
      onClose();
    } catch (err) {
      setFailure(err);
    }
  };
  return (
    <Dialog title={t('users.setPasswordFor', { name: user.username })} onClose={onClose}>
      <form onSubmit={submit} noValidate className="stack">
        <ErrorMessage error={failure} />
        <Field label={t('users.password')} error={errors.password}>
          {(p) => <input {...p} type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} />}
        </Field>
        <Field label={t('users.confirm')} error={errors.confirm}>
          {(p) => <input {...p} type="password" autoComplete="new-password" value={confirmText} onChange={(e) => setConfirmText(e.target.value)} />}
        </Field>
        <div className="actions">
          <button type="button" onClick={onClose}>
            {t('common.cancel')}
          </button>
          <button type="submit" className="primary">
            {t('users.setPassword')}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

export function UsersPage() {
  const { t } = useTranslation();
  const { user: me } = useAuth();
  const confirm = useConfirm();
  const users = useResource(() => api.users(), []);
  const [failure, setFailure] = useState<unknown>(null);
  const [passwordFor, setPasswordFor] = useState<User | null>(null);

  const change = async (user: User, body: { role?: Role; disabled?: boolean }) => {
    setFailure(null);
    try {
      const updated = await api.updateUser(user.id, body);
      users.setData((list) => list?.map((u) => (u.id === user.id ? { ...u, ...body, ...updated } : u)));
    } catch (err) {
      setFailure(err);
    }
  };
  const remove = async (user: User) => {
    const ok = await confirm({
      title: t('users.deleteTitle', { name: user.username }),
      message: t('users.deleteMessage'),
      confirmLabel: t('common.delete'),
    });
    if (!ok) return;
    setFailure(null);
    try {
      await api.deleteUser(user.id);
      users.reload();
    } catch (err) {
      setFailure(err);
    }
  };

  return (
    <section>
      <h1>{t('users.title')}</h1>
      <h2>{t('users.create')}</h2>
      <UserForm
        onSubmit={async (body) => {
          await api.createUser(body);
          users.reload();
        }}
      />
      <h2>{t('users.list')}</h2>
      <ErrorMessage error={users.error ?? failure} />
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">{t('users.username')}</th>
              <th scope="col">{t('users.role')}</th>
              <th scope="col">{t('users.state')}</th>
              <th scope="col">{t('users.lastLogin')}</th>
              <th scope="col">{t('common.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {users.data?.map((u) => {
              const self = u.id === me?.id;
              return (
                <tr key={u.id}>
                  <td>{u.username}</td>
                  <td>
                    <select
                      aria-label={t('users.roleOf', { name: u.username })}
                      value={u.role}
                      disabled={self}
                      onChange={(e) => void change(u, { role: e.target.value as Role })}
                    >
                      {ROLES.map((r) => (
                        <option key={r} value={r}>
                          {t(`roles.${r}`)}
                        </option>
                      ))}
                    </select>
                  </td>
                  <td>{u.disabled ? t('users.disabled') : t('users.active')}</td>
                  <td>{formatDate(u.lastLoginAt)}</td>
                  <td className="row-actions">
                    <button type="button" onClick={() => setPasswordFor(u)}>
                      {t('users.setPassword')}
                    </button>
                    {!self && (
                      <button type="button" onClick={() => void change(u, { disabled: !u.disabled })}>
                        {u.disabled ? t('users.enable') : t('users.disable')}
                      </button>
                    )}
                    {!self && (
                      <button type="button" className="danger" onClick={() => void remove(u)}>
                        {t('common.delete')}
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {passwordFor && <PasswordDialog user={passwordFor} onClose={() => setPasswordFor(null)} />}
    </section>
  );
}

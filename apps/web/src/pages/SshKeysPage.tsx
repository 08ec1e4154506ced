import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api';
import { useAuth } from '../auth';
import { useResource } from '../hooks';
import { CopyButton } from '../components/CopyButton';
import { Dialog } from '../components/Dialog';
import { ErrorMessage } from '../components/ErrorMessage';
import { Field } from '../components/Field';
import { useConfirm } from '../components/Confirm';
import { formatDate } from '../format';
import type { SshKey } from '../types';
import { hasErrors, validateSshKeyForm, type Errors } from '../validation';

function PublicKeyDialog({ sshKey, onClose }: { sshKey: SshKey; onClose: () => void }) {
  const { t } = useTranslation();
  const key = useResource(async () => {
    if (sshKey.publicKey) return sshKey.publicKey;
    return api.sshPublicKey(sshKey.id);
  }, [sshKey.id]);
  return (
    <Dialog title={t('ssh.publicKeyOf', { name: sshKey.name })} onClose={onClose} wide>
      <ErrorMessage error={key.error} />
      {key.data && <pre className="output wrap">{key.data}</pre>}
      <div className="actions">
        {key.data && <CopyButton text={key.data} />}
        <button type="button" onClick={onClose}>
          {t('common.close')}
        </button>
      </div>
    </Dialog>
  );
}

/** A generated pair's private key, as the 201 answer of POST /api/ssh-keys carries it: shown here once, kept nowhere. */
type CreatedKey = SshKey & { privateKey?: string };

function PrivateKeyOnce({ created, onDone }: { created: CreatedKey & { privateKey: string }; onDone: () => void }) {
  const { t } = useTranslation();
  return (
    <div className="secret" role="status">
      <p>
        <strong>{t('ssh.privateKeyOnce', { name: created.name })}</strong>
      </p>
      <pre className="output wrap" aria-label={t('ssh.privateKey')}>{created.privateKey}</pre>
      <CopyButton text={created.privateKey} />{' '}
      <button type="button" onClick={onDone}>
        {t('common.done')}
      </button>
    </div>
  );
}

function AddKeyForm({ onAdded }: { onAdded: (created: CreatedKey) => void }) {
  const { t } = useTranslation();
  const [name, setName] = useState('');
  const [generate, setGenerate] = useState(true);
  const [publicKey, setPublicKey] = useState('');
  const [errors, setErrors] = useState<Errors<'name' | 'publicKey'>>({});
  const [failure, setFailure] = useState<unknown>(null);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const found = validateSshKeyForm({ name, generate, publicKey });
    setErrors(found);
    if (hasErrors(found)) return;
    setFailure(null);
    try {
      const created: CreatedKey = await api.createSshKey(generate ? { name: name.trim(), generate: true } : { name: name.trim(), publicKey: publicKey.trim() });
      setName('');
      setPublicKey('');
      onAdded(created);
    } catch (err) {
      setFailure(err);
    }
  };
  return (
    <form onSubmit={submit} noValidate className="form-grid" aria-label={t('ssh.add')}>
      <ErrorMessage error={failure} />
      <Field label={t('common.name')} error={errors.name}>
        {(p) => <input {...p} value={name} onChange={(e) => setName(e.target.value)} />}
      </Field>
      <fieldset>
        <legend>{t('ssh.source')}</legend>
        <label className="checkbox">
          <input type="radio" name="ssh-source" checked={generate} onChange={() => setGenerate(true)} /> {t('ssh.generate')}
        </label>
        <label className="checkbox">
          <input type="radio" name="ssh-source" checked={!generate} onChange={() => setGenerate(false)} /> {t('ssh.paste')}
        </label>
      </fieldset>
      {!generate && (
        <div className="full">
          <Field label={t('ssh.publicKey')} error={errors.publicKey}>
            {(p) => <textarea {...p} rows={3} value={publicKey} onChange={(e) => setPublicKey(e.target.value)} />}
          </Field>
        </div>
      )}
      <div className="actions full">
        <button type="submit" className="primary">
          {t('ssh.add')}
        </button>
      </div>
    </form>
  );
}

export function SshKeysPage() {
  const { t } = useTranslation();
  const { can } = useAuth();
  const confirm = useConfirm();
  const keys = useResource(() => api.sshKeys(), []);
  const [showing, setShowing] = useState<SshKey | null>(null);
  const [failure, setFailure] = useState<unknown>(null);
  // Held only in this page's state: gone on Done, on leaving the page and on reload.
  const [created, setCreated] = useState<(CreatedKey & { privateKey: string }) | null>(null);
  const operator = can('operator');
  const added = (key: CreatedKey) => {
    setCreated(key.privateKey ? { ...key, privateKey: key.privateKey } : null);
    keys.reload();
  };

  const remove = async (key: SshKey) => {
    const ok = await confirm({ title: t('ssh.deleteTitle', { name: key.name }), message: t('ssh.deleteMessage'), confirmLabel: t('common.delete') });
    if (!ok) return;
    setFailure(null);
    try {
      await api.deleteSshKey(key.id);
      keys.reload();
    } catch (err) {
      setFailure(err);
    }
  };

  return (
    <section>
      <h1>{t('ssh.title')}</h1>
      <p className="muted">{t('ssh.help')}</p>
      {operator && <AddKeyForm onAdded={added} />}
      {created && <PrivateKeyOnce created={created} onDone={() => setCreated(null)} />}
      <ErrorMessage error={keys.error ?? failure} />
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">{t('common.name')}</th>
              <th scope="col">{t('ssh.fingerprint')}</th>
              <th scope="col">{t('ssh.created')}</th>
              <th scope="col">{t('common.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {keys.data?.map((key) => (
              <tr key={key.id}>
                <td>{key.name}</td>
                <td>
                  <code className="fingerprint">{key.fingerprint ?? '—'}</code>
                </td>
                <td>{formatDate(key.createdAt)}</td>
                <td className="row-actions">
                  <button type="button" onClick={() => setShowing(key)}>
                    {t('ssh.showPublic')}
                  </button>
                  {operator && (
                    <button type="button" className="danger" onClick={() => void remove(key)}>
                      {t('common.delete')}
                    </button>
                  )}
                </td>
              </tr>
            ))}
            {keys.data && keys.data.length === 0 && (
              <tr>
                <td colSpan={4} className="muted">
                  {t('ssh.none')}
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      {showing && <PublicKeyDialog sshKey={showing} onClose={() => setShowing(null)} />}
    </section>
  );
}

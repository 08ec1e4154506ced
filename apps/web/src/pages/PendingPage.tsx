import { useState } from 'react';
import { Link } from 'react-router-dom';
import { useTranslation } from 'react-i18next';
import { api } from '../api';
import { useAuth } from '../auth';
import { useResource } from '../hooks';
import { UiEvent, useUiEvent } from '../socket';
import { ErrorMessage } from '../components/ErrorMessage';
import { CopyButton } from '../components/CopyButton';
import { useConfirm } from '../components/Confirm';
import { TokenForm } from '../forms/TokenForm';
import { formatBytes, formatDate } from '../format';
import type { EnrollmentToken, Host, ListResult } from '../types';

const PENDING_LIMIT = 200;

function without(list: ListResult<Host> | undefined, id: string): ListResult<Host> | undefined {
  if (!list || !list.items.some((h) => h.id === id)) return list;
  return { items: list.items.filter((h) => h.id !== id), total: Math.max(0, list.total - 1) };
}

function PendingHosts() {
  const { t } = useTranslation();
  const { can } = useAuth();
  const confirm = useConfirm();
  const pending = useResource(() => api.hosts({ status: 'pending', sort: 'createdAt', order: 'desc', limit: PENDING_LIMIT }), []);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [failure, setFailure] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  useUiEvent(UiEvent.HostPending, (host) =>
    pending.setData((list) =>
      !list || list.items.some((h) => h.id === host.id) ? list : { items: [host, ...list.items], total: list.total + 1 },
    ),
  );
  useUiEvent(UiEvent.HostUpdated, (host) => {
    if (host.status !== 'pending') pending.setData((list) => without(list, host.id));
  });
  useUiEvent(UiEvent.HostRemoved, ({ id }) => pending.setData((list) => without(list, id)));

  const act = async (action: 'approve' | 'reject', ids: string[]) => {
    if (ids.length === 0) return;
    if (action === 'reject') {
      const ok = await confirm({
        title: t('pending.rejectTitle'),
        message: t('pending.rejectMessage', { count: ids.length }),
        confirmLabel: t('pending.reject'),
      });
      if (!ok) return;
    }
    setBusy(true);
    setFailure(null);
    try {
      if (ids.length === 1) await api.hostAction(ids[0], action);
      else await api.hostsBulk(action, ids);
      pending.setData((list) =>
        list ? { items: list.items.filter((h) => !ids.includes(h.id)), total: Math.max(0, list.total - ids.length) } : list,
      );
      setSelected(new Set());
    } catch (err) {
      setFailure(err);
    } finally {
      setBusy(false);
    }
  };

  const items = pending.data?.items ?? [];
  const allSelected = items.length > 0 && items.every((h) => selected.has(h.id));
  const toggle = (id: string) =>
    setSelected((prev) => {
      const next = new Set(prev);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  const operator = can('operator');

  return (
    <section>
      <h1>{t('pending.title')}</h1>
      <p className="muted">{t('pending.help')}</p>
      <ErrorMessage error={pending.error ?? failure} />
      {operator && items.length > 0 && (
        <div className="toolbar">
          <button type="button" className="primary" disabled={busy || selected.size === 0} onClick={() => void act('approve', [...selected])}>
            {t('pending.approveSelected', { count: selected.size })}
          </button>
          <button type="button" className="danger" disabled={busy || selected.size === 0} onClick={() => void act('reject', [...selected])}>
            {t('pending.rejectSelected', { count: selected.size })}
          </button>
        </div>
      )}
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              {operator && (
                <th scope="col">
                  <input
                    type="checkbox"
                    aria-label={t('pending.selectAll')}
                    checked={allSelected}
                    onChange={() => setSelected(allSelected ? new Set() : new Set(items.map((h) => h.id)))}
                  />
                </th>
              )}
              <th scope="col">{t('hosts.hostname')}</th>
              <th scope="col">{t('hosts.fingerprint')}</th>
              <th scope="col">{t('hosts.platform')}</th>
              <th scope="col">{t('hosts.hardware')}</th>
              <th scope="col">{t('hosts.firstSeen')}</th>
              {operator && <th scope="col">{t('common.actions')}</th>}
            </tr>
          </thead>
          <tbody>
            {items.map((host) => (
              <tr key={host.id}>
                {operator && (
                  <td>
                    <input
                      type="checkbox"
                      aria-label={t('pending.select', { name: host.hostname })}
                      checked={selected.has(host.id)}
                      onChange={() => toggle(host.id)}
                    />
                  </td>
                )}
                <td>
                  <Link to={`/hosts/${host.id}`}>{host.hostname}</Link>
                  {host.fqdn && <div className="muted small">{host.fqdn}</div>}
                </td>
                <td>
                  <code className="fingerprint">{host.fingerprint}</code>
                </td>
                <td>
                  {host.platform} <span className="muted small">{[host.osName, host.osVersion, host.arch].filter(Boolean).join(' ')}</span>
                </td>
                <td className="small">
                  {/* The list API may leave facts out; the host page always has them. */}
                  {host.facts ? (
                    <>
                      {host.facts.cpuCount ?? '?'} × {host.facts.cpuModel ?? t('hosts.cpu')}
                      <br />
                      {formatBytes(host.facts.memoryTotalBytes)}
                    </>
                  ) : (
                    <>
                      {t('hosts.agentVersion')} {host.agentVersion ?? '—'}
                      <br />
                      <Link to={`/hosts/${host.id}`}>{t('hosts.facts')}</Link>
                    </>
                  )}
                </td>
                <td>{formatDate(host.firstSeenAt)}</td>
                {operator && (
                  <td className="row-actions">
                    <button type="button" className="primary" disabled={busy} onClick={() => void act('approve', [host.id])}>
                      {t('pending.approve')}
                    </button>
                    <button type="button" className="danger" disabled={busy} onClick={() => void act('reject', [host.id])}>
                      {t('pending.reject')}
                    </button>
                  </td>
                )}
              </tr>
            ))}
            {pending.data && items.length === 0 && (
              <tr>
                <td colSpan={7} className="muted">
                  {t('pending.none')}
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      {pending.data && pending.data.total > items.length && (
        <p className="muted">{t('pending.more', { shown: items.length, total: pending.data.total })}</p>
      )}
    </section>
  );
}

function EnrollmentTokens() {
  const { t } = useTranslation();
  const confirm = useConfirm();
  const tokens = useResource(() => api.tokens(), []);
  const [created, setCreated] = useState<EnrollmentToken | null>(null);
  const [failure, setFailure] = useState<unknown>(null);

  const create = async (body: Parameters<typeof api.createToken>[0]) => {
    const token = await api.createToken(body);
    setCreated(token);
    tokens.reload();
  };
  const revoke = async (token: EnrollmentToken) => {
    const ok = await confirm({
      title: t('tokens.revokeTitle'),
      message: t('tokens.revokeMessage', { note: token.note || token.id }),
      confirmLabel: t('tokens.revoke'),
    });
    if (!ok) return;
    setFailure(null);
    try {
      await api.revokeToken(token.id);
      tokens.reload();
    } catch (err) {
      setFailure(err);
    }
  };

  return (
    <section>
      <h2>{t('tokens.title')}</h2>
      <TokenForm onSubmit={create} />
      {created?.secret && (
        <div className="secret" role="status">
          <p>
            <strong>{t('tokens.secretOnce')}</strong>
          </p>
          <code>{created.secret}</code> <CopyButton text={created.secret} />{' '}
          <button type="button" onClick={() => setCreated(null)}>
            {t('common.done')}
          </button>
        </div>
      )}
      <ErrorMessage error={tokens.error ?? failure} />
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">{t('tokens.note')}</th>
              <th scope="col">{t('tokens.usesLeft')}</th>
              <th scope="col">{t('tokens.expires')}</th>
              <th scope="col">{t('tokens.autoApprove')}</th>
              <th scope="col">{t('tokens.state')}</th>
              <th scope="col">{t('common.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {tokens.data?.items.map((token) => (
              <tr key={token.id}>
                <td>{token.note || <span className="muted">{token.id}</span>}</td>
                <td>
                  {token.usesLeft ?? (token.usedCount !== undefined ? token.uses - token.usedCount : token.uses)} / {token.uses}
                </td>
                <td>{formatDate(token.expiresAt)}</td>
                <td>{token.autoApprove ? t('common.yes') : t('common.no')}</td>
                <td>{token.state ? t(`tokens.states.${token.state}`) : '—'}</td>
                <td>
                  {token.revokedAt ? null : (
                    <button type="button" className="danger" onClick={() => void revoke(token)}>
                      {t('tokens.revoke')}
                    </button>
                  )}
                </td>
              </tr>
            ))}
            {tokens.data && tokens.data.items.length === 0 && (
              <tr>
                <td colSpan={6} className="muted">
                  {t('tokens.none')}
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </section>
  );
}

export function PendingPage() {
  const { can } = useAuth();
  return (
    <>
      <PendingHosts />
      {can('admin') && <EnrollmentTokens />}
    </>
  );
}

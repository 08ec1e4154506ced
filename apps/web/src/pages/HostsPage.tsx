import { Fragment, useEffect, useState } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { useTranslation } from 'react-i18next';
import { api, ApiError, type HostQuery } from '../api';
import { useDebounced, useQueryState, useResource } from '../hooks';
import { UiEvent, useUiEvent } from '../socket';
import { ErrorMessage } from '../components/ErrorMessage';
import { Pagination } from '../components/Pagination';
import { Badge, OnlineBadge } from '../components/Badge';
import { formatDate } from '../format';
import { HOST_ROLES, HOST_STATUSES, PLATFORMS, type Host, type ListResult } from '../types';

type SortColumn = 'hostname' | 'status' | 'platform' | 'lastSeenAt' | 'createdAt';
/** Asks the server for top-level hosts only, so children appear under their parent. */
const TOP_LEVEL = 'none';

function patchHost(list: ListResult<Host> | undefined, host: Host): ListResult<Host> | undefined {
  if (!list || !list.items.some((h) => h.id === host.id)) return list;
  return { ...list, items: list.items.map((h) => (h.id === host.id ? { ...h, ...host } : h)) };
}

function ChildRows({ parent, depth }: { parent: Host; depth: number }) {
  const { t } = useTranslation();
  const children = useResource(() => api.hosts({ parentHostId: parent.id, limit: 200, sort: 'hostname', order: 'asc' }), [parent.id]);
  useUiEvent(UiEvent.HostUpdated, (host) => children.setData((list) => patchHost(list, host)));
  if (children.error)
    return (
      <tr>
        <td colSpan={7}>
          <ErrorMessage error={children.error} />
        </td>
      </tr>
    );
  if (!children.data)
    return (
      <tr>
        <td colSpan={7} className="muted">
          {t('common.loading')}
        </td>
      </tr>
    );
  if (children.data.items.length === 0)
    return (
      <tr>
        <td colSpan={7} className="muted" style={{ paddingLeft: `${depth + 1}.5rem` }}>
          {t('hosts.noChildren')}
        </td>
      </tr>
    );
  return (
    <>
      {children.data.items.map((child) => (
        <HostRow key={child.id} host={child} depth={depth + 1} />
      ))}
    </>
  );
}

function HostRow({ host, depth }: { host: Host; depth: number }) {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  // Any hypervisor host can be expanded, also in a flat listing, to show its children beneath it.
  const canHaveChildren = host.roles.some((r) => (HOST_ROLES as readonly string[]).includes(r));
  return (
    <Fragment>
      <tr>
        <td style={{ paddingLeft: `${depth * 1.5 + 0.5}rem` }}>
          {canHaveChildren ? (
            <button
              type="button"
              className="tree-toggle"
              aria-expanded={open}
              aria-label={t(open ? 'hosts.collapse' : 'hosts.expand', { name: host.hostname })}
              onClick={() => setOpen(!open)}
            >
              {open ? '▾' : '▸'}
            </button>
          ) : (
            <span className="tree-spacer" />
          )}
          <Link to={`/hosts/${host.id}`}>{host.hostname}</Link>
          {host.fqdn && host.fqdn !== host.hostname && <div className="muted small">{host.fqdn}</div>}
        </td>
        <td>
          <Badge group="hostStatus" value={host.status} />
        </td>
        <td>
          <OnlineBadge online={host.online} />
        </td>
        <td>
          {host.platform}
          <div className="muted small">{[host.osName, host.osVersion, host.arch].filter(Boolean).join(' ')}</div>
        </td>
        <td>{host.roles.map((r) => t(`hostRole.${r}`, { defaultValue: r })).join(', ') || '—'}</td>
        <td>{host.agentVersion ?? '—'}</td>
        <td>{formatDate(host.lastSeenAt)}</td>
      </tr>
      {open && <ChildRows parent={host} depth={depth} />}
    </Fragment>
  );
}

export function HostsPage() {
  const { t } = useTranslation();
  const [params, setParams] = useSearchParams();
  const update = useQueryState(params, setParams);
  const [search, setSearch] = useState(params.get('q') ?? '');
  const [treeSupported, setTreeSupported] = useState(true);
  const [newHosts, setNewHosts] = useState(0);

  const query: HostQuery = {
    q: params.get('q') ?? undefined,
    status: params.get('status') ?? undefined,
    platform: params.get('platform') ?? undefined,
    role: params.get('role') ?? undefined,
    online: params.get('online') ?? undefined,
    sort: params.get('sort') ?? 'hostname',
    order: params.get('order') === 'desc' ? 'desc' : 'asc',
    limit: Number(params.get('limit') ?? 50) || 50,
    offset: Number(params.get('offset') ?? 0) || 0,
  };
  // The tree only makes sense for an unfiltered listing; a search shows every match flat.
  const tree = treeSupported && params.get('view') !== 'flat' && !query.q;
  const key = JSON.stringify({ ...query, tree });
  const hosts = useResource(async () => {
    try {
      return await api.hosts(tree ? { ...query, parentHostId: TOP_LEVEL } : query);
    } catch (err) {
      // A server that cannot list top-level hosts only refuses the parentHostId value: fall back to a flat list.
      if (tree && err instanceof ApiError && err.status === 400 && err.message.includes('parentHostId')) {
        setTreeSupported(false);
        return api.hosts(query);
      }
      throw err;
    }
  }, [key]);

  // Search as the user types, without a request per keystroke.
  useEffect(() => {
    if ((params.get('q') ?? '') === search) return undefined;
    const timer = setTimeout(() => update({ q: search, offset: undefined }), 300);
    return () => clearTimeout(timer);
  }, [search, params, update]);

  // A host not on this page yet (e.g. one that enrolled with an auto-approving token) shows up once the
  // burst of events is over, when it would match the filters; known rows are patched in place.
  const reloadSoon = useDebounced(hosts.reload, 1000);
  const fitsFilters = (host: Host) =>
    (!query.status || host.status === query.status) &&
    (!query.platform || host.platform === query.platform) &&
    (!query.role || host.roles.includes(query.role)) &&
    (!query.online || String(host.online) === query.online) &&
    (!tree || !host.parentHostId);
  useUiEvent(UiEvent.HostUpdated, (host) => {
    if (hosts.data?.items.some((h) => h.id === host.id)) hosts.setData((list) => patchHost(list, host));
    else if (!query.q && fitsFilters(host)) reloadSoon();
  });
  useUiEvent(UiEvent.HostPending, () => setNewHosts((n) => n + 1));
  useUiEvent(UiEvent.HostRemoved, ({ id }) => {
    if (hosts.data?.items.some((h) => h.id === id)) hosts.reload();
  });

  const sortBy = (column: string) =>
    update({ sort: column, order: query.sort === column && query.order === 'asc' ? 'desc' : 'asc', offset: undefined });
  const header = (column: SortColumn | null, label: string) => {
    if (!column) return <th scope="col">{label}</th>;
    const active = query.sort === column;
    return (
      <th scope="col" aria-sort={active ? (query.order === 'asc' ? 'ascending' : 'descending') : 'none'}>
        <button type="button" className="sort" onClick={() => sortBy(column)}>
          {label} {active ? (query.order === 'asc' ? '▲' : '▼') : ''}
        </button>
      </th>
    );
  };
  const select = (name: keyof HostQuery & string, label: string, options: { value: string; label: string }[]) => (
    <label>
      {label}
      <select value={params.get(name) ?? ''} onChange={(e) => update({ [name]: e.target.value, offset: undefined })}>
        <option value="">{t('common.all')}</option>
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </label>
  );

  return (
    <section>
      <h1>{t('hosts.title')}</h1>
      <form className="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <label>
          {t('common.search')}
          <input type="search" value={search} placeholder={t('hosts.searchPlaceholder')} onChange={(e) => setSearch(e.target.value)} />
        </label>
        {select('status', t('hosts.status'), HOST_STATUSES.map((s) => ({ value: s, label: t(`hostStatus.${s}`) })))}
        {select('platform', t('hosts.platform'), PLATFORMS.map((p) => ({ value: p, label: p })))}
        {select('role', t('hosts.role'), HOST_ROLES.map((r) => ({ value: r, label: t(`hostRole.${r}`) })))}
        {select('online', t('hosts.online'), [
          { value: 'true', label: t('online.online') },
          { value: 'false', label: t('online.offline') },
        ])}
        {treeSupported && (
          <label className="checkbox">
            <input
              type="checkbox"
              checked={params.get('view') !== 'flat'}
              onChange={(e) => update({ view: e.target.checked ? undefined : 'flat', offset: undefined })}
            />
            {t('hosts.treeView')}
          </label>
        )}
      </form>
      {newHosts > 0 && (
        <p className="banner">
          {t('hosts.newPending', { count: newHosts })} <Link to="/pending">{t('nav.pending')}</Link>
        </p>
      )}
      <ErrorMessage error={hosts.error} />
      <div className="table-wrap" aria-busy={hosts.loading}>
        <table>
          <thead>
            <tr>
              {header('hostname', t('hosts.hostname'))}
              {header('status', t('hosts.status'))}
              {header(null, t('hosts.online'))}
              {header('platform', t('hosts.platform'))}
              {header(null, t('hosts.roles'))}
              {header(null, t('hosts.agentVersion'))}
              {header('lastSeenAt', t('hosts.lastSeen'))}
            </tr>
          </thead>
          <tbody>
            {hosts.data?.items.map((host) => <HostRow key={host.id} host={host} depth={0} />)}
            {hosts.data && hosts.data.items.length === 0 && (
              <tr>
                <td colSpan={7} className="muted">
                  {t('hosts.none')}
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      {hosts.data && (
        <Pagination
          total={hosts.data.total}
          limit={query.limit ?? 50}
          offset={query.offset ?? 0}
          onChange={({ limit, offset }) => update({ limit: String(limit), offset: offset ? String(offset) : undefined })}
        />
      )}
    </section>
  );
}

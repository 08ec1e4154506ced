import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { useTranslation } from 'react-i18next';
import { api, ApiError } from '../api';
import { useAuth } from '../auth';
import { useDebounced, useResource } from '../hooks';
import { UiEvent, useUiEvent } from '../socket';
import { Badge, OnlineBadge } from '../components/Badge';
import { ErrorMessage } from '../components/ErrorMessage';
import { ProgressBar } from '../components/ProgressBar';
import { useConfirm } from '../components/Confirm';
import { useNotify } from '../components/Notices';
import { formatBytes, formatDate } from '../format';
import { jobTypeLabel } from '../jobTypes';
import { FINISHED_JOB_STATUSES, type Host, type Job, type ListResult } from '../types';
import { VirtualizationPanel } from './VirtualizationPanel';
import { ChildVmsPanel } from './ChildVmsPanel';

const RECENT_JOBS = 10;

function notReported(err: unknown): null {
  if (err instanceof ApiError && err.code === 'VIRTUALIZATION_NO_REPORT') return null;
  throw err;
}

function Facts({ host }: { host: Host }) {
  const { t } = useTranslation();
  const f = host.facts ?? {};
  const rows: [string, React.ReactNode][] = [
    [t('hosts.fqdn'), host.fqdn ?? '—'],
    [t('hosts.fingerprint'), <code className="fingerprint">{host.fingerprint}</code>],
    [t('hosts.os'), [host.osName, host.osVersion].filter(Boolean).join(' ') || host.platform],
    [t('hosts.arch'), host.arch ?? '—'],
    [t('hosts.cpu'), `${f.cpuCount ?? '?'} × ${f.cpuModel ?? '?'}`],
    [t('hosts.memory'), t('hosts.freeOf', { free: formatBytes(f.memoryFreeBytes), total: formatBytes(f.memoryTotalBytes) })],
    [t('hosts.agentVersion'), host.agentVersion ?? '—'],
    [t('hosts.roles'), host.roles.map((r) => t(`hostRole.${r}`, { defaultValue: r })).join(', ') || '—'],
    [t('hosts.firstSeen'), formatDate(host.firstSeenAt)],
    [t('hosts.lastSeen'), formatDate(host.lastSeenAt)],
  ];
  return (
    <section aria-labelledby="facts-title">
      <h2 id="facts-title">{t('hosts.facts')}</h2>
      <dl className="facts">
        {rows.map(([label, value]) => (
          <div key={label}>
            <dt>{label}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
      {f.disks && f.disks.length > 0 && (
        <table className="compact">
          <caption>{t('hosts.disks')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('hosts.mount')}</th>
              <th scope="col">{t('hosts.size')}</th>
              <th scope="col">{t('hosts.free')}</th>
            </tr>
          </thead>
          <tbody>
            {f.disks.map((d) => (
              <tr key={d.mount}>
                <td>{d.mount}</td>
                <td>{formatBytes(d.sizeBytes)}</td>
                <td>{formatBytes(d.freeBytes)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {f.interfaces && f.interfaces.length > 0 && (
        <table className="compact">
          <caption>{t('hosts.interfaces')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('common.name')}</th>
              <th scope="col">MAC</th>
              <th scope="col">{t('hosts.addresses')}</th>
            </tr>
          </thead>
          <tbody>
            {f.interfaces.map((i) => (
              <tr key={i.name}>
                <td>{i.name}</td>
                <td>{i.mac ?? '—'}</td>
                <td>{(i.addresses ?? []).join(', ') || '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function RecentJobs({ jobs }: { jobs: ListResult<Job> | undefined }) {
  const { t } = useTranslation();
  if (!jobs || jobs.items.length === 0) return null;
  return (
    <section aria-labelledby="host-jobs-title">
      <h2 id="host-jobs-title">{t('jobs.recent')}</h2>
      <ul className="job-list">
        {jobs.items.map((job) => (
          <li key={job.id}>
            <Link to={`/jobs/${job.id}`}>{jobTypeLabel(t, job.type)}</Link>{' '}
            <Badge group="jobStatus" value={job.status} /> <span className="muted small">{job.step ?? ''}</span>
            {!FINISHED_JOB_STATUSES.includes(job.status) && <ProgressBar percent={job.percent} />}
          </li>
        ))}
      </ul>
    </section>
  );
}

export function HostDetailPage() {
  const { id = '' } = useParams();
  const { t } = useTranslation();
  const { can } = useAuth();
  const confirm = useConfirm();
  const notify = useNotify();
  const navigate = useNavigate();
  const host = useResource(() => api.host(id), [id]);
  const approved = host.data?.status === 'approved';
  // null: the host has not reported its hypervisors yet (the panel offers a check).
  const virt = useResource(
    () => (approved ? api.virtualization(id).catch(notReported) : Promise.resolve(undefined)),
    [id, approved],
  );
  const vms = useResource(() => (approved ? api.children(id) : Promise.resolve(undefined)), [id, approved]);
  const jobs = useResource(() => api.jobs({ hostId: id, limit: RECENT_JOBS }), [id]);
  const [failure, setFailure] = useState<unknown>(null);
  const [removed, setRemoved] = useState(false);

  // A finished job may have changed the hypervisors or the VMs: read them again, once per burst.
  const refreshState = useDebounced(() => {
    virt.reload();
    vms.reload();
  }, 500);
  useUiEvent(UiEvent.HostUpdated, (h) => {
    if (h.id === id) host.setData((current) => ({ ...current, ...h }));
    else if (h.parentHostId === id) vms.reload();
  });
  useUiEvent(UiEvent.HostRemoved, ({ id: gone }) => gone === id && setRemoved(true));
  useUiEvent(UiEvent.HostVirtualization, ({ hostId }) => hostId === id && virt.reload());
  useUiEvent(UiEvent.JobUpdated, (job) => {
    if (job.hostId !== id) return;
    jobs.setData((list) => {
      if (!list) return list;
      const known = list.items.some((j) => j.id === job.id);
      const items = known ? list.items.map((j) => (j.id === job.id ? { ...j, ...job } : j)) : [job, ...list.items].slice(0, RECENT_JOBS);
      return { items, total: known ? list.total : list.total + 1 };
    });
    // Child jobs change the VM list as they go (a create adds a row at once); others only when they end.
    if (FINISHED_JOB_STATUSES.includes(job.status) || job.type.startsWith('child.')) refreshState();
  });

  const act = async (action: 'approve' | 'reject' | 'revoke' | 'delete' | 'refresh') => {
    const h = host.data;
    if (!h) return;
    if (action === 'revoke' || action === 'delete' || action === 'reject') {
      const ok = await confirm({
        title: t(`host.${action}Title`, { name: h.hostname }),
        message: t(`host.${action}Message`),
        confirmLabel: t(`host.${action}`),
      });
      if (!ok) return;
    }
    setFailure(null);
    try {
      if (action === 'delete') {
        await api.deleteHost(h.id);
        navigate('/hosts');
      } else if (action === 'refresh') {
        const job = await api.refreshInventory(h.id);
        notify(t('host.refreshQueued'), job.id);
      } else {
        const updated = await api.hostAction(h.id, action);
        host.setData(() => ({ ...h, ...updated }));
      }
    } catch (err) {
      setFailure(err);
      host.reload();
    }
  };

  if (host.error) return <ErrorMessage error={host.error} />;
  const h = host.data;
  if (!h) return <p>{t('common.loading')}</p>;
  const operator = can('operator');

  return (
    <section>
      <p>
        <Link to="/hosts">← {t('nav.hosts')}</Link>
        {h.parentHostId && (
          <>
            {' · '}
            <Link to={`/hosts/${h.parentHostId}`}>{t('host.parent')}</Link>
          </>
        )}
      </p>
      <div className="section-head">
        <h1>{h.hostname}</h1>
        <Badge group="hostStatus" value={h.status} />
        <OnlineBadge online={h.online} />
      </div>
      {removed && <p className="warning">{t('host.removed')}</p>}
      <ErrorMessage error={failure} />
      {operator && !removed && (
        <div className="toolbar">
          {h.status === 'pending' && (
            <>
              <button type="button" className="primary" onClick={() => void act('approve')}>
                {t('host.approve')}
              </button>
              <button type="button" className="danger" onClick={() => void act('reject')}>
                {t('host.reject')}
              </button>
            </>
          )}
          {h.status === 'approved' && (
            <>
              <button type="button" onClick={() => void act('refresh')}>
                {t('host.refresh')}
              </button>
              <button type="button" className="danger" onClick={() => void act('revoke')}>
                {t('host.revoke')}
              </button>
            </>
          )}
          <button type="button" className="danger" onClick={() => void act('delete')}>
            {t('host.delete')}
          </button>
        </div>
      )}
      <Facts host={h} />
      <RecentJobs jobs={jobs.data} />
      {approved && virt.data !== undefined && <VirtualizationPanel hostId={h.id} virt={virt} />}
      {approved && virt.error && <ErrorMessage error={virt.error} />}
      {approved && vms.data && virt.data !== undefined && (
        <ChildVmsPanel hostId={h.id} vms={vms} virt={virt} />
      )}
    </section>
  );
}

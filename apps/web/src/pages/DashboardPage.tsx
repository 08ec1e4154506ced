import { Link } from 'react-router-dom';
import { useTranslation } from 'react-i18next';
import { api } from '../api';
import { useResource, useThrottled } from '../hooks';
import { UiEvent, useUiEvent } from '../socket';
import { ErrorMessage } from '../components/ErrorMessage';
import { CHILD_STATES, HOST_ROLES } from '../types';

/** The most often live events refresh the counts. */
export const REFRESH_INTERVAL_MS = 1000;

interface Counts {
  online: number;
  offline: number;
  pending: number;
  roles: Record<string, number>;
  jobs: { queued: number; running: number; failed: number };
  children: Record<string, number>;
}

/** Every number is a `total` from a one-row list query, so the dashboard stays cheap with a large fleet. */
async function loadCounts(): Promise<Counts> {
  const hostTotal = (query: Record<string, string>) => api.hosts({ ...query, limit: 1 }).then((r) => r.total);
  const jobTotal = (status: string) => api.jobs({ status, limit: 1 }).then((r) => r.total);
  const childTotal = (state: string) => api.allChildren({ state, limit: 1 }).then((r) => r.total);
  const [online, offline, pending, roleTotals, queued, running, failed, childTotals] = await Promise.all([
    hostTotal({ status: 'approved', online: 'true' }),
    hostTotal({ status: 'approved', online: 'false' }),
    hostTotal({ status: 'pending' }),
    Promise.all(HOST_ROLES.map((role) => hostTotal({ status: 'approved', role }))),
    jobTotal('queued'),
    jobTotal('running'),
    jobTotal('failed'),
    Promise.all(CHILD_STATES.map(childTotal)),
  ]);
  return {
    online,
    offline,
    pending,
    roles: Object.fromEntries(HOST_ROLES.map((role, i) => [role, roleTotals[i]])),
    jobs: { queued, running, failed },
    children: Object.fromEntries(CHILD_STATES.map((state, i) => [state, childTotals[i]])),
  };
}

function Stat({ label, value, to }: { label: string; value: number | undefined; to?: string }) {
  const body = (
    <>
      <span className="stat-value">{value ?? '…'}</span>
      <span className="stat-label">{label}</span>
    </>
  );
  return to ? (
    <Link className="stat" to={to}>
      {body}
    </Link>
  ) : (
    <div className="stat">{body}</div>
  );
}

export function DashboardPage() {
  const { t } = useTranslation();
  const counts = useResource(loadCounts, []);
  // Each refresh is a batch of count queries: live events refresh at most once a second, a burst once.
  const refresh = useThrottled(counts.reload, REFRESH_INTERVAL_MS);
  useUiEvent(UiEvent.HostUpdated, refresh);
  useUiEvent(UiEvent.HostPending, refresh);
  useUiEvent(UiEvent.HostRemoved, refresh);
  useUiEvent(UiEvent.JobUpdated, refresh);
  const c = counts.data;

  return (
    <section>
      <h1>{t('dashboard.title')}</h1>
      <ErrorMessage error={counts.error} />
      <h2>{t('dashboard.hosts')}</h2>
      <div className="stats">
        <Stat label={t('online.online')} value={c?.online} to="/hosts?status=approved&online=true" />
        <Stat label={t('online.offline')} value={c?.offline} to="/hosts?status=approved&online=false" />
        <Stat label={t('dashboard.pending')} value={c?.pending} to="/pending" />
      </div>
      <h2>{t('dashboard.roles')}</h2>
      <div className="stats">
        {HOST_ROLES.map((role) => (
          <Stat key={role} label={t(`hostRole.${role}`)} value={c?.roles[role]} to={`/hosts?role=${role}`} />
        ))}
      </div>
      <h2>{t('dashboard.jobs')}</h2>
      <div className="stats">
        <Stat label={t('jobStatus.queued')} value={c?.jobs.queued} to="/jobs?status=queued" />
        <Stat label={t('jobStatus.running')} value={c?.jobs.running} to="/jobs?status=running" />
        <Stat label={t('jobStatus.failed')} value={c?.jobs.failed} to="/jobs?status=failed" />
      </div>
      <h2>{t('dashboard.children')}</h2>
      <div className="stats">
        {CHILD_STATES.map((state) => (
          <Stat key={state} label={t(`childState.${state}`)} value={c?.children[state]} />
        ))}
      </div>
    </section>
  );
}

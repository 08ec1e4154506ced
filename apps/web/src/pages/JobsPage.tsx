import { Link, useSearchParams } from 'react-router-dom';
import { useTranslation } from 'react-i18next';
import { api } from '../api';
import { useQueryState, useResource } from '../hooks';
import { UiEvent, useUiEvent } from '../socket';
import { Badge } from '../components/Badge';
import { ErrorMessage } from '../components/ErrorMessage';
import { Pagination } from '../components/Pagination';
import { ProgressBar } from '../components/ProgressBar';
import { formatDate } from '../format';
import { FINISHED_JOB_STATUSES, JOB_STATUSES, type Job } from '../types';
import { COMMAND_TYPES, jobTypeLabel } from '../jobTypes';

export function JobsPage() {
  const { t } = useTranslation();
  const [params, setParams] = useSearchParams();
  const update = useQueryState(params, setParams);
  const query = {
    status: params.get('status') ?? undefined,
    type: params.get('type') ?? undefined,
    hostId: params.get('hostId') ?? undefined,
    limit: Number(params.get('limit') ?? 50) || 50,
    offset: Number(params.get('offset') ?? 0) || 0,
  };
  const jobs = useResource(() => api.jobs(query), [JSON.stringify(query)]);

  const matches = (job: Job) =>
    (!query.status || job.status === query.status) &&
    (!query.type || job.type === query.type) &&
    (!query.hostId || job.hostId === query.hostId);
  useUiEvent(UiEvent.JobUpdated, (job) =>
    jobs.setData((list) => {
      if (!list) return list;
      if (list.items.some((j) => j.id === job.id)) {
        return { ...list, items: list.items.map((j) => (j.id === job.id ? { ...j, ...job } : j)) };
      }
      // Newest first: a new job belongs at the top of the first page.
      if (query.offset === 0 && matches(job) && job.status === 'queued') {
        return { items: [job, ...list.items].slice(0, query.limit), total: list.total + 1 };
      }
      return list;
    }),
  );

  return (
    <section>
      <h1>{t('jobs.title')}</h1>
      <form className="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          {t('jobs.status')}
          <select value={query.status ?? ''} onChange={(e) => update({ status: e.target.value, offset: undefined })}>
            <option value="">{t('common.all')}</option>
            {JOB_STATUSES.map((s) => (
              <option key={s} value={s}>
                {t(`jobStatus.${s}`)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('jobs.type')}
          <select value={query.type ?? ''} onChange={(e) => update({ type: e.target.value, offset: undefined })}>
            <option value="">{t('common.all')}</option>
            {COMMAND_TYPES.map((type) => (
              <option key={type} value={type}>
                {jobTypeLabel(t, type)}
              </option>
            ))}
          </select>
        </label>
        {query.hostId && (
          <button type="button" onClick={() => update({ hostId: undefined, offset: undefined })}>
            {t('jobs.clearHost')}
          </button>
        )}
      </form>
      <ErrorMessage error={jobs.error} />
      <div className="table-wrap" aria-busy={jobs.loading}>
        <table>
          <thead>
            <tr>
              <th scope="col">{t('jobs.type')}</th>
              <th scope="col">{t('jobs.host')}</th>
              <th scope="col">{t('jobs.status')}</th>
              <th scope="col">{t('jobs.progress')}</th>
              <th scope="col">{t('jobs.created')}</th>
              <th scope="col">{t('jobs.createdBy')}</th>
            </tr>
          </thead>
          <tbody>
            {jobs.data?.items.map((job) => (
              <tr key={job.id}>
                <td>
                  <Link to={`/jobs/${job.id}`}>{jobTypeLabel(t, job.type)}</Link>
                </td>
                <td>{job.hostId ? <Link to={`/hosts/${job.hostId}`}>{job.hostId.slice(0, 8)}</Link> : '—'}</td>
                <td>
                  <Badge group="jobStatus" value={job.status} />
                </td>
                <td>
                  {FINISHED_JOB_STATUSES.includes(job.status) ? (
                    <span className="muted small">{job.error ?? job.step ?? ''}</span>
                  ) : (
                    <>
                      <ProgressBar percent={job.percent} />
                      <span className="muted small">{job.step ?? ''}</span>
                    </>
                  )}
                </td>
                <td>{formatDate(job.createdAt)}</td>
                <td>{job.createdBy ?? '—'}</td>
              </tr>
            ))}
            {jobs.data && jobs.data.items.length === 0 && (
              <tr>
                <td colSpan={6} className="muted">
                  {t('jobs.none')}
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      {jobs.data && (
        <Pagination
          total={jobs.data.total}
          limit={query.limit}
          offset={query.offset}
          onChange={({ limit, offset }) => update({ limit: String(limit), offset: offset ? String(offset) : undefined })}
        />
      )}
    </section>
  );
}

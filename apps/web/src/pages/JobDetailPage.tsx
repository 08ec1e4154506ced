import { useEffect, useState } from 'react';
import { Link, useParams } from 'react-router-dom';
import { useTranslation } from 'react-i18next';
import { api } from '../api';
import { useAuth } from '../auth';
import { useResource } from '../hooks';
import { UiEvent, useSocketConnected, useUiEvent } from '../socket';
import { Badge } from '../components/Badge';
import { ErrorMessage } from '../components/ErrorMessage';
import { ProgressBar } from '../components/ProgressBar';
import { useConfirm } from '../components/Confirm';
import { formatDate } from '../format';
import { jobTypeLabel } from '../jobTypes';
import { FINISHED_JOB_STATUSES, type Job, type JobEvent } from '../types';

const OUTPUT_TAIL = 200;

/** Adds events in seq order, ignoring ones already seen (live events can race the initial load). */
export function mergeEvents(current: JobEvent[], incoming: JobEvent[]): JobEvent[] {
  const identity = (e: JobEvent) => (e.seq !== null ? `#${e.seq}` : `${e.at}|${e.step}|${e.message ?? ''}`);
  const byId = new Map(current.map((e) => [identity(e), e]));
  for (const event of incoming) byId.set(identity(event), event);
  // Server-added events (no seq) sit among agent events by time.
  return [...byId.values()].sort((a, b) => a.at.localeCompare(b.at) || (a.seq ?? 0) - (b.seq ?? 0));
}

/** The distinct steps in the order they started, each with its last percent. */
function stepsOf(events: JobEvent[]): { step: string; percent: number | null | undefined; at: string }[] {
  const steps = new Map<string, { step: string; percent: number | null | undefined; at: string }>();
  for (const e of events) steps.set(e.step, { step: e.step, percent: e.percent ?? steps.get(e.step)?.percent, at: steps.get(e.step)?.at ?? e.at });
  return [...steps.values()];
}

export function JobDetailPage() {
  const { id = '' } = useParams();
  const { t } = useTranslation();
  const { can } = useAuth();
  const confirm = useConfirm();
  const connected = useSocketConnected();
  const job = useResource(() => api.job(id), [id]);
  const [failure, setFailure] = useState<unknown>(null);

  // Events sent while the socket was down are not replayed: read the job again on reconnect.
  const { reload } = job;
  useEffect(() => {
    if (connected) reload();
  }, [connected, reload]);

  useUiEvent(UiEvent.JobUpdated, (update) => {
    if (update.id === id) job.setData((current) => (current ? { ...current, ...update, events: current.events } : current));
  });
  useUiEvent(UiEvent.JobEvent, (event) => {
    if (event.jobId !== id) return;
    job.setData((current) => {
      if (!current) return current;
      const events = mergeEvents(current.events ?? [], [event]);
      // A late or repeated event must not move the progress backwards.
      const newest = events[events.length - 1] === event;
      return newest ? { ...current, step: event.step, percent: event.percent ?? current.percent, events } : { ...current, events };
    });
  });

  const cancel = async (j: Job) => {
    const ok = await confirm({ title: t('jobs.cancelTitle'), message: t('jobs.cancelMessage'), confirmLabel: t('jobs.cancel') });
    if (!ok) return;
    setFailure(null);
    try {
      const updated = await api.cancelJob(j.id);
      job.setData((current) => (current ? { ...current, ...updated, events: current.events } : current));
    } catch (err) {
      setFailure(err);
    }
  };

  if (job.error) return <ErrorMessage error={job.error} />;
  const j = job.data;
  if (!j) return <p>{t('common.loading')}</p>;
  const events = j.events ?? [];
  const finished = FINISHED_JOB_STATUSES.includes(j.status);
  const output = events
    .filter((e) => e.message)
    .slice(-OUTPUT_TAIL)
    .map((e) => `${e.step}: ${e.message}`)
    .join('\n');

  return (
    <section>
      <p>
        <Link to="/jobs">← {t('nav.jobs')}</Link>
        {j.hostId && (
          <>
            {' · '}
            <Link to={`/hosts/${j.hostId}`}>{t('jobs.host')}</Link>
          </>
        )}
      </p>
      <div className="section-head">
        <h1>{jobTypeLabel(t, j.type)}</h1>
        <Badge group="jobStatus" value={j.status} />
        {!finished && can('operator') && (
          <button type="button" className="danger" onClick={() => void cancel(j)}>
            {t('jobs.cancel')}
          </button>
        )}
      </div>
      <ErrorMessage error={failure} />
      <ProgressBar percent={j.status === 'succeeded' ? 100 : j.percent} label={t('jobs.progress')} />
      <p aria-live="polite">{j.step ?? ''}</p>
      {j.error && (
        <p className="error" role="alert">
          {j.error}
        </p>
      )}
      <dl className="facts">
        <div>
          <dt>{t('jobs.created')}</dt>
          <dd>{formatDate(j.createdAt)}</dd>
        </div>
        <div>
          <dt>{t('jobs.createdBy')}</dt>
          <dd>{j.createdBy ?? '—'}</dd>
        </div>
        <div>
          <dt>{t('jobs.finished')}</dt>
          <dd>{formatDate(j.finishedAt)}</dd>
        </div>
      </dl>
      <h2>{t('jobs.steps')}</h2>
      {events.length === 0 ? (
        <p className="muted">{t('jobs.noSteps')}</p>
      ) : (
        <ol className="steps">
          {stepsOf(events).map((s, i, all) => {
            const current = i === all.length - 1 && !finished;
            return (
              <li key={s.step} className={current ? 'current' : 'done'} aria-current={current ? 'step' : undefined}>
                <span>{s.step}</span> <span className="muted small">{formatDate(s.at)}</span>
              </li>
            );
          })}
        </ol>
      )}
      <h2>{t('jobs.output')}</h2>
      <pre className="output" tabIndex={0} aria-label={t('jobs.output')}>
        {output || t('jobs.noOutput')}
      </pre>
      {j.params !== undefined && j.params !== null && (
        <details>
          <summary>{t('jobs.params')}</summary>
          <pre className="output">{JSON.stringify(j.params, null, 2)}</pre>
        </details>
      )}
      {j.result !== undefined && j.result !== null && (
        <details>
          <summary>{t('jobs.result')}</summary>
          <pre className="output">{JSON.stringify(j.result, null, 2)}</pre>
        </details>
      )}
    </section>
  );
}

import { useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import { useTranslation } from 'react-i18next';
import { api } from '../api';
import { useQueryState, useResource } from '../hooks';
import { Badge } from '../components/Badge';
import { ErrorMessage } from '../components/ErrorMessage';
import { Pagination } from '../components/Pagination';
import { downloadText, formatDate, toCsv } from '../format';
import type { AuditEvent } from '../types';

const FILTERS = ['actor', 'action', 'targetType', 'outcome', 'since', 'until'] as const;
const EXPORT_PAGE = 500;
/** An export larger than this is cut off; narrow the filter instead. */
const EXPORT_MAX = 50_000;

/** datetime-local value (local time) -> ISO string the API takes. */
function toIso(local: string | null): string | undefined {
  if (!local) return undefined;
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

export function AuditPage() {
  const { t } = useTranslation();
  const [params, setParams] = useSearchParams();
  const update = useQueryState(params, setParams);
  const filter = {
    actor: params.get('actor') ?? undefined,
    action: params.get('action') ?? undefined,
    targetType: params.get('targetType') ?? undefined,
    outcome: params.get('outcome') ?? undefined,
    since: toIso(params.get('since')),
    until: toIso(params.get('until')),
  };
  const limit = Number(params.get('limit') ?? 50) || 50;
  const offset = Number(params.get('offset') ?? 0) || 0;
  const events = useResource(() => api.auditEvents({ ...filter, limit, offset }), [JSON.stringify(filter), limit, offset]);
  const [draft, setDraft] = useState<Record<string, string>>(() =>
    Object.fromEntries(FILTERS.map((f) => [f, params.get(f) ?? ''])),
  );
  const [exporting, setExporting] = useState<string | null>(null);
  const [failure, setFailure] = useState<unknown>(null);

  const exportCsv = async () => {
    setFailure(null);
    const rows: AuditEvent[] = [];
    try {
      for (let at = 0; at < EXPORT_MAX; at += EXPORT_PAGE) {
        setExporting(t('audit.exporting', { count: rows.length }));
        const page = await api.auditEvents({ ...filter, limit: EXPORT_PAGE, offset: at });
        rows.push(...page.items);
        if (page.items.length < EXPORT_PAGE || rows.length >= page.total) break;
      }
      const csv = toCsv(
        ['createdAt', 'actor', 'action', 'targetType', 'targetId', 'outcome', 'sourceIp', 'details'],
        rows.map((e) => [e.createdAt, e.actor, e.action, e.targetType, e.targetId, e.outcome, e.sourceIp, e.details]),
      );
      downloadText(`sysfleet-audit-${new Date().toISOString().slice(0, 19).replace(/:/g, '')}.csv`, csv);
    } catch (err) {
      setFailure(err);
    } finally {
      setExporting(null);
    }
  };

  const field = (name: (typeof FILTERS)[number], type = 'text') => (
    <label key={name}>
      {t(`audit.${name}`)}
      <input type={type} value={draft[name]} onChange={(e) => setDraft({ ...draft, [name]: e.target.value })} />
    </label>
  );

  return (
    <section>
      <h1>{t('audit.title')}</h1>
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          update({ ...draft, offset: undefined });
        }}
      >
        {field('actor')}
        {field('action')}
        {field('targetType')}
        <label>
          {t('audit.outcome')}
          <select value={draft.outcome} onChange={(e) => setDraft({ ...draft, outcome: e.target.value })}>
            <option value="">{t('common.all')}</option>
            <option value="success">{t('outcome.success')}</option>
            <option value="failure">{t('outcome.failure')}</option>
            <option value="denied">{t('outcome.denied')}</option>
          </select>
        </label>
        {field('since', 'datetime-local')}
        {field('until', 'datetime-local')}
        <button type="submit" className="primary">
          {t('common.apply')}
        </button>
        <button type="button" disabled={exporting !== null} onClick={() => void exportCsv()}>
          {exporting ?? t('audit.export')}
        </button>
      </form>
      <ErrorMessage error={events.error ?? failure} />
      <div className="table-wrap" aria-busy={events.loading}>
        <table>
          <thead>
            <tr>
              <th scope="col">{t('audit.time')}</th>
              <th scope="col">{t('audit.actor')}</th>
              <th scope="col">{t('audit.action')}</th>
              <th scope="col">{t('audit.target')}</th>
              <th scope="col">{t('audit.outcome')}</th>
              <th scope="col">{t('audit.sourceIp')}</th>
            </tr>
          </thead>
          <tbody>
            {events.data?.items.map((e) => (
              <tr key={e.id}>
                <td>{formatDate(e.createdAt)}</td>
                <td>{e.actor ?? '—'}</td>
                <td>
                  <code>{e.action}</code>
                  {e.details !== undefined && e.details !== null && (
                    <details>
                      <summary>{t('audit.details')}</summary>
                      <pre className="output">{JSON.stringify(e.details, null, 2)}</pre>
                    </details>
                  )}
                </td>
                <td className="small">
                  {e.targetType ?? ''} {e.targetId ?? ''}
                </td>
                <td>
                  <Badge group="outcome" value={e.outcome} />
                </td>
                <td>{e.sourceIp ?? '—'}</td>
              </tr>
            ))}
            {events.data && events.data.items.length === 0 && (
              <tr>
                <td colSpan={6} className="muted">
                  {t('audit.none')}
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      {events.data && (
        <Pagination
          total={events.data.total}
          limit={limit}
          offset={offset}
          onChange={(next) => update({ limit: String(next.limit), offset: next.offset ? String(next.offset) : undefined })}
        />
      )}
    </section>
  );
}

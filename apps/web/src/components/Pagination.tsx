import { useTranslation } from 'react-i18next';

export const PAGE_SIZES = [25, 50, 100, 200];

export function Pagination({
  total,
  limit,
  offset,
  onChange,
}: {
  total: number;
  limit: number;
  offset: number;
  onChange: (next: { limit: number; offset: number }) => void;
}) {
  const { t } = useTranslation();
  const from = total === 0 ? 0 : offset + 1;
  const to = Math.min(offset + limit, total);
  return (
    <nav className="pagination" aria-label={t('common.pagination')}>
      <span>{t('common.range', { from, to, total })}</span>
      <button type="button" disabled={offset === 0} onClick={() => onChange({ limit, offset: Math.max(0, offset - limit) })}>
        {t('common.previous')}
      </button>
      <button type="button" disabled={offset + limit >= total} onClick={() => onChange({ limit, offset: offset + limit })}>
        {t('common.next')}
      </button>
      <label>
        {t('common.pageSize')}{' '}
        <select value={limit} onChange={(e) => onChange({ limit: Number(e.target.value), offset: 0 })}>
          {PAGE_SIZES.map((size) => (
            <option key={size} value={size}>
              {size}
            </option>
          ))}
        </select>
      </label>
    </nav>
  );
}

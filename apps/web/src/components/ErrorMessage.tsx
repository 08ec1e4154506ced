import type { TFunction } from 'i18next';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../api';

/** An API or network error in words. */
export function describeError(t: TFunction, error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 0) return t('errors.network');
    if (error.status === 403) return `${t('errors.forbidden')} ${error.message}`;
    return error.message || t('errors.unknown');
  }
  if (error instanceof Error) return error.message;
  return t('errors.unknown');
}

/** An API or network error in words, announced to screen readers. */
export function ErrorMessage({ error }: { error: unknown }) {
  const { t } = useTranslation();
  if (!error) return null;
  return (
    <div className="error" role="alert">
      {describeError(t, error)}
    </div>
  );
}

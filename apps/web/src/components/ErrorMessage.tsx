import { useTranslation } from 'react-i18next';
import { ApiError } from '../api';

/** An API or network error in words, announced to screen readers. */
export function ErrorMessage({ error }: { error: unknown }) {
  const { t } = useTranslation();
  if (!error) return null;
  let text: string;
  if (error instanceof ApiError) {
    if (error.status === 0) text = t('errors.network');
    else if (error.status === 403) text = `${t('errors.forbidden')} ${error.message}`;
    else text = error.message || t('errors.unknown');
  } else if (error instanceof Error) text = error.message;
  else text = t('errors.unknown');
  return (
    <div className="error" role="alert">
      {text}
    </div>
  );
}

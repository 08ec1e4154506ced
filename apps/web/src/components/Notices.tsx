import { createContext, useCallback, useContext, useState, type ReactNode } from 'react';
import { Link } from 'react-router-dom';
import { useTranslation } from 'react-i18next';

interface Notice {
  id: number;
  text: string;
  jobId?: string;
}
type Notify = (text: string, jobId?: string) => void;
const NoticeContext = createContext<Notify>(() => undefined);
let nextId = 1;

/** Short confirmations ("job queued") in a polite live region, each dismissible, with a link to the job. */
export function NoticeProvider({ children }: { children: ReactNode }) {
  const { t } = useTranslation();
  const [notices, setNotices] = useState<Notice[]>([]);
  const dismiss = (id: number) => setNotices((list) => list.filter((n) => n.id !== id));
  const notify = useCallback<Notify>((text, jobId) => {
    const id = nextId++;
    setNotices((list) => [...list.slice(-3), { id, text, jobId }]);
    setTimeout(() => setNotices((list) => list.filter((n) => n.id !== id)), 8000);
  }, []);
  return (
    <NoticeContext.Provider value={notify}>
      {children}
      <div className="notices" role="status" aria-live="polite">
        {notices.map((n) => (
          <div key={n.id} className="notice">
            <span>{n.text}</span>
            {n.jobId && <Link to={`/jobs/${n.jobId}`}>{t('jobs.view')}</Link>}
            <button type="button" className="link" aria-label={t('common.dismiss')} onClick={() => dismiss(n.id)}>
              ×
            </button>
          </div>
        ))}
      </div>
    </NoticeContext.Provider>
  );
}

export function useNotify(): Notify {
  return useContext(NoticeContext);
}

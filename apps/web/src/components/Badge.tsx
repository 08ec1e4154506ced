import { useTranslation } from 'react-i18next';

/** A status word with a colour class; the word itself is translated, so colour is never the only signal. */
export function Badge({ group, value }: { group: 'hostStatus' | 'jobStatus' | 'childState' | 'online' | 'outcome'; value: string }) {
  const { t } = useTranslation();
  return <span className={`badge badge-${value}`}>{t(`${group}.${value}`, { defaultValue: value })}</span>;
}

export function OnlineBadge({ online }: { online: boolean }) {
  return <Badge group="online" value={online ? 'online' : 'offline'} />;
}

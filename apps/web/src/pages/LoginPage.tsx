import { Navigate, useLocation } from 'react-router-dom';
import { useTranslation } from 'react-i18next';
import { useAuth } from '../auth';
import { LoginForm } from '../forms/LoginForm';

export function LoginPage() {
  const { t } = useTranslation();
  const { user, login } = useAuth();
  const location = useLocation();
  const from = (location.state as { from?: string } | null)?.from ?? '/';
  if (user) return <Navigate to={from.startsWith('/') && !from.startsWith('/login') ? from : '/'} replace />;
  return (
    <main className="login" id="main">
      <div className="card">
        <h1>Sysfleet</h1>
        <p>{t('login.title')}</p>
        <LoginForm onSubmit={login} />
      </div>
    </main>
  );
}

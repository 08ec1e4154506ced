import { useEffect, useState } from 'react';
import { BrowserRouter, Navigate, NavLink, Outlet, Route, Routes, useLocation } from 'react-router-dom';
import { useTranslation } from 'react-i18next';
import { AuthProvider, useAuth } from './auth';
import { SocketProvider, useSocketConnected } from './socket';
import { ConfirmProvider } from './components/Confirm';
import { NoticeProvider } from './components/Notices';
import { describeError } from './components/ErrorMessage';
import { Dialog } from './components/Dialog';
import { PasswordForm } from './forms/PasswordForm';
import { api } from './api';
import { LANGUAGES, changeLanguage } from './i18n';
import { applyTheme, loadTheme, nextTheme, type ThemeChoice } from './theme';
import { LoginPage } from './pages/LoginPage';
import { DashboardPage } from './pages/DashboardPage';
import { HostsPage } from './pages/HostsPage';
import { PendingPage } from './pages/PendingPage';
import { HostDetailPage } from './pages/HostDetailPage';
import { JobsPage } from './pages/JobsPage';
import { JobDetailPage } from './pages/JobDetailPage';
import { DistributionsPage } from './pages/DistributionsPage';
import { UsersPage } from './pages/UsersPage';
import { AuditPage } from './pages/AuditPage';
import { SshKeysPage } from './pages/SshKeysPage';

function ThemeToggle() {
  const { t } = useTranslation();
  const [theme, setTheme] = useState<ThemeChoice>(loadTheme);
  useEffect(() => applyTheme(theme), [theme]);
  return (
    <button type="button" onClick={() => setTheme(nextTheme(theme))} title={t('theme.toggle')}>
      {t('theme.label', { theme: t(`theme.${theme}`) })}
    </button>
  );
}

function LanguageSelect() {
  const { t, i18n } = useTranslation();
  return (
    <label className="inline">
      <span className="sr-only">{t('nav.language')}</span>
      <select value={i18n.language} onChange={(e) => changeLanguage(e.target.value)}>
        {LANGUAGES.map((lang) => (
          <option key={lang.code} value={lang.code} lang={lang.code}>
            {lang.label}
          </option>
        ))}
      </select>
    </label>
  );
}

function Layout() {
  const { t } = useTranslation();
  const { user, logout, can } = useAuth();
  const connected = useSocketConnected();
  const location = useLocation();
  const [menuOpen, setMenuOpen] = useState(false);
  const [logoutFailure, setLogoutFailure] = useState<unknown>(null);
  const [changingPassword, setChangingPassword] = useState(false);
  useEffect(() => setMenuOpen(false), [location.pathname]);
  const signOut = async () => {
    setLogoutFailure(null);
    try {
      await logout();
    } catch (err) {
      // The server did not end the session: say so rather than show a sign-in form over a live session.
      setLogoutFailure(err);
    }
  };

  if (user === undefined) return <p className="loading">{t('common.loading')}</p>;
  if (user === null) return <Navigate to="/login" replace state={{ from: location.pathname + location.search }} />;

  const links: { to: string; label: string; show: boolean }[] = [
    { to: '/', label: t('nav.dashboard'), show: true },
    { to: '/hosts', label: t('nav.hosts'), show: true },
    { to: '/pending', label: t('nav.pending'), show: true },
    { to: '/jobs', label: t('nav.jobs'), show: true },
    { to: '/distributions', label: t('nav.distributions'), show: true },
    { to: '/ssh-keys', label: t('nav.sshKeys'), show: true },
    { to: '/users', label: t('nav.users'), show: can('admin') },
    { to: '/audit', label: t('nav.audit'), show: true },
  ];
  return (
    <div className="app">
      <a className="skip" href="#main">
        {t('nav.skip')}
      </a>
      <header className="topbar">
        <span className="brand">Sysfleet</span>
        <button
          type="button"
          className="menu-toggle"
          aria-expanded={menuOpen}
          aria-controls="main-nav"
          onClick={() => setMenuOpen(!menuOpen)}
        >
          {t('nav.menu')}
        </button>
        <nav id="main-nav" className={menuOpen ? 'open' : ''} aria-label={t('nav.main')}>
          {links
            .filter((l) => l.show)
            .map((l) => (
              <NavLink key={l.to} to={l.to} end={l.to === '/'}>
                {l.label}
              </NavLink>
            ))}
        </nav>
        <div className="session">
          <span className={connected ? 'live on' : 'live off'} title={connected ? t('nav.liveOn') : t('nav.liveOff')}>
            {connected ? t('nav.live') : t('nav.offline')}
          </span>
          <span className="who">
            {user.username} <span className="role">({t(`roles.${user.role}`)})</span>
          </span>
          <LanguageSelect />
          <ThemeToggle />
          <button type="button" onClick={() => setChangingPassword(true)}>
            {t('account.changePassword')}
          </button>
          <button type="button" onClick={() => void signOut()}>
            {t('nav.logout')}
          </button>
        </div>
      </header>
      {changingPassword && (
        <Dialog title={t('account.changePassword')} onClose={() => setChangingPassword(false)}>
          <PasswordForm onSubmit={(current, next) => api.changeOwnPassword(current, next)} />
        </Dialog>
      )}
      {logoutFailure !== null && (
        <div className="error" role="alert">
          {t('nav.logoutFailed', { reason: describeError(t, logoutFailure) })}
        </div>
      )}
      <main id="main" tabIndex={-1}>
        <Outlet />
      </main>
    </div>
  );
}

function AdminOnly({ children }: { children: React.ReactElement }) {
  const { can } = useAuth();
  return can('admin') ? children : <Navigate to="/" replace />;
}

function Providers() {
  const { user } = useAuth();
  return (
    <SocketProvider enabled={Boolean(user)}>
      <ConfirmProvider>
        <NoticeProvider>
          <Routes>
            <Route path="/login" element={<LoginPage />} />
            <Route element={<Layout />}>
              <Route index element={<DashboardPage />} />
              <Route path="hosts" element={<HostsPage />} />
              <Route path="hosts/:id" element={<HostDetailPage />} />
              <Route path="pending" element={<PendingPage />} />
              <Route path="jobs" element={<JobsPage />} />
              <Route path="jobs/:id" element={<JobDetailPage />} />
              <Route path="distributions" element={<DistributionsPage />} />
              <Route path="ssh-keys" element={<SshKeysPage />} />
              <Route
                path="users"
                element={
                  <AdminOnly>
                    <UsersPage />
                  </AdminOnly>
                }
              />
              <Route path="audit" element={<AuditPage />} />
              <Route path="*" element={<Navigate to="/" replace />} />
            </Route>
          </Routes>
        </NoticeProvider>
      </ConfirmProvider>
    </SocketProvider>
  );
}

export function App() {
  return (
    <BrowserRouter>
      <AuthProvider>
        <Providers />
      </AuthProvider>
    </BrowserRouter>
  );
}

import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { api, ApiError, setCsrfToken, setUnauthorizedHandler } from './api';
import { ROLES, type Role, type User } from './types';

export function roleAtLeast(role: Role | undefined, min: Role): boolean {
  return role !== undefined && ROLES.indexOf(role) >= ROLES.indexOf(min);
}

interface AuthState {
  /** undefined while the session is being checked, null when logged out. */
  user: User | null | undefined;
  login(username: string, password: string): Promise<void>;
  logout(): Promise<void>;
  /** True when the current user has at least this role. */
  can(min: Role): boolean;
}

const AuthContext = createContext<AuthState | null>(null);

export function AuthProvider({ children, initialUser }: { children: ReactNode; initialUser?: User | null }) {
  const [user, setUser] = useState<User | null | undefined>(initialUser);

  useEffect(() => {
    setUnauthorizedHandler(() => {
      setCsrfToken(null);
      setUser(null);
    });
    if (initialUser === undefined) {
      api
        .me()
        .then((me) => {
          setCsrfToken(me.csrfToken);
          setUser(me.user);
        })
        .catch(() => setUser(null));
    }
    return () => setUnauthorizedHandler(null);
  }, [initialUser]);

  const login = useCallback(async (username: string, password: string) => {
    const result = await api.login(username, password);
    setCsrfToken(result.csrfToken);
    setUser(result.user);
  }, []);

  /** Signed out once the server has ended the session (or says it is gone); otherwise throws and the user stays signed in. */
  const logout = useCallback(async () => {
    try {
      await api.logout();
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 401)) throw err;
    }
    setCsrfToken(null);
    setUser(null);
  }, []);

  const value = useMemo<AuthState>(
    () => ({ user, login, logout, can: (min: Role) => roleAtLeast(user?.role, min) }),
    [user, login, logout],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthState {
  const state = useContext(AuthContext);
  if (!state) throw new Error('useAuth outside AuthProvider');
  return state;
}

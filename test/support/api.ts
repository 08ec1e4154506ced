import { ADMIN_PASSWORD } from './server';

/** A parsed response: `body` is the JSON the server sent (or the text, when it was not JSON). */
export interface ApiResponse<T = ApiBody> {
  status: number;
  headers: Headers;
  body: T;
}
// Tests read arbitrary response JSON and assert on it; a loose default keeps them short.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ApiBody = any;

type Query = Record<string, string | number | boolean | undefined>;
type HeaderMap = Record<string, string>;

/** Calls the API once, without logging in (for login itself, public routes and 401 checks). */
export async function apiRequest<T = ApiBody>(baseUrl: string, method: string, path: string, body?: unknown, headers: HeaderMap = {}): Promise<ApiResponse<T>> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { ...(body !== undefined && { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, body: parsed as T };
}

/** An operator logged in with a bearer token. */
export interface ApiClient {
  baseUrl: string;
  token: string;
  csrfToken: string;
  user: { id: string; username: string; role: string };
  /** GET; the second argument becomes the query string. */
  get<T = ApiBody>(path: string, query?: Query, headers?: HeaderMap): Promise<ApiResponse<T>>;
  post<T = ApiBody>(path: string, body?: unknown, headers?: HeaderMap): Promise<ApiResponse<T>>;
  put<T = ApiBody>(path: string, body?: unknown, headers?: HeaderMap): Promise<ApiResponse<T>>;
  patch<T = ApiBody>(path: string, body?: unknown, headers?: HeaderMap): Promise<ApiResponse<T>>;
  delete<T = ApiBody>(path: string, body?: unknown, headers?: HeaderMap): Promise<ApiResponse<T>>;
}

/** Logs in through POST /api/auth/login and returns a client sending `Authorization: Bearer <token>`. Throws when the login fails. */
export async function login(baseUrl: string, username = 'admin', password = ADMIN_PASSWORD): Promise<ApiClient> {
  const res = await apiRequest(baseUrl, 'POST', '/api/auth/login', { username, password });
  if (res.status !== 200) throw new Error(`login as ${username} failed: ${res.status} ${JSON.stringify(res.body)}`);
  const { token, csrfToken, user } = res.body as { token: string; csrfToken: string; user: ApiClient['user'] };
  const auth = (headers: HeaderMap = {}) => ({ authorization: `Bearer ${token}`, ...headers });
  return {
    baseUrl,
    token,
    csrfToken,
    user,
    get: <T>(path: string, query?: Query, headers?: HeaderMap) => {
      const qs = new URLSearchParams();
      for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) qs.set(k, String(v));
      return apiRequest<T>(baseUrl, 'GET', qs.size ? `${path}${path.includes('?') ? '&' : '?'}${qs}` : path, undefined, auth(headers));
    },
    post: <T>(path: string, body?: unknown, headers?: HeaderMap) => apiRequest<T>(baseUrl, 'POST', path, body, auth(headers)),
    put: <T>(path: string, body?: unknown, headers?: HeaderMap) => apiRequest<T>(baseUrl, 'PUT', path, body, auth(headers)),
    patch: <T>(path: string, body?: unknown, headers?: HeaderMap) => apiRequest<T>(baseUrl, 'PATCH', path, body, auth(headers)),
    delete: <T>(path: string, body?: unknown, headers?: HeaderMap) => apiRequest<T>(baseUrl, 'DELETE', path, body, auth(headers)),
  };
}

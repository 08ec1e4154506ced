import type {
  AuditEvent, ChildCapacity, ChildVm, Distribution, EnrollmentToken, Host, Job, ListResult, Role, SshKey, User, Virtualization,
} from './types';

/** An error answer from the API: `{ statusCode, code, message, details? }`, or a network failure (status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

type Query = Record<string, string | number | boolean | undefined | null>;

let csrfToken: string | null = null;
let onUnauthorized: (() => void) | null = null;

/** The CSRF token from login or /me; sent as X-CSRF-Token on every non-GET request. */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** Called when any request answers 401 (the session is gone): the auth context sends the user to login. */
export function setUnauthorizedHandler(handler: (() => void) | null): void {
  onUnauthorized = handler;
}

export function queryString(query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue;
    params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

function isErrorBody(body: unknown): body is { code?: unknown; message?: unknown; details?: unknown } {
  return typeof body === 'object' && body !== null;
}

async function request<T>(method: string, path: string, body?: unknown, query?: Query): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let response: Response;
  try {
    response = await fetch(path + queryString(query), {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(0, 'NETWORK', err instanceof Error ? err.message : String(err));
  }
  const text = await response.text();
  let parsed: unknown = undefined;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  if (!response.ok) {
    const isLogin = path === '/api/auth/login';
    if (response.status === 401 && !isLogin && onUnauthorized) onUnauthorized();
    const message =
      isErrorBody(parsed) && typeof parsed.message === 'string'
        ? parsed.message
        : isErrorBody(parsed) && Array.isArray(parsed.message)
          ? parsed.message.join('; ')
          : response.statusText || `HTTP ${response.status}`;
    const code = isErrorBody(parsed) && typeof parsed.code === 'string' ? parsed.code : `HTTP_${response.status}`;
    throw new ApiError(response.status, code, message, isErrorBody(parsed) ? parsed.details : undefined);
  }
  return parsed as T;
}

const get = <T>(path: string, query?: Query) => request<T>('GET', path, undefined, query);
const post = <T>(path: string, body: unknown = {}) => request<T>('POST', path, body);
const patch = <T>(path: string, body: unknown) => request<T>('PATCH', path, body);
const del = <T>(path: string, query?: Query) => request<T>('DELETE', path, undefined, query);
const id = encodeURIComponent;

export interface LoginResult {
  token: string;
  csrfToken: string;
  user: User;
}

export interface HostQuery extends Query {
  status?: string;
  platform?: string;
  role?: string;
  online?: string;
  q?: string;
  sort?: string;
  order?: 'asc' | 'desc';
  limit?: number;
  offset?: number;
  parentHostId?: string;
}

export interface CreateChildBody {
  childType: string;
  distributionId: string;
  name: string;
  hostname: string;
  vcpus: number;
  memoryMb: number;
  diskGb: number;
  username: string;
  password?: string;
  sshPublicKeys?: string[];
  sshKeyIds?: string[];
  network?: string;
  /** Leave what a failed create made on the host, for debugging. */
  keepOnFailure?: boolean;
}

export interface CreateTokenBody {
  uses: number;
  expiresInSeconds: number;
  autoApprove: boolean;
  note?: string;
}

export interface NetworkBody {
  mode: string;
  interface?: string;
  subnet?: string;
}

export type DistributionBody = Omit<Distribution, 'id'>;

export const api = {
  login: (username: string, password: string) => post<LoginResult>('/api/auth/login', { username, password }),
  changeOwnPassword: (currentPassword: string, newPassword: string) => post<void>('/api/auth/password', { currentPassword, newPassword }),
  logout: () => post<void>('/api/auth/logout'),
  me: () => get<{ user: User; csrfToken: string }>('/api/auth/me'),

  hosts: (query: HostQuery) => get<ListResult<Host>>('/api/hosts', query),
  host: (hostId: string) => get<Host>(`/api/hosts/${id(hostId)}`),
  hostAction: (hostId: string, action: 'approve' | 'reject' | 'revoke') => post<Host>(`/api/hosts/${id(hostId)}/${action}`),
  hostsBulk: (action: 'approve' | 'reject', ids: string[]) => post<unknown>(`/api/hosts/${action}`, { ids }),
  deleteHost: (hostId: string) => del<void>(`/api/hosts/${id(hostId)}`),
  refreshInventory: (hostId: string) => post<Job>(`/api/hosts/${id(hostId)}/inventory/refresh`),

  tokens: () => get<ListResult<EnrollmentToken>>('/api/enrollment-tokens', { limit: 500 }),
  createToken: (body: CreateTokenBody) => post<EnrollmentToken>('/api/enrollment-tokens', body),
  revokeToken: (tokenId: string) => del<EnrollmentToken>(`/api/enrollment-tokens/${id(tokenId)}`),

  jobs: (query: Query) => get<ListResult<Job>>('/api/jobs', query),
  job: (jobId: string) => get<Job>(`/api/jobs/${id(jobId)}`),
  cancelJob: (jobId: string) => post<Job>(`/api/jobs/${id(jobId)}/cancel`),

  virtualization: (hostId: string) => get<Virtualization>(`/api/hosts/${id(hostId)}/virtualization`),
  checkVirtualization: (hostId: string) => post<Job>(`/api/hosts/${id(hostId)}/virtualization/check`),
  initializeHypervisor: (hostId: string, type: string) =>
    post<Job>(`/api/hosts/${id(hostId)}/virtualization/${id(type)}/initialize`),
  configureNetwork: (hostId: string, type: string, body: NetworkBody) =>
    post<Job>(`/api/hosts/${id(hostId)}/virtualization/${id(type)}/network`, body),

  /** The whole catalogue (a plain array; the server does not page it), filtered by childType / enabled. */
  distributions: (query: { childType?: string; enabled?: boolean } = {}) => get<Distribution[]>('/api/distributions', query),
  createDistribution: (body: DistributionBody) => post<Distribution>('/api/distributions', body),
  updateDistribution: (distId: string, body: Partial<DistributionBody>) =>
    patch<Distribution>(`/api/distributions/${id(distId)}`, body),
  deleteDistribution: (distId: string) => del<void>(`/api/distributions/${id(distId)}`),

  /** Child VMs across the fleet, filtered by state and childType, paged. */
  allChildren: (query: { state?: string; childType?: string; limit?: number; offset?: number }) =>
    get<ListResult<ChildVm>>('/api/children', query),
  /** All child VMs of one host (a plain array). */
  children: (hostId: string) => get<ChildVm[]>(`/api/hosts/${id(hostId)}/children`),
  /** How big a VM of this type the server would accept on the host now (after its reserve and creates under way). */
  childCapacity: (hostId: string, childType: string) =>
    get<ChildCapacity>(`/api/hosts/${id(hostId)}/children/capacity`, { childType }),
  createChild: (hostId: string, body: CreateChildBody) => post<Job>(`/api/hosts/${id(hostId)}/children`, body),
  childAction: (hostId: string, childId: string, action: 'start' | 'stop' | 'restart', force = false) =>
    post<Job>(`/api/hosts/${id(hostId)}/children/${id(childId)}/${action}`, action === 'stop' ? { force } : {}),
  deleteChild: (hostId: string, childId: string, deleteDisk: boolean) =>
    del<Job>(`/api/hosts/${id(hostId)}/children/${id(childId)}`, { deleteDisk }),

  sshKeys: () => get<SshKey[]>('/api/ssh-keys'),
  createSshKey: (body: { name: string; generate: true } | { name: string; publicKey: string }) =>
    post<SshKey>('/api/ssh-keys', body),
  deleteSshKey: (keyId: string) => del<void>(`/api/ssh-keys/${id(keyId)}`),
  /** The OpenSSH public key line, served as text/plain. */
  sshPublicKey: (keyId: string) => get<string>(`/api/ssh-keys/${id(keyId)}/public`).then((text) => String(text).trim()),

  users: () => get<User[]>('/api/users'),
  createUser: (body: { username: string; password: string; role: Role }) => post<User>('/api/users', body),
  updateUser: (userId: string, body: { role?: Role; disabled?: boolean }) => patch<User>(`/api/users/${id(userId)}`, body),
  setPassword: (userId: string, password: string) => post<void>(`/api/users/${id(userId)}/password`, { password }),
  deleteUser: (userId: string) => del<void>(`/api/users/${id(userId)}`),

  auditEvents: (query: Query) => get<ListResult<AuditEvent>>('/api/audit-events', query),
};

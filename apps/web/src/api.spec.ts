import { api, ApiError, queryString, setCsrfToken, setUnauthorizedHandler } from './api';
import { mockFetch } from './testing/fakes';

describe('api client', () => {
  afterEach(() => {
    setCsrfToken(null);
    setUnauthorizedHandler(null);
  });

  it('drops empty query values', () => {
    expect(queryString({ q: '', status: 'pending', online: false, limit: 50, role: undefined })).toBe('?status=pending&online=false&limit=50');
  });

  it('sends the CSRF token on changes only', async () => {
    const calls = mockFetch({ 'GET /api/hosts': { items: [], total: 0 }, 'POST /api/hosts/h1/revoke': { id: 'h1' } });
    setCsrfToken('t0k');
    await api.hosts({ limit: 1 });
    await api.hostAction('h1', 'revoke');
    expect(calls[0].headers['X-CSRF-Token']).toBeUndefined();
    expect(calls[1].headers['X-CSRF-Token']).toBe('t0k');
  });

  it('turns an error answer into an ApiError carrying code and message', async () => {
    mockFetch({});
    const err = await api.host('nope').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 404, code: 'COMMON_NOT_FOUND', message: 'no route GET /api/hosts/nope' });
  });

  it('reports a lost session, but not a failed login, to the unauthorized handler', async () => {
    const onUnauthorized = jest.fn();
    setUnauthorizedHandler(onUnauthorized);
    global.fetch = jest.fn(async () => ({ ok: false, status: 401, statusText: 'Unauthorized', text: async () => '{"code":"COMMON_UNAUTHENTICATED","message":"Not logged in"}' })) as unknown as typeof fetch;
    await expect(api.login('a', 'b')).rejects.toMatchObject({ status: 401 });
    expect(onUnauthorized).not.toHaveBeenCalled();
    await expect(api.jobs({})).rejects.toMatchObject({ message: 'Not logged in' });
    expect(onUnauthorized).toHaveBeenCalledTimes(1);
  });

  it('a network failure becomes status 0', async () => {
    global.fetch = jest.fn(async () => {
      throw new TypeError('Failed to fetch');
    }) as unknown as typeof fetch;
    await expect(api.me()).rejects.toMatchObject({ status: 0, code: 'NETWORK' });
  });
});
